"""Employer feedback requests (end day, +2, +7 London days; the latest due step), one email per person, and the staff flag."""

from __future__ import annotations

from portal.extensions import db
from portal.reflections.models import EmployerFeedback
from portal.scheduler.jobs import feedback_requests
from tests.factories import make_student
from tests.scheduler.helpers import book, keys, london, mails, make_world


def run(when: str) -> dict[str, int]:
    return feedback_requests(db.session, london(when))


def test_each_employer_staff_member_gets_one_request_listing_every_student_by_first_name(app):
    world = make_world()
    first = book(world, "2027-05-10T09:00", status="completed")
    second = book(world, "2027-05-10T09:00", status="completed",
                  student=make_student(world.school, first_name="Kofi", last_name="Hill"))
    counts = run("2027-05-10T16:00")
    assert counts["feedback_requests"] == 2 and counts["emails_queued"] == 2
    for person in world.employer_staff:
        [mail] = mails(person.email)
        assert f"/employer/bookings/{first.id}/feedback" in mail.body
        assert f"/employer/bookings/{second.id}/feedback" in mail.body
        assert "Grace" in mail.body and "Kofi" in mail.body
        assert "Robinson" not in mail.body and "Hill" not in mail.body  # only first names reach employers


def test_feedback_reminders_come_two_and_seven_days_after_and_only_the_latest_due_step(app):
    world = make_world()
    booking = book(world, "2027-05-10T09:00", status="completed")
    run("2027-05-12T09:00")  # missed the end day: the 2-day reminder only
    run("2027-05-13T09:00")
    assert keys("feedback:") == [f"feedback:{booking.id}:remind2"]
    run("2027-05-17T09:00")
    assert keys("feedback:") == [f"feedback:{booking.id}:remind2", f"feedback:{booking.id}:remind7"]


def test_feedback_given_stops_requests_and_the_flag(app):
    world = make_world()
    booking = book(world, "2027-05-10T09:00", status="completed")
    db.session.add(EmployerFeedback(booking_id=booking.id, employer_id=world.employer.id, school_id=world.school.id,
                                    attended="full", punctuality="on_time"))
    db.session.flush()
    assert run("2027-05-10T16:00")["feedback_requests"] == 0
    assert run("2027-05-24T09:00")["feedback_flags"] == 0
    assert mails() == []


def test_missing_feedback_is_flagged_to_the_requesting_staff_member_after_the_flag_days(app):
    world = make_world()
    booking = book(world, "2027-05-10T09:00", status="completed")
    assert run("2027-05-23T09:00")["feedback_flags"] == 0
    assert run("2027-05-24T09:00")["feedback_flags"] == 1
    assert run("2027-05-24T10:00")["feedback_flags"] == 0
    [flag] = mails(world.staff.email)
    assert flag.subject == "Employer feedback not yet given" and f"/bookings/{booking.id}" in flag.body
