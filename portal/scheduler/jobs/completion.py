"""Completing bookings whose session has ended."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from portal.bookings.models import Booking
from portal.core.vocab import (
    BookingStatus,
)
from portal.db import DbSession
from portal.scheduler.jobs.common import (
    COMPLETED,
    Counts,
    audit_rows,
)

# --- completion ------------------------------------------------------------------------------


def complete_ended_bookings(session: DbSession, now: dt.datetime) -> Counts:
    """Confirmed bookings whose session has ended become completed, in one UPDATE (no-shows are set by people)."""
    rows = session.execute(
        update(Booking)
        .where(Booking.status == BookingStatus.CONFIRMED.value, Booking.ends_at <= now)
        .values(status=COMPLETED, closed_at=now)
        .returning(Booking.id, Booking.school_id)
        .execution_options(synchronize_session=False)
    ).all()
    audit_rows(session, "booking_completed", "booking", rows, "completed by the scheduler when the session ended")
    return {"bookings_completed": len(rows)}
