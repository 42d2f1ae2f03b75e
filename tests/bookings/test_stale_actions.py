"""A booking page offers only the actions the services would still accept."""

from __future__ import annotations

import datetime as dt

from portal.extensions import db
from tests.factories import (
    make_booking,
    make_employer,
    make_offer,
    make_school,
    make_student,
    make_user,
)


def _school_page(login, *, status: str, starts_in_days: float) -> str:
    """The school's page for a booking of an under-18 in the given state."""
    school = make_school()
    staff = make_user("school", school_id=school.id)
    offer = make_offer(make_employer(insurance_expiry=dt.date.today() + dt.timedelta(days=400)), sessions=0)
    start = (dt.datetime.now(dt.UTC) + dt.timedelta(days=starts_in_days)).replace(microsecond=0)
    student = make_student(school, date_of_birth=dt.date.today().replace(year=dt.date.today().year - 14))
    booking = make_booking(student, offer, status=status, starts_at=start)
    db.session.flush()
    return login(staff).get(f"/bookings/{booking.id}").get_data(as_text=True)


def _checklist(page: str) -> str:
    """The checklist table of a booking page."""
    return page.split('id="checklist"')[1].split("</table>")[0]


def test_an_upcoming_booking_offers_the_checklist_actions(login):
    page = _school_page(login, status="confirmed", starts_in_days=30)
    assert "Ask for or record" in _checklist(page)
    assert "Mark as briefed" in _checklist(page)
    assert "Cancel this booking" in page


def test_a_cancelled_booking_offers_no_checklist_actions(login):
    table = _checklist(_school_page(login, status="cancelled", starts_in_days=30))
    for action in ("Ask for or record", "Mark as briefed", "Review", "Record", "Waiting for the employer"):
        assert action not in table


def test_a_past_booking_no_longer_offers_to_ask_for_consent_or_to_cancel(login):
    page = _school_page(login, status="confirmed", starts_in_days=-2)
    assert "Ask for or record" not in _checklist(page)
    assert "Mark as briefed" not in _checklist(page)
    assert "Cancel this booking" not in page
