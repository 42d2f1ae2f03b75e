"""The API's shapes, written once as pydantic models: they parse requests, serialise answers and make the document.

Inputs are read strictly: every problem is collected per name into one 422, never a 500. Outputs are built
from domain objects by each model's `of(...)` and dumped as JSON; openapi.py turns the same models into the
OpenAPI 3.1 document (pydantic writes JSON Schema 2020-12, the dialect OpenAPI 3.1 uses).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Annotated, Any, Literal, Self, TypeVar, get_args, get_origin

from annotated_types import GroupedMetadata
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    RootModel,
    StringConstraints,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic.fields import FieldInfo
from werkzeug.datastructures import MultiDict

from portal.api.errors import ApiError, invalid
from portal.bookings.models import Booking as BookingRow
from portal.core.dates import local_to_utc, to_london
from portal.core.vocab import (
    YEAR_GROUPS,
    AccessFeature,
    ActivityType,
    BookingStatus,
    Coded,
    DeliveryMode,
    MatchRule,
    MeaningfulCriterion,
    Sector,
)
from portal.matching.services import DEFAULT_RADIUS_KM, MatchOutcome
from portal.matching.services import Match as Ranked
from portal.matching.services import NearMiss as Nearly
from portal.matching.services import UnmetNeed as Unmet
from portal.offers.models import OfferSession
from portal.offers.search import SearchPage, SearchResult

MAX_PER_PAGE = 100
MAX_PAGE = 100_000
MAX_REASON_LENGTH = 500  # bookings.decline_reason
MAX_REF_LENGTH = 40
DEFAULT_PER_PAGE = 20
DEFAULT_OFFER_RADIUS_KM = 25.0
MAX_RADIUS_KM = 1000.0

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_DATETIME_HELP = "Give a date and time in ISO 8601, like 2027-03-05T09:30:00+00:00"
M = TypeVar("M", bound=BaseModel)


class Says:
    """The message a field's problem is reported with (pydantic keeps unknown metadata and ignores it)."""

    def __init__(self, message: str) -> None:
        """Keep the message."""
        self.message = message


# --- field types -----------------------------------------------------------------------------

def _london_iso(moment: dt.datetime) -> str:
    """An aware datetime as ISO 8601 in Europe/London with its offset, to the second."""
    return to_london(moment).isoformat(timespec="seconds")


def _calendar_date(raw: Any) -> dt.date:
    """A calendar date written exactly YYYY-MM-DD."""
    if isinstance(raw, dt.date):
        return raw
    if not isinstance(raw, str) or not _DATE.match(raw):
        raise ValueError("not YYYY-MM-DD")
    return dt.date.fromisoformat(raw)


def _instant(raw: Any) -> dt.datetime:
    """An ISO 8601 date and time as aware UTC (without an offset it is UK time)."""
    if not isinstance(raw, str) or not _DATETIME.match(raw):
        raise ValueError("not ISO 8601")
    try:
        return local_to_utc(dt.datetime.fromisoformat(raw))
    except OverflowError:
        raise ValueError("out of range") from None


DATE_TIME_SCHEMA = {"type": "string", "format": "date-time",
                    "description": "ISO 8601 in Europe/London with its offset, e.g. 2027-03-05T09:30:00+00:00"}
LondonTime = Annotated[dt.datetime, PlainSerializer(_london_iso, return_type=str), WithJsonSchema(DATE_TIME_SCHEMA)]
CalendarDate = Annotated[dt.date, BeforeValidator(_calendar_date), Says("Give a date as YYYY-MM-DD"),
                         WithJsonSchema({"type": "string", "format": "date"})]
Kilometres = Annotated[float | None, PlainSerializer(lambda d: round(d, 2) if d is not None else None),
                       WithJsonSchema({"type": ["number", "null"], "minimum": 0,
                                       "description": "Kilometres (geodesic) from the origin; null for virtual "
                                                      "offers or without an origin"})]
YearGroup = Annotated[int, Field(ge=min(YEAR_GROUPS), le=max(YEAR_GROUPS))]
Reference = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_REF_LENGTH)]
Instant = Annotated[dt.datetime, BeforeValidator(_instant), Says(_DATETIME_HELP),
                    WithJsonSchema({"type": "string", "examples": ["2027-03-05T09:30:00+00:00", "2027-03-05T09:30:00"],
                                    "description": "ISO 8601 start of the session; without an offset it is UK time"})]


class Closed(BaseModel):
    """A JSON object with exactly these fields; in answers every field is present (null, never missing)."""

    model_config = ConfigDict(extra="forbid", json_schema_serialization_defaults_required=True,
                              use_enum_values=True)


# --- answers ---------------------------------------------------------------------------------

class Error(Closed):
    """Every error: a stable machine code, a message for people, and per-field problems."""

    code: str = Field(description="Stable code, e.g. session_full, invalid_request, unauthorized")
    message: str
    details: dict[str, str] = Field(description="Field or parameter name to what is wrong with it (422); "
                                                "otherwise empty")


class Session(Closed):
    """A dated session of an offer."""

    start: LondonTime
    end: LondonTime
    capacity: int = Field(ge=1)
    free_places: int = Field(ge=0)

    @classmethod
    def of(cls, occurrence: OfferSession) -> Self:
        """A session's times and places."""
        return cls(start=occurrence.starts_at, end=occurrence.ends_at, capacity=occurrence.capacity,
                   free_places=max(0, occurrence.capacity - occurrence.booked))


class Offer(Closed):
    """A published offer of a vetted employer."""

    offer_ref: str
    title: str
    employer_name: str
    activity_type: ActivityType
    delivery_mode: DeliveryMode
    sectors: list[Sector]
    year_groups: list[YearGroup]
    send_features: list[AccessFeature]
    meaningful_criteria: list[MeaningfulCriterion] = Field(
        description="The marks of a meaningful experience the employer says the offer provides")
    distance_km: Kilometres
    sessions: list[Session] = Field(description="Sessions starting inside the date window (all future ones "
                                                "without one)")

    @classmethod
    def of(cls, result: SearchResult) -> Self:
        """An offer found by a search, with its sessions in the window."""
        offer = result.offer
        return cls(offer_ref=offer.offer_ref, title=offer.title, employer_name=offer.employer.name,
                   activity_type=ActivityType(offer.activity_type), delivery_mode=DeliveryMode(offer.delivery_mode),
                   sectors=[Sector(c) for c in result.codes.sectors], year_groups=list(result.codes.year_groups),
                   send_features=[AccessFeature(c) for c in result.codes.features],
                   meaningful_criteria=[MeaningfulCriterion(c) for c in result.codes.criteria],
                   distance_km=result.distance_km,
                   sessions=[Session.of(s) for s in result.sessions])


class Origin(Closed):
    """Where distances were measured from."""

    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    source: Literal["coordinates", "postcode", "school"]


def _pages(total: int, per_page: int) -> int:
    """How many pages the items fill (at least one)."""
    return max(1, -(-total // per_page))


class OfferPage(Closed):
    """A page of offers with where distances were measured from."""

    items: list[Offer]
    page: int = Field(ge=1)
    per_page: int = Field(ge=1, le=MAX_PER_PAGE)
    total: int = Field(ge=0, description="How many offers match, counted up to 1,000")
    total_is_lower_bound: bool = Field(description="True when more than `total` offers match: the count stops at "
                                                   "1,000, and the pages go as far as it does")
    pages: int = Field(ge=1)
    origin: Origin | None
    radius_km: float | None = Field(description="The radius used; null when there is no origin")

    @classmethod
    def of(cls, found: SearchPage, origin: Origin | None, radius_km: float | None) -> Self:
        """A page of offer search results."""
        return cls(items=[Offer.of(r) for r in found.items], page=found.page, per_page=found.per_page,
                   total=found.total, total_is_lower_bound=found.more_than, pages=_pages(found.total, found.per_page),
                   origin=origin, radius_km=radius_km)


class Match(Closed):
    """A session the student can be booked on, best first."""

    offer_ref: str
    offer_title: str
    session_start: LondonTime
    session_end: LondonTime
    free_places: int = Field(ge=1)
    distance_km: Kilometres
    score: int = Field(ge=0, le=100)
    reasons: list[str] = Field(description="Why it ranks where it does, in words (distance, needs met, "
                                           "interests, ...)")

    @classmethod
    def of(cls, match: Ranked) -> Self:
        """One ranked match: which session, how far, the score and the reasons in words."""
        return cls(offer_ref=match.offer.offer_ref, offer_title=match.offer.title,
                   session_start=match.session.starts_at, session_end=match.session.ends_at,
                   free_places=match.free_places, distance_km=match.distance_km, score=match.score,
                   reasons=list(match.reasons))


class UnmetNeed(Closed):
    """A need no bookable session within the distance supports."""

    need: AccessFeature
    nearest_km: Kilometres = Field(description="The nearest session that supports it and passes every other rule; "
                                               "null when there is none anywhere")

    @classmethod
    def of(cls, unmet: Unmet) -> Self:
        """One unmet need and how far away it is met."""
        return cls(need=AccessFeature(unmet.need), nearest_km=unmet.nearest_km)


class NearMiss(Closed):
    """A session that passes every hard rule but lacks one or two of the student's needs: not bookable as it is."""

    offer_ref: str
    offer_title: str
    session_start: LondonTime
    distance_km: Kilometres
    missing: list[AccessFeature] = Field(min_length=1, max_length=2)

    @classmethod
    def of(cls, miss: Nearly) -> Self:
        """One near miss and what it lacks."""
        return cls(offer_ref=miss.offer.offer_ref, offer_title=miss.offer.title, session_start=miss.session.starts_at,
                   distance_km=miss.distance_km, missing=[AccessFeature(code) for code in miss.missing])


class MatchList(Closed):
    """A student's ranked matches, one suggestion outside their interests, near misses, and why when there are none."""

    student_ref: str
    matches: list[Match]
    something_different: Match | None
    explanations: list[str] = Field(description="Why nothing fits, in words (empty when there are matches)")
    unmet: list[UnmetNeed] = Field(description="Each need no bookable session within the distance supports "
                                               "(only when nothing fits)")
    blocked_by: list[MatchRule] = Field(description="The rules other than needs that alone leave nothing within "
                                                    "the distance (only when nothing fits)")
    near_misses: list[NearMiss] = Field(description="Sessions that pass every other rule but lack one or two needs")

    @classmethod
    def of(cls, outcome: MatchOutcome) -> Self:
        """The outcome of matching one student."""
        different = outcome.something_different
        return cls(student_ref=outcome.student.student_ref, matches=[Match.of(m) for m in outcome.matches],
                   something_different=Match.of(different) if different else None,
                   explanations=list(outcome.explanations), unmet=[UnmetNeed.of(u) for u in outcome.unmet],
                   blocked_by=list(outcome.blocked_by), near_misses=[NearMiss.of(m) for m in outcome.near_misses])


class SchoolBookingStudent(Closed):
    """The student as their own school sees them."""

    student_ref: str
    first_name: str
    last_name: str
    year_group: YearGroup


class AccessNeed(Closed):
    """One adjustment a placement needs, by code and label."""

    code: AccessFeature
    label: str


class EmployerBookingStudent(Closed):
    """All an employer sees of a student: never SEND status, disadvantage, date of birth, last name, UPN or contact details."""

    first_name: str
    name_on_session: str = Field(description='The first name, numbered ("Grace (2)") only where students booked on '
                                             "one session share it")
    year_group: YearGroup
    school_name: str
    access_needs: list[AccessNeed] = Field(description="The adjustments the placement needs")


class _BookingCommon(Closed):
    """What school and employer both see of a booking."""

    id: int
    status: BookingStatus
    offer_ref: str
    offer_title: str
    employer_name: str
    session_start: LondonTime
    session_end: LondonTime
    requested_at: LondonTime
    decided_at: LondonTime | None
    decline_reason: str | None
    at_risk: bool = Field(description="Something on the compliance checklist is overdue (or consent was "
                                      "declined) and the placement is still to happen")

    @classmethod
    def _common(cls, booking: BookingRow, at_risk: bool) -> dict[str, Any]:
        """The shared fields of a booking."""
        offer = booking.session.offer
        return {"id": booking.id, "status": BookingStatus(booking.status), "offer_ref": offer.offer_ref,
                "offer_title": offer.title, "employer_name": offer.employer.name,
                "session_start": booking.starts_at, "session_end": booking.ends_at,
                "requested_at": booking.requested_at, "decided_at": booking.decided_at,
                "decline_reason": booking.decline_reason, "at_risk": at_risk}


class SchoolBooking(_BookingCommon):
    """A booking as the student's school sees it."""

    student: SchoolBookingStudent

    @classmethod
    def of(cls, booking: BookingRow, at_risk: bool = False) -> Self:
        """The booking with the student's reference and names."""
        s = booking.student
        return cls(**cls._common(booking, at_risk), student=SchoolBookingStudent(
            student_ref=s.student_ref, first_name=s.first_name, last_name=s.last_name, year_group=s.year_group))


class EmployerBooking(_BookingCommon):
    """A booking as the employer sees it."""

    student: EmployerBookingStudent

    @classmethod
    def of(cls, booking: BookingRow, name_on_session: str, at_risk: bool = False) -> Self:
        """The booking with only first name, year group, school and adjustments (data minimisation)."""
        s = booking.student
        return cls(**cls._common(booking, at_risk), student=EmployerBookingStudent(
            first_name=s.first_name, name_on_session=name_on_session, year_group=s.year_group, school_name=s.school.name,
            access_needs=[AccessNeed(code=AccessFeature(c), label=AccessFeature(c).label) for c in s.need_codes]))


class Booking(RootModel[SchoolBooking | EmployerBooking]):
    """A booking as its reader may see it: SchoolBooking for school staff, EmployerBooking for employers."""


class BookingPage(Closed):
    """A page of bookings, soonest session first."""

    items: list[Booking]
    page: int = Field(ge=1)
    per_page: int = Field(ge=1, le=MAX_PER_PAGE)
    total: int = Field(ge=0)
    pages: int = Field(ge=1)

    @classmethod
    def of(cls, items: list[SchoolBooking] | list[EmployerBooking], page: int, per_page: int, total: int) -> Self:
        """A page of bookings with the numbers a client needs to fetch the rest."""
        return cls(items=[Booking(item) for item in items], page=page, per_page=per_page, total=total,
                   pages=_pages(total, per_page))


# --- requests --------------------------------------------------------------------------------

Page = Annotated[int, Field(ge=1, le=MAX_PAGE, description="Page number")]
PerPage = Annotated[int, Field(ge=1, le=MAX_PER_PAGE, description="Items per page")]


def _window_problem(start: dt.date | None, end: dt.date | None, first: str, last: str) -> None:
    """A date window whose end is before its start is refused, naming the end."""
    if start and end and end < start:
        raise invalid({last: f"{last} must be the same as or after {first}"})


class OfferSearch(Closed):
    """GET /offers: the search page's filters; each list may be repeated or comma-separated."""

    activity_type: list[ActivityType] = Field(default=[], description="Any of these kinds of activity")
    delivery_mode: list[DeliveryMode] = Field(default=[], description="Any of these delivery modes")
    sector: list[Sector] = Field(default=[], description="Any of these sectors")
    year_group: int | None = Field(default=None, ge=min(YEAR_GROUPS), le=max(YEAR_GROUPS),
                                   description="Open to this year group")
    feature: list[AccessFeature] = Field(default=[], description="Supports every one of these SEND-ready features")
    date_from: CalendarDate | None = Field(default=None, description="Sessions on or after this UK day")
    date_to: CalendarDate | None = Field(default=None, description="Sessions on or before this UK day")
    lat: float | None = Field(default=None, ge=-90, le=90, allow_inf_nan=False,
                              description="Latitude of the origin (with lon)")
    lon: float | None = Field(default=None, ge=-180, le=180, allow_inf_nan=False,
                              description="Longitude of the origin (with lat)")
    postcode: str | None = Field(default=None, max_length=16,
                                 description="UK postcode of the origin (instead of lat/lon)")
    radius_km: float | None = Field(default=None, gt=0, le=MAX_RADIUS_KM, allow_inf_nan=False, description=f"Largest distance ({DEFAULT_OFFER_RADIUS_KM:g} km "
                                                              "when omitted); needs an origin")
    page: Page = 1
    per_page: PerPage = DEFAULT_PER_PAGE

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        """The window runs forwards; lat and lon come together and not with a postcode."""
        _window_problem(self.date_from, self.date_to, "date_from", "date_to")
        if (self.lat is None) != (self.lon is None):
            raise invalid({"lon" if self.lon is None else "lat": "Give lat and lon together"})
        if self.lat is not None and self.postcode:
            raise invalid({"postcode": "Give either lat and lon or postcode, not both"})
        return self


class MatchSearch(Closed):
    """GET /students/{ref}/matches: how far, which kinds of activity, which days."""

    model_config = ConfigDict(populate_by_name=True)

    radius_km: float = Field(default=DEFAULT_RADIUS_KM, gt=0, le=MAX_RADIUS_KM, allow_inf_nan=False,
                             description="Largest distance from the school")
    types: list[ActivityType] = Field(default=[], description="Only these kinds of activity")
    date_from: CalendarDate | None = Field(default=None, alias="from",
                                           description="Sessions on or after this UK day")
    date_to: CalendarDate | None = Field(default=None, alias="to", description="Sessions on or before this UK day")

    @model_validator(mode="after")
    def _forwards(self) -> Self:
        """The window runs forwards."""
        _window_problem(self.date_from, self.date_to, "from", "to")
        return self


class BookingList(Closed):
    """GET /bookings: which states, which page."""

    status: list[BookingStatus] = Field(default=[], description="Only bookings in these states")
    page: Page = 1
    per_page: PerPage = DEFAULT_PER_PAGE


class BookingRequest(Closed):
    """POST /bookings: a place for one of the school's students on a session."""

    student_ref: Reference = Field(description="Your school's own reference of the student")
    offer_ref: Reference
    session_start: Instant
    supporting_adult_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=120)] | None = Field(
        default=None, description="Who attends with the student, required when the student's record says a "
                                  "supporting adult must attend")


class DecisionRequest(Closed):
    """POST /bookings/{booking_id}/decision: confirm, or decline with a reason."""

    decision: Literal["confirm", "decline"]
    reason: Annotated[str | None, Field(max_length=MAX_REASON_LENGTH)] = Field(
        default=None, description="Required to decline: the school reads it")

    @property
    def accept(self) -> bool:
        """Whether the employer confirms."""
        return self.decision == "confirm"


# --- reading requests ------------------------------------------------------------------------

def _metadata(annotation: Any) -> list[Any]:
    """Every metadata object inside an annotation, through Optional and grouped constraints."""
    found: list[Any] = []
    if hasattr(annotation, "__metadata__"):
        for item in annotation.__metadata__:
            found += list(item) if isinstance(item, GroupedMetadata) else [item]
    for arg in get_args(annotation):
        found += _metadata(arg)
    return found


def _bound(field: FieldInfo, name: str) -> Any:
    """A bound (ge, le, gt, max_length) set on the field or its type, or None."""
    for item in [*field.metadata, *_metadata(field.annotation)]:
        if getattr(item, name, None) is not None:
            return getattr(item, name)
    return None


def _base_type(annotation: Any) -> Any:
    """The type under Optional and Annotated."""
    while get_origin(annotation) not in (None, list, Literal):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if not args or args[0] is annotation:
            break
        annotation = args[0]
    return annotation if get_origin(annotation) is Literal else getattr(annotation, "__origin__", annotation)


def _message(field: FieldInfo | None, error: dict[str, Any]) -> str:
    """What is wrong, in words, from a pydantic error and the field's declared bounds."""
    kind = error["type"]
    if kind in ("missing", "string_too_short"):
        return "This field is required"
    if field is None:
        return "Give a valid value"
    said = [m.message for m in [*field.metadata, *_metadata(field.annotation)] if isinstance(m, Says)]
    if said:
        return said[0]
    base = _base_type(field.annotation)
    if kind == "literal_error":
        return "Give " + " or ".join(f'"{v}"' for v in get_args(base))
    if base is str:
        longest = _bound(field, "max_length")
        return f"Use at most {longest} characters" if kind == "string_too_long" else "Give a string"
    low, high, above = _bound(field, "ge"), _bound(field, "le"), _bound(field, "gt")
    if base is int:
        return f"Give a whole number from {low} to {high}"
    lower = f"above {above:g}" if above is not None else f"from {low:g}"
    return f"Give a number {lower} up to {high:g}"


def _problems(model: type[BaseModel], error: ValidationError, unknown: str) -> dict[str, str]:
    """Each bad name with what is wrong with it (the first problem of each)."""
    fields = {info.alias or name: info for name, info in model.model_fields.items()}
    found: dict[str, str] = {}
    for item in error.errors(include_url=False):
        name = str(item["loc"][0]) if item["loc"] else "body"
        message = unknown if item["type"] == "extra_forbidden" else _message(fields.get(name), dict(item))
        found.setdefault(name, message)
    return found


def _build(model: type[M], data: dict[str, Any], errors: dict[str, str], unknown: str) -> M:
    """Validate, raising one 422 with every problem: those found before and pydantic's."""
    try:
        built = model.model_validate(data)
    except ValidationError as error:
        raise invalid({**errors, **_problems(model, error, unknown)}) from None
    except ApiError as error:  # a cross-field rule refused it
        if errors:
            raise invalid({**errors, **error.details}) from None
        raise
    if errors:
        raise invalid(errors)
    return built


def _is_list(field: FieldInfo) -> bool:
    """Whether the parameter takes several values."""
    return get_origin(field.annotation) is list


def _codes(field: FieldInfo, values: list[str], name: str, errors: dict[str, str]) -> list[str]:
    """Codes from repeated and comma-separated values, each checked against the field's vocabulary."""
    (vocabulary,) = get_args(field.annotation)
    if not issubclass(vocabulary, Coded):
        raise TypeError(f"{name}: list parameters take a vocabulary, not {vocabulary!r}")
    found: list[str] = []
    for part in (p for value in values for p in value.split(",") if p.strip()):
        try:
            code = vocabulary.parse(part).value
        except ValueError:
            errors[name] = f"Unknown code {part.strip()!r}"
            continue
        if code not in found:
            found.append(code)
    return found


def parse_query(model: type[M], args: MultiDict[str, str]) -> M:
    """The query parameters as the model: unknown names, repeats and bad values all named in one 422."""
    fields = {info.alias or name: info for name, info in model.model_fields.items()}
    errors: dict[str, str] = {}
    data: dict[str, Any] = {}
    for name in args:
        field = fields.get(name)
        values = [v.strip() for v in args.getlist(name)]
        if field is None:
            errors[name] = "Unknown parameter"
        elif _is_list(field):
            data[name] = _codes(field, values, name, errors)
        elif len(values) > 1:
            errors[name] = "Give this parameter once"
        elif values[0]:
            data[name] = values[0]
    return _build(model, data, errors, "Unknown parameter")


def parse_body(model: type[M], raw: bytes) -> M:
    """The JSON body as the model: 400 invalid_json when it is not JSON, 422 naming every bad field."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise ApiError(400, "invalid_json", "The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise invalid({"body": "Send a JSON object"})
    return _build(model, {str(k): v for k, v in body.items()}, {}, "Unknown field")


def dump(model: BaseModel) -> Any:
    """The model as JSON-ready data."""
    return model.model_dump(mode="json", by_alias=True)
