"""Employer feedback: per student of a completed booking, with no special category data shown; staff release it."""

from __future__ import annotations

import datetime as dt

import pytest

from portal.core.vocab import Role
from portal.extensions import db
from portal.reflections import services
from portal.reflections.models import EmployerFeedback
from tests.factories import (
    make_booking,
    make_employer,
    make_offer,
    make_school,
    make_student,
    make_user,
)


@pytest.fixture
def placement():
    school = make_school(name="Hilltop Academy")
    student = make_student(school, first_name="Zainab", last_name="Okonkwo-Smythe", year_group=9,
                           send_status="ehcp", disadvantaged=True, needs=["quiet_space"],
                           date_of_birth=dt.date(2012, 7, 23), upn="A123456789012")
    employer = make_employer(insurance_expiry=dt.date.today() + dt.timedelta(days=365))
    booking = make_booking(student, make_offer(employer))
    return {"school": school, "student": student, "booking": booking, "employer": employer,
            "employer_user": make_user(Role.EMPLOYER, employer_id=employer.id),
            "staff": make_user(Role.SCHOOL, school_id=school.id),
            "student_user": make_user(Role.STUDENT, student_id=student.id)}


FORM = {"attended": "full", "punctuality": "on_time", "skill_teamwork": "4", "skill_listening": "2",
        "skill_leadership": "", "comment": "Zainab was a great help", "activity_comment": "Run it again"}


def test_employer_gives_feedback(client, login, placement):
    login(placement["employer_user"])
    assert "Zainab" in client.get("/employer/feedback").get_data(as_text=True)
    response = client.post(f"/employer/bookings/{placement['booking'].id}/feedback", data=FORM)
    assert response.status_code == 302
    feedback = db.session.query(EmployerFeedback).one()
    assert feedback.ratings == {"teamwork": 4, "listening": 2}
    assert (feedback.attended, feedback.punctuality) == ("full", "on_time")
    assert not feedback.released


def test_feedback_pages_show_no_special_category_data(client, login, placement):
    login(placement["employer_user"])
    for url in ("/employer/feedback", f"/employer/bookings/{placement['booking'].id}/feedback"):
        page = client.get(url).get_data(as_text=True)
        assert "Zainab" in page
        assert "Year 9" in page
        assert "Hilltop Academy" in page
        for secret in ("Okonkwo-Smythe", "EHCP", "ehcp", "Education, health and care", "disadvantaged",
                       "Disadvantaged", "Quiet space", "quiet_space", "2012", "A123456789012", "SEN"):
            assert secret not in page, f"{secret!r} shown on {url}"


def test_other_employers_are_refused(client, login, placement):
    login(make_user(Role.EMPLOYER, employer_id=make_employer().id))
    assert client.get(f"/employer/bookings/{placement['booking'].id}/feedback").status_code == 404
    assert client.post(f"/employer/bookings/{placement['booking'].id}/feedback", data=FORM).status_code == 404
    assert "Zainab" not in client.get("/employer/feedback").get_data(as_text=True)
    assert db.session.query(EmployerFeedback).count() == 0


def test_feedback_only_on_a_completed_booking(client, login, placement):
    booking = make_booking(placement["student"], make_offer(placement["employer"]), status="confirmed")
    login(placement["employer_user"])
    assert client.get(f"/employer/bookings/{booking.id}/feedback").status_code == 404


def test_student_sees_the_comment_only_after_staff_release_it(client, login, placement):
    booking = placement["booking"]
    services.give_feedback(db.session, booking, placement["employer_user"], attended="full", punctuality="on_time",
                           ratings={"teamwork": 3}, comment="Zainab was a great help", activity_comment="Private note")
    login(placement["student_user"])
    assert "Zainab was a great help" not in client.get("/my-record").get_data(as_text=True)

    login(placement["staff"])
    detail = client.get(f"/school/bookings/{booking.id}/reflection").get_data(as_text=True)
    assert "Zainab was a great help" in detail
    assert "Share the comment with the student" in detail
    assert client.post(f"/school/bookings/{booking.id}/feedback/release").status_code == 302

    login(placement["student_user"])
    record = client.get("/my-record").get_data(as_text=True)
    assert "Zainab was a great help" in record
    assert "Private note" not in record  # the comment on the activity is for the school
    assert "Zainab was a great help" in client.get("/my-record?print=1").get_data(as_text=True)


def test_released_feedback_can_no_longer_be_changed(client, login, placement):
    feedback = services.give_feedback(db.session, placement["booking"], placement["employer_user"], attended="full",
                                      punctuality="late", ratings={}, comment="Good", activity_comment=None)
    services.release_feedback(db.session, feedback, placement["staff"])
    with pytest.raises(services.FeedbackLocked):
        services.give_feedback(db.session, placement["booking"], placement["employer_user"], attended="part",
                               punctuality="late", ratings={}, comment="Changed", activity_comment=None)
    login(placement["employer_user"])
    page = client.get(f"/employer/bookings/{placement['booking'].id}/feedback").get_data(as_text=True)
    assert "can no longer be changed" in page


def test_another_school_cannot_release(client, login, placement):
    services.give_feedback(db.session, placement["booking"], placement["employer_user"], attended="full",
                           punctuality="on_time", ratings={}, comment="Good", activity_comment=None)
    login(make_user(Role.SCHOOL, school_id=make_school().id))
    assert client.post(f"/school/bookings/{placement['booking'].id}/feedback/release").status_code == 404
    assert not db.session.query(EmployerFeedback).one().released


def test_ratings_out_of_range_are_refused(placement):
    with pytest.raises(ValueError, match="rating"):
        services.give_feedback(db.session, placement["booking"], placement["employer_user"], attended="full",
                               punctuality="on_time", ratings={"teamwork": 5}, comment=None, activity_comment=None)
