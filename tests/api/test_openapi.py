"""The OpenAPI document: public, well formed, and describing exactly the routes and codes the app has."""

from __future__ import annotations

import inspect
import re

from portal.api.errors import (
    BOOKING_CONFLICTS,
    BOOKING_REFUSALS,
    DECISION_CONFLICTS,
    DECISION_REFUSALS,
)
from portal.api.openapi import document
from portal.bookings import services as booking_services
from tests.api.conftest import PREFIX, response_schema
from tests.api.schema_check import SUPPORTED, resolve, walk_schemas

METHODS = {"get", "post", "put", "patch", "delete"}


def _operations(doc):
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def test_the_document_is_public_json(client):
    response = client.get(f"{PREFIX}/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.get_json() == document()


def test_basic_structure():
    doc = document()
    assert doc["openapi"].startswith("3.1.")
    assert doc["info"]["title"] and doc["info"]["version"]
    assert doc["servers"] == [{"url": PREFIX}]
    assert doc["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer", "description": "An API token from your account page"}
    assert doc["security"] == [{"bearer": []}]
    schemas = doc["components"]["schemas"]
    for name in ("Error", "Offer", "OfferPage", "Session", "Match", "MatchList", "BookingRequest", "DecisionRequest",
                 "SchoolBooking", "EmployerBooking", "Booking", "BookingPage"):
        assert name in schemas, name
    assert schemas["Error"]["required"] == ["code", "message", "details"]
    operation_ids = [op["operationId"] for _, _, op in _operations(doc)]
    assert len(operation_ids) == len(set(operation_ids))


def test_every_operation_documents_its_success_errors_and_a_default():
    for path, method, operation in _operations(document()):
        responses = operation["responses"]
        assert any(code.startswith("2") for code in responses), (path, method)
        if operation.get("security") != []:
            assert {"401", "403", "default"} <= set(responses), (path, method)
        if method == "post":
            assert {"400", "422"} <= set(responses) and operation["requestBody"]["required"], (path, method)


def test_every_reference_resolves_and_every_keyword_is_checked():
    doc = document()
    text = repr(doc)
    for pointer in set(re.findall(r"'\$ref': '([^']+)'", text)):
        assert resolve(doc, pointer) is not None, pointer
    for schema in doc["components"]["schemas"].values():
        for part in walk_schemas(schema):
            assert set(part) <= SUPPORTED, set(part) - SUPPORTED


def test_path_parameters_are_declared():
    for path, method, operation in _operations(document()):
        declared = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "path"}
        assert declared == set(re.findall(r"\{([a-z_]+)\}", path)), (path, method)


def test_every_api_route_of_the_app_is_documented_and_nothing_else(app):
    """Fails when a route is added under /api/v1 without documenting it (or documented but not routed)."""
    routed = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(PREFIX + "/"):
            path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule.removeprefix(PREFIX))
            routed |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(path, method) for path, method, _ in _operations(document())}
    assert routed == documented


def _codes_raised(function) -> set[str]:
    """Every BookingRefused code a service function's source can raise (including either side of a choice)."""
    source = inspect.getsource(function)
    codes = set(re.findall(r'BookingRefused\(\s*"([a-z_]+)"', source))
    for pair in re.findall(r'BookingRefused\(\s*"([a-z_]+)" if \w+ else "([a-z_]+)"', source):
        codes |= set(pair)
    return codes


def test_every_booking_refusal_is_documented_under_its_status():
    booking_codes = (_codes_raised(booking_services.book_student) | _codes_raised(booking_services.eligibility_problems)
                     | _codes_raised(booking_services._supporting_adult))
    assert booking_codes - {"not_found"} == set(BOOKING_CONFLICTS) | set(BOOKING_REFUSALS)
    assert _codes_raised(booking_services.decide) - {"not_found"} <= set(DECISION_CONFLICTS) | set(DECISION_REFUSALS)
    conflict = response_schema("/bookings", "post", 409)["allOf"][1]["properties"]["code"]["enum"]
    refused = response_schema("/bookings", "post", 422)["allOf"][1]["properties"]["code"]["enum"]
    assert set(conflict) == set(BOOKING_CONFLICTS) and set(refused) == {"invalid_request", "invalid_text", *BOOKING_REFUSALS}
