"""The match request form (GET: the results page can be bookmarked and shared)."""

from __future__ import annotations

from wtforms import DecimalField, HiddenField, SelectField, StringField
from wtforms.validators import NumberRange, Optional

from portal.core.forms import DateInputField, MultiCheckboxField, PortalForm, strip_filter
from portal.core.vocab import YEAR_GROUPS, ActivityType, Sector, year_group_label


class MatchForm(PortalForm):
    """Who to match, and what they are looking for."""

    class Meta:
        csrf = False

    student_id = HiddenField()
    year_group = SelectField(
        "Year group", choices=[("", "Choose a year group")] + [(str(y), year_group_label(y)) for y in YEAR_GROUPS],
        validators=[Optional()],
    )
    tutor_group = StringField("Or a tutor group", filters=[strip_filter], validators=[Optional()])
    activity_types = MultiCheckboxField("Kinds of activity", choices=ActivityType.choices(), validators=[Optional()],
                                        description="Leave empty for any kind.")
    radius_km = DecimalField(
        "Maximum travel distance from school, in km", places=1, default=15,
        validators=[Optional(), NumberRange(min=1, max=200, message="Enter a distance from 1 to 200 km")],
        description="Virtual offers are always included.",
    )
    date_from = DateInputField("From", validators=[Optional()], description="For example, 2 3 2027")
    date_to = DateInputField("To", validators=[Optional()])
    sectors = MultiCheckboxField(
        "Only these sectors", choices=Sector.choices(), validators=[Optional()],
        description="Leave empty to consider every sector, with each student's interests ranked first.",
    )
