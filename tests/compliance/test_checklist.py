"""The compliance checklist: each duty's status and due date, and when a booking is at risk."""

from __future__ import annotations

import datetime as dt

from portal.compliance.checklist import at_risk_ids, bookings_by_id, checklists
from portal.core.dates import local_to_utc
from portal.core.vocab import ComplianceKind, ItemStatus
from portal.extensions import db
from tests.factories import (
    make_booking,
    make_consent,
    make_dbs_note,
    make_employer,
    make_offer,
    make_risk_assessment,
    make_school,
    make_student,
    make_supervisor,
    make_user,
)

START = local_to_utc(dt.datetime(2027, 3, 15, 9, 0))  # Monday 15 March 2027, 9am London
FIRST_DAY = dt.date(2027, 3, 15)


def _booking(born: dt.date = dt.date(2012, 1, 1), supervisors: int = 1, **kw):
    school = make_school()
    employer = make_employer(insurance_expiry=dt.date(2028, 1, 1))
    offer = make_offer(employer, sessions=0)
    student = make_student(school, date_of_birth=born)
    booking = make_booking(student, offer, status="confirmed", starts_at=START)
    for _ in range(supervisors):
        booking.session.supervisors.append(make_supervisor(employer))
    db.session.flush()
    return booking


def _items(booking, today):
    return checklists(db.session, bookings_by_id([booking.id]), today)[booking.id]


def _item(checklist, kind):
    return next(item for item in checklist.items if item.kind is kind)


def test_default_deadlines_count_back_from_the_first_day():
    booking = _booking()
    checklist = _items(booking, dt.date(2027, 3, 1))
    due = {item.kind: item.due_on for item in checklist.items}
    assert due[ComplianceKind.RISK_ASSESSMENT] == dt.date(2027, 3, 5)
    assert due[ComplianceKind.INSURANCE] == dt.date(2027, 3, 5)
    assert due[ComplianceKind.DBS] == dt.date(2027, 3, 10)
    assert due[ComplianceKind.CONSENT] == dt.date(2027, 3, 13)
    assert due[ComplianceKind.BRIEFING] == dt.date(2027, 3, 14)


def test_deadlines_follow_the_schools_settings():
    booking = _booking()
    booking.student.school.risk_assessment_due_days = 20
    db.session.flush()
    checklist = _items(booking, dt.date(2027, 3, 1))
    assert _item(checklist, ComplianceKind.RISK_ASSESSMENT).due_on == dt.date(2027, 2, 23)


def test_an_item_is_overdue_only_after_its_due_day():
    booking = _booking()
    on_the_day = _item(_items(booking, dt.date(2027, 3, 5)), ComplianceKind.RISK_ASSESSMENT)
    day_after = _item(_items(booking, dt.date(2027, 3, 6)), ComplianceKind.RISK_ASSESSMENT)
    assert on_the_day.status is ItemStatus.TO_DO
    assert day_after.status is ItemStatus.OVERDUE


def test_risk_assessment_is_done_only_once_the_school_has_reviewed_it():
    booking = _booking()
    assessment = make_risk_assessment(booking.session.offer, [booking.session])
    item = _item(_items(booking, dt.date(2027, 3, 6)), ComplianceKind.RISK_ASSESSMENT)
    assert item.status is ItemStatus.OVERDUE
    assert item.object_id == assessment.id
    other_school_staff = make_user("school")
    make_risk_assessment(booking.session.offer, [booking.session], reviewed_by=other_school_staff)
    item = _item(_items(booking, dt.date(2027, 3, 6)), ComplianceKind.RISK_ASSESSMENT)
    assert item.status is ItemStatus.OVERDUE, "another school's review does not count"
    staff = make_user("school", school_id=booking.school_id)
    make_risk_assessment(booking.session.offer, [booking.session], reviewed_by=staff)
    assert _item(_items(booking, dt.date(2027, 3, 6)), ComplianceKind.RISK_ASSESSMENT).status is ItemStatus.DONE


def test_insurance_must_cover_every_day_of_the_placement():
    booking = _booking()
    employer = booking.session.offer.employer
    employer.insurance_expiry = FIRST_DAY - dt.timedelta(days=1)
    db.session.flush()
    assert _item(_items(booking, dt.date(2027, 3, 1)), ComplianceKind.INSURANCE).status is ItemStatus.TO_DO
    employer.insurance_expiry = FIRST_DAY
    db.session.flush()
    assert _item(_items(booking, dt.date(2027, 3, 1)), ComplianceKind.INSURANCE).status is ItemStatus.DONE


def test_dbs_decision_is_needed_per_supervisor_for_under_16s_only():
    booking = _booking(born=dt.date(2012, 1, 1), supervisors=2)
    dbs = [i for i in _items(booking, dt.date(2027, 3, 1)).items if i.kind is ComplianceKind.DBS]
    assert len(dbs) == 2
    make_dbs_note(booking.student.school, booking.session.supervisors[0])
    dbs = [i.status for i in _items(booking, dt.date(2027, 3, 1)).items if i.kind is ComplianceKind.DBS]
    assert sorted(dbs) == sorted([ItemStatus.DONE, ItemStatus.TO_DO])
    older = _booking(born=dt.date(2011, 3, 15))  # 16 on the first day
    assert _item(_items(older, dt.date(2027, 3, 1)), ComplianceKind.DBS).status is ItemStatus.NOT_NEEDED


def test_a_pre_16_session_without_a_supervisor_is_the_employers_to_fix():
    booking = _booking(supervisors=0)
    item = _item(_items(booking, dt.date(2027, 3, 11)), ComplianceKind.DBS)
    assert item.status is ItemStatus.OVERDUE
    assert item.owner == "employer"


def test_consent_for_under_18s_and_a_decline_puts_the_booking_at_risk():
    booking = _booking(born=dt.date(2010, 1, 1))
    adult = _booking(born=dt.date(2009, 3, 15))  # 18 on the first day
    assert _item(_items(adult, dt.date(2027, 3, 1)), ComplianceKind.CONSENT).status is ItemStatus.NOT_NEEDED
    make_consent(booking, decision="declined")
    checklist = _items(booking, dt.date(2027, 3, 1))
    assert _item(checklist, ComplianceKind.CONSENT).status is ItemStatus.DECLINED
    assert checklist.at_risk


def test_at_risk_needs_an_overdue_item_on_a_booking_still_to_happen():
    booking = _booking(born=dt.date(2009, 1, 1))
    assert at_risk_ids(db.session, [booking.id], dt.date(2027, 3, 5)) == set()
    assert at_risk_ids(db.session, [booking.id], dt.date(2027, 3, 6)) == {booking.id}
    booking.status = "cancelled"
    db.session.flush()
    assert at_risk_ids(db.session, [booking.id], dt.date(2027, 3, 6)) == set()


def test_a_fully_prepared_booking_is_not_at_risk():
    booking = _booking(born=dt.date(2012, 1, 1))
    staff = make_user("school", school_id=booking.school_id)
    make_risk_assessment(booking.session.offer, [booking.session], reviewed_by=staff)
    make_dbs_note(booking.student.school, booking.session.supervisors[0], decision="checked")
    make_consent(booking)
    booking.briefed_at = START - dt.timedelta(days=3)
    db.session.flush()
    checklist = _items(booking, dt.date(2027, 3, 15))
    assert [i.status for i in checklist.items] == [ItemStatus.DONE] * 5
    assert not checklist.at_risk


def test_the_checklist_of_many_bookings_takes_a_fixed_number_of_queries(count_queries):
    bookings = [_booking() for _ in range(5)]
    with count_queries() as counted:
        checklists(db.session, bookings_by_id([b.id for b in bookings]), dt.date(2027, 3, 1))
    assert counted.total == 6


def test_deadlines_count_london_days_across_the_spring_clock_change():
    """The last Sunday of March 2027 (28th): a 9am Monday start is due 1 day before, on the Sunday."""
    booking = _booking()
    monday = local_to_utc(dt.datetime(2027, 3, 29, 0, 30))  # 00:30 BST is still Sunday 23:30 in UTC
    booking.starts_at = booking.session.starts_at = monday
    booking.ends_at = booking.session.ends_at = monday + dt.timedelta(hours=6)
    db.session.flush()
    item = _item(_items(booking, dt.date(2027, 3, 28)), ComplianceKind.BRIEFING)
    assert item.due_on == dt.date(2027, 3, 28)
    assert item.status is ItemStatus.TO_DO
    assert _item(_items(booking, dt.date(2027, 3, 29)), ComplianceKind.BRIEFING).status is ItemStatus.OVERDUE


def test_deadlines_count_london_days_across_the_autumn_clock_change():
    """The last Sunday of October 2027 (31st): 00:30 on Monday 1 November in London is Monday, not Sunday."""
    booking = _booking()
    monday = local_to_utc(dt.datetime(2027, 11, 1, 0, 30))
    booking.starts_at = booking.session.starts_at = monday
    booking.ends_at = booking.session.ends_at = monday + dt.timedelta(hours=6)
    db.session.flush()
    checklist = _items(booking, dt.date(2027, 10, 1))
    assert checklist.first_day == dt.date(2027, 11, 1)
    assert _item(checklist, ComplianceKind.BRIEFING).due_on == dt.date(2027, 10, 31)
