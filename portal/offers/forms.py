"""Forms for the employer profile, offers, sessions, supervisors, offer search and the imports."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from portal.core.dates import local_to_utc
from portal.core.forms import (
    DateInputField,
    MultiCheckboxField,
    PortalForm,
    PostcodeField,
    lower_filter,
    strip_filter,
)
from portal.core.vocab import (
    YEAR_GROUPS,
    AccessFeature,
    ActivityType,
    DeliveryMode,
    DisabilityConfident,
    MeaningfulCriterion,
    Sector,
    year_group_label,
)

EMAIL_MESSAGE = "Enter an email address in the correct format, like name@example.com"
_TIME = re.compile(r"^(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm)?$")


def parse_time(text: str) -> dt.time:
    """Read a time typed as '9:30', '09:30', '14:00', '9.30am' or '2pm'; raise ValueError otherwise."""
    match = _TIME.match(text.strip().lower())
    if not match:
        raise ValueError(text)
    hour, minute, suffix = int(match.group(1)), int(match.group(2) or 0), match.group(3)
    if suffix and not 1 <= hour <= 12:
        raise ValueError(text)
    if suffix == "pm" and hour != 12:
        hour += 12
    elif suffix == "am" and hour == 12:
        hour = 0
    if match.group(2) is None and suffix is None:
        raise ValueError(text)  # a bare "9" is ambiguous
    return dt.time(hour, minute)


class TimeField(StringField):
    """A time of day typed in a text box ('9:30am', '14:00'); data is a datetime.time."""

    data: Any

    def process_formdata(self, valuelist: list[Any]) -> None:
        """Keep the typed text to show back; parse it in pre_validate."""
        super().process_formdata(valuelist)
        self.typed = self.data or ""

    def _value(self) -> str:
        """Show a time as 09:30 and anything typed as it was."""
        if isinstance(self.data, dt.time):
            return self.data.strftime("%H:%M")
        return self.data or ""

    def pre_validate(self, form: Any) -> None:
        """Turn the text into a time, or explain the format."""
        if isinstance(self.data, dt.time) or not (self.data or "").strip():
            return
        try:
            self.data = parse_time(self.data)
        except ValueError:
            raise ValidationError(f"{self.label.text} must be a time, like 9:30am or 14:00") from None


def _yes_no(label: str, **kwargs: Any) -> RadioField:
    """A yes/no radio question."""
    return RadioField(label, choices=[("yes", "Yes"), ("no", "No")], **kwargs)


class ProfileForm(PortalForm):
    """The employer's profile: location, safeguarding lead, insurance and SEND confidence."""

    sector = SelectField("Main sector", choices=[("", "Choose a sector"), *Sector.choices()],
                         validators=[DataRequired("Choose your main sector")])
    address = TextAreaField("Address", filters=[strip_filter], validators=[Optional(), Length(max=300)],
                            description="Where students come for workplace experiences.")
    postcode = PostcodeField("Postcode", validators=[DataRequired("Enter your organisation's postcode")])
    safeguarding_lead_name = StringField("Safeguarding lead's name", filters=[strip_filter],
                                         validators=[Optional(), Length(max=120)])
    safeguarding_lead_email = EmailField("Safeguarding lead's email address", filters=[lower_filter],
                                         validators=[Optional(), Email(EMAIL_MESSAGE), Length(max=254)])
    safeguarding_lead_phone = StringField(
        "Safeguarding lead's phone number", filters=[strip_filter],
        validators=[Optional(), Length(max=30)], description="For example, 0161 496 0000",
    )
    insurer = StringField("Insurer", filters=[strip_filter], validators=[Optional(), Length(max=200)],
                          description="Who provides your employer's liability insurance.")
    insurance_expiry = DateInputField("Insurance expiry date", validators=[Optional()],
                                      description="For example, 31 3 2027. Offers can be published only while it is valid.")
    disability_confident = RadioField("Disability Confident level", choices=DisabilityConfident.choices(),
                                      default=DisabilityConfident.NONE.value,
                                      validators=[DataRequired("Choose your Disability Confident level")])
    autism_trained_staff = _yes_no(
        "Are any of your staff trained in autism or learning-disability awareness?", default="no",
        validators=[DataRequired("Say whether any staff are trained in autism or learning-disability awareness")],
    )

    def validate_safeguarding_lead_phone(self, field: Any) -> None:
        """A UK phone number: digits, spaces and a leading +."""
        if field.data and not re.fullmatch(r"\+?[\d ()-]{7,30}", field.data):
            raise ValidationError("Enter a phone number, like 0161 496 0000")


FEATURE_NOTE_PREFIX = "note_"


class OfferForm(PortalForm):
    """An offer's details; each SEND-ready feature has an optional note field."""

    title = StringField("Title", filters=[strip_filter],
                        validators=[DataRequired("Enter a title for the offer"), Length(max=200)],
                        description="For example, Hospital ward insight day")
    description = TextAreaField("Description", filters=[strip_filter],
                                validators=[DataRequired("Describe what students will do"), Length(max=5000)])
    activity_type = SelectField("Type of activity", choices=[("", "Choose a type"), *ActivityType.choices()],
                                validators=[DataRequired("Choose the type of activity")])
    delivery_mode = RadioField("Where it happens", choices=DeliveryMode.choices(),
                               validators=[DataRequired("Choose where the offer happens")])
    location = RadioField(
        "Location", choices=[("employer", "At our address"), ("other", "At another postcode")],
        default="employer", validators=[Optional()],
        description="Not needed for virtual offers.",
    )
    postcode = PostcodeField("Postcode of the other location", description="Only if the offer is not at your address.")
    sectors = MultiCheckboxField("Sectors", choices=Sector.choices(),
                                 validators=[DataRequired("Select at least one sector")])
    year_groups = MultiCheckboxField("Year groups", coerce=int,
                                     choices=[(y, year_group_label(y)) for y in YEAR_GROUPS],
                                     validators=[DataRequired("Select at least one year group")])
    learning_outcomes = TextAreaField("What students will learn", filters=[strip_filter],
                                      validators=[Optional(), Length(max=5000)])
    preparation = TextAreaField("Preparation students should do", filters=[strip_filter],
                                validators=[Optional(), Length(max=5000)])
    travel_notes = TextAreaField("Travel notes", filters=[strip_filter], validators=[Optional(), Length(max=2000)],
                                 description="Parking, public transport, where to come in.")
    supporting_adults_max = IntegerField(
        "Supporting adults who can come, per session", default=0,
        validators=[Optional(), NumberRange(0, 20, "Supporting adults must be between 0 and 20")],
        description=("Some students must attend with a teaching assistant, job coach or parent. Their places do not "
                     "count against the student places. Enter 0 if no supporting adult can come."),
    )
    features = MultiCheckboxField(
        "SEND-ready features", choices=AccessFeature.choices(), validators=[Optional()],
        description="Select only what you can really provide. Schools match students' needs against these.",
    )
    criteria = MultiCheckboxField(
        "What makes it meaningful", choices=MeaningfulCriterion.choices(), validators=[Optional()],
        description=("Select each one the offer really provides (the Careers & Enterprise Company's guidance on "
                     "meaningful experiences). Schools see them when they search, and matching ranks offers by them."),
    )

    def validate_postcode(self, field: Any) -> None:
        """Another location needs its postcode (virtual offers need none)."""
        if self.delivery_mode.data != DeliveryMode.VIRTUAL.value and self.location.data == "other" and not field.data:
            raise ValidationError("Enter the postcode where the offer takes place")

    def feature_note_fields(self) -> list[tuple[str, Any]]:
        """(feature code, note field) for every feature, in vocabulary order."""
        return [(code, self[FEATURE_NOTE_PREFIX + code]) for code, _ in AccessFeature.choices()]

    def feature_notes(self) -> dict[str, str]:
        """The selected features with their notes."""
        return {code: (self[FEATURE_NOTE_PREFIX + code].data or "").strip() for code in (self.features.data or [])}


for _code, _label in AccessFeature.choices():
    setattr(OfferForm, FEATURE_NOTE_PREFIX + _code, StringField(
        f"{_label}: note", filters=[strip_filter], validators=[Optional(), Length(max=300)],
    ))


class SessionForm(PortalForm):
    """When a session starts and ends (Europe/London), how many places, and who supervises."""

    start_date = DateInputField("Start date", validators=[DataRequired("Enter the start date")],
                                description="For example, 14 6 2027")
    start_time = TimeField("Start time", filters=[strip_filter], validators=[DataRequired("Enter the start time")],
                           description="For example, 9:30am or 14:00")
    end_date = DateInputField("End date", validators=[Optional()],
                              description="Leave empty if the session ends on the day it starts.")
    end_time = TimeField("End time", filters=[strip_filter], validators=[DataRequired("Enter the end time")],
                         description="For example, 3:30pm or 15:30")
    capacity = IntegerField("Number of places", validators=[
        InputRequired("Enter the number of places"),
        NumberRange(min=1, max=1000, message="The number of places must be between 1 and 1000"),
    ], description="How many students can take part.")
    supervisors = MultiCheckboxField("Supervisors", coerce=int, choices=[], validators=[Optional()],
                                     description="Add supervisors on the Supervisors page.")

    def starts_at(self) -> dt.datetime:
        """The start as an aware UTC datetime (call after validation)."""
        return local_to_utc(dt.datetime.combine(self._start_day(), self.start_time.data))

    def ends_at(self) -> dt.datetime:
        """The end as an aware UTC datetime (call after validation)."""
        return local_to_utc(dt.datetime.combine(self.end_date.data or self._start_day(), self.end_time.data))

    def _start_day(self) -> dt.date:
        """The start date, which validation guarantees."""
        if self.start_date.data is None:
            raise ValueError("validate the session form before reading its times")
        return self.start_date.data


class SupervisorForm(PortalForm):
    """A supervisor's name, job title and email."""

    name = StringField("Full name", filters=[strip_filter],
                       validators=[DataRequired("Enter the supervisor's full name"), Length(max=120)])
    role = StringField("Job title", filters=[strip_filter], validators=[Optional(), Length(max=120)])
    email = EmailField("Email address", filters=[lower_filter],
                       validators=[Optional(), Email(EMAIL_MESSAGE), Length(max=254)])


RADIUS_CHOICES = [("5", "5 km"), ("10", "10 km"), ("25", "25 km"), ("50", "50 km"), ("100", "100 km"),
                  ("any", "Any distance")]
DEFAULT_RADIUS = "25"


class SearchForm(PortalForm):
    """Filters for finding offers (a GET form: no CSRF, shareable URLs)."""

    class Meta:
        csrf = False

    postcode = PostcodeField("Postcode to measure distance from", validators=[Optional()])
    radius = SelectField("Distance", choices=RADIUS_CHOICES, default=DEFAULT_RADIUS, validators=[Optional()])
    activity_type = MultiCheckboxField("Type of activity", choices=ActivityType.choices(), validators=[Optional()])
    delivery_mode = MultiCheckboxField("Where it happens", choices=DeliveryMode.choices(), validators=[Optional()])
    sector = MultiCheckboxField("Sector", choices=Sector.choices(), validators=[Optional()])
    year_group = SelectField("Year group", choices=[("", "Any year group")] + [(str(y), year_group_label(y)) for y in YEAR_GROUPS],
                             validators=[Optional()])
    feature = MultiCheckboxField("SEND-ready features", choices=AccessFeature.choices(), validators=[Optional()],
                                 description="Offers must support every feature you select.")
    date_from = DateInputField("Sessions from", validators=[Optional()], description="For example, 1 6 2027")
    date_to = DateInputField("Sessions until", validators=[Optional()], description="For example, 30 6 2027")

    def validate_date_to(self, field: Any) -> None:
        """The window ends on or after it starts."""
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError("'Sessions until' must be the same as or after 'Sessions from'")

    def radius_km(self) -> float | None:
        """The chosen radius in km (None for any distance)."""
        value = self.radius.data or DEFAULT_RADIUS
        return None if value == "any" else float(value)


class ImportForm(PortalForm):
    """A CSV file of employers or offers to import (or only check)."""

    kind = RadioField("What the file contains", choices=[("employers", "Employers"), ("offers", "Offers and their sessions")],
                      validators=[DataRequired("Choose what the file contains")])
    file = FileField("CSV file", validators=[FileRequired("Choose a CSV file")])
    dry_run = BooleanField("Only check the file: import nothing")
