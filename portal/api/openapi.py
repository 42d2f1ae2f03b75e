"""The OpenAPI 3.1 document of /api/v1, generated from the pydantic models in schema.py that also parse and answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from portal.api import schema
from portal.api.errors import (
    BOOKING_CONFLICTS,
    BOOKING_REFUSALS,
    DECISION_CONFLICTS,
    DECISION_REFUSALS,
)
from portal.core.ids import MAX_ID

JSON = "application/json"
TEXT_CODES = ["invalid_request", "invalid_text"]
ANSWERS: tuple[type[BaseModel], ...] = (schema.Error, schema.OfferPage, schema.MatchList, schema.SchoolBooking,
                                        schema.EmployerBooking, schema.Booking, schema.BookingPage)
REQUESTS: tuple[type[BaseModel], ...] = (schema.BookingRequest, schema.DecisionRequest)
SHARED_ERRORS = {"400": "InvalidJson", "401": "Unauthorized", "403": "Forbidden", "404": "NotFound", "422": "Invalid"}


def ref(name: str) -> dict[str, str]:
    """A reference to a schema in components."""
    return {"$ref": f"#/components/schemas/{name}"}


def error_with(codes: list[str]) -> dict[str, Any]:
    """The Error schema narrowed to the codes one status can carry."""
    return {"allOf": [ref("Error"), {"type": "object", "properties": {"code": {"type": "string", "enum": codes}}}]}


def _response(description: str, body: dict[str, Any]) -> dict[str, Any]:
    """A JSON response."""
    return {"description": description, "content": {JSON: {"schema": body}}}


@dataclass(frozen=True)
class Operation:
    """One documented endpoint: its shapes are models, its words are here."""

    path: str
    method: str
    operation_id: str
    tag: str
    summary: str
    description: str
    ok: tuple[str, str, type[BaseModel]]
    errors: tuple[str, ...]
    query: type[BaseModel] | None = None
    path_parameters: tuple[dict[str, Any], ...] = ()
    body: type[BaseModel] | None = None
    special: dict[str, tuple[str, list[str]]] = field(default_factory=dict)

    def document(self, query_schemas: dict[str, Any]) -> dict[str, Any]:
        """The operation object."""
        status, description, answer = self.ok
        responses: dict[str, Any] = {status: _response(description, ref(answer.__name__))}
        for code in self.errors:
            responses[code] = {"$ref": f"#/components/responses/{SHARED_ERRORS[code]}"}
        for code, (words, codes) in self.special.items():
            responses[code] = _response(words, error_with(codes))
        responses["default"] = {"$ref": "#/components/responses/Error"}
        operation: dict[str, Any] = {"operationId": self.operation_id, "tags": [self.tag], "summary": self.summary,
                                     "description": self.description}
        parameters = [*self.path_parameters]
        if self.query is not None:
            parameters += _query_parameters(query_schemas[self.query.__name__])
        if parameters:
            operation["parameters"] = parameters
        if self.body is not None:
            operation["requestBody"] = {"required": True, "content": {JSON: {"schema": ref(self.body.__name__)}}}
        operation["responses"] = responses
        return operation


def _query_parameters(model_schema: dict[str, Any]) -> list[dict[str, Any]]:
    """A query model's fields as query parameters (lists may repeat or be comma-separated)."""
    parameters = []
    for name, prop in model_schema["properties"].items():
        prop = {k: v for k, v in prop.items() if k != "title"}
        description = prop.pop("description", "")
        parameter: dict[str, Any] = {"name": name, "in": "query", "required": False, "description": description}
        if prop.get("type") == "array":
            prop.pop("default", None)
            parameter.update(style="form", explode=True)
        parameter["schema"] = _without_null(prop)
        parameters.append(parameter)
    return parameters


def _without_null(prop: dict[str, Any]) -> dict[str, Any]:
    """An optional parameter's schema without the null a query string cannot carry."""
    options = [o for o in prop.get("anyOf", []) if o != {"type": "null"}]
    if len(options) == 1:
        rest = {k: v for k, v in prop.items() if k not in ("anyOf", "default")}
        return {**options[0], **rest}
    return prop


OPERATIONS = (
    Operation(
        "/offers", "get", "searchOffers", "offers", "Search published offers",
        "School staff and hub coordinators. The same filters as the search page; each list filter may be "
        "repeated or comma-separated. Distances are measured from lat+lon, or a postcode, or (school staff) "
        "their school; with an origin, offers within radius_km come nearest first, then virtual ones. "
        "Unknown parameters are refused (422).",
        ("200", "A page of offers", schema.OfferPage), ("401", "403", "422"), query=schema.OfferSearch),
    Operation(
        "/students/{ref}/matches", "get", "studentMatches", "matching",
        "Ranked, explained matches for one of your students",
        "School staff. ref is your school's own student reference; another school's is not found.",
        ("200", "Matches, best first; explanations when there are none", schema.MatchList),
        ("401", "403", "404", "422"), query=schema.MatchSearch,
        path_parameters=({"name": "ref", "in": "path", "required": True, "schema": {"type": "string"},
                          "description": "The school's student reference"},)),
    Operation(
        "/bookings", "get", "listBookings", "bookings", "Your school's or your organisation's bookings",
        "School staff get SchoolBooking items; employer staff get EmployerBooking items, with only the "
        "student's first name, year group, school and access needs.",
        ("200", "A page of bookings, soonest session first", schema.BookingPage), ("401", "403", "422"),
        query=schema.BookingList),
    Operation(
        "/bookings", "post", "createBooking", "bookings", "Request a place for a student on a session",
        "School staff. The session is the offer's one starting at session_start.",
        ("201", "The booking, requested and waiting for the employer", schema.SchoolBooking),
        ("400", "401", "403", "404"), body=schema.BookingRequest,
        special={"409": ("No place for this student: " + ", ".join(BOOKING_CONFLICTS), list(BOOKING_CONFLICTS)),
                 "422": ("Invalid fields (invalid_request), or a booking rule refuses it: "
                         + ", ".join(BOOKING_REFUSALS), [*TEXT_CODES, *BOOKING_REFUSALS])}),
    Operation(
        "/bookings/{booking_id}/decision", "post", "decideBooking", "bookings",
        "Confirm or decline a requested booking",
        "Employer staff, for bookings on their organisation's sessions. Declining frees the place.",
        ("200", "The booking after the decision", schema.EmployerBooking), ("400", "401", "403", "404"),
        body=schema.DecisionRequest,
        path_parameters=({"name": "booking_id", "in": "path", "required": True,
                          "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID}},),
        special={"409": ("The booking is not waiting for a decision (wrong_state)", list(DECISION_CONFLICTS)),
                 "422": ("Invalid fields (invalid_request), or declining without a reason (reason_required)",
                         [*TEXT_CODES, *DECISION_REFUSALS])}),
)

RESPONSES: dict[str, Any] = {
    "InvalidJson": _response("The body is not JSON (code invalid_json)", error_with(["invalid_json"])),
    "Unauthorized": {**_response("No token, or the token is unknown or revoked (code unauthorized)",
                                 error_with(["unauthorized"])),
                     "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}}},
    "Forbidden": _response("Your role may not use this endpoint (code forbidden)", error_with(["forbidden"])),
    "NotFound": _response("Not found, or not yours (code not_found)", error_with(["not_found"])),
    "Invalid": _response("Invalid or unknown parameters or fields: details names each (code invalid_request), "
                         "or text with a NUL, a control character or a broken character (invalid_text)",
                         error_with(TEXT_CODES)),
    "Error": _response("Any other error (405, 413, 414, 429, 500), in the same shape", ref("Error")),
}


def _schemas() -> tuple[dict[str, Any], dict[str, Any]]:
    """The components' schemas (answers as serialised, requests as validated) and each query model's schema."""
    queries = tuple(op.query for op in OPERATIONS if op.query is not None)
    keyed, top = models_json_schema([*((m, "serialization") for m in ANSWERS), *((m, "validation") for m in REQUESTS),
                                     *((m, "validation") for m in queries)],
                                    ref_template="#/components/schemas/{model}")
    components = dict(top["$defs"])
    query_schemas = {m.__name__: components.pop(m.__name__) for m in queries}
    return components, query_schemas


@cache
def document() -> dict[str, Any]:
    """The whole OpenAPI 3.1 document (built once; treat it as read-only)."""
    components, query_schemas = _schemas()
    paths: dict[str, Any] = {}
    for operation in OPERATIONS:
        paths.setdefault(operation.path, {})[operation.method] = operation.document(query_schemas)
    paths["/openapi.json"] = {"get": {
        "operationId": "openapi", "tags": ["meta"], "summary": "This document", "security": [],
        "responses": {"200": _response("The OpenAPI 3.1 document", {"type": "object"})}}}
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
        "paths": paths,
        "components": {
            "schemas": components,
            "responses": RESPONSES,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "An API token from your account page"}},
        },
    }
