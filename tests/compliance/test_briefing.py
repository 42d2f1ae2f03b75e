"""The student briefing mark: the booking's school only, active bookings only, recorded once, audited."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from portal.compliance.checklist import bookings_by_id, checklists
from portal.compliance.services import ComplianceRefused, already_briefed_message, mark_briefed
from portal.core.models import AuditEvent
from portal.core.vocab import ComplianceKind, ItemStatus, Role
from portal.extensions import db
from tests.factories import make_booking, make_offer, make_school, make_student, make_user

NOW = dt.datetime(2027, 3, 1, 12, 0, tzinfo=dt.UTC)
START = dt.datetime(2027, 3, 15, 9, 0, tzinfo=dt.UTC)


def _setting(status="confirmed"):
    school = make_school()
    booking = make_booking(make_student(school), make_offer(sessions=0), status=status, starts_at=START)
    return make_user(Role.SCHOOL, school_id=school.id), booking


def _briefing_item(booking):
    checklist = checklists(db.session, bookings_by_id([booking.id]), dt.date(2027, 3, 1))[booking.id]
    return next(i for i in checklist.items if i.kind is ComplianceKind.BRIEFING)


def test_marking_briefed_records_who_and_when_and_completes_the_checklist_item():
    staff, booking = _setting()
    assert _briefing_item(booking).status is ItemStatus.TO_DO
    assert mark_briefed(db.session, staff, booking, now=NOW) is True
    db.session.flush()
    assert (booking.briefed_at, booking.briefed_by_id) == (NOW, staff.id)
    assert _briefing_item(booking).status is ItemStatus.DONE
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "student_briefed")).one()
    assert (event.object_type, event.object_id, event.school_id, event.actor_id) == (
        "booking", booking.id, booking.school_id, staff.id)


def test_a_second_mark_changes_nothing_and_says_it_was_already_recorded():
    staff, booking = _setting()
    mark_briefed(db.session, staff, booking, now=NOW)
    colleague = make_user(Role.SCHOOL, school_id=booking.school_id)
    assert mark_briefed(db.session, colleague, booking, now=NOW + dt.timedelta(days=1)) is False
    assert (booking.briefed_at, booking.briefed_by_id) == (NOW, staff.id)
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "student_briefed")) == 1
    assert "already recorded on 1 March 2027" in already_briefed_message(booking)


def test_staff_of_another_school_cannot_mark_the_briefing():
    _, booking = _setting()
    outsider = make_user(Role.SCHOOL, school_id=make_school().id)
    with pytest.raises(ComplianceRefused) as refused:
        mark_briefed(db.session, outsider, booking, now=NOW)
    assert refused.value.code == "not_found"
    assert booking.briefed_at is None


@pytest.mark.parametrize("status", ["cancelled", "declined", "completed", "no_show"])
def test_only_an_active_booking_can_be_marked_briefed(status):
    staff, booking = _setting(status)
    with pytest.raises(ComplianceRefused) as refused:
        mark_briefed(db.session, staff, booking, now=NOW)
    assert refused.value.code == "wrong_state"
    assert booking.briefed_at is None
