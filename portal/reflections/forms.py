"""Reflection forms: the full version, the easy-read version, and the staff debrief."""

from __future__ import annotations

from typing import Any

from wtforms import BooleanField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from portal.core.forms import DateInputField, MultiCheckboxField, PortalForm, strip_filter
from portal.core.vocab import ActivityType, Skill
from portal.reflections.services import (
    ATTENDANCE,
    LONG_SUMMARY_WORDS,
    PUNCTUALITY,
    SHORT_SUMMARY_WORDS,
    ReflectionAnswers,
    word_count,
)

INTEREST_CHOICES = [("1", "1 – not at all"), ("2", "2"), ("3", "3"), ("4", "4"), ("5", "5 – very interested")]
EASY_INTEREST_CHOICES = [("1", "No"), ("3", "A bit"), ("5", "Yes, a lot")]
EASY_SKILL_LABELS = {
    Skill.LISTENING: "Listening",
    Skill.SPEAKING: "Talking to people",
    Skill.PROBLEM_SOLVING: "Sorting out problems",
    Skill.CREATIVITY: "Having ideas",
    Skill.STAYING_POSITIVE: "Keeping going when it was hard",
    Skill.AIMING_HIGH: "Setting myself a goal",
    Skill.LEADERSHIP: "Helping others do well",
    Skill.TEAMWORK: "Working with others",
}


class WordLimit:
    """At most `limit` words, counted as the page's live count counts them."""

    def __init__(self, limit: int, what: str) -> None:
        self.limit = limit
        self.message = f"{what} must be {limit} words or fewer"

    def __call__(self, form: Any, field: Any) -> None:
        if word_count(field.data) > self.limit:
            raise ValidationError(self.message)


def _int_or_none(value: Any) -> int | None:
    """Radio values as integers; no answer is None."""
    return int(value) if value not in (None, "", "None") else None


class FullReflectionForm(PortalForm):
    """The structured reflection: short plain-English questions."""

    what_i_did = TextAreaField("What did you do?", filters=[strip_filter], validators=[Length(max=5000)])
    skills = MultiCheckboxField("Which skills did you use?", choices=Skill.choices(), validators=[Optional()],
                                description="Choose all that apply.")
    surprised = TextAreaField("What surprised you?", filters=[strip_filter], validators=[Optional(), Length(max=5000)])
    interest_before = RadioField("Before, how interested were you in this kind of work?", choices=INTEREST_CHOICES,
                                 validators=[Optional()])
    interest_now = RadioField("How interested are you now?", choices=INTEREST_CHOICES, validators=[Optional()])
    next_steps = TextAreaField("What will you do next?", filters=[strip_filter], validators=[Optional(), Length(max=5000)])
    summary_100 = TextAreaField(
        "Short summary for a CV", filters=[strip_filter],
        validators=[Optional(), WordLimit(SHORT_SUMMARY_WORDS, "Short summary")],
        description=f"Up to {SHORT_SUMMARY_WORDS} words about what you did and learned.")
    summary_250 = TextAreaField(
        "Longer summary for applications", filters=[strip_filter],
        validators=[Optional(), WordLimit(LONG_SUMMARY_WORDS, "Longer summary")],
        description=f"Up to {LONG_SUMMARY_WORDS} words, for a college, apprenticeship or job application.")

    easy_read = False
    word_limits = {"summary_100": SHORT_SUMMARY_WORDS, "summary_250": LONG_SUMMARY_WORDS}

    def validate_what_i_did(self, field: Any) -> None:
        """Submitting needs at least this answer (drafts may be empty)."""
        if self.submitting and not field.data:
            raise ValidationError("Say what you did")

    submitting = False

    def answers(self) -> ReflectionAnswers:
        """The answers for the service."""
        return ReflectionAnswers(
            what_i_did=self.what_i_did.data, skills=list(self.skills.data or []), surprised=self.surprised.data,
            interest_before=_int_or_none(self.interest_before.data), interest_now=_int_or_none(self.interest_now.data),
            next_steps=self.next_steps.data, summary_100=self.summary_100.data, summary_250=self.summary_250.data,
        )


class EasyReadReflectionForm(PortalForm):
    """The easy-read reflection: four short questions with simple choices."""

    what_i_did = TextAreaField("What did you do?", filters=[strip_filter], validators=[Length(max=5000)],
                               description="A few words is fine.")
    skills = MultiCheckboxField("What did you do well?", choices=[(s.value, EASY_SKILL_LABELS[s]) for s in Skill],
                                validators=[Optional()], description="Tick all that are true.")
    interest_now = RadioField("Would you like to do this kind of work?", choices=EASY_INTEREST_CHOICES,
                              validators=[Optional()])
    next_steps = TextAreaField("What will you do next?", filters=[strip_filter],
                               validators=[Optional(), Length(max=5000)])

    easy_read = True
    word_limits: dict[str, int] = {}
    submitting = False

    def validate_what_i_did(self, field: Any) -> None:
        """Submitting needs at least this answer (drafts may be empty)."""
        if self.submitting and not field.data:
            raise ValidationError("Say what you did")

    def answers(self) -> ReflectionAnswers:
        """The answers for the service (questions not asked stay None and are left alone)."""
        return ReflectionAnswers(what_i_did=self.what_i_did.data, skills=list(self.skills.data or []),
                                 interest_now=_int_or_none(self.interest_now.data), next_steps=self.next_steps.data)


class DebriefForm(PortalForm):
    """Staff debrief: a note, and whether it was held in person."""

    debrief_note = TextAreaField("Debrief note", filters=[strip_filter], validators=[Optional(), Length(max=5000)],
                                 description="What you talked about and agreed. The student can see this note.")
    in_person = BooleanField("The debrief was held in person")


RATING_CHOICES = [("1", "Not yet"), ("2", "Getting there"), ("3", "Well"), ("4", "Very well"), ("", "Did not see")]


class FeedbackForm(PortalForm):
    """The employer's feedback on one student: attendance, punctuality, the eight skills, comments."""

    attended = RadioField("Did the student attend?", choices=list(ATTENDANCE.items()),
                          validators=[DataRequired("Choose whether the student attended")])
    punctuality = RadioField("Was the student on time?", choices=list(PUNCTUALITY.items()),
                             validators=[DataRequired("Choose whether the student was on time")])
    comment = TextAreaField("Your comment to the student", filters=[strip_filter],
                            validators=[Optional(), Length(max=2000)],
                            description="The school reads this first and then shares it with the student.")
    activity_comment = TextAreaField("How did the activity go?", filters=[strip_filter],
                                     validators=[Optional(), Length(max=2000)],
                                     description="For the school: what worked and what you would change.")

    def ratings(self) -> dict[str, int]:
        """Skill code -> rating for the skills the employer rated."""
        return {skill.value: int(getattr(self, f"skill_{skill.value}").data) for skill in Skill
                if getattr(self, f"skill_{skill.value}").data}


for _skill in Skill:
    setattr(FeedbackForm, f"skill_{_skill.value}",
            RadioField(_skill.label, choices=RATING_CHOICES, default="", validators=[Optional()]))


class ReleaseForm(PortalForm):
    """Staff release the employer's comment to the student (a button)."""


YEAR_GROUP_CHOICES = [(str(y), f"Year {y}") for y in range(7, 14)]


class EncounterForm(PortalForm):
    """Log an encounter for many students at once: a whole year group, or the students ticked."""

    held_on = DateInputField("When was it?", validators=[InputRequired("Enter the date of the encounter")],
                             description="For example, 14 10 2026")
    activity_type = SelectField("What kind of activity was it?", choices=ActivityType.choices(),
                                validators=[DataRequired("Choose the kind of activity")])
    employer_name = StringField("Employer or organisation", filters=[strip_filter],
                                validators=[DataRequired("Enter the employer's name"), Length(max=200)])
    who = RadioField("Who took part?", choices=[("year", "A whole year group"), ("students", "The students I tick")],
                     default="year", validators=[DataRequired("Choose who took part")])
    year_group = SelectField("Year group", choices=YEAR_GROUP_CHOICES, validators=[Optional()])
    student_ids = MultiCheckboxField("Students", coerce=int, validators=[Optional()])
    debriefed = BooleanField("The students were debriefed afterwards (a talk or written reflection in school)")

    def __init__(self, *args: Any, today: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today

    def validate_held_on(self, field: Any) -> None:
        """An encounter is logged after it happened."""
        if field.data and self.today and field.data > self.today:
            raise ValidationError("The date must be today or in the past")

    def validate_student_ids(self, field: Any) -> None:
        """Ticking students needs at least one."""
        if self.who.data == "students" and not field.data:
            raise ValidationError("Tick at least one student")
