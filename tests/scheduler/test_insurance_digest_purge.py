"""Insurance reminders (30 and 7 days), the weekly digest (once per London week) and the 6-month DBS purge."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from portal.core.models import AuditEvent
from portal.extensions import db
from portal.scheduler.jobs import (
    insurance_reminders,
    months_before,
    purge_dbs_details,
    weekly_digest,
)
from tests.factories import (
    make_dbs_note,
    make_employer,
    make_school,
    make_student,
    make_supervisor,
    make_user,
)
from tests.scheduler.helpers import book, keys, london, mails, make_world

# --- insurance --------------------------------------------------------------------------------


def test_employers_are_reminded_thirty_and_seven_days_before_their_insurance_expires(app):
    employer = make_employer(insurance_expiry=dt.date(2027, 6, 30))
    staff = make_user("employer", employer=employer)
    assert insurance_reminders(db.session, london("2027-05-30T09:00"))["insurance_reminders"] == 0  # 31 days
    assert insurance_reminders(db.session, london("2027-05-31T09:00"))["insurance_reminders"] == 1  # 30 days
    assert insurance_reminders(db.session, london("2027-06-10T09:00"))["insurance_reminders"] == 0
    assert insurance_reminders(db.session, london("2027-06-23T09:00"))["insurance_reminders"] == 1  # 7 days
    assert insurance_reminders(db.session, london("2027-06-30T09:00"))["insurance_reminders"] == 0
    assert keys("insurance:") == [f"insurance:{employer.id}:2027-06-30:30", f"insurance:{employer.id}:2027-06-30:7"]
    first, second = mails(staff.email)
    assert "expires on 30 June 2027" in first.subject and "in 30 days" in first.body
    assert "in 7 days" in second.body and "http://portal.test/employer/profile/edit" in second.body


def test_only_the_latest_insurance_step_is_sent_and_a_renewal_starts_afresh(app):
    employer = make_employer(insurance_expiry=dt.date(2027, 6, 30))
    make_user("employer", employer=employer)
    insurance_reminders(db.session, london("2027-06-25T09:00"))  # first run 5 days before: the 7-day step only
    assert keys("insurance:") == [f"insurance:{employer.id}:2027-06-30:7"]
    employer.insurance_expiry = dt.date(2028, 6, 30)
    db.session.flush()
    insurance_reminders(db.session, london("2028-06-01T09:00"))
    assert f"insurance:{employer.id}:2028-06-30:30" in keys("insurance:")


def test_employers_without_active_staff_get_no_insurance_reminder(app):
    employer = make_employer(insurance_expiry=dt.date(2027, 6, 30))
    make_user("employer", employer=employer, is_active=False)
    assert insurance_reminders(db.session, london("2027-06-25T09:00"))["insurance_reminders"] == 0
    assert keys("insurance:") == []


# --- weekly digest ----------------------------------------------------------------------------


def test_the_weekly_digest_goes_to_the_careers_leader_once_per_london_week(app):
    world = make_world()
    book(world, "2027-05-12T09:00")  # upcoming, and at risk (risk assessment overdue since 2 May)
    book(world, "2027-05-03T09:00", status="completed", student=make_student(world.school, first_name="Kofi"))  # no reflection
    assert weekly_digest(db.session, london("2027-05-10T07:00"))["digests"] == 1  # Monday
    assert weekly_digest(db.session, london("2027-05-10T12:00"))["digests"] == 0
    assert weekly_digest(db.session, london("2027-05-16T23:59"))["digests"] == 0  # still the same week (Sunday)
    [digest] = mails(world.leader.email)
    assert digest.subject == "Weekly placement digest: week beginning 10 May 2027"
    assert "Upcoming placements in the next 14 days: 1" in digest.body
    assert "At risk (something is overdue): 1" in digest.body and "Risk assessment overdue" in digest.body
    assert "Reflections outstanding this academic year (no submitted reflection or debrief): 1" in digest.body
    assert mails(world.staff.email) == []
    assert weekly_digest(db.session, london("2027-05-17T00:10"))["digests"] == 1  # next Monday, London time
    assert keys("digest:") == [f"digest:{world.school.id}:2027-05-10", f"digest:{world.school.id}:2027-05-17"]


def test_a_digest_missed_on_monday_goes_on_the_first_run_later_that_week(app):
    world = make_world()
    book(world, "2027-05-14T09:00")
    assert weekly_digest(db.session, london("2027-05-12T09:00"))["digests"] == 1  # Wednesday
    assert keys("digest:") == [f"digest:{world.school.id}:2027-05-10"]


def test_schools_without_staff_get_no_digest(app):
    school = make_school()
    make_user("school", school=school, is_active=False)
    assert weekly_digest(db.session, london("2027-05-10T09:00"))["digests"] == 0
    assert keys("digest:") == []


# --- DBS certificate details --------------------------------------------------------------------


def test_six_calendar_months_before_clamps_to_the_end_of_a_shorter_month():
    assert months_before(dt.date(2027, 8, 31), 6) == dt.date(2027, 2, 28)
    assert months_before(dt.date(2027, 3, 15), 6) == dt.date(2026, 9, 15)


def test_dbs_certificate_details_are_purged_after_six_months_keeping_the_decision_and_its_date(app):
    school = make_school()
    supervisor = make_supervisor()
    # Recorded at 00:30 BST on 10 April 2027 (23:30 UTC on 9 April): six London months end with 10 October.
    recorded = london("2027-04-10T00:30")
    note = make_dbs_note(school, supervisor, decision="checked", recorded_at=recorded)
    not_required = make_dbs_note(school, make_supervisor(), recorded_at=recorded)

    assert purge_dbs_details(db.session, london("2027-10-10T23:59"))["dbs_details_purged"] == 0
    assert purge_dbs_details(db.session, london("2027-10-11T00:01"))["dbs_details_purged"] == 1
    db.session.expire_all()
    assert (note.level, note.issued_on, note.certificate_last4, note.update_service_checked) == (None, None, None, None)
    assert note.decision == "checked" and note.recorded_at == recorded
    assert note.details_purged_at == london("2027-10-11T00:01")
    assert not_required.details_purged_at is None and not_required.reason
    audit = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "dbs_details_purged")).all()
    assert [(a.object_id, a.actor_email, a.school_id) for a in audit] == [(note.id, "system", school.id)]
    # Idempotent: a second run changes nothing and audits nothing.
    assert purge_dbs_details(db.session, london("2027-10-12T09:00"))["dbs_details_purged"] == 0
    db.session.expire_all()
    assert note.details_purged_at == london("2027-10-11T00:01")


# --- leavers: on roll plus 3 years, then removed ------------------------------------------------


def test_a_leaver_is_removed_with_their_bookings_three_years_after_leaving_and_audited_without_a_name(app):
    from portal.bookings.models import Booking
    from portal.organisations.models import Student
    from portal.scheduler.jobs import purge_leavers
    from tests.factories import make_booking, make_student

    school = make_school()
    leaver = make_student(school, left_on=dt.date(2024, 7, 19))
    booking = make_booking(leaver)
    recent = make_student(school, left_on=dt.date(2025, 7, 18))
    on_roll = make_student(school)
    ids = (leaver.id, booking.id, recent.id, on_roll.id)

    assert purge_leavers(db.session, london("2027-07-19T09:00"))["leavers_removed"] == 0  # exactly 3 years: kept
    assert purge_leavers(db.session, london("2027-07-20T00:30"))["leavers_removed"] == 1
    db.session.expire_all()
    assert db.session.get(Student, ids[0]) is None
    assert db.session.get(Booking, ids[1]) is None
    assert db.session.get(Student, ids[2]) is not None and db.session.get(Student, ids[3]) is not None
    audit = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "student_removed")).all()
    assert [(a.object_id, a.school_id, a.actor_email) for a in audit] == [(ids[0], school.id, "system")]
    assert "Student" not in audit[0].detail
    assert purge_leavers(db.session, london("2027-07-21T09:00"))["leavers_removed"] == 0  # idempotent
