"""Forms to ask an employer for an adjustment and to answer."""

from __future__ import annotations

from wtforms import BooleanField, HiddenField, RadioField, TextAreaField
from wtforms.validators import DataRequired, Length

from portal.core.forms import MultiCheckboxField, PortalForm, strip_filter


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
