"""Risk assessments (per offer, covering sessions), school reviews, DBS notes and consent requests."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts.models import User
from portal.bookings.models import Booking
from portal.core.vocab import ConsentDecision, DbsDecision, DbsLevel, RiskAssessmentKind
from portal.db import utcnow
from portal.extensions import Model
from portal.offers.models import Offer, Supervisor


class RiskAssessment(Model):
    """An employer's risk assessment for an offer: an uploaded PDF or an attestation of its own."""

    __tablename__ = "risk_assessments"
    __table_args__ = (
        CheckConstraint(
            "(kind = 'upload' AND stored_name IS NOT NULL) OR (kind = 'attestation' AND attestation IS NOT NULL)",
            name="upload_or_attestation",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id", ondelete="CASCADE"), index=True)
    employer_id: Mapped[int] = mapped_column(ForeignKey("employers.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # a RiskAssessmentKind code
    # A random name in the upload folder (outside static/); never derived from what the user sent.
    stored_name: Mapped[str | None] = mapped_column(String(64), unique=True)
    original_name: Mapped[str | None] = mapped_column(String(200))
    size_bytes: Mapped[int | None]
    attestation: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    offer: Mapped[Offer] = relationship()
    created_by: Mapped[User | None] = relationship()
    coverage: Mapped[list[RiskAssessmentCoverage]] = relationship(back_populates="risk_assessment")

    @property
    def kind_label(self) -> str:
        """Human label of the kind."""
        return RiskAssessmentKind(self.kind).label

    @property
    def is_upload(self) -> bool:
        """Whether a document was uploaded (rather than attested)."""
        return self.kind == RiskAssessmentKind.UPLOAD.value


class RiskAssessmentCoverage(Model):
    """Which risk assessment covers a session: one per session, the latest the employer gave."""

    __tablename__ = "risk_assessment_sessions"

    session_id: Mapped[int] = mapped_column(ForeignKey("offer_sessions.id", ondelete="CASCADE"), primary_key=True)
    risk_assessment_id: Mapped[int] = mapped_column(ForeignKey("risk_assessments.id", ondelete="CASCADE"),
                                                    index=True)

    risk_assessment: Mapped[RiskAssessment] = relationship(back_populates="coverage")


class RiskAssessmentReview(Model):
    """A school's member of staff has read a risk assessment and is content with it."""

    __tablename__ = "risk_assessment_reviews"

    risk_assessment_id: Mapped[int] = mapped_column(ForeignKey("risk_assessments.id", ondelete="CASCADE"),
                                                    primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), primary_key=True)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reviewed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    reviewed_by: Mapped[User | None] = relationship()


class DbsNote(Model):
    """A school's DBS decision about one supervisor (safeguarding record; every view is audited).

    Certificate details (level, issue date, last 4 characters, Update Service) are purged 6 months
    after they were recorded; the decision and its date stay.
    """

    __tablename__ = "dbs_notes"
    __table_args__ = (
        UniqueConstraint("school_id", "supervisor_id"),
        Index("ix_dbs_notes_purge", "details_purged_at", "recorded_at"),
        CheckConstraint("decision <> 'not_required' OR reason IS NOT NULL", name="reason_when_not_required"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    supervisor_id: Mapped[int] = mapped_column(ForeignKey("supervisors.id", ondelete="CASCADE"), index=True)
    decision: Mapped[str] = mapped_column(String(20))  # a DbsDecision code
    reason: Mapped[str | None] = mapped_column(Text)
    level: Mapped[str | None] = mapped_column(String(20))  # a DbsLevel code
    issued_on: Mapped[dt.date | None]
    certificate_last4: Mapped[str | None] = mapped_column(String(4))
    update_service_checked: Mapped[bool | None]
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    details_purged_at: Mapped[dt.datetime | None]

    supervisor: Mapped[Supervisor] = relationship()
    recorded_by: Mapped[User | None] = relationship()

    @property
    def decision_label(self) -> str:
        """Human label of the decision."""
        return DbsDecision(self.decision).label

    @property
    def check_required(self) -> bool:
        """Whether the school decided a DBS check was needed (and recorded it)."""
        return self.decision == DbsDecision.CHECKED

    @property
    def level_label(self) -> str:
        """Human label of the check level (empty when none or purged)."""
        return DbsLevel(self.level).label if self.level else ""


class ConsentRequest(Model):
    """A parent's or carer's consent for one booking: asked by a signed link, or recorded on paper by staff."""

    __tablename__ = "consent_requests"
    __table_args__ = (Index("ix_consent_requests_booking", "booking_id", "sent_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"))
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    # Where the link went (None when staff recorded a paper form).
    parent_email: Mapped[str | None] = mapped_column(String(254))
    # Random part of the signed link: a resent request gets a new one, and the old link stops working.
    nonce: Mapped[str] = mapped_column(String(43), unique=True)
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    sent_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    superseded_at: Mapped[dt.datetime | None]
    decision: Mapped[str | None] = mapped_column(String(20))  # a ConsentDecision code
    responder_name: Mapped[str | None] = mapped_column(String(120))
    responded_at: Mapped[dt.datetime | None]

    booking: Mapped[Booking] = relationship()
    sent_by: Mapped[User | None] = relationship()

    @property
    def decision_label(self) -> str:
        """Human label of the decision (empty when not answered)."""
        return ConsentDecision(self.decision).label if self.decision else ""

    @property
    def consented(self) -> bool:
        """Whether the parent or carer gave consent."""
        return self.decision == ConsentDecision.CONSENTED

    @property
    def declined(self) -> bool:
        """Whether the parent or carer declined."""
        return self.decision == ConsentDecision.DECLINED
