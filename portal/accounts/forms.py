"""Forms for signing in, registering, inviting and passwords."""

from __future__ import annotations

from typing import Any

from wtforms import EmailField, Field, PasswordField, RadioField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, Regexp, ValidationError

from portal.accounts.passwords import password_problem
from portal.core.forms import PortalForm, PostcodeField, lower_filter, strip_filter
from portal.core.vocab import SchoolType, Sector

EMAIL_MESSAGE = "Enter an email address in the correct format, like name@example.com"



class NewPassword:
    """Validator: the portal's password policy (length, not common, not the email)."""

    def __init__(self, email_field: str | None = None) -> None:
        """Optionally compare with the value of another field holding the email."""
        self.email_field = email_field

    def __call__(self, form: Any, field: Field) -> None:
        """Raise ValidationError with the policy's message."""
        email_field = getattr(form, self.email_field, None) if self.email_field else None
        email = (email_field.data or "") if email_field is not None else ""
        problem = password_problem(field.data or "", email)
        if problem:
            raise ValidationError(problem)


def _email_field(label: str = "Email address") -> EmailField:
    """An email field with the standard messages."""
    return EmailField(
        label,
        filters=[lower_filter],
        validators=[DataRequired("Enter your email address"), Email(EMAIL_MESSAGE), Length(max=254)],
    )


def _new_password_field(label: str = "Create a password") -> PasswordField:
    """A new-password field with the policy validator."""
    return PasswordField(
        label,
        validators=[DataRequired("Enter a password"), NewPassword("email")],
        description="Use 12 characters or more. A few random words together make a strong password.",
    )


class SignInForm(PortalForm):
    """Email and password."""

    email = _email_field()
    password = PasswordField("Password", validators=[DataRequired("Enter your password")])


class PersonFields(PortalForm):
    """The registering person's name, email and password."""

    person_name = StringField(
        "Your full name", filters=[strip_filter],
        validators=[DataRequired("Enter your full name"), Length(max=120)],
    )
    email = _email_field("Your work email address")
    password = _new_password_field()


class RegisterSchoolForm(PersonFields):
    """A school's details and its careers leader."""

    name = StringField(
        "School or college name", filters=[strip_filter],
        validators=[DataRequired("Enter the name of the school or college"), Length(max=200)],
    )
    urn = StringField(
        "Unique reference number (URN)", filters=[strip_filter],
        validators=[DataRequired("Enter the URN"), Regexp(r"^\d{6,8}$", message="The URN is 6 to 8 digits, like 100000")],
        description="The 6-digit number from Get information about schools.",
    )
    school_type = RadioField(
        "Type of school", choices=SchoolType.choices(),
        validators=[DataRequired("Select the type of school")],
    )
    postcode = PostcodeField("Postcode", validators=[DataRequired("Enter the school's postcode")])

    field_order = ("name", "urn", "school_type", "postcode", "person_name", "email", "password")


class RegisterEmployerForm(PersonFields):
    """An employer's details and its first staff member."""

    name = StringField(
        "Organisation name", filters=[strip_filter],
        validators=[DataRequired("Enter the name of your organisation"), Length(max=200)],
    )
    sector = SelectField(
        "Main sector", choices=[("", "Choose a sector")] + Sector.choices(),
        validators=[DataRequired("Choose your main sector")],
    )
    postcode = PostcodeField(
        "Postcode", validators=[DataRequired("Enter your organisation's postcode")],
        description="Where students would come for workplace experiences.",
    )


class InviteForm(PortalForm):
    """A colleague to invite."""

    name = StringField(
        "Their full name", filters=[strip_filter],
        validators=[DataRequired("Enter their full name"), Length(max=120)],
    )
    email = _email_field("Their work email address")


class ChangePasswordForm(PortalForm):
    """Current and new password."""

    current_password = PasswordField("Current password", validators=[DataRequired("Enter your current password")])
    password = PasswordField(
        "New password", validators=[DataRequired("Enter a new password"), NewPassword()],
        description="Use 12 characters or more. A few random words together make a strong password.",
    )


class ForgotPasswordForm(PortalForm):
    """Where to send a reset link."""

    email = _email_field()


class SetPasswordForm(PortalForm):
    """A new password from a link."""

    password = _new_password_field("Choose a password")


class WelcomeForm(PortalForm):
    """Name and password for an invited person."""

    name = StringField("Your full name", filters=[strip_filter], validators=[DataRequired("Enter your full name"), Length(max=120)])
    password = _new_password_field("Choose a password")


class ApiTokenForm(PortalForm):
    """A name to recognise a new API token by."""

    name = StringField(
        "Token name", filters=[strip_filter],
        validators=[DataRequired("Enter a name for the token"), Length(max=100)],
        description="For example, the system that will use it: 'MIS sync'.",
    )
