"""Small builders for the scheduler's tests: a school with staff, an employer with staff, bookings at London times."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy import select

from portal.core.dates import LONDON
from portal.core.models import OutboxMessage
from portal.extensions import db
from portal.scheduler.models import Notice
from tests.factories import (
    make_booking,
    make_employer,
    make_offer,
    make_school,
    make_student,
    make_user,
)

FAR_EXPIRY = dt.date(2031, 8, 31)


def london(text: str) -> dt.datetime:
    """A Europe/London wall-clock time ('2027-03-28T09:00') as an aware UTC datetime."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=LONDON).astimezone(dt.UTC)


@dataclass
class World:
    """One school (careers leader and a second member of staff), one employer (two staff), one offer, one student."""

    school: Any
    leader: Any
    staff: Any
    employer: Any
    employer_staff: list[Any]
    offer: Any
    student: Any


def make_world(*, leader: bool = True, student_email: str | None = "pupil@students.example", **school_kw: Any) -> World:
    """Everything a reminder needs, with the insurance far from expiry so it stays quiet."""
    school = make_school(**school_kw)
    careers_leader = make_user("school", school=school, email=f"leader{school.id}@school.example")
    staff = make_user("school", school=school, email=f"staff{school.id}@school.example")
    if leader:
        school.careers_leader_id = careers_leader.id
    employer = make_employer(insurance_expiry=FAR_EXPIRY)
    employer_staff = [make_user("employer", employer=employer, email=f"boss{employer.id}-{i}@employer.example")
                      for i in range(2)]
    offer = make_offer(employer, sessions=0, title="Hospital insight day")
    student = make_student(school, first_name="Grace", last_name="Robinson", email=student_email)
    db.session.flush()
    return World(school, careers_leader, staff, employer, employer_staff, offer, student)


def book(world: World, starts: str, *, status: str = "confirmed", student: Any = None,
         requested_by: Any = None) -> Any:
    """A six-hour booking starting at a London time, requested by the given staff member (the second one by default)."""
    from portal.bookings.models import Booking
    from portal.offers.models import OfferSession

    start = london(starts)
    occurrence = db.session.scalars(select(OfferSession).where(OfferSession.offer_id == world.offer.id,
                                                               OfferSession.starts_at == start)).first()
    if occurrence is None:
        return _requested(make_booking(student or world.student, world.offer, status=status, starts_at=start),
                          requested_by or world.staff)
    student = student or world.student
    booking = Booking(student_id=student.id, session_id=occurrence.id, school_id=student.school_id,
                      employer_id=world.offer.employer_id, starts_at=occurrence.starts_at,
                      ends_at=occurrence.ends_at, status=status)
    db.session.add(booking)
    return _requested(booking, requested_by or world.staff)


def _requested(booking: Any, staff: Any) -> Any:
    booking.requested_by_id = staff.id
    db.session.flush()
    return booking


def mails(recipient: str | None = None) -> list[OutboxMessage]:
    """Queued emails, oldest first (to one recipient when given)."""
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    if recipient is not None:
        query = query.where(OutboxMessage.recipient == recipient)
    return list(db.session.scalars(query))


def keys(prefix: str = "") -> list[str]:
    """Recorded notice keys (starting with the prefix), sorted."""
    return sorted(k for k in db.session.scalars(select(Notice.key)) if k.startswith(prefix))


def tick(app: Flask, when: str, *extra: str, expect_exit: int = 0) -> dict[str, Any]:
    """`flask scheduler tick --now WHEN --json` through the CLI runner; returns the printed summary."""
    result = app.test_cli_runner().invoke(args=["scheduler", "tick", "--now", when, "--json", "--wait", "0", *extra])
    assert result.exit_code == expect_exit, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])
