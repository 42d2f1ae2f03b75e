"""Reading query parameters and JSON bodies strictly: every problem is collected per name, never a 500."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Iterable
from typing import Any

from werkzeug.datastructures import MultiDict

from portal.api.errors import ApiError, invalid
from portal.core.dates import local_to_utc
from portal.core.vocab import Coded

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


class Params:
    """Query parameters of one request; each getter records a problem instead of raising."""

    def __init__(self, args: MultiDict[str, str], known: Iterable[str]) -> None:
        """Keep the arguments and complain about names the endpoint does not know (typos)."""
        self.args = args
        self.errors: dict[str, str] = {}
        for name in args:
            if name not in set(known):
                self.errors[name] = "Unknown parameter"

    def _one(self, name: str) -> str | None:
        """The single value of a parameter (None when absent); a repeat is an error."""
        values = [v.strip() for v in self.args.getlist(name)]
        if not values:
            return None
        if len(values) > 1:
            self.errors[name] = "Give this parameter once"
            return None
        return values[0] or None

    def codes(self, name: str, vocabulary: type[Coded]) -> list[str]:
        """Codes from a repeated and/or comma-separated parameter, each checked against the vocabulary."""
        found: list[str] = []
        for value in self.args.getlist(name):
            for part in value.split(","):
                if not part.strip():
                    continue
                try:
                    code = vocabulary.parse(part).value
                except ValueError:
                    self.errors[name] = f"Unknown code {part.strip()!r}"
                    continue
                if code not in found:
                    found.append(code)
        return found

    def integer(self, name: str, default: int | None, low: int, high: int) -> int | None:
        """A whole number between low and high inclusive."""
        raw = self._one(name)
        if raw is None:
            return default
        if not re.fullmatch(r"[+-]?\d{1,9}", raw) or not low <= int(raw) <= high:
            self.errors[name] = f"Give a whole number from {low} to {high}"
            return default
        return int(raw)

    def number(self, name: str, default: float | None, low: float, high: float, *, above_low: bool = False) -> float | None:
        """A finite decimal number in range (strictly above low when above_low)."""
        raw = self._one(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        in_range = (value > low if above_low else value >= low) and value <= high
        if not math.isfinite(value) or not in_range:
            lower = f"above {low:g}" if above_low else f"from {low:g}"
            self.errors[name] = f"Give a number {lower} up to {high:g}"
            return default
        return value

    def date(self, name: str) -> dt.date | None:
        """A calendar date written YYYY-MM-DD."""
        raw = self._one(name)
        if raw is None:
            return None
        try:
            if not _DATE.match(raw):
                raise ValueError(raw)
            return dt.date.fromisoformat(raw)
        except ValueError:
            self.errors[name] = "Give a date as YYYY-MM-DD"
            return None

    def text(self, name: str, max_length: int = 100) -> str | None:
        """A short piece of text."""
        raw = self._one(name)
        if raw is not None and len(raw) > max_length:
            self.errors[name] = f"Use at most {max_length} characters"
            return None
        return raw

    def check(self) -> None:
        """Raise a 422 listing every problem found so far."""
        if self.errors:
            raise invalid(self.errors)


def json_object(raw: bytes) -> dict[str, Any]:
    """The request body as a JSON object: 400 invalid_json when it is not JSON, 422 when it is not an object."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise ApiError(400, "invalid_json", "The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise invalid({"body": "Send a JSON object"})
    return body


def reference(body: dict[str, Any], name: str, errors: dict[str, str], max_length: int = 40) -> str:
    """A required, non-empty reference string from a JSON body."""
    value = body.get(name)
    if value is None:
        errors[name] = "This field is required"
    elif not isinstance(value, str):
        errors[name] = "Give a string"
    elif not value.strip():
        errors[name] = "This field is required"
    elif len(value.strip()) > max_length:
        errors[name] = f"Use at most {max_length} characters"
    else:
        return value.strip()
    return ""


def instant(body: dict[str, Any], name: str, errors: dict[str, str]) -> dt.datetime | None:
    """A required ISO 8601 date and time, as aware UTC (a time without an offset is UK time)."""
    value = body.get(name)
    if value is None:
        errors[name] = "This field is required"
        return None
    if not isinstance(value, str) or not _DATETIME.match(value):
        errors[name] = "Give a date and time in ISO 8601, like 2027-03-05T09:30:00+00:00"
        return None
    try:
        return local_to_utc(dt.datetime.fromisoformat(value))
    except (ValueError, OverflowError):
        errors[name] = "Give a date and time in ISO 8601, like 2027-03-05T09:30:00+00:00"
        return None
