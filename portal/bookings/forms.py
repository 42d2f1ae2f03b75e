"""Forms for booking students, employer decisions and closing bookings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wtforms import HiddenField, RadioField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from portal.core.forms import MultiCheckboxField, PortalForm, strip_filter
from portal.core.vocab import AccessFeature


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


SCHOOL_ANSWERS = [("yes", "Yes, it was there"), ("no", "No, it was not there")]
STUDENT_ANSWERS = [("yes", "Yes"), ("no", "No"), ("unsure", "I'm not sure")]


def feature_field_name(code: str) -> str:
    """The form field that holds the answer for one feature."""
    return f"feature_{code}"


def feature_answers(form: Any, codes: list[str]) -> dict[str, bool | None]:
    """Feature code -> True (there), False (not there) or None (not answered, or not sure)."""
    answers: dict[str, bool | None] = {}
    for code in codes:
        value = getattr(form, feature_field_name(code)).data
        answers[code] = True if value == "yes" else False if value == "no" else None
    return answers


def with_feature_questions(base: type[Any], questions: dict[str, str], choices: list[tuple[str, str]]) -> type[Any]:
    """A subclass of the form with one optional radio question per feature the student needed."""
    fields = {feature_field_name(code): RadioField(question, choices=choices, validators=[Optional()])
              for code, question in questions.items()}
    return type(base.__name__, (base,), {**fields, "feature_codes": list(questions)})


def school_confirmation_form(codes: list[str], earlier: Mapping[str, Any], prefill: bool) -> Any:
    """The school's question per needed feature, filled with its earlier answers (and note) when prefill is set."""
    form_class = with_feature_questions(
        FeatureConfirmationForm, {code: f"{AccessFeature(code).label}: was it there?" for code in codes}, SCHOOL_ANSWERS)
    if not prefill:
        return form_class()
    answers = {feature_field_name(code): ("yes" if row.present else "no") for code, row in earlier.items()}
    return form_class(data={**answers, "note": next((row.note for row in earlier.values() if row.note), "")})


class FeatureConfirmationForm(PortalForm):
    """Staff say whether each feature the student needed was really there (questions added per student)."""

    note = TextAreaField("Anything the employer should know?", filters=[strip_filter],
                         validators=[Optional(), Length(max=500)],
                         description="The employer reads this if you say a feature was not there. "
                                     "Do not give the student's name or any health details.")
    feature_codes: list[str] = []

    def validate(self, extra_validators: Any = None) -> bool:
        """At least one question must be answered."""
        if not super().validate(extra_validators):
            return False
        if not any(getattr(self, feature_field_name(code)).data for code in self.feature_codes):
            self.form_errors.append("Answer at least one question")
            return False
        return True
