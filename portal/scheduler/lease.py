"""The leader lease: one scheduler process ticks at a time; the others stand by until it lapses.

The lease is the "scheduler" row of scheduler_state. Taking it is one conditional UPDATE (free, mine
already, or expired), so two processes racing for it cannot both win, on SQLite (one writer at a
time) or PostgreSQL (the second UPDATE waits for the first's row lock, then re-checks its WHERE).
Each change commits in its own short transaction and uses the real wall clock, never the `--now`
a tick simulates.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select, update

from portal.db import DbSession, dialect_insert, utcnow
from portal.scheduler.models import SchedulerState

LEASE_NAME = "scheduler"


def new_holder() -> str:
    """A name for this process that no other process shares: host, pid and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def ensure_row(session: DbSession) -> None:
    """Create the scheduler's state row if it is missing (a second process's insert does nothing)."""
    insert = dialect_insert(session)
    session.execute(insert(SchedulerState).values(name=LEASE_NAME).on_conflict_do_nothing(index_elements=["name"]))


def _change(session: DbSession, *conditions: Any, create: bool = False, **values: Any) -> bool:
    """One conditional UPDATE of the lease row in its own short transaction; True when it matched. Commits."""
    try:
        if create:
            ensure_row(session)
        result = session.execute(
            update(SchedulerState).where(SchedulerState.name == LEASE_NAME, *conditions).values(**values)
            .execution_options(synchronize_session=False)
        )
        session.commit()
    except Exception:
        session.rollback()
        raise
    return result.rowcount == 1  # type: ignore[attr-defined]


def acquire(session: DbSession, holder: str, ttl: dt.timedelta, wall_now: dt.datetime | None = None) -> bool:
    """Take (or extend) the lease when it is free, already ours or expired; True when we lead. Commits."""
    now = wall_now or utcnow()
    return _change(session, or_(SchedulerState.holder.is_(None), SchedulerState.holder == holder,
                                SchedulerState.lease_expires_at.is_(None), SchedulerState.lease_expires_at < now),
                   create=True, holder=holder, lease_expires_at=now + ttl)


def renew(session: DbSession, holder: str, ttl: dt.timedelta, wall_now: dt.datetime | None = None) -> bool:
    """Extend our lease; False when another process has taken it (we must stop leading). Commits."""
    return _change(session, SchedulerState.holder == holder, lease_expires_at=(wall_now or utcnow()) + ttl)


def release(session: DbSession, holder: str) -> bool:
    """Give the lease up if we hold it, so another process can lead at once. Commits."""
    return _change(session, SchedulerState.holder == holder, holder=None, lease_expires_at=None)


@dataclass(frozen=True)
class LeaseState:
    """Who leads and until when (holder None: nobody)."""

    holder: str | None
    expires_at: dt.datetime | None

    def live(self, wall_now: dt.datetime | None = None) -> bool:
        """Whether someone holds an unexpired lease."""
        now = wall_now or utcnow()
        return self.holder is not None and self.expires_at is not None and self.expires_at >= now


def current(session: DbSession) -> LeaseState:
    """The lease as recorded now."""
    row = session.execute(select(SchedulerState.holder, SchedulerState.lease_expires_at)
                          .where(SchedulerState.name == LEASE_NAME)).first()
    return LeaseState(row.holder, row.lease_expires_at) if row else LeaseState(None, None)
