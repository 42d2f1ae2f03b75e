"""Reading query parameters and JSON bodies strictly: every problem is collected per name, never a 500."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from werkzeug.datastructures import MultiDict

from portal.api.errors import ApiError, invalid
from portal.core.dates import local_to_utc
from portal.core.vocab import (
    YEAR_GROUPS,
    AccessFeature,
    ActivityType,
    BookingStatus,
    Coded,
    DeliveryMode,
    Sector,
)
from portal.geo.locate import PostcodeProblem, locate
from portal.matching.services import DEFAULT_RADIUS_KM, MatchRequest
from portal.offers.search import OfferQuery
from portal.organisations.models import School

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


class Params:
    """Query parameters of one request; each getter records a problem instead of raising."""

    def __init__(self, args: MultiDict[str, str], known: Iterable[str]) -> None:
        """Keep the arguments and complain about names the endpoint does not know (typos)."""
        self.args = args
        self.errors: dict[str, str] = {}
        allowed = set(known)
        for name in args:
            if name not in allowed:
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


# --- each endpoint's input -------------------------------------------------------------------

MAX_PER_PAGE = 100
MAX_REASON_LENGTH = 500  # bookings.decline_reason
DEFAULT_PER_PAGE = 20
DEFAULT_OFFER_RADIUS_KM = 25.0
MAX_RADIUS_KM = 1000.0
OFFER_PARAMS = ("activity_type", "delivery_mode", "sector", "year_group", "feature", "date_from", "date_to",
                "lat", "lon", "postcode", "radius_km", "page", "per_page")
MATCH_PARAMS = ("radius_km", "types", "from", "to")
BOOKING_LIST_PARAMS = ("status", "page", "per_page")
BOOKING_FIELDS = ("student_ref", "offer_ref", "session_start")
DECISION_FIELDS = ("decision", "reason")


@dataclass(frozen=True)
class OfferSearch:
    """A parsed offer search: the query for the search service, the page, and where distances start."""

    query: OfferQuery
    page: int
    per_page: int
    origin: dict[str, Any] | None


def paging(params: Params) -> tuple[int, int]:
    """page (from 1) and per_page (1 to 100)."""
    page = params.integer("page", 1, 1, 100_000) or 1
    per_page = params.integer("per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE) or DEFAULT_PER_PAGE
    return page, per_page


def _window(params: Params, first: str, last: str) -> tuple[dt.date | None, dt.date | None]:
    """A date window whose end is not before its start."""
    start, end = params.date(first), params.date(last)
    if start and end and end < start:
        params.errors[last] = f"{last} must be the same as or after {first}"
    return start, end


def _origin(params: Params, school: School | None) -> dict[str, Any] | None:
    """Where distances are measured from: lat/lon, a postcode, or the user's school (None: nowhere)."""
    lat = params.number("lat", None, -90, 90)
    lon = params.number("lon", None, -180, 180)
    postcode = params.text("postcode", 16)
    if (lat is None) != (lon is None) and not {"lat", "lon"} & set(params.errors):
        params.errors["lon" if lon is None else "lat"] = "Give lat and lon together"
    if lat is not None and lon is not None and postcode:
        params.errors["postcode"] = "Give either lat and lon or postcode, not both"
    elif lat is not None and lon is not None:
        return {"latitude": lat, "longitude": lon, "source": "coordinates"}
    elif postcode:
        try:
            location = locate(postcode)
        except PostcodeProblem as problem:
            params.errors["postcode"] = str(problem)
            return None
        return {"latitude": location.latitude, "longitude": location.longitude, "source": "postcode"}
    elif school is not None and school.latitude is not None and school.longitude is not None:
        return {"latitude": school.latitude, "longitude": school.longitude, "source": "school"}
    return None


def offer_search(args: MultiDict[str, str], school: School | None) -> OfferSearch:
    """The offer search filters, location, radius and page; 422 listing every bad parameter."""
    params = Params(args, OFFER_PARAMS)
    date_from, date_to = _window(params, "date_from", "date_to")
    radius = params.number("radius_km", None, 0, MAX_RADIUS_KM, above_low=True)
    query = OfferQuery(
        activity_types=params.codes("activity_type", ActivityType),
        delivery_modes=params.codes("delivery_mode", DeliveryMode),
        sectors=params.codes("sector", Sector),
        year_group=params.integer("year_group", None, min(YEAR_GROUPS), max(YEAR_GROUPS)),
        features=params.codes("feature", AccessFeature),
        date_from=date_from,
        date_to=date_to,
    )
    origin = _origin(params, school)
    if origin is None and radius is not None and "radius_km" not in params.errors:
        params.errors["radius_km"] = "A radius needs a place to measure from: give lat and lon or postcode"
    page, per_page = paging(params)
    params.check()
    if origin is not None:
        query = replace(query, origin=(origin["latitude"], origin["longitude"]),
                        radius_km=radius or DEFAULT_OFFER_RADIUS_KM)
    return OfferSearch(query, page, per_page, origin)


def match_request(args: MultiDict[str, str]) -> MatchRequest:
    """radius_km, types, from and to for a student's matches."""
    params = Params(args, MATCH_PARAMS)
    radius = params.number("radius_km", DEFAULT_RADIUS_KM, 0, MAX_RADIUS_KM, above_low=True)
    types = params.codes("types", ActivityType)
    date_from, date_to = _window(params, "from", "to")
    params.check()
    return MatchRequest(activity_types=types, date_from=date_from, date_to=date_to,
                        radius_km=radius or DEFAULT_RADIUS_KM)


def booking_list(args: MultiDict[str, str]) -> tuple[list[str], int, int]:
    """status filter (repeat or comma-separate) and the page."""
    params = Params(args, BOOKING_LIST_PARAMS)
    statuses = params.codes("status", BookingStatus)
    page, per_page = paging(params)
    params.check()
    return statuses, page, per_page


def _unknown_fields(body: dict[str, Any], known: tuple[str, ...], errors: dict[str, str]) -> None:
    """Refuse fields the endpoint does not know, so a misspelt one is not silently ignored."""
    for name in body:
        if name not in known:
            errors[str(name)] = "Unknown field"


def booking_request(body: dict[str, Any]) -> tuple[str, str, dt.datetime]:
    """student_ref, offer_ref and session_start (aware UTC) of a booking request; 422 when any is wrong."""
    errors: dict[str, str] = {}
    _unknown_fields(body, BOOKING_FIELDS, errors)
    student_ref = reference(body, "student_ref", errors)
    offer_ref = reference(body, "offer_ref", errors)
    starts_at = instant(body, "session_start", errors)
    if errors or starts_at is None:
        raise invalid(errors)
    return student_ref, offer_ref, starts_at


def decision_request(body: dict[str, Any]) -> tuple[bool, str]:
    """(accept, reason) of an employer's decision; 422 when the decision or reason is not usable."""
    errors: dict[str, str] = {}
    _unknown_fields(body, DECISION_FIELDS, errors)
    decision, reason = body.get("decision"), body.get("reason", "")
    if decision not in ("confirm", "decline"):
        errors["decision"] = 'Give "confirm" or "decline"'
    if reason is None:
        reason = ""
    if not isinstance(reason, str):
        errors["reason"] = "Give a string"
    elif len(reason.strip()) > MAX_REASON_LENGTH:
        errors["reason"] = f"Use at most {MAX_REASON_LENGTH} characters"
    if errors:
        raise invalid(errors)
    return decision == "confirm", reason
