"""Compliance reminders (due in COMPLIANCE_REMINDER_DAYS, to whoever must act) and one escalation per at-risk booking, ever.

The booking starts Thursday 20 May 2027: the employer's risk assessment is due on 10 May (10 days before),
parental consent on 18 May (2 days) and the student briefing on 19 May (1 day), all with the school.
"""

from __future__ import annotations

from portal.extensions import db
from portal.scheduler.jobs import compliance_and_escalations
from tests.factories import make_consent, make_risk_assessment, make_school, make_student, make_user
from tests.scheduler.helpers import book, keys, london, mails, make_world

START = "2027-05-20T09:00"


def run(when: str) -> dict[str, int]:
    return compliance_and_escalations(db.session, london(when))


def test_the_employer_is_reminded_of_its_risk_assessment_three_days_before_it_is_due(app):
    world = make_world()
    booking = book(world, START)
    assert run("2027-05-06T09:00")["compliance_reminders"] == 0  # 4 days before the due day
    assert run("2027-05-07T09:00")["compliance_reminders"] == 1
    assert run("2027-05-08T09:00")["compliance_reminders"] == 0  # once only
    assert keys("compliance:") == [f"compliance:{booking.id}:risk_assessment:0"]
    for person in world.employer_staff:
        [mail] = mails(person.email)
        assert "Risk assessment: due 10 May 2027" in mail.body
        assert f"/employer/bookings/{booking.id}" in mail.body
    assert mails(world.staff.email) == [] and mails(world.leader.email) == []


def test_the_schools_items_go_to_the_staff_member_who_booked_in_one_email(app):
    world = make_world()
    booking = book(world, START)
    make_risk_assessment(world.offer, reviewed_by=world.staff)
    counts = run("2027-05-16T09:00")  # consent due 18 May, briefing due 19 May: both within 3 days
    assert counts["compliance_reminders"] == 2 and counts["escalations"] == 0
    [mail] = mails(world.staff.email)
    assert "Parental consent: due 18 May 2027" in mail.body and "Student briefing: due 19 May 2027" in mail.body
    assert f"http://portal.test/bookings/{booking.id}" in mail.body
    assert mails(world.leader.email) == [] and all(mails(p.email) == [] for p in world.employer_staff)


def test_a_done_item_is_not_reminded(app):
    world = make_world()
    booking = book(world, START)
    make_risk_assessment(world.offer, reviewed_by=world.staff)
    make_consent(booking)
    run("2027-05-16T09:00")
    assert keys("compliance:") == [f"compliance:{booking.id}:briefing:0"]


def test_an_at_risk_booking_is_escalated_to_the_careers_leader_once_ever(app):
    world = make_world()
    booking = book(world, START)
    assert run("2027-05-10T23:00")["escalations"] == 0  # due today: not overdue yet
    counts = run("2027-05-11T08:00")
    assert counts["escalations"] == 1
    [mail] = mails(world.leader.email)
    assert mail.subject == "Placements at risk"
    assert "Risk assessment overdue (due 10 May 2027)" in mail.body
    assert f"http://portal.test/bookings/{booking.id}" in mail.body
    # More goes overdue later; the booking stays at risk: still no second escalation.
    assert run("2027-05-12T08:00")["escalations"] == 0
    assert run("2027-05-19T12:00")["escalations"] == 0
    assert keys("escalation:") == [f"escalation:{booking.id}"]
    assert len(mails(world.leader.email)) == 1


def test_escalations_go_to_all_active_staff_with_a_password_when_there_is_no_careers_leader(app):
    world = make_world(leader=False)
    invited = make_user("school", school=world.school, email="invited@school.example", password=None)
    gone = make_user("school", school=world.school, email="gone@school.example", is_active=False)
    book(world, START)
    run("2027-05-12T09:00")
    escalated = {m.recipient for m in mails() if m.subject == "Placements at risk"}
    assert escalated == {world.leader.email, world.staff.email}
    assert invited.email not in escalated and gone.email not in escalated


def test_one_escalation_email_per_school_lists_its_newly_at_risk_bookings(app):
    world = make_world()
    first = book(world, START)
    second = book(world, START, student=make_student(world.school, first_name="Kofi"))
    other_school = make_school()
    stranger = make_user("school", school=other_school)
    run("2027-05-12T09:00")
    [mail] = [m for m in mails(world.leader.email) if m.subject == "Placements at risk"]
    assert f"/bookings/{first.id}" in mail.body and f"/bookings/{second.id}" in mail.body
    assert mails(stranger.email) == []


def test_the_sweep_uses_the_same_number_of_queries_for_many_bookings(app, count_queries):
    world = make_world()
    book(world, START)
    with count_queries() as few:
        run("2027-05-12T09:00")
    for i in range(10):
        book(world, "2027-05-21T09:00", student=make_student(world.school, first_name=f"S{i}"))
    with count_queries() as many:
        run("2027-05-13T09:00")
    assert many.total <= few.total + 2
