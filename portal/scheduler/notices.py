"""Claim reminder keys: insert each Notice once, and learn which keys this transaction won.

A job claims its keys and queues its emails in the same transaction, so a key and its email commit
together: a repeat finds the key taken, a second process blocks on the unique index and then finds
it taken, and a crash rolls both back so the next run sends it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, select

from portal.core.batches import chunked
from portal.db import DbSession, dialect_insert, utcnow
from portal.scheduler.models import Notice

_COLUMNS = ("key", "kind", "booking_id", "school_id", "employer_id")


def follow_up_key(kind: str, booking_id: int, step: str) -> str:
    """The key of a follow-up about a booking: kind "reflection" or "feedback", a step such as "remind2" or "flag"."""
    return f"{kind}:{booking_id}:{step}"


def claim(session: DbSession, rows: Iterable[dict[str, Any]]) -> set[str]:
    """Insert the notices whose key is new and return those keys (the caller sends only for them).

    Rows are dicts with "key" and "kind" and optionally booking_id, school_id, employer_id. Keys are
    inserted in sorted order so two processes claiming overlapping sets cannot deadlock.
    """
    by_key: dict[str, dict[str, Any]] = {}
    for row in rows:
        by_key.setdefault(row["key"], row)
    if not by_key:
        return set()
    table = Notice.__table__
    statement = (dialect_insert(session)(table).on_conflict_do_nothing(index_elements=[table.c.key])
                 .returning(table.c.key))
    created = utcnow()
    ordered = [{**{c: by_key[k].get(c) for c in _COLUMNS}, "created_at": created} for k in sorted(by_key)]
    claimed: set[str] = set()
    for chunk in chunked(ordered):
        # One compiled statement, executed for many rows (SQLAlchemy batches them as multi-row VALUES).
        claimed.update(session.execute(statement, list(chunk)).scalars())
    return claimed


def existing_keys(session: DbSession, kinds: Iterable[str], booking_filter: Select[Any]) -> set[str]:
    """Keys already recorded for the bookings the filter picks, so sweeps skip them without a write."""
    return set(session.scalars(
        select(Notice.key).where(Notice.kind.in_(list(kinds)), Notice.booking_id.in_(booking_filter))
    ))
