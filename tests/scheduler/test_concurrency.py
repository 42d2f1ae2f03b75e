"""Two schedulers at once: committed data, real concurrency, nothing sent twice.

On PostgreSQL (PORTAL_TEST_DATABASE_URL): two threads, each with its own connection, run every job at the
same moment while bypassing the lease, so only the unique notice keys stand between them and duplicates;
and two real `flask scheduler tick` processes started together. On both databases: `scheduler run` is a
real process that ticks, then stops cleanly on SIGTERM and hands back the lease.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.bookings.models import Booking
from portal.core.models import AuditEvent, OutboxMessage
from portal.extensions import db
from portal.offers.models import Offer, OfferSession
from portal.organisations.models import Employer, School, Student
from portal.scheduler import jobs
from portal.scheduler.models import Notice, SchedulerState
from tests.conftest import PG_URL
from tests.scheduler.helpers import london

ROOT = Path(__file__).resolve().parents[2]
NOW = "2027-05-24T16:00"
STUDENTS = 10
# What one scheduler sends for the world below, however many run at once.
EXPECTED = {"bookings_completed": STUDENTS, "reflection_prompts": STUDENTS, "feedback_requests": STUDENTS,
            "compliance_reminders": 2 * STUDENTS, "escalations": STUDENTS, "insurance_reminders": 1, "digests": 1}
NEEDS_POSTGRES = pytest.mark.skipif(
    not PG_URL, reason="needs PostgreSQL: set PORTAL_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _world(engine) -> dict[str, object]:
    """Committed: a school, an employer, 10 placements ending today and 10 on Friday with nothing done yet."""
    with Session(engine) as s, s.begin():
        school = School(urn="990777", name="Race Academy", school_type="mainstream", postcode="M13 9PL")
        employer = Employer(ref="race-scheduler", name="Race Employer", sector="healthcare", postcode="M1 3BN",
                            vetting_status="vetted", insurance_expiry=dt.date(2027, 6, 23))
        s.add_all([school, employer])
        s.flush()
        users = [User(email="race-leader@school.example", role="school", school_id=school.id, password_hash="x"),
                 User(email="race-staff@school.example", role="school", school_id=school.id, password_hash="x"),
                 User(email="race-boss@employer.example", role="employer", employer_id=employer.id, password_hash="x")]
        offer = Offer(offer_ref="OF-RACE-SCHED", employer_id=employer.id, title="Race day",
                      activity_type="workplace_visit", delivery_mode="on_site", latitude=53.48, longitude=-2.24,
                      status="published", uses_employer_location=False)
        s.add_all([*users, offer])
        s.flush()
        school.careers_leader_id = users[0].id
        ended = OfferSession(offer_id=offer.id, starts_at=london("2027-05-24T09:00"),
                             ends_at=london("2027-05-24T15:00"), capacity=50)
        upcoming = OfferSession(offer_id=offer.id, starts_at=london("2027-05-28T09:00"),
                                ends_at=london("2027-05-28T15:00"), capacity=50)
        students = [Student(school_id=school.id, student_ref=f"RACE{i:02d}", first_name=f"Racer{i}", last_name="Test",
                            year_group=10, date_of_birth=dt.date(2011, 1, 1), email=f"racer{i}@students.example")
                    for i in range(2 * STUDENTS)]
        s.add_all([ended, upcoming, *students])
        s.flush()
        for i, student in enumerate(students):
            occurrence = ended if i < STUDENTS else upcoming
            s.add(Booking(student_id=student.id, session_id=occurrence.id, school_id=school.id,
                          employer_id=employer.id, starts_at=occurrence.starts_at, ends_at=occurrence.ends_at,
                          status="confirmed", requested_by_id=users[1].id))
        return {"school": school.id, "employer": employer.id, "offer": offer.id, "users": [u.id for u in users],
                "emails": [u.email for u in users] + [st.email for st in students]}


def _clean(engine, ids: dict[str, object]) -> None:
    """Remove everything the test committed (and the scheduler's state row)."""
    with Session(engine) as s, s.begin():
        s.execute(delete(Notice).where((Notice.school_id == ids["school"]) | (Notice.employer_id == ids["employer"])))
        s.execute(delete(OutboxMessage).where(OutboxMessage.recipient.in_(ids["emails"])))
        s.execute(delete(AuditEvent).where(AuditEvent.school_id == ids["school"]))
        s.execute(update(School).where(School.id == ids["school"]).values(careers_leader_id=None))
        s.execute(delete(Booking).where(Booking.school_id == ids["school"]))
        s.execute(delete(Offer).where(Offer.id == ids["offer"]))
        s.execute(delete(User).where(User.id.in_(ids["users"])))
        s.execute(delete(Student).where(Student.school_id == ids["school"]))
        s.execute(delete(School).where(School.id == ids["school"]))
        s.execute(delete(Employer).where(Employer.id == ids["employer"]))
        s.execute(delete(SchedulerState))


def _assert_each_sent_once(engine, ids: dict[str, object], totals: Counter[str]) -> None:
    """Together the schedulers did exactly what one would: one notice per key, no email twice."""
    with Session(engine) as s:
        mail = [tuple(r) for r in s.execute(select(OutboxMessage.recipient, OutboxMessage.subject, OutboxMessage.body)
                                            .where(OutboxMessage.recipient.in_(ids["emails"])))]
        notices = s.scalar(select(func.count()).select_from(Notice).where(
            (Notice.school_id == ids["school"]) | (Notice.employer_id == ids["employer"])))
    assert {k: totals[k] for k in EXPECTED} == EXPECTED
    assert notices == sum(EXPECTED[k] for k in EXPECTED if k != "bookings_completed")
    assert len(mail) == len(set(mail)) == totals["emails_queued"]


def _subprocess_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {**os.environ, "PORTAL_DATABASE_URL": database_url, "PORTAL_SECRET_KEY": "scheduler-test-secret",
           "PORTAL_BASE_URL": "http://portal.test", **extra}
    env.pop("FLASK_APP", None)
    return env


def _flask(*args: str) -> list[str]:
    return [str(Path(sys.executable).with_name("flask")), "--app", "portal", *args]


@NEEDS_POSTGRES
@pytest.mark.postgres_only
def test_two_schedulers_running_every_job_at_once_without_the_lease_send_each_reminder_once(app):
    engine = db.engine
    ids = _world(engine)
    now = london(NOW)
    totals: Counter[str] = Counter()
    failures: list[BaseException] = []
    lock = threading.Lock()
    barrier = threading.Barrier(2)

    def scheduler() -> None:
        try:
            with app.app_context(), Session(engine) as s:
                barrier.wait()
                for _name, job in jobs.JOBS:
                    counts = job(s, now)
                    s.commit()
                    with lock:
                        totals.update(counts)
        except BaseException as exc:  # reported below, not lost in the thread
            failures.append(exc)

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not failures, failures
        _assert_each_sent_once(engine, ids, totals)
    finally:
        _clean(engine, ids)


@NEEDS_POSTGRES
@pytest.mark.postgres_only
def test_two_tick_processes_started_together_send_each_reminder_once(app, database_url):
    engine = db.engine
    ids = _world(engine)
    env = _subprocess_env(database_url)
    try:
        processes = [subprocess.Popen(_flask("scheduler", "tick", "--now", NOW, "--json", "--wait", "120"),
                                      cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                     for _ in range(2)]
        outputs = [p.communicate(timeout=180) for p in processes]
        for process, (_out, err) in zip(processes, outputs, strict=True):
            assert process.returncode == 0, err
        totals: Counter[str] = Counter()
        for out, _err in outputs:
            totals.update(json.loads(out.strip().splitlines()[-1])["counts"])
        _assert_each_sent_once(engine, ids, totals)
    finally:
        _clean(engine, ids)


def test_scheduler_run_ticks_at_once_and_stops_cleanly_on_sigterm_releasing_the_lease(app, database_url):
    engine = db.engine

    def state() -> tuple[object, object]:
        with engine.connect().execution_options(sqlite_deferred=True) as conn:
            row = conn.execute(select(SchedulerState.last_run_at, SchedulerState.holder)).first()
        return (row.last_run_at, row.holder) if row else (None, None)

    process = subprocess.Popen(_flask("scheduler", "run"), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=_subprocess_env(database_url, PORTAL_SCHEDULER_INTERVAL_SECONDS="60"))
    try:
        deadline = time.monotonic() + 30
        while state()[0] is None and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        last_run_at, holder = state()
        assert last_run_at is not None, "the first tick runs as soon as the scheduler starts"
        assert holder is not None  # it leads until stopped
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
        assert process.returncode == 0, err
        assert "Scheduler stopped." in out
        assert state()[1] is None  # the lease is handed back for the next process
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
        with Session(engine) as s, s.begin():
            s.execute(delete(SchedulerState))
