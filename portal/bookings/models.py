"""A student booked on a session of an offer."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts.models import User
from portal.core.vocab import ACTIVE_BOOKING_STATUSES, INVOLVED_BOOKING_STATUSES, BookingStatus
from portal.db import utcnow
from portal.extensions import Model
from portal.offers.models import OfferSession
from portal.organisations.models import Student


class Booking(Model):
    """One student on one session; school and employer are copied for scoping and indexed lists."""

    __tablename__ = "bookings"
    __table_args__ = (
        UniqueConstraint("student_id", "session_id"),  # the same student twice on a session is impossible
        Index("ix_bookings_school_status", "school_id", "status"),
        Index("ix_bookings_employer_status", "employer_id", "status"),
        Index("ix_bookings_student_starts", "student_id", "starts_at"),
        Index("ix_bookings_session_status", "session_id", "status"),
        Index("ix_bookings_status_starts", "status", "starts_at"),  # the scheduler's sweeps
        Index("ix_bookings_status_ends", "status", "ends_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"))
    session_id: Mapped[int] = mapped_column(ForeignKey("offer_sessions.id", ondelete="CASCADE"))
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    employer_id: Mapped[int] = mapped_column(ForeignKey("employers.id", ondelete="CASCADE"))
    # The session's times, copied so a student's overlapping bookings are found with one indexed query.
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime]
    status: Mapped[str] = mapped_column(String(20), default=BookingStatus.REQUESTED.value)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    requested_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[dt.datetime | None]
    decline_reason: Mapped[str | None] = mapped_column(String(500))
    closed_at: Mapped[dt.datetime | None]
    close_reason: Mapped[str | None] = mapped_column(String(500))
    # The school has briefed the student (what to wear, who to ask for, what to do if worried).
    briefed_at: Mapped[dt.datetime | None]
    briefed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The supporting adult who attends with the student (their place counts against the adult limit).
    supporting_adult_name: Mapped[str | None] = mapped_column(String(120))
    supporting_adult_role: Mapped[str | None] = mapped_column(String(30))

    student: Mapped[Student] = relationship()
    session: Mapped[OfferSession] = relationship()
    requested_by: Mapped[User | None] = relationship(foreign_keys=[requested_by_id])

    @property
    def status_enum(self) -> BookingStatus:
        """The status as a vocabulary member."""
        return BookingStatus(self.status)

    @property
    def holds_place(self) -> bool:
        """Whether the booking is using one of the session's places."""
        return self.status_enum in ACTIVE_BOOKING_STATUSES

    @property
    def school_involved(self) -> bool:
        """Whether the school still follows the placement (not declined or cancelled): it may see its records."""
        return self.status_enum in INVOLVED_BOOKING_STATUSES

    @property
    def is_requested(self) -> bool:
        """Whether the employer has still to confirm or decline it."""
        return self.status_enum is BookingStatus.REQUESTED

    @property
    def is_confirmed(self) -> bool:
        """Whether the employer has confirmed it and it has not yet been marked done."""
        return self.status_enum is BookingStatus.CONFIRMED

    @property
    def is_completed(self) -> bool:
        """Whether the student took part (it counts towards the benchmarks)."""
        return self.status_enum is BookingStatus.COMPLETED

    @property
    def is_declined(self) -> bool:
        """Whether the employer declined it."""
        return self.status_enum is BookingStatus.DECLINED

    def is_upcoming(self, now: dt.datetime) -> bool:
        """Whether the booking holds a place and has not started: it may be cancelled, consented to and prepared."""
        return self.holds_place and self.starts_at > now


class FeatureConfirmation(Model):
    """Whether a feature the student needed was really there, as the school or the student said after the placement."""

    __tablename__ = "feature_confirmations"

    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"), primary_key=True)
    feature: Mapped[str] = mapped_column(String(40), primary_key=True)
    source: Mapped[str] = mapped_column(String(10), primary_key=True)  # a ConfirmationSource code
    # Copied from the booking's session so an offer's and an employer's tallies are one indexed count.
    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id", ondelete="CASCADE"), index=True)
    employer_id: Mapped[int] = mapped_column(ForeignKey("employers.id", ondelete="CASCADE"), index=True)
    present: Mapped[bool]
    note: Mapped[str] = mapped_column(String(500), default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
