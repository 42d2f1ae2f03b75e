"""Reflection prompts to the student (end day, +2, +7 London days; only the latest due step) and the staff flag."""

from __future__ import annotations

import datetime as dt

from portal.extensions import db
from portal.reflections.models import Reflection
from portal.scheduler.jobs import complete_ended_bookings, reflection_prompts
from tests.factories import make_student, make_user
from tests.scheduler.helpers import book, keys, london, mails, make_world

PUPIL = "pupil@students.example"


def run(when: str) -> dict[str, int]:
    """Complete what has ended, then run the reflection job, at a London time."""
    now = london(when)
    complete_ended_bookings(db.session, now)
    return reflection_prompts(db.session, now)


def test_the_student_is_prompted_on_the_day_the_placement_ends(app):
    world = make_world()
    booking = book(world, "2027-05-10T09:00")  # ends 15:00
    assert run("2027-05-10T14:00")["reflection_prompts"] == 0
    counts = run("2027-05-10T16:00")
    assert counts["reflection_prompts"] == 1 and counts["reflection_reminders"] == 0
    [mail] = mails(PUPIL)
    assert f"http://portal.test/my-record/bookings/{booking.id}/reflection" in mail.body
    assert "Hospital insight day" in mail.body and "Reminder" not in mail.body
    assert keys("reflection:") == [f"reflection:{booking.id}:prompt"]


def test_reminders_follow_two_and_seven_days_after_the_end_day(app):
    world = make_world()
    booking = book(world, "2027-05-10T09:00")
    run("2027-05-10T16:00")
    assert run("2027-05-11T09:00")["reflection_reminders"] == 0  # one day after: nothing
    assert run("2027-05-12T07:00")["reflection_reminders"] == 1  # second London day after the end day
    assert run("2027-05-16T09:00")["reflection_reminders"] == 0
    assert run("2027-05-17T07:00")["reflection_reminders"] == 1
    assert keys("reflection:") == [f"reflection:{booking.id}:{s}" for s in ("prompt", "remind2", "remind7")]
    assert [m.body.count("Reminder:") for m in mails(PUPIL)] == [0, 1, 1]


def test_a_missed_day_is_caught_up_with_the_step_now_due(app):
    world = make_world()
    booking = book(world, "2027-05-10T09:00", status="completed")
    counts = run("2027-05-13T09:00")  # nothing ran on the end day or the day after
    assert counts == {"reflection_prompts": 0, "reflection_reminders": 1, "reflection_flags": 0, "emails_queued": 1}
    assert keys("reflection:") == [f"reflection:{booking.id}:remind2"]


def test_no_earlier_step_is_sent_once_a_later_one_is_due(app):
    world = make_world()
    booking = book(world, "2027-05-10T09:00", status="completed")
    run("2027-05-18T09:00")  # first run eight days after: only the 7-day reminder
    run("2027-05-18T10:00")
    run("2027-05-19T09:00")
    assert keys("reflection:") == [f"reflection:{booking.id}:remind7"]
    assert len(mails(PUPIL)) == 1


def test_a_submitted_reflection_stops_the_prompts(app):
    world = make_world()
    booking = book(world, "2027-05-10T09:00", status="completed")
    db.session.add(Reflection(booking_id=booking.id, student_id=world.student.id, school_id=world.school.id,
                              status="submitted", submitted_at=london("2027-05-10T17:00")))
    db.session.flush()
    assert run("2027-05-12T09:00")["reflection_reminders"] == 0
    assert run("2027-05-30T09:00")["reflection_flags"] == 0
    assert mails() == []


def test_staff_who_requested_the_booking_are_flagged_after_fourteen_days_without_a_meaningful_reflection(app):
    world = make_world()
    booking = book(world, "2027-05-10T09:00", status="completed")
    db.session.add(Reflection(booking_id=booking.id, student_id=world.student.id, school_id=world.school.id,
                              status="draft"))
    db.session.flush()
    assert run("2027-05-23T23:00")["reflection_flags"] == 0  # 13 London days after
    assert run("2027-05-24T00:30")["reflection_flags"] == 1
    assert run("2027-05-25T09:00")["reflection_flags"] == 0
    [flag] = mails(world.staff.email)
    assert "Grace Robinson" in flag.body and f"/school/bookings/{booking.id}/reflection" in flag.body
    assert mails(world.leader.email) == []


def test_the_flag_day_is_per_school_and_a_debrief_counts_as_meaningful(app):
    world = make_world(reflection_flag_days=5)
    debriefed = book(world, "2027-05-10T09:00", status="completed")
    other = make_student(world.school, first_name="Kofi")
    pending = book(world, "2027-05-10T09:00", status="completed", student=other)
    db.session.add(Reflection(booking_id=debriefed.id, student_id=world.student.id, school_id=world.school.id,
                              status="draft", debriefed_at=london("2027-05-12T10:00"), debriefed_in_person=True))
    db.session.flush()
    assert run("2027-05-15T09:00")["reflection_flags"] == 1
    assert keys("reflection:") == sorted([f"reflection:{pending.id}:flag", f"reflection:{debriefed.id}:remind2"])


def test_the_flag_goes_to_the_careers_leader_when_the_requester_has_left(app):
    world = make_world()
    book(world, "2027-05-10T09:00", status="completed")
    world.staff.is_active = False
    db.session.flush()
    run("2027-05-24T09:00")
    assert len(mails(world.leader.email)) == 1 and mails(world.staff.email) == []


def test_the_student_address_is_the_sign_in_email_then_the_roster_email_and_none_means_only_the_flag(app):
    world = make_world()
    signed_up = make_student(world.school, email="roster@students.example")
    make_user("student", student=signed_up, email="signin@students.example")
    roster_only = make_student(world.school, email="only-roster@students.example")
    no_address = make_student(world.school, email=None)
    for student in (signed_up, roster_only, no_address):
        book(world, "2027-05-10T09:00", status="completed", student=student)
    run("2027-05-10T16:00")
    recipients = {m.recipient for m in mails()}
    assert {"signin@students.example", "only-roster@students.example"} <= recipients
    assert "roster@students.example" not in recipients
    counts = run("2027-05-24T09:00")
    assert counts["reflection_flags"] == 3  # every booking is flagged, the one without an address too


def test_the_reminder_day_counts_london_days_across_the_spring_clock_change(app):
    # Ends Friday 26 March 2027, 15:00 GMT; clocks go forward at 01:00 on Sunday 28 March.
    # 28 March 00:30 is under 48 hours later but already the second London day after the end day.
    world = make_world()
    booking = book(world, "2027-03-26T09:00", status="completed")
    assert run("2027-03-27T23:30")["reflection_reminders"] == 0  # the prompt (one day after)
    assert run("2027-03-28T00:30")["reflection_reminders"] == 1
    assert keys("reflection:") == [f"reflection:{booking.id}:prompt", f"reflection:{booking.id}:remind2"]


def test_the_flag_day_counts_london_days_across_the_autumn_clock_change(app):
    # Ends Sunday 17 October 2027, 15:00 BST; day 14 is Sunday 31 October, when clocks go back at 02:00 BST.
    # At 00:30 BST it is still 30 October in UTC, but 31 October in London: the flag is due.
    world = make_world()
    booking = book(world, "2027-10-17T09:00", status="completed")
    assert run("2027-10-30T23:30")["reflection_flags"] == 0
    now = london("2027-10-31T00:30")
    assert now.date() == dt.date(2027, 10, 30)  # the UTC date is a day behind
    assert reflection_prompts(db.session, now)["reflection_flags"] == 1
    assert f"reflection:{booking.id}:flag" in keys("reflection:")


def test_the_sweep_uses_the_same_number_of_queries_for_many_bookings(app, count_queries):
    world = make_world()
    book(world, "2027-05-10T09:00", status="completed")
    with count_queries() as one:
        run("2027-05-24T09:00")
    for i in range(8):
        book(world, "2027-05-11T09:00", status="completed", student=make_student(world.school, email=f"s{i}@x.example"))
    with count_queries() as many:
        run("2027-05-25T09:00")
    assert many.total <= one.total + 2  # the inserts are chunked, not per booking
