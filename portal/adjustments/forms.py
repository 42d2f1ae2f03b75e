"""Forms to ask an employer for an adjustment and to answer."""

from __future__ import annotations

from typing import Any

from wtforms import BooleanField, HiddenField, IntegerField, RadioField, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from portal.core.forms import DateInputField, MultiCheckboxField, PortalForm, strip_filter
from portal.core.vocab import YEAR_GROUPS, AccessFeature, Sector, year_group_label
from portal.offers.forms import SessionForm


class AskForm(PortalForm):
    """What to ask the employer to provide for this session."""

    needs = MultiCheckboxField("What should the employer provide?",
                               validators=[DataRequired("Choose what to ask the employer to provide")])


class HubAskForm(AskForm):
    """A hub's question about one session, for one year group."""

    session_id = HiddenField(validators=[DataRequired()])
    year_group = HiddenField(validators=[DataRequired()])


class AnswerForm(PortalForm):
    """The employer says yes or no, with a note."""

    answer = RadioField(
        "Can you provide this?", choices=[("yes", "Yes, we can provide it"), ("no", "No, we cannot")],
        validators=[DataRequired("Choose yes or no")],
    )
    note = TextAreaField(
        "Note for the school", filters=[strip_filter], validators=[Length(max=500)],
        description="For example how you will provide it, or why you cannot. The school sees this.",
    )
    add_to_offer = BooleanField(
        "Add this to the offer for every student",
        description="Schools will then find the offer for every student who needs it, not only this one.",
    )


def _need_count_field(label: str) -> IntegerField:
    """How many of the students need one adjustment (empty: none)."""
    return IntegerField(label, validators=[Optional(), NumberRange(0, 300, "Enter a number between 0 and 300")])


class NeedForm(PortalForm):
    """What a school (or its hub) is looking for when nothing fits: counts, never names."""

    school_id = SelectField("School", coerce=int, validate_choice=True)  # hubs only; schools post for themselves
    year_group = SelectField("Year group", coerce=int, choices=[(y, year_group_label(y)) for y in YEAR_GROUPS])
    places = IntegerField("Number of places", validators=[
        InputRequired("Enter the number of places"), NumberRange(1, 300, "Places must be between 1 and 300")])
    date_from = DateInputField("First possible day", validators=[InputRequired("Enter the first possible day")],
                               description="For example, 1 3 2027")
    date_to = DateInputField("Last possible day", validators=[InputRequired("Enter the last possible day")])
    sectors = MultiCheckboxField("Sectors (optional)", choices=Sector.choices(), validators=[Optional()],
                                 description="Leave empty for any sector.")
    note = TextAreaField("Anything else employers should know (optional)", filters=[strip_filter],
                         validators=[Length(max=500)], description="Do not name students or describe diagnoses.")

    def need_fields(self) -> list[tuple[str, Any]]:
        """(feature code, count field) for every access need, in vocabulary order."""
        return [(code, self[NEED_COUNT_PREFIX + code]) for code, _ in AccessFeature.choices()]

    def need_counts(self) -> dict[str, int]:
        """The counts entered, leaving out zeros."""
        return {code: field.data for code, field in self.need_fields() if field.data}


NEED_COUNT_PREFIX = "need_"
for _code, _label in AccessFeature.choices():
    setattr(NeedForm, NEED_COUNT_PREFIX + _code, _need_count_field(f"{_label}: number of students"))


class NeedAnswerForm(SessionForm):
    """The employer answers a posted need with a new session of one of its offers."""

    offer_id = SelectField("Offer", coerce=int, validate_choice=True,
                           description="The session is added to this offer; schools book it as usual.")
