"""Duplicate-free: a repeated tick sends nothing twice; a crash between key and email loses nothing and duplicates nothing."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select

from portal.extensions import db
from portal.scheduler import jobs
from portal.scheduler.models import SchedulerState
from tests.factories import make_employer, make_student, make_user
from tests.scheduler.helpers import book, keys, mails, make_world, tick


def busy_world():
    """Something for nearly every job on Monday 24 May 2027."""
    world = make_world()
    book(world, "2027-05-24T09:00")  # ends today: completed, prompted, feedback requested
    book(world, "2027-05-10T09:00", status="completed", student=make_student(world.school))  # flag day
    book(world, "2027-05-28T09:00", student=make_student(world.school))  # at risk, reminders due
    make_user("employer", employer=make_employer(insurance_expiry=dt.date(2027, 6, 23)))
    return world


def outbox_snapshot():
    return sorted((m.recipient, m.subject, m.body) for m in mails())


def test_a_second_tick_at_the_same_time_sends_nothing_more(app):
    busy_world()
    first = tick(app, "2027-05-24T16:00")
    assert first["ok"] and sum(first["counts"].values()) > 10
    sent = outbox_snapshot()
    second = tick(app, "2027-05-24T16:00")
    assert all(v == 0 for v in second["counts"].values()), second
    assert outbox_snapshot() == sent


def test_a_crash_after_claiming_keys_commits_neither_key_nor_email_and_the_rerun_sends_each_once(app, monkeypatch):
    busy_world()

    def broken_mail(*_args, **_kwargs):
        raise ConnectionError("the process died before the email was stored")

    monkeypatch.setattr(jobs.common, "notify", broken_mail)
    crashed = tick(app, "2027-05-24T16:00", expect_exit=1)
    assert not crashed["ok"]
    assert {"reflection_prompts", "feedback_requests", "compliance_and_escalations", "insurance_reminders",
            "weekly_digest"} <= set(crashed["errors"])
    assert crashed["counts"]["bookings_completed"] == 1  # the other jobs still ran and committed
    assert keys() == [] and mails() == []

    monkeypatch.undo()
    rerun = tick(app, "2027-05-24T16:00")
    assert rerun["ok"]
    for name in ("reflection_prompts", "feedback_requests", "escalations", "insurance_reminders", "digests"):
        assert rerun["counts"][name] >= 1, name
    sent = outbox_snapshot()
    assert len(sent) == len(set(sent))
    assert tick(app, "2027-05-24T16:00")["counts"]["emails_queued"] == 0


def test_a_failed_job_is_recorded_and_makes_tick_exit_non_zero(app, monkeypatch):
    def broken(_session, _now):
        raise RuntimeError("boom")

    monkeypatch.setattr(jobs, "JOBS", [("complete_ended_bookings", jobs.complete_ended_bookings), ("broken", broken)])
    result = app.test_cli_runner().invoke(args=["scheduler", "tick", "--now", "2027-05-24T16:00", "--wait", "0"])
    assert result.exit_code == 1
    assert "FAILED broken: RuntimeError: boom" in result.output
    state = db.session.scalars(select(SchedulerState)).one()
    assert json.loads(state.last_summary)["errors"] == {"broken": "RuntimeError: boom"}
