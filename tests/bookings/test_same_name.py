"""Students of one name can be told apart: staff see tutor group and reference; employers see a number per session."""

from __future__ import annotations

import datetime as dt

from portal.bookings.services import names_on_sessions
from portal.extensions import db
from tests.factories import (
    make_booking,
    make_employer,
    make_offer,
    make_school,
    make_student,
    make_user,
)

LATER = (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).replace(microsecond=0)


def _two_graces():
    """Two Grace Hoppers of one school on one session, and a third Grace on another session."""
    school = make_school()
    employer = make_employer(insurance_expiry=dt.date.today() + dt.timedelta(days=400))
    offer = make_offer(employer)  # one session, a fortnight ahead
    first = make_booking(make_student(school, first_name="Grace", last_name="Hopper", tutor_group="10B",
                                      student_ref="NA-101"), offer, status="requested")
    second = make_booking(make_student(school, first_name="grace", last_name="Hopper", tutor_group="10C",
                                       student_ref="NA-102"), offer, status="confirmed")
    elsewhere = make_booking(make_student(school, first_name="Grace", last_name="Jones"), offer, status="requested",
                             starts_at=LATER)
    assert first.session_id == second.session_id != elsewhere.session_id
    return school, employer, first, second, elsewhere


def test_namesakes_on_one_session_are_numbered_in_booking_order_and_no_one_else_is(session):
    _, _, first, second, elsewhere = _two_graces()
    alone = make_booking(make_student(first_name="Ada"), make_offer(sessions=0), status="requested", starts_at=LATER)
    assert names_on_sessions(db.session, [second, elsewhere, first, alone]) == {
        first.id: "Grace (1)", second.id: "grace (2)", elsewhere.id: "Grace", alone.id: "Ada",
    }


def test_the_names_of_a_page_of_bookings_take_one_query(session, count_queries):
    _, _, first, second, elsewhere = _two_graces()
    with count_queries() as counted:
        names_on_sessions(db.session, [first, second, elsewhere])
    assert len(counted.statements) == 1


def test_the_employer_list_and_booking_tell_namesakes_apart_without_more_personal_data(login):
    _, employer, first, second, _ = _two_graces()
    client = login(make_user("employer", employer_id=employer.id))
    listing = client.get("/employer/bookings").get_data(as_text=True)
    assert "Grace (1)</a>" in listing and "grace (2)</a>" in listing
    detail = client.get(f"/employer/bookings/{second.id}").get_data(as_text=True)
    assert "Booking for grace (2)" in detail
    for page in (listing, detail):
        assert "Hopper" not in page and "NA-10" not in page and "10B" not in page


def test_school_staff_see_tutor_group_and_reference_beside_each_namesake(login):
    school, _, first, second, _ = _two_graces()
    client = login(make_user("school", school_id=school.id))
    listing = client.get("/bookings").get_data(as_text=True)
    assert "Year 10, 10B, ref NA-101" in listing and "Year 10, 10C, ref NA-102" in listing
    picker = client.get(f"/offers/{first.session.offer_id}/sessions/{first.session_id}/book").get_data(as_text=True)
    assert "Grace Hopper (Year 10, 10B, ref NA-101)" in picker and "grace Hopper (Year 10, 10C, ref NA-102)" in picker
