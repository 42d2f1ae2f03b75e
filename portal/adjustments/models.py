"""A request that an employer provide what a session lacks for a student (or for a hub's students)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, Index, String, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.vocab import AccessFeature, AdjustmentStatus, PostedNeedStatus, Sector
from portal.db import utcnow
from portal.extensions import Model
from portal.offers.models import Offer, OfferSession
from portal.organisations.models import School, Student


class AdjustmentRequest(Model):
    """'Could you provide flexible hours for a Year 10 student on 5 March?': asked of one session's employer."""

    __tablename__ = "adjustment_requests"
    __table_args__ = (
        Index("ix_adjustment_requests_employer_status", "employer_id", "status"),
        Index("ix_adjustment_requests_school_status", "school_id", "status"),
        Index("ix_adjustment_requests_hub_status", "hub_id", "status"),
        Index("ix_adjustment_requests_status_asked", "status", "asked_at"),  # the scheduler's sweep
        Index("ix_adjustment_requests_student_status", "student_id", "status"),
        # One open question per student and session: a double submit cannot ask twice.
        Index("uq_adjustment_requests_open", "student_id", "session_id", unique=True,
              sqlite_where=text("status = 'pending'"), postgresql_where=text("status = 'pending'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Asked by a school for one of its students, or by a hub for its students (then school and student are None).
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    hub_id: Mapped[int | None] = mapped_column(ForeignKey("hubs.id", ondelete="CASCADE"))
    student_id: Mapped[int | None] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"))
    employer_id: Mapped[int] = mapped_column(ForeignKey("employers.id", ondelete="CASCADE"))
    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("offer_sessions.id", ondelete="CASCADE"), index=True)
    year_group: Mapped[int]
    # The needs asked for, as AccessFeature codes joined by commas (one or two: what a near miss lacks).
    needs: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default=AdjustmentStatus.PENDING.value)
    asked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    asked_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    reminded_at: Mapped[dt.datetime | None]
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    answered_at: Mapped[dt.datetime | None]
    answer_note: Mapped[str] = mapped_column(String(500), default="")
    # The employer answered yes and added the features to the offer, for every student.
    added_to_offer: Mapped[bool] = mapped_column(default=False, server_default=false())

    school: Mapped[School | None] = relationship()
    student: Mapped[Student | None] = relationship()
    offer: Mapped[Offer] = relationship()
    session: Mapped[OfferSession] = relationship()

    @property
    def need_codes(self) -> list[str]:
        """The needs asked for, as codes."""
        return [code for code in self.needs.split(",") if code]

    @property
    def needs_in_words(self) -> str:
        """'flexible hours and quiet space'."""
        words = [AccessFeature(code).in_sentence for code in self.need_codes]
        return " and ".join(words) if len(words) < 3 else ", ".join(words[:-1]) + " and " + words[-1]

    @property
    def status_enum(self) -> AdjustmentStatus:
        """The status as a vocabulary member."""
        return AdjustmentStatus(self.status)

    @property
    def is_pending(self) -> bool:
        """Whether the employer has still to answer."""
        return self.status_enum is AdjustmentStatus.PENDING

    @property
    def is_accepted(self) -> bool:
        """Whether the employer said yes: the session is then a match for the student."""
        return self.status_enum is AdjustmentStatus.ACCEPTED


class PostedNeed(Model):
    """'Places for 6 Year 10 students, 2 needing step-free access, in March': posted when nothing fits, for the
    employers near the school to answer by adding a session."""

    __tablename__ = "posted_needs"
    __table_args__ = (
        Index("ix_posted_needs_status_expires", "status", "expires_on"),
        Index("ix_posted_needs_school_status", "school_id", "status"),
        Index("ix_posted_needs_hub_status", "hub_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))  # where students travel from
    hub_id: Mapped[int | None] = mapped_column(ForeignKey("hubs.id", ondelete="SET NULL"))
    posted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    year_group: Mapped[int]
    places: Mapped[int]
    date_from: Mapped[dt.date]
    date_to: Mapped[dt.date]
    # Access needs as counts of students, {code: count}: never names.
    need_counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    sectors: Mapped[str] = mapped_column(String(400), default="")  # Sector codes joined by commas; empty: any
    note: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(20), default=PostedNeedStatus.OPEN.value)
    expires_on: Mapped[dt.date]
    answered_session_id: Mapped[int | None] = mapped_column(ForeignKey("offer_sessions.id", ondelete="SET NULL"))
    answered_by_employer_id: Mapped[int | None] = mapped_column(ForeignKey("employers.id", ondelete="SET NULL"))
    answered_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    school: Mapped[School] = relationship()
    answered_session: Mapped[OfferSession | None] = relationship()

    @property
    def sector_codes(self) -> list[str]:
        """The sectors asked for (empty: any)."""
        return [code for code in self.sectors.split(",") if code]

    @property
    def needs_in_words(self) -> str:
        """'2 need step-free access, 1 needs quiet space', or 'no access needs'."""
        if not self.need_counts:
            return "no access needs"
        return ", ".join(f"{count} need{'s' if count == 1 else ''} {AccessFeature(code).in_sentence}"
                         for code, count in sorted(self.need_counts.items()))

    @property
    def sectors_in_words(self) -> str:
        """'Healthcare, engineering', or 'Any sector'."""
        return ", ".join(Sector(code).label for code in self.sector_codes) or "Any sector"

    @property
    def status_enum(self) -> PostedNeedStatus:
        """The status as a vocabulary member."""
        return PostedNeedStatus(self.status)

    @property
    def is_open(self) -> bool:
        """Whether employers can still answer it."""
        return self.status_enum is PostedNeedStatus.OPEN

    @property
    def is_answered(self) -> bool:
        """Whether an employer added a session for it."""
        return self.status_enum is PostedNeedStatus.ANSWERED
