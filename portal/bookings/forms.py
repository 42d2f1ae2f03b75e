"""Forms for booking students, employer decisions and closing bookings."""

from __future__ import annotations

from wtforms import HiddenField, RadioField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from portal.core.forms import MultiCheckboxField, PortalForm, strip_filter


class BookForm(PortalForm):
    """One session and the students to book on it."""

    session_id = HiddenField(validators=[DataRequired()])
    student_ids = MultiCheckboxField("Students to book", coerce=int, validators=[DataRequired("Choose at least one student")])


class DecisionForm(PortalForm):
    """The employer confirms or declines a request."""

    decision = RadioField(
        "Can you take this student?", choices=[("confirm", "Yes, confirm the place"), ("decline", "No, decline the request")],
        validators=[DataRequired("Choose whether to confirm or decline")],
    )
    reason = TextAreaField(
        "Reason for declining", filters=[strip_filter], validators=[Length(max=500)],
        description="The school sees this, so it can find another place. Needed only when you decline.",
    )


class CancelForm(PortalForm):
    """Why the school is cancelling."""

    reason = TextAreaField("Reason", filters=[strip_filter], validators=[Optional(), Length(max=500)])


class ActionForm(PortalForm):
    """A one-button action (CSRF only)."""
