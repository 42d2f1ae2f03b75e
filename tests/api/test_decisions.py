"""POST /api/v1/bookings/{id}/decision: employers confirm or decline their own requested bookings."""

from __future__ import annotations

import pytest

from portal.bookings.models import Booking
from portal.core.models import OutboxMessage
from portal.extensions import db
from tests.api.conftest import book


@pytest.fixture
def requested(api, world):
    """A requested booking of the world's student on the world's session."""
    response = book(api, world)
    assert response.status_code == 201
    return response.get_json()["id"]


def _decide(api, world, booking_id, body, who="employer"):
    return api.post(f"/bookings/{booking_id}/decision", world.tokens[who], body=body)


def test_confirm(api, world, requested):
    response = _decide(api, world, requested, {"decision": "confirm"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "confirmed" and body["decided_at"] and body["student"]["first_name"] == "Priya"
    assert "last_name" not in body["student"]
    booking = db.session.get(Booking, requested)
    assert booking.status == "confirmed" and booking.decided_by_id == world.employer_staff.id
    assert db.session.scalars(db.select(OutboxMessage).where(OutboxMessage.recipient == world.staff.email)).first()


def test_decline_with_a_reason_frees_the_place(api, world, requested):
    response = _decide(api, world, requested, {"decision": "decline", "reason": "  Ward closed that week  "})
    assert response.status_code == 200
    assert response.get_json()["status"] == "declined"
    assert response.get_json()["decline_reason"] == "Ward closed that week"
    db.session.refresh(world.occurrence)
    assert world.occurrence.booked == 0


@pytest.mark.parametrize("body", [{"decision": "decline"}, {"decision": "decline", "reason": "   "},
                                  {"decision": "decline", "reason": None}])
def test_declining_without_a_reason_is_422(api, world, requested, body):
    response = _decide(api, world, requested, body)
    assert response.status_code == 422 and response.get_json()["code"] == "reason_required"
    assert db.session.get(Booking, requested).status == "requested"


def test_deciding_twice_is_409_wrong_state(api, world, requested):
    assert _decide(api, world, requested, {"decision": "confirm"}).status_code == 200
    for body in ({"decision": "confirm"}, {"decision": "decline", "reason": "Changed our minds"}):
        response = _decide(api, world, requested, body)
        assert response.status_code == 409 and response.get_json()["code"] == "wrong_state"


def test_another_employers_booking_is_404_and_unchanged(api, world, requested):
    response = _decide(api, world, requested, {"decision": "confirm"}, who="other_employer")
    assert response.status_code == 404 and response.get_json()["code"] == "not_found"
    db.session.expire_all()
    assert db.session.get(Booking, requested).status == "requested"
    assert _decide(api, world, 999_999, {"decision": "confirm"}).status_code == 404


@pytest.mark.parametrize(("body", "fields"), [
    ({}, {"decision"}),
    ({"decision": "maybe"}, {"decision"}),
    ({"decision": True}, {"decision"}),
    ({"decision": "decline", "reason": 3}, {"reason"}),
    ({"decision": "decline", "reason": "x" * 501}, {"reason"}),
    ({"decision": "confirm", "note": "hi"}, {"note"}),
])
def test_invalid_decisions_are_422(api, world, requested, body, fields):
    response = _decide(api, world, requested, body)
    assert response.status_code == 422
    assert response.get_json()["code"] == "invalid_request" and set(response.get_json()["details"]) == fields


def test_malformed_json_is_400(api, world, requested):
    response = api.post(f"/bookings/{requested}/decision", world.tokens["employer"], raw=b"{decision: confirm}")
    assert response.status_code == 400 and response.get_json()["code"] == "invalid_json"
