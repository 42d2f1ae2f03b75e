"""Completion: a confirmed booking whose session has ended becomes completed (by `tick --now`), with an audit row."""

from __future__ import annotations

from sqlalchemy import select

from portal.core.models import AuditEvent
from portal.extensions import db
from tests.factories import make_student
from tests.scheduler.helpers import book, london, make_world, tick


def test_tick_completes_confirmed_bookings_whose_session_has_ended(app):
    world = make_world()
    ended = book(world, "2027-05-10T09:00")  # ends 15:00 London
    running = book(world, "2027-05-11T09:00", student=make_student(world.school))
    requested = book(world, "2027-05-09T09:00", status="requested", student=make_student(world.school))
    no_show = book(world, "2027-05-09T09:00", status="no_show", student=make_student(world.school))

    summary = tick(app, "2027-05-11T10:00")

    assert summary["counts"]["bookings_completed"] == 1
    db.session.expire_all()
    assert ended.status == "completed" and ended.closed_at == london("2027-05-11T10:00")
    assert running.status == "confirmed" and requested.status == "requested" and no_show.status == "no_show"
    audit = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "booking_completed")).all()
    assert [(a.object_id, a.actor_email, a.school_id) for a in audit] == [(ended.id, "system", world.school.id)]


def test_completion_happens_at_the_end_time_not_before(app):
    world = make_world()
    booking = book(world, "2027-05-10T09:00")
    assert tick(app, "2027-05-10T14:59")["counts"]["bookings_completed"] == 0
    assert tick(app, "2027-05-10T15:00")["counts"]["bookings_completed"] == 1
    db.session.expire_all()
    assert booking.status == "completed"
