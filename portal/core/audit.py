"""Write the append-only audit log of sensitive reads and changes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_login import current_user
from sqlalchemy import insert

from portal.core.batches import chunked
from portal.core.models import AuditEvent
from portal.db import DbSession, utcnow

SYSTEM = "system"  # the actor of what the scheduler does
BULK_CHUNK = 5000


def record(
    session: DbSession,
    action: str,
    object_type: str,
    object_id: int | None,
    *,
    school_id: int | None = None,
    detail: str = "",
    actor: object | None = None,
) -> AuditEvent:
    """Add an audit event for the signed-in user (or the given actor); the caller commits."""
    who = actor if actor is not None else current_user
    actor_id = getattr(who, "id", None) if getattr(who, "is_authenticated", False) else None
    event = AuditEvent(
        actor_id=actor_id,
        actor_email=getattr(who, "email", "") if actor_id else SYSTEM,
        action=action,
        object_type=object_type,
        object_id=object_id,
        school_id=school_id,
        detail=detail[:500],
    )
    session.add(event)
    return event


def record_many(session: DbSession, action: str, object_type: str, events: Iterable[tuple[int, int | None, str]],
                actor: Any = None) -> None:
    """Add one event per (object_id, school_id, detail) in bulk statements: by `actor`, or the system when None."""
    at = utcnow()
    actor_id, actor_email = (actor.id, actor.email) if actor is not None else (None, SYSTEM)
    rows = [{"at": at, "actor_id": actor_id, "actor_email": actor_email, "action": action, "object_type": object_type,
             "object_id": object_id, "school_id": school_id, "detail": detail[:500]}
            for object_id, school_id, detail in events]
    for batch in chunked(rows, BULK_CHUNK):
        session.execute(insert(AuditEvent), batch)
