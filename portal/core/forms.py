"""Form fields and validators shared by every feature."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any

from flask_wtf import FlaskForm
from wtforms import Field, SelectMultipleField, StringField
from wtforms.validators import StopValidation, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from portal.core.cleaning import text_problem
from portal.core.postcodes import InvalidPostcode, normalise_postcode


def clean_input(form: Any, field: Field) -> None:
    """Validator: refuse typed text the portal can't store (NUL, controls, lone surrogates) and numbers that aren't finite."""
    for raw in getattr(field, "raw_data", None) or ():
        problem = text_problem(raw) if isinstance(raw, str) else None
        if problem:
            raise StopValidation(problem)
    if isinstance(field.data, float | Decimal) and not math.isfinite(field.data):
        raise StopValidation("Enter a number, like 12")


class PortalForm(FlaskForm):
    """The base of every form: each field first refuses text that can't be stored, with the message beside it."""

    class Meta(FlaskForm.Meta):
        def bind_field(self, form: Any, unbound_field: Any, options: dict[str, Any]) -> Any:
            """Bind the field as usual, then put the input-cleaning check first in its validators."""
            field = super().bind_field(form, unbound_field, options)
            field.validators = [clean_input, *field.validators]
            return field


class MultiCheckboxField(SelectMultipleField):
    """A list of checkboxes (rendered by the choices() macro)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class PostcodeField(StringField):
    """A UK postcode, normalised to 'SW1A 1AA' form; invalid text is a form error."""

    data: str | None

    def pre_validate(self, form: Any) -> None:
        """Normalise, or explain what is wrong."""
        text = self.data or ""
        if not text.strip():
            return  # DataRequired / Optional decide
        try:
            self.data = normalise_postcode(text)
        except InvalidPostcode as exc:
            raise ValidationError("Enter a real postcode, like SW1A 1AA") from exc


def strip_filter(value: Any) -> Any:
    """Trim surrounding spaces from text input."""
    return value.strip() if isinstance(value, str) else value


def lower_filter(value: Any) -> Any:
    """Trim and lower-case (email addresses)."""
    return value.strip().lower() if isinstance(value, str) else value


EARLIEST_YEAR = 1900
LATEST_YEAR = 2100  # past any date the portal plans for; keeps date arithmetic and time zones in range


def real_date(year: str, month: str, day: str) -> dt.date | None:
    """The date three typed boxes name, or None unless each is plain digits and the date is real and in range."""
    if not all(part.isascii() and part.isdigit() and len(part) <= 4 for part in (year, month, day)):
        return None
    try:
        date = dt.date(int(year), int(month), int(day))
    except ValueError:
        return None
    return date if EARLIEST_YEAR <= date.year <= LATEST_YEAR else None


class DateInputField(Field):
    """A date typed as day, month and year in three boxes (the GOV.UK date input pattern).

    Use InputRequired (not DataRequired) with it, so a date that is not real keeps its own message.
    """

    def __init__(self, label: str | None = None, validators: Any = None, **kwargs: Any) -> None:
        """Create the field; parts are read from '<name>-day', '-month' and '-year'."""
        super().__init__(label, validators, **kwargs)
        self.parts: dict[str, str] = {"day": "", "month": "", "year": ""}

    def process(self, formdata: Any, data: Any = None, extra_filters: Any = None) -> None:
        """Read the three parts from the submitted form, or fill them from a date."""
        self.process_errors = []
        self.data = None
        if formdata is not None and any(f"{self.name}-{p}" in formdata for p in self.parts):
            self.parts = {p: (formdata.get(f"{self.name}-{p}") or "").strip() for p in self.parts}
            # One raw value, non-empty when any box was filled, so InputRequired keeps our message.
            self.raw_data = ["/".join(self.parts.values()).strip("/")]
            if not any(self.parts.values()):
                return
            self.data = real_date(self.parts["year"], self.parts["month"], self.parts["day"])
            if self.data is None:
                self.process_errors.append(f"{self.label.text} must be a real date, like 27 3 2011")
            return
        value = self.default() if callable(self.default) else self.default
        value = data if data is not None else value
        if isinstance(value, dt.date):
            self.data = value
            self.parts = {"day": str(value.day), "month": str(value.month), "year": str(value.year)}

    def _value(self) -> str:
        """Text form (unused by the macro, kept for WTForms)."""
        return self.data.isoformat() if self.data else ""
