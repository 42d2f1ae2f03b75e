"""Form fields and validators shared by every feature."""

from __future__ import annotations

import datetime as dt
from typing import Any

from wtforms import Field, SelectMultipleField, StringField
from wtforms.validators import ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from portal.core.postcodes import InvalidPostcode, normalise_postcode


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
            try:
                self.data = dt.date(int(self.parts["year"]), int(self.parts["month"]), int(self.parts["day"]))
                if self.data.year < 1900:
                    raise ValueError
            except ValueError:
                self.data = None
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
