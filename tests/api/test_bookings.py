"""POST and GET /api/v1/bookings: 201, each refusal with its status and code, and who sees what."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from portal.bookings.models import Booking
from portal.core.dates import to_london
from portal.core.models import AuditEvent
from portal.extensions import db
from tests.api.conftest import book, insured_employer
from tests.factories import make_offer, make_session, make_student


def test_a_booking_is_created_201_and_takes_a_place(api, world):
    response = book(api, world)
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "requested" and body["offer_ref"] == "OF-CARE1"
    assert body["session_start"] == world.session_start()
    assert body["student"] == {"student_ref": "A100", "first_name": "Priya", "last_name": "Sharma-Quinlan", "year_group": 10}
    booking = db.session.get(Booking, body["id"])
    assert booking.student_id == world.student.id and booking.requested_by_id == world.staff.id
    db.session.refresh(world.occurrence)
    assert world.occurrence.booked == 1


def test_session_start_without_an_offset_is_uk_time_and_any_offset_is_the_same_instant(api, world):
    local = to_london(world.occurrence.starts_at).replace(tzinfo=None).isoformat()
    body = {"student_ref": "A100", "offer_ref": "OF-CARE1", "session_start": local}
    assert api.post("/bookings", world.tokens["staff"], body=body).status_code == 201
    other = make_student(world.school, student_ref="A101", year_group=11)
    utc = world.occurrence.starts_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    body = {"student_ref": other.student_ref, "offer_ref": "OF-CARE1", "session_start": utc}
    assert api.post("/bookings", world.tokens["staff"], body=body).status_code == 201


def test_a_full_session_is_409_session_full(api, world):
    occurrence = make_session(world.offer, starts_in_days=20, capacity=1)
    first, second = world.student, make_student(world.school, student_ref="A101")
    assert book(api, world, first, occurrence).status_code == 201
    response = book(api, world, second, occurrence)
    assert response.status_code == 409
    assert response.get_json()["code"] == "session_full" and response.get_json()["message"]


def test_an_overlapping_booking_is_409_overlap(api, world):
    other_offer = make_offer(insured_employer(), offer_ref="OF-OTHER", sessions=0, features=["step_free_access"])
    same_time = make_session(other_offer, starts_at=world.occurrence.starts_at + dt.timedelta(hours=1))
    assert book(api, world).status_code == 201
    response = book(api, world, occurrence=same_time)
    assert response.status_code == 409 and response.get_json()["code"] == "overlap"


def test_booking_the_same_session_twice_is_409_duplicate(api, world):
    assert book(api, world).status_code == 201
    response = book(api, world)
    assert response.status_code == 409 and response.get_json()["code"] == "duplicate"
    db.session.refresh(world.occurrence)
    assert world.occurrence.booked == 1


def test_a_year_group_the_offer_is_not_open_to_is_422(api, world):
    young = make_student(world.school, student_ref="Y7", year_group=7)
    response = book(api, world, young)
    assert response.status_code == 422 and response.get_json()["code"] == "year_group"


def test_needs_the_offer_does_not_support_are_422(api, world):
    signer = make_student(world.school, student_ref="BSL1", needs=["bsl_makaton"])
    response = book(api, world, signer)
    assert response.status_code == 422
    assert response.get_json()["code"] == "needs_unsupported" and "bsl or makaton" in response.get_json()["message"].lower()


def test_a_session_tomorrow_before_the_notice_period_is_422_too_soon(api, world):
    world.school.min_notice_days = 3
    soon = make_session(world.offer, starts_in_days=1.5)
    response = book(api, world, occurrence=soon)
    assert response.status_code == 422 and response.get_json()["code"] == "too_soon"


def test_another_schools_student_is_404(api, world):
    theirs = make_student(world.other_school, student_ref="X900")
    response = book(api, world, theirs)
    assert response.status_code == 404 and response.get_json()["details"] == {"student_ref": "Not found"}
    # and the other school cannot book ours by its reference
    assert book(api, world, token=world.tokens["other_staff"]).status_code == 404


@pytest.mark.parametrize("change", [{"offer_ref": "OF-NOPE"}, {"session_start": "2030-01-01T09:00:00+00:00"}])
def test_an_unknown_offer_or_session_is_404(api, world, change):
    body = {"student_ref": "A100", "offer_ref": "OF-CARE1", "session_start": world.session_start(), **change}
    response = api.post("/bookings", world.tokens["staff"], body=body)
    assert response.status_code == 404 and response.get_json()["code"] == "not_found"


def test_an_unpublished_offer_is_404(api, world):
    world.offer.status = "paused"
    db.session.flush()
    assert book(api, world).status_code == 404


@pytest.mark.parametrize("raw", [b"", b"{", b"not json", b"\xff\xfe\x00", b'{"student_ref": "A100",}', b"[" * 100_000])
def test_malformed_json_is_400_invalid_json(api, world, raw):
    response = api.post("/bookings", world.tokens["staff"], raw=raw)
    assert response.status_code == 400 and response.get_json()["code"] == "invalid_json"


@pytest.mark.parametrize(("body", "fields"), [
    ({}, {"student_ref", "offer_ref", "session_start"}),
    ({"student_ref": "A100"}, {"offer_ref", "session_start"}),
    ({"student_ref": 100, "offer_ref": ["OF-CARE1"], "session_start": 5}, {"student_ref", "offer_ref", "session_start"}),
    ({"student_ref": "  ", "offer_ref": "OF-CARE1", "session_start": "tomorrow"}, {"student_ref", "session_start"}),
    ({"student_ref": "A100", "offer_ref": "OF-CARE1", "session_start": "2027-03-05"}, {"session_start"}),
    ({"student_ref": "A100", "offer_ref": "x" * 41, "session_start": "2027-03-05T09:30:00+25:00"}, {"offer_ref", "session_start"}),
    ({"student_ref": "A100", "offer_ref": "OF-CARE1", "session_start": "2027-03-05T09:30", "studentRef": "A100"}, {"studentRef"}),
])
def test_missing_or_ill_typed_fields_are_422_with_details(api, world, body, fields):
    response = api.post("/bookings", world.tokens["staff"], body=body)
    assert response.status_code == 422
    payload = response.get_json()
    assert payload["code"] == "invalid_request" and set(payload["details"]) == fields


@pytest.mark.parametrize("body", [[], "A100", 42, None])
def test_a_body_that_is_not_an_object_is_422(api, world, body):
    response = api.post("/bookings", world.tokens["staff"], raw=json.dumps(body).encode())
    assert response.status_code == 422 and response.get_json()["details"] == {"body": "Send a JSON object"}


def test_a_refused_booking_writes_nothing(api, world):
    young = make_student(world.school, student_ref="Y7", year_group=7)
    book(api, world, young)
    assert db.session.scalar(select(Booking.id).where(Booking.student_id == young.id)) is None
    db.session.refresh(world.occurrence)
    assert world.occurrence.booked == 0


# --- listing ------------------------------------------------------------------------------


def test_school_staff_list_their_schools_bookings_only(api, world):
    assert book(api, world).status_code == 201
    theirs = make_student(world.other_school, student_ref="X900", needs=["step_free_access"])
    assert book(api, world, theirs, token=world.tokens["other_staff"]).status_code == 201
    body = api.get("/bookings", world.tokens["staff"]).get_json()
    assert body["total"] == 1 and [b["student"]["student_ref"] for b in body["items"]] == ["A100"]
    assert body["items"][0]["student"]["last_name"] == "Sharma-Quinlan"


def test_employer_view_has_no_special_category_or_identifying_data(api, world):
    """Only first name, year group, school and the adjustments: never SEND, disadvantage, birth date,
    last name, UPN or email (data minimisation for a third party)."""
    assert book(api, world).status_code == 201
    response = api.get("/bookings", world.tokens["employer"])
    body = response.get_json()
    (item,) = body["items"]
    assert item["student"] == {
        "first_name": "Priya", "name_on_session": "Priya", "year_group": 10, "school_name": "Ardwick Academy",
        "access_needs": [{"code": "step_free_access", "label": "Step-free access"}],
    }
    text = response.get_data(as_text=True)
    for secret in ("Sharma-Quinlan", "A123456789012", "priya.sq@example.org", "2010-05-17", "ehcp", "disadvantaged",
                   "send_status", "A100", "date_of_birth", "upn"):
        assert secret not in text, f"{secret!r} leaked to the employer"


def test_employers_list_only_bookings_on_their_sessions_and_the_view_is_audited(api, world):
    assert book(api, world).status_code == 201
    assert api.get("/bookings", world.tokens["other_employer"]).get_json()["items"] == []
    api.get("/bookings", world.tokens["employer"])
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "viewed_special_category",
                                                         AuditEvent.object_id == world.student.id)).all()
    assert [(e.actor_id, e.detail, e.school_id) for e in events] == [
        (world.employer_staff.id, "api_employer_bookings", world.school.id)]


def test_filter_by_status_and_pages(api, world):
    students = [world.student] + [make_student(world.school, student_ref=f"A10{i}") for i in range(1, 3)]
    ids = [book(api, world, s).get_json()["id"] for s in students]
    booking = db.session.get(Booking, ids[0])
    booking.status = "cancelled"
    db.session.flush()
    token = world.tokens["staff"]
    assert api.get("/bookings", token, query={"status": "cancelled"}).get_json()["total"] == 1
    assert api.get("/bookings", token, query={"status": "requested,cancelled"}).get_json()["total"] == 3
    page = api.get("/bookings", token, query={"per_page": 2, "page": 2}).get_json()
    assert (page["total"], page["pages"], len(page["items"])) == (3, 2, 1)
    bad = api.get("/bookings", token, query={"status": "lost"})
    assert bad.status_code == 422 and "status" in bad.get_json()["details"]


def test_the_booking_list_says_which_bookings_are_at_risk(api, world):
    """A booking whose risk assessment is overdue (starting in 3 days; due 10 days before) is at risk."""
    import datetime as dt

    from tests.factories import make_booking, make_offer, make_student

    student = make_student(world.school, date_of_birth=dt.date(2009, 1, 1))
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).replace(microsecond=0)
    risky = make_booking(student, make_offer(sessions=0), status="confirmed", starts_at=soon)
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(days=60)).replace(microsecond=0)
    calm = make_booking(make_student(world.school, date_of_birth=dt.date(2009, 1, 1)), make_offer(sessions=0),
                        status="confirmed", starts_at=later)
    items = api.get("/bookings", world.tokens["staff"]).get_json()["items"]
    flags = {item["id"]: item["at_risk"] for item in items}
    assert flags[risky.id] is True
    assert flags[calm.id] is False
