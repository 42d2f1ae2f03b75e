"""The OpenAPI 3.1 document of /api/v1, written by hand; code lists come from the one vocabulary module."""

from __future__ import annotations

from typing import Any

from portal.api.errors import (
    BOOKING_CONFLICTS,
    BOOKING_REFUSALS,
    DECISION_CONFLICTS,
    DECISION_REFUSALS,
)
from portal.api.params import (
    DEFAULT_OFFER_RADIUS_KM,
    DEFAULT_PER_PAGE,
    MAX_PER_PAGE,
    MAX_RADIUS_KM,
    MAX_REASON_LENGTH,
)
from portal.core.vocab import (
    YEAR_GROUPS,
    AccessFeature,
    ActivityType,
    BookingStatus,
    Coded,
    DeliveryMode,
    Sector,
)
from portal.matching.services import DEFAULT_RADIUS_KM

JSON = "application/json"


def ref(name: str) -> dict[str, str]:
    """A reference to a schema in components."""
    return {"$ref": f"#/components/schemas/{name}"}


def codes(vocabulary: type[Coded]) -> dict[str, Any]:
    """A string schema listing every code of a vocabulary."""
    return {"type": "string", "enum": [member.value for member in vocabulary]}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema, or null."""
    return {"anyOf": [schema, {"type": "null"}]}


def obj(properties: dict[str, Any], description: str = "") -> dict[str, Any]:
    """A closed object whose properties are all required (absent values are null, never missing)."""
    schema: dict[str, Any] = {"type": "object", "properties": properties, "required": list(properties),
                              "additionalProperties": False}
    if description:
        schema["description"] = description
    return schema


DATE_TIME = {"type": "string", "format": "date-time",
             "description": "ISO 8601 in Europe/London with its offset, e.g. 2027-03-05T09:30:00+00:00"}
YEAR_GROUP = {"type": "integer", "minimum": min(YEAR_GROUPS), "maximum": max(YEAR_GROUPS)}
DISTANCE = {"type": ["number", "null"], "minimum": 0,
            "description": "Kilometres (geodesic) from the origin; null for virtual offers or without an origin"}


def _error(codes_: list[str] | None = None) -> dict[str, Any]:
    """The Error schema, optionally narrowed to the codes one status can carry."""
    if codes_ is None:
        return ref("Error")
    return {"allOf": [ref("Error"), {"type": "object", "properties": {"code": {"type": "string", "enum": codes_}}}]}


def _booking(student: str, description: str) -> dict[str, Any]:
    """A booking with the student shape one kind of reader may see."""
    return obj({
        "id": {"type": "integer"},
        "status": codes(BookingStatus),
        "offer_ref": {"type": "string"},
        "offer_title": {"type": "string"},
        "employer_name": {"type": "string"},
        "session_start": DATE_TIME,
        "session_end": DATE_TIME,
        "requested_at": DATE_TIME,
        "decided_at": nullable(DATE_TIME),
        "decline_reason": {"type": ["string", "null"]},
        "at_risk": {"type": "boolean", "description": "Something on the compliance checklist is overdue "
                    "(or consent was declined) and the placement is still to happen"},
        "student": ref(student),
    }, description)


def _page(item: dict[str, Any], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """A page of items with its numbers."""
    return obj({
        "items": {"type": "array", "items": item},
        "page": {"type": "integer", "minimum": 1},
        "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
        "total": {"type": "integer", "minimum": 0},
        "pages": {"type": "integer", "minimum": 1},
        **(extra or {}),
    })


SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "description": "Every error: a stable machine code, a message for people, and per-field problems.",
        "properties": {
            "code": {"type": "string", "description": "Stable code, e.g. session_full, invalid_request, unauthorized"},
            "message": {"type": "string"},
            "details": {"type": "object", "additionalProperties": {"type": "string"},
                        "description": "Field or parameter name to what is wrong with it (422); otherwise empty"},
        },
        "required": ["code", "message", "details"],
        "additionalProperties": False,
    },
    "Session": obj({
        "start": DATE_TIME,
        "end": DATE_TIME,
        "capacity": {"type": "integer", "minimum": 1},
        "free_places": {"type": "integer", "minimum": 0},
    }, "A dated session of an offer"),
    "Offer": obj({
        "offer_ref": {"type": "string"},
        "title": {"type": "string"},
        "employer_name": {"type": "string"},
        "activity_type": codes(ActivityType),
        "delivery_mode": codes(DeliveryMode),
        "sectors": {"type": "array", "items": codes(Sector)},
        "year_groups": {"type": "array", "items": YEAR_GROUP},
        "send_features": {"type": "array", "items": codes(AccessFeature)},
        "distance_km": DISTANCE,
        "sessions": {"type": "array", "items": ref("Session"),
                     "description": "Sessions starting inside the date window (all future ones without one)"},
    }, "A published offer of a vetted employer"),
    "Origin": obj({
        "latitude": {"type": "number", "minimum": -90, "maximum": 90},
        "longitude": {"type": "number", "minimum": -180, "maximum": 180},
        "source": {"type": "string", "enum": ["coordinates", "postcode", "school"]},
    }, "Where distances were measured from"),
    "OfferPage": _page(ref("Offer"), {
        "origin": nullable(ref("Origin")),
        "radius_km": {"type": ["number", "null"], "description": "The radius used; null when there is no origin"},
    }),
    "Match": obj({
        "offer_ref": {"type": "string"},
        "offer_title": {"type": "string"},
        "session_start": DATE_TIME,
        "session_end": DATE_TIME,
        "free_places": {"type": "integer", "minimum": 1},
        "distance_km": DISTANCE,
        "score": {"type": "integer", "minimum": 0, "maximum": 100},
        "reasons": {"type": "array", "items": {"type": "string"},
                    "description": "Why it ranks where it does, in words (distance, needs met, interests, ...)"},
    }, "A session the student can be booked on, best first"),
    "MatchList": obj({
        "student_ref": {"type": "string"},
        "matches": {"type": "array", "items": ref("Match")},
        "something_different": nullable(ref("Match")),
        "explanations": {"type": "array", "items": {"type": "string"},
                         "description": "Why nothing fits (empty when there are matches)"},
    }),
    "BookingRequest": {
        "type": "object",
        "properties": {
            "student_ref": {"type": "string", "minLength": 1, "maxLength": 40,
                            "description": "Your school's own reference of the student"},
            "offer_ref": {"type": "string", "minLength": 1, "maxLength": 40},
            "session_start": {"type": "string", "examples": ["2027-03-05T09:30:00+00:00", "2027-03-05T09:30:00"],
                              "description": "ISO 8601 start of the session; without an offset it is UK time"},
        },
        "required": ["student_ref", "offer_ref", "session_start"],
        "additionalProperties": False,
    },
    "DecisionRequest": {
        "type": "object",
        "properties": {
            "decision": {"type": "string", "enum": ["confirm", "decline"]},
            "reason": {"type": ["string", "null"], "maxLength": MAX_REASON_LENGTH,
                       "description": "Required to decline: the school reads it"},
        },
        "required": ["decision"],
        "additionalProperties": False,
    },
    "SchoolBookingStudent": obj({
        "student_ref": {"type": "string"},
        "first_name": {"type": "string"},
        "last_name": {"type": "string"},
        "year_group": YEAR_GROUP,
    }, "The student as their own school sees them"),
    "AccessNeed": obj({"code": codes(AccessFeature), "label": {"type": "string"}}),
    "EmployerBookingStudent": obj({
        "first_name": {"type": "string"},
        "year_group": YEAR_GROUP,
        "school_name": {"type": "string"},
        "access_needs": {"type": "array", "items": ref("AccessNeed"),
                         "description": "The adjustments the placement needs"},
    }, "All an employer sees of a student: never SEND status, disadvantage, date of birth, last name, UPN or contact details"),
    "SchoolBooking": _booking("SchoolBookingStudent", "A booking as the student's school sees it"),
    "EmployerBooking": _booking("EmployerBookingStudent", "A booking as the employer sees it"),
    "Booking": {"oneOf": [ref("SchoolBooking"), ref("EmployerBooking")]},
    "BookingPage": _page(ref("Booking")),
}


def _query(name: str, schema: dict[str, Any], description: str, *, array: bool = False) -> dict[str, Any]:
    """A query parameter (arrays may repeat or be comma-separated)."""
    parameter: dict[str, Any] = {"name": name, "in": "query", "required": False, "description": description}
    if array:
        parameter.update(style="form", explode=True, schema={"type": "array", "items": schema})
    else:
        parameter["schema"] = schema
    return parameter


PARAMETERS: dict[str, Any] = {
    "page": _query("page", {"type": "integer", "minimum": 1, "default": 1}, "Page number"),
    "per_page": _query("per_page", {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE,
                                    "default": DEFAULT_PER_PAGE}, "Items per page"),
}


def _response(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON response."""
    return {"description": description, "content": {JSON: {"schema": schema}}}


RESPONSES: dict[str, Any] = {
    "InvalidJson": _response("The body is not JSON (code invalid_json)", _error(["invalid_json"])),
    "Unauthorized": {**_response("No token, or the token is unknown or revoked (code unauthorized)",
                                 _error(["unauthorized"])),
                     "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}}},
    "Forbidden": _response("Your role may not use this endpoint (code forbidden)", _error(["forbidden"])),
    "NotFound": _response("Not found, or not yours (code not_found)", _error(["not_found"])),
    "Invalid": _response("Invalid or unknown parameters or fields: details names each (code invalid_request), "
                         "or text with a NUL, a control character or a broken character (invalid_text)",
                         _error(["invalid_request", "invalid_text"])),
    "Error": _response("Any other error (405, 413, 429, 500), in the same shape", ref("Error")),
}


def _responses(ok: tuple[str, str, dict[str, Any]], *errors: str, **special: Any) -> dict[str, Any]:
    """The success response, shared error responses by name, and operation-specific ones."""
    status, description, schema = ok
    answers: dict[str, Any] = {status: _response(description, schema)}
    names = {"400": "InvalidJson", "401": "Unauthorized", "403": "Forbidden", "404": "NotFound", "422": "Invalid"}
    for code in errors:
        answers[code] = {"$ref": f"#/components/responses/{names[code]}"}
    answers.update(special)
    answers["default"] = {"$ref": "#/components/responses/Error"}
    return answers


PATHS: dict[str, Any] = {
    "/offers": {"get": {
        "operationId": "searchOffers",
        "tags": ["offers"],
        "summary": "Search published offers",
        "description": (
            "School staff and hub coordinators. The same filters as the search page; each list filter may be "
            "repeated or comma-separated. Distances are measured from lat+lon, or a postcode, or (school staff) "
            "their school; with an origin, offers within radius_km come nearest first, then virtual ones. "
            "Unknown parameters are refused (422)."
        ),
        "parameters": [
            _query("activity_type", codes(ActivityType), "Any of these kinds of activity", array=True),
            _query("delivery_mode", codes(DeliveryMode), "Any of these delivery modes", array=True),
            _query("sector", codes(Sector), "Any of these sectors", array=True),
            _query("year_group", YEAR_GROUP, "Open to this year group"),
            _query("feature", codes(AccessFeature), "Supports every one of these SEND-ready features", array=True),
            _query("date_from", {"type": "string", "format": "date"}, "Sessions on or after this UK day"),
            _query("date_to", {"type": "string", "format": "date"}, "Sessions on or before this UK day"),
            _query("lat", {"type": "number", "minimum": -90, "maximum": 90}, "Latitude of the origin (with lon)"),
            _query("lon", {"type": "number", "minimum": -180, "maximum": 180}, "Longitude of the origin (with lat)"),
            _query("postcode", {"type": "string", "maxLength": 16}, "UK postcode of the origin (instead of lat/lon)"),
            _query("radius_km", {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_RADIUS_KM,
                                 "default": DEFAULT_OFFER_RADIUS_KM}, "Largest distance; needs an origin"),
            {"$ref": "#/components/parameters/page"},
            {"$ref": "#/components/parameters/per_page"},
        ],
        "responses": _responses(("200", "A page of offers", ref("OfferPage")), "401", "403", "422"),
    }},
    "/students/{ref}/matches": {"get": {
        "operationId": "studentMatches",
        "tags": ["matching"],
        "summary": "Ranked, explained matches for one of your students",
        "description": "School staff. ref is your school's own student reference; another school's is not found.",
        "parameters": [
            {"name": "ref", "in": "path", "required": True, "schema": {"type": "string"},
             "description": "The school's student reference"},
            _query("radius_km", {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_RADIUS_KM,
                                 "default": DEFAULT_RADIUS_KM}, "Largest distance from the school"),
            _query("types", codes(ActivityType), "Only these kinds of activity", array=True),
            _query("from", {"type": "string", "format": "date"}, "Sessions on or after this UK day"),
            _query("to", {"type": "string", "format": "date"}, "Sessions on or before this UK day"),
        ],
        "responses": _responses(("200", "Matches, best first; explanations when there are none",
                                 ref("MatchList")), "401", "403", "404", "422"),
    }},
    "/bookings": {
        "get": {
            "operationId": "listBookings",
            "tags": ["bookings"],
            "summary": "Your school's or your organisation's bookings",
            "description": ("School staff get SchoolBooking items; employer staff get EmployerBooking items, "
                            "with only the student's first name, year group, school and access needs."),
            "parameters": [
                _query("status", codes(BookingStatus), "Only bookings in these states", array=True),
                {"$ref": "#/components/parameters/page"},
                {"$ref": "#/components/parameters/per_page"},
            ],
            "responses": _responses(("200", "A page of bookings, soonest session first", ref("BookingPage")),
                                    "401", "403", "422"),
        },
        "post": {
            "operationId": "createBooking",
            "tags": ["bookings"],
            "summary": "Request a place for a student on a session",
            "description": "School staff. The session is the offer's one starting at session_start.",
            "requestBody": {"required": True, "content": {JSON: {"schema": ref("BookingRequest")}}},
            "responses": _responses(
                ("201", "The booking, requested and waiting for the employer", ref("SchoolBooking")),
                "400", "401", "403", "404",
                **{
                    "409": _response("No place for this student: " + ", ".join(BOOKING_CONFLICTS),
                                     _error(list(BOOKING_CONFLICTS))),
                    "422": _response("Invalid fields (invalid_request), or a booking rule refuses it: "
                                     + ", ".join(BOOKING_REFUSALS), _error(["invalid_request", "invalid_text", *BOOKING_REFUSALS])),
                },
            ),
        },
    },
    "/bookings/{booking_id}/decision": {"post": {
        "operationId": "decideBooking",
        "tags": ["bookings"],
        "summary": "Confirm or decline a requested booking",
        "description": "Employer staff, for bookings on their organisation's sessions. Declining frees the place.",
        "parameters": [{"name": "booking_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
        "requestBody": {"required": True, "content": {JSON: {"schema": ref("DecisionRequest")}}},
        "responses": _responses(
            ("200", "The booking after the decision", ref("EmployerBooking")),
            "400", "401", "403", "404",
            **{
                "409": _response("The booking is not waiting for a decision (wrong_state)",
                                 _error(list(DECISION_CONFLICTS))),
                "422": _response("Invalid fields (invalid_request), or declining without a reason (reason_required)",
                                 _error(["invalid_request", "invalid_text", *DECISION_REFUSALS])),
            },
        ),
    }},
    "/openapi.json": {"get": {
        "operationId": "openapi",
        "tags": ["meta"],
        "summary": "This document",
        "security": [],
        "responses": {"200": _response("The OpenAPI 3.1 document", {"type": "object"})},
    }},
}


def document() -> dict[str, Any]:
    """The whole OpenAPI 3.1 document."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Placement Portal API",
            "version": "1.0.0",
            "description": (
                "Offers, matches and bookings for schools, hubs and employers. Authenticate with "
                "`Authorization: Bearer <token>`: staff create and revoke tokens on their account page, "
                "operators with `flask --app portal create-token EMAIL`. Cookies are never used. Times are "
                "ISO 8601 in Europe/London with their offset. Errors are JSON {code, message, details}."
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "tags": [{"name": name} for name in ("offers", "matching", "bookings", "meta")],
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "parameters": PARAMETERS,
            "responses": RESPONSES,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "An API token from your account page"}},
        },
    }
