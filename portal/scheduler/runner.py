"""Run the jobs: `tick` runs each once for a given time; `run` ticks on an interval while leading.

Each job runs in its own transaction: a job that fails is rolled back and logged, the others still
run, and the failure is recorded in the run's summary (and makes `scheduler tick` exit non-zero).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from sqlalchemy import select, update

from portal.core.dates import format_datetime
from portal.db import DbSession, utcnow
from portal.scheduler import jobs as scheduler_jobs
from portal.scheduler import lease
from portal.scheduler.models import SchedulerState

log = logging.getLogger(__name__)


@dataclass
class TickResult:
    """What one tick did: counts per kind, and the jobs that failed with why."""

    now: dt.datetime
    counts: dict[str, int] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether every job succeeded."""
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        """The summary recorded on the scheduler's state and printed by `tick --json`."""
        return {"ok": self.ok, "now": self.now.isoformat(), "counts": self.counts, "errors": self.errors}


@dataclass(frozen=True)
class Leadership:
    """The lease a leading process holds while it ticks (renewed after each job)."""

    holder: str
    ttl: dt.timedelta


def tick(session: DbSession, now: dt.datetime,
         jobs: Sequence[tuple[str, scheduler_jobs.Job]] | None = None,
         leadership: Leadership | None = None) -> TickResult:
    """Run every job once for `now`, each in its own committed transaction, and record the run."""
    result = TickResult(now)
    for name, job in (scheduler_jobs.JOBS if jobs is None else jobs):
        try:
            counts = job(session, now)
            session.commit()
        except Exception as exc:  # one job's failure must not stop the others
            session.rollback()
            log.exception("scheduler job %s failed", name)
            result.errors[name] = f"{type(exc).__name__}: {exc}"[:500]
            continue
        for key, value in counts.items():
            result.counts[key] = result.counts.get(key, 0) + value
        if leadership is not None and not lease.renew(session, leadership.holder, leadership.ttl):
            result.errors["lease"] = "another scheduler took the lead; stopped before the remaining jobs"
            log.error("lost the scheduler lease during a tick; stopping")
            break
    record_run(session, result)
    return result


def record_run(session: DbSession, result: TickResult) -> None:
    """Store when the run happened (wall clock), which time it ran for, and its summary. Commits."""
    try:
        lease.ensure_row(session)
        session.execute(
            update(SchedulerState).where(SchedulerState.name == lease.LEASE_NAME)
            .values(last_run_at=utcnow(), last_run_for=result.now, last_summary=json.dumps(result.as_dict()))
            .execution_options(synchronize_session=False)
        )
        session.commit()
    except Exception:
        session.rollback()
        log.exception("could not record the scheduler's run")
        raise


def wait_for_lease(session: DbSession, holder: str, ttl: dt.timedelta, wait_seconds: float,
                   sleep: Callable[[float], None] = time.sleep, poll_seconds: float = 1.0) -> bool:
    """Try to take the lease until `wait_seconds` have passed; True once we lead."""
    deadline = time.monotonic() + wait_seconds
    while True:
        if lease.acquire(session, holder, ttl):
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        sleep(min(poll_seconds, remaining))


def run(app: Flask, holder: str | None = None) -> None:
    """The long-running scheduler: tick every SCHEDULER_INTERVAL_SECONDS while holding the lease.

    Followers try to take the lease on every beat and stand by while another process holds it.
    SIGTERM and SIGINT stop the scheduler after the current tick and release the lease.
    """
    from apscheduler.schedulers.blocking import BlockingScheduler

    from portal.extensions import db

    holder = holder or lease.new_holder()
    interval = int(app.config["SCHEDULER_INTERVAL_SECONDS"])
    ttl = dt.timedelta(seconds=int(app.config["SCHEDULER_LEASE_SECONDS"]))
    busy = threading.Lock()

    def beat() -> None:
        with busy, app.app_context():
            try:
                if lease.acquire(db.session, holder, ttl):
                    result = tick(db.session, utcnow(), leadership=Leadership(holder, ttl))
                    log.info("scheduler tick: %s", json.dumps(result.as_dict()))
                else:
                    state = lease.current(db.session)
                    log.info("standing by: %s leads until %s", state.holder, format_datetime(state.expires_at))
            except Exception:
                log.exception("scheduler beat failed; trying again at the next one")
            finally:
                db.session.remove()

    scheduler = BlockingScheduler(timezone=dt.UTC)
    scheduler.add_job(beat, "interval", seconds=interval, id="tick", next_run_time=dt.datetime.now(dt.UTC),
                      max_instances=1, coalesce=True, misfire_grace_time=interval)

    def stop(signum: int, _frame: Any) -> None:
        log.info("received %s: stopping the scheduler", signal.Signals(signum).name)
        if scheduler.running:
            scheduler.shutdown(wait=False)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    log.info("scheduler %s starting: a tick every %s s, lease %s s", holder, interval, ttl.total_seconds())
    try:
        scheduler.start()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        with busy, app.app_context():  # wait for a tick in progress, then hand the lead over
            try:
                if lease.release(db.session, holder):
                    log.info("scheduler %s released the lease", holder)
            finally:
                db.session.remove()


def last_run(session: DbSession) -> dict[str, str | None]:
    """When the scheduler last ran and for which moment, as ISO strings (None before its first run)."""
    row = session.execute(
        select(SchedulerState.last_run_at, SchedulerState.last_run_for).where(SchedulerState.name == lease.LEASE_NAME)
    ).first()
    if row is None:
        return {"last_run_at": None, "last_run_for": None}
    return {"last_run_at": row.last_run_at.isoformat() if row.last_run_at else None,
            "last_run_for": row.last_run_for.isoformat() if row.last_run_for else None}
