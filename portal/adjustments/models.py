"""A request that an employer provide what a session lacks for a student (or for a hub's students)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.vocab import AccessFeature, AdjustmentStatus
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
