"""Booking pages: the compliance checklist, "at risk" in every booking list, and outcomes once a session has started."""

from __future__ import annotations

import datetime as dt

from portal.extensions import db
from tests.factories import (
    make_booking,
    make_employer,
    make_offer,
    make_risk_assessment,
    make_school,
    make_student,
    make_supervisor,
    make_user,
)


def _world(starts_in_days: float):
    school = make_school()
    staff = make_user("school", school_id=school.id)
    employer = make_employer(insurance_expiry=dt.date.today() + dt.timedelta(days=400))
    employer_user = make_user("employer", employer_id=employer.id)
    offer = make_offer(employer, sessions=0, title="Hospital open day")
    start = (dt.datetime.now(dt.UTC) + dt.timedelta(days=starts_in_days)).replace(microsecond=0)
    student = make_student(school, first_name="Ada", last_name="Lovelace", date_of_birth=dt.date(2012, 1, 1))
    booking = make_booking(student, offer, status="confirmed", starts_at=start)
    booking.session.supervisors.append(make_supervisor(employer, name="Sam Super"))
    db.session.flush()
    return staff, employer_user, booking


def test_a_booking_with_an_overdue_item_is_tagged_at_risk_in_the_school_list(login):
    staff, _, booking = _world(starts_in_days=3)  # the risk assessment was due 10 days before: overdue
    page = login(staff).get("/bookings").get_data(as_text=True)
    assert "At risk" in page.split("Ada Lovelace")[1].split("</tr>")[0]


def test_a_booking_with_nothing_overdue_is_not_tagged(login):
    staff, _, _ = _world(starts_in_days=40)
    page = login(staff).get("/bookings").get_data(as_text=True)
    assert "Ada Lovelace" in page
    assert "pp-tag--red\">At risk" not in page


def test_the_at_risk_filter_lists_only_at_risk_bookings(login):
    staff, _, risky = _world(starts_in_days=3)
    calm = make_booking(make_student(risky.student.school, first_name="Grace", last_name="Hopper",
                                     date_of_birth=dt.date(2012, 1, 1)),
                        make_offer(sessions=0), status="confirmed",
                        starts_at=(dt.datetime.now(dt.UTC) + dt.timedelta(days=40)).replace(microsecond=0))
    assert calm.school_id == risky.school_id
    page = login(staff).get("/bookings?risk=1").get_data(as_text=True)
    assert "Ada Lovelace" in page
    assert "Grace Hopper" not in page


def test_the_employer_list_tags_at_risk_bookings_too(login):
    _, employer_user, _ = _world(starts_in_days=3)
    page = login(employer_user).get("/employer/bookings").get_data(as_text=True)
    assert "At risk" in page.split("Ada")[1].split("</tr>")[0]


def test_the_school_booking_page_shows_each_item_with_its_due_date_and_status(login):
    staff, _, booking = _world(starts_in_days=30)
    page = login(staff).get(f"/bookings/{booking.id}").get_data(as_text=True)
    for label in ("Risk assessment", "Employer&#39;s liability insurance", "DBS decision: Sam Super",
                  "Parental consent", "Student briefing"):
        assert label in page
    first_day = booking.starts_at.date() - dt.timedelta(days=10)
    assert f"{first_day.day} {first_day:%B %Y}" in page or "Overdue" not in page
    assert "This placement is at risk" not in page


def test_the_school_booking_page_warns_when_at_risk_and_links_the_review(login):
    staff, _, booking = _world(starts_in_days=3)
    assessment = make_risk_assessment(booking.session.offer, [booking.session])
    page = login(staff).get(f"/bookings/{booking.id}").get_data(as_text=True)
    assert "This placement is at risk" in page
    assert f"/risk-assessments/{assessment.id}" in page
    assert f"/dbs/supervisors/{booking.session.supervisors[0].id}" in page


def test_the_employer_sees_what_the_school_needs_from_them_but_not_dbs_decisions(login):
    _, employer_user, booking = _world(starts_in_days=30)
    page = login(employer_user).get(f"/employer/bookings/{booking.id}").get_data(as_text=True)
    assert "What the school needs from you" in page
    assert f"/employer/offers/{booking.session.offer_id}/risk-assessment" in page
    assert "DBS decision: Sam Super" not in page


def test_the_school_home_counts_placements_at_risk(login):
    staff, _, _ = _world(starts_in_days=3)
    page = login(staff).get("/school").get_data(as_text=True)
    assert "1 placement is at risk" in page


def test_did_not_attend_is_offered_only_once_the_session_has_started(login):
    staff, employer_user, upcoming = _world(starts_in_days=30)
    assert "Did not attend" not in login(staff).get(f"/bookings/{upcoming.id}").get_data(as_text=True)
    assert "did not attend" not in login(employer_user).get(f"/employer/bookings/{upcoming.id}").get_data(as_text=True)
    upcoming.starts_at = upcoming.session.starts_at = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    db.session.flush()
    assert "Did not attend" in login(staff).get(f"/bookings/{upcoming.id}").get_data(as_text=True)
    assert "did not attend" in login(employer_user).get(f"/employer/bookings/{upcoming.id}").get_data(as_text=True)
