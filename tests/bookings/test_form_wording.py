"""Form labels say what the field needs once, in the vocabulary's own words."""

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


def _booking(status: str):
    school = make_school()
    employer = make_employer(insurance_expiry=dt.date.today() + dt.timedelta(days=400))
    offer = make_offer(employer, sessions=0)
    booking = make_booking(make_student(school), offer, status=status,
                           starts_at=(dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).replace(microsecond=0))
    db.session.flush()
    return make_user("school", school_id=school.id), make_user("employer", employer_id=employer.id), booking


def test_the_cancel_reason_is_marked_optional_once(login):
    staff, _, booking = _booking("confirmed")
    page = login(staff).get(f"/bookings/{booking.id}/cancel").get_data(as_text=True)
    assert "(optional) (optional)" not in page
    assert "Reason (optional)" in page


def test_the_decline_reason_is_not_labelled_optional_because_declining_needs_it(login):
    _, employer_user, booking = _booking("requested")
    page = login(employer_user).get(f"/employer/bookings/{booking.id}").get_data(as_text=True)
    assert "Reason for declining" in page
    assert "Reason for declining (optional)" not in page


def test_access_feature_notes_keep_the_vocabulary_label(login):
    employer_user = make_user("employer", employer_id=make_employer().id)
    page = login(employer_user).get("/employer/offers/new").get_data(as_text=True)
    assert "BSL or Makaton" in page.split('id="note_bsl_makaton"')[0].rsplit("<label", 1)[1]
    assert "bsl or makaton" not in page
