"""Sent-record keys for reminders and escalations, and the scheduler's lease and last run."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import utcnow
from portal.extensions import Model


class Notice(Model):
    """One reminder, escalation, flag or digest, recorded before it is sent: the unique key makes it once-only."""

    __tablename__ = "notices"
    __table_args__ = (Index("ix_notices_booking_kind", "booking_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(160), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"))
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    employer_id: Mapped[int | None] = mapped_column(ForeignKey("employers.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SchedulerState(Model):
    """The scheduler's lease (which process leads, until when) and its last completed run."""

    __tablename__ = "scheduler_state"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[dt.datetime | None]
    last_run_at: Mapped[dt.datetime | None]
    last_run_for: Mapped[dt.datetime | None]
    last_summary: Mapped[str | None] = mapped_column(Text)
