"""Write the append-only audit log of sensitive reads and changes."""

from __future__ import annotations

from flask_login import current_user

from portal.core.models import AuditEvent
from portal.db import DbSession


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
        actor_email=getattr(who, "email", "") if actor_id else "system",
        action=action,
        object_type=object_type,
        object_id=object_id,
        school_id=school_id,
        detail=detail[:500],
    )
    session.add(event)
    return event
