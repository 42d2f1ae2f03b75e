"""Delivering the outbox through SMTP."""

from __future__ import annotations

import datetime as dt

from portal.core.outbox import deliver_pending, smtp_configured
from portal.db import DbSession, utcnow
from portal.scheduler.jobs.common import (
    Counts,
)

# --- outbox ----------------------------------------------------------------------------------

DELIVERY_BATCH = 200
DELIVERY_BATCHES = 25


def deliver_outbox(session: DbSession, now: dt.datetime) -> Counts:
    """Deliver queued emails when SMTP is configured (retries use the real clock, not the simulated one)."""
    if not smtp_configured():
        return {"emails_delivered": 0, "emails_failed": 0}
    sent = failed = 0
    for _ in range(DELIVERY_BATCHES):
        result = deliver_pending(session, utcnow(), limit=DELIVERY_BATCH)
        sent, failed = sent + result["sent"], failed + result["failed"]
        if result["sent"] + result["failed"] < DELIVERY_BATCH:
            break
        session.flush()
    return {"emails_delivered": sent, "emails_failed": failed}
