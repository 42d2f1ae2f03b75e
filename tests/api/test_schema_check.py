"""The test validator itself: it must reject what the document forbids, or the response checks prove nothing."""

from __future__ import annotations

import copy

import pytest

from portal.api.openapi import document
from tests.api.schema_check import errors, validate

BOOKING = {
    "id": 1, "status": "requested", "offer_ref": "OF-1", "offer_title": "Visit", "employer_name": "Care",
    "session_start": "2027-03-05T09:30:00+00:00", "session_end": "2027-03-05T15:30:00+00:00",
    "requested_at": "2027-02-01T10:00:00+00:00", "decided_at": None, "decline_reason": None, "at_risk": False,
    "student": {"first_name": "Priya", "name_on_session": "Priya", "year_group": 10, "school_name": "Ardwick",
                "access_needs": [{"code": "step_free_access", "label": "Step-free access"}]},
}


def _employer_booking(change):
    body = copy.deepcopy(BOOKING)
    change(body)
    return body


def test_a_conforming_employer_booking_passes():
    validate(BOOKING, {"$ref": "#/components/schemas/EmployerBooking"}, document())
    validate(BOOKING, {"$ref": "#/components/schemas/Booking"}, document())


@pytest.mark.parametrize("change", [
    lambda b: b["student"].update(last_name="Sharma"),  # a leak: the employer shape is closed
    lambda b: b["student"].update(send_status="ehcp"),
    lambda b: b.pop("status"),
    lambda b: b.update(status="lost"),
    lambda b: b.update(id="1"),
    lambda b: b.update(session_start="5 March 2027"),
    lambda b: b.update(session_start="2027-03-05T09:30:00"),  # no offset
    lambda b: b["student"].update(year_group=6),
    lambda b: b["student"]["access_needs"].append({"code": "juggling", "label": "x"}),
])
def test_a_broken_employer_booking_fails(change):
    with pytest.raises(AssertionError):
        validate(_employer_booking(change), {"$ref": "#/components/schemas/EmployerBooking"}, document())


def test_an_error_needs_all_three_members_and_a_documented_code():
    schema = {"$ref": "#/components/schemas/Error"}
    validate({"code": "x", "message": "y", "details": {}}, schema, document())
    for bad in ({"code": "x", "message": "y"}, {"code": "x", "message": "y", "details": {"a": 1}},
                {"code": "x", "message": "y", "details": {}, "trace": "..."}):
        with pytest.raises(AssertionError):
            validate(bad, schema, document())
    conflict = document()["paths"]["/bookings"]["post"]["responses"]["409"]["content"]["application/json"]["schema"]
    with pytest.raises(AssertionError):
        validate({"code": "year_group", "message": "y", "details": {}}, conflict, document())


def test_an_array_outside_its_item_bounds_fails():
    """The small validator enforces minItems and maxItems (near misses list one or two missing needs)."""
    bounded = {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 2}
    assert errors(["quiet_space"], bounded, {}) == []
    assert errors([], bounded, {}) and errors(["a", "b", "c"], bounded, {})
