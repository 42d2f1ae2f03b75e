"""Forms for the student roster and hub actions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import EmailField, IntegerField, RadioField, SelectField, StringField
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from portal.core.forms import (
    DateInputField,
    MultiCheckboxField,
    PortalForm,
    lower_filter,
    strip_filter,
)
from portal.core.vocab import (
    YEAR_GROUPS,
    AccessFeature,
    Sector,
    SendStatus,
    SupportingAdultRole,
    year_group_label,
)
from portal.organisations.upn import UPN_PATTERN


class StudentForm(PortalForm):
    """A student's roster entry; SEND and disadvantage are special category data (see the model)."""

    first_name = StringField("First name", filters=[strip_filter], validators=[DataRequired("Enter the student's first name"), Length(max=100)])
    last_name = StringField("Last name", filters=[strip_filter], validators=[DataRequired("Enter the student's last name"), Length(max=100)])
    student_ref = StringField(
        "Student reference", filters=[strip_filter],
        validators=[DataRequired("Enter the student's reference from your MIS"), Length(max=40)],
        description="Your management information system's own id for the student. It must be unique in your school.",
    )
    upn = StringField(
        "Unique pupil number (UPN)", filters=[lambda v: v.strip().upper() if isinstance(v, str) else v],
        validators=[Optional(), Regexp(UPN_PATTERN, message="A UPN is a letter and 12 digits, like A123456789012 (a temporary UPN ends in a letter)")],
        description="13 characters. Never shown to employers.",
    )
    year_group = SelectField(
        "Year group", coerce=int, choices=[(y, year_group_label(y)) for y in YEAR_GROUPS],
        validators=[DataRequired("Choose the student's year group")],
    )
    tutor_group = StringField("Tutor group", filters=[strip_filter], validators=[Optional(), Length(max=20)])
    date_of_birth = DateInputField(
        "Date of birth", validators=[InputRequired("Enter the student's date of birth")],
        description="For example, 27 3 2011", render_kw={"birthday": True},
    )
    send_status = RadioField(
        "Special educational needs (SEN) provision", choices=SendStatus.choices(),
        default=SendStatus.NONE.value, validators=[DataRequired("Choose the student's SEN provision")],
    )
    needs = MultiCheckboxField(
        "Access needs", choices=AccessFeature.choices(), validators=[Optional()],
        description="Select every adjustment the student needs. Employers see these, and only offers that support all of them are matched.",
    )
    supporting_adult = SelectField(
        "Must a supporting adult attend with the student?",
        choices=[("", "No, the student can attend alone"), *SupportingAdultRole.choices()], validators=[Optional()],
        description="Such a student is matched only to offers that accept a supporting adult; employers see that one will come.",
    )
    disadvantaged = RadioField(
        "Disadvantaged (pupil premium)", choices=[("no", "No"), ("yes", "Yes")], default="no",
        validators=[DataRequired("Say whether the student is disadvantaged")],
    )
    interests = MultiCheckboxField("Sector interests", choices=Sector.choices(), validators=[Optional()])
    email = EmailField(
        "Student's email address", filters=[lower_filter],
        validators=[Optional(), Email("Enter an email address in the correct format, like name@example.com"), Length(max=254)],
        description="Needed to give the student a sign-in.",
    )

    def validate_date_of_birth(self, field: Any) -> None:
        """A student is between 10 and 25 years old."""
        if field.data is None:
            return
        today = dt.date.today()
        age = today.year - field.data.year - ((today.month, today.day) < (field.data.month, field.data.day))
        if field.data >= today:
            raise ValidationError("Date of birth must be in the past")
        if not 10 <= age <= 25:
            raise ValidationError("Check the date of birth: students are usually 11 to 19 years old")


class StudentSignInForm(PortalForm):
    """The email address a student will sign in with."""

    email = EmailField(
        "Student's email address", filters=[lower_filter],
        validators=[DataRequired("Enter the student's email address"), Email("Enter an email address in the correct format, like name@example.com")],
    )


class ConfirmForm(PortalForm):
    """A form with only a CSRF token, for one-button actions."""


class StudentFilterForm(PortalForm):
    """Search and filter the roster (GET, no CSRF)."""

    class Meta:
        csrf = False

    q = StringField("Name or reference", filters=[strip_filter], validators=[Optional(), Length(max=100)])
    year_group = SelectField(
        "Year group", choices=[("", "All year groups")] + [(str(y), year_group_label(y)) for y in YEAR_GROUPS],
        validators=[Optional()],
    )


class RosterUploadForm(PortalForm):
    """A roster CSV exported from the school's MIS."""

    file = FileField(
        "Roster file (CSV)",
        validators=[FileRequired("Choose a CSV file to upload"), FileAllowed(["csv", "txt"], "The file must be a CSV file")],
        description="One row per student. The columns are listed above.",
    )


class LeaversForm(PortalForm):
    """Students missing from an import whom staff confirm have left."""

    student_ids = MultiCheckboxField("Students who have left", coerce=int, validators=[Optional()])


def _days(label: str, hint: str, top: int = 60) -> IntegerField:
    """A whole number of days between 0 and `top`."""
    return IntegerField(label, description=hint, validators=[
        InputRequired(f"Enter the number of days for {label.lower()}"),
        NumberRange(0, top, f"{label} must be between 0 and {top} days")])


class ComplianceSettingsForm(PortalForm):
    """The school's compliance deadlines (days before a placement's first day) and its careers leader."""

    careers_leader_id = SelectField("Careers leader", coerce=int, description=(
        "Gets an email when a placement is at risk and the weekly digest. "
        "Choose nobody to send them to every member of staff."))
    risk_assessment_due_days = _days("Risk assessment reviewed", "Days before the first day. The default is 10.")
    insurance_due_days = _days("Employer's liability insurance checked", "Days before the first day. The default is 10.")
    dbs_due_days = _days("DBS decisions recorded", "Days before the first day, for students under 16. The default is 5.")
    consent_due_days = _days("Parental consent received", "Days before the first day, for students under 18. The default is 2.")
    briefing_due_days = _days("Student briefed", "Days before the first day. The default is 1.")
    reflection_flag_days = _days("Reflection or feedback missing", (
        "Days after the placement before a missing reflection or employer feedback is flagged to staff. "
        "The default is 14."), top=90)
