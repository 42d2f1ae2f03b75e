"""Risk assessment rules: employers add one (a PDF or an attestation) for sessions of an offer; schools review it.

Each session is covered by exactly one assessment, the latest the employer gave for it. A school's
review is of an assessment, so a newer assessment for a session needs reviewing again. Nothing
here commits: the caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import distinct, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from portal import access
from portal.accounts.models import User
from portal.bookings.models import Booking
from portal.compliance.models import RiskAssessment, RiskAssessmentCoverage, RiskAssessmentReview
from portal.compliance.services import ComplianceRefused
from portal.compliance.uploads import StoredUpload
from portal.core import audit
from portal.core.dates import format_datetime
from portal.core.links import absolute_url
from portal.core.notify import notify
from portal.core.vocab import ACTIVE_BOOKING_STATUSES, RiskAssessmentKind, Role
from portal.db import DbSession, dialect_insert, utcnow
from portal.offers.models import Offer, OfferSession

MAX_ATTESTATION_LENGTH = 5000
_ACTIVE = [s.value for s in ACTIVE_BOOKING_STATUSES]


class RiskAssessmentRefused(ComplianceRefused):
    """A risk assessment change is not allowed; `code` is stable, the message is for people."""


# --- employers add assessments ------------------------------------------------------------


def _chosen_sessions(session: DbSession, employer_user: User, offer: Offer, session_ids: Collection[int],
                     now: dt.datetime) -> list[OfferSession]:
    """The chosen sessions, if they are all upcoming sessions of the employer's own offer."""
    if not access.can_manage_employer(employer_user, offer.employer_id):
        raise RiskAssessmentRefused("not_found", "No such offer")
    ids = set(session_ids)
    if not ids:
        raise RiskAssessmentRefused("no_sessions", "Choose at least one session the risk assessment covers")
    chosen = list(session.scalars(
        select(OfferSession).where(OfferSession.id.in_(ids), OfferSession.offer_id == offer.id)
        .order_by(OfferSession.starts_at)
    ))
    if len(chosen) != len(ids):
        raise RiskAssessmentRefused("wrong_offer", "Choose only sessions of this offer")
    started = [s for s in chosen if s.starts_at <= now]
    if started:
        raise RiskAssessmentRefused(
            "started", f"The session on {format_datetime(started[0].starts_at)} has already started, "
                       "so a risk assessment cannot be added for it")
    return chosen


def _cover(session: DbSession, assessment_id: int, session_ids: list[int]) -> None:
    """Point each session's coverage row at the assessment: one upsert for all of them."""
    statement = dialect_insert(session)(RiskAssessmentCoverage).values(
        [{"session_id": sid, "risk_assessment_id": assessment_id} for sid in session_ids])
    session.execute(statement.on_conflict_do_update(
        index_elements=["session_id"], set_={"risk_assessment_id": statement.excluded.risk_assessment_id}))
    # Rows and collections already loaded now describe the old coverage.
    for obj in list(session.identity_map.values()):
        if isinstance(obj, RiskAssessmentCoverage | RiskAssessment):
            session.expire(obj)


def _notify_schools(session: DbSession, offer: Offer, assessment: RiskAssessment, sessions: list[OfferSession]) -> int:
    """Email, once each, the school staff who asked for active bookings on the sessions; returns how many."""
    recipients: dict[str, int] = {}
    for email, school_id in session.execute(
        select(User.email, Booking.school_id)
        .join(Booking, Booking.requested_by_id == User.id)
        .where(Booking.session_id.in_([s.id for s in sessions]), Booking.status.in_(_ACTIVE),
               User.role == Role.SCHOOL.value, User.is_active)
        .distinct()
        .order_by(User.email)
    ).tuples():
        recipients.setdefault(email, school_id)
    link = absolute_url("risk.assessment", assessment_id=assessment.id)
    for email, school_id in recipients.items():
        notify(session, "risk_assessment_ready", email, school_id=school_id, offer=offer, sessions=sessions, link=link)
    return len(recipients)


def _add(session: DbSession, employer_user: User, offer: Offer, assessment: RiskAssessment,
         session_ids: Collection[int], now: dt.datetime | None) -> RiskAssessment:
    """Save a new assessment, make it cover the chosen sessions, audit it and tell the schools."""
    now = now or utcnow()
    chosen = _chosen_sessions(session, employer_user, offer, session_ids, now)
    assessment.offer_id, assessment.employer_id = offer.id, offer.employer_id
    assessment.created_by_id, assessment.created_at = employer_user.id, now
    session.add(assessment)
    session.flush()
    _cover(session, assessment.id, [s.id for s in chosen])
    audit.record(session, "risk_assessment_added", "risk_assessment", assessment.id, actor=employer_user,
                 detail=f"{assessment.kind} for offer {offer.id}, sessions {', '.join(str(s.id) for s in chosen)}")
    _notify_schools(session, offer, assessment, chosen)
    return assessment


def add_upload(session: DbSession, employer_user: User, offer: Offer, stored: StoredUpload,
               session_ids: Collection[int], now: dt.datetime | None = None) -> RiskAssessment:
    """Record an uploaded (already checked and stored) PDF as the assessment for the chosen sessions."""
    assessment = RiskAssessment(kind=RiskAssessmentKind.UPLOAD.value, stored_name=stored.stored_name,
                                original_name=stored.original_name, size_bytes=stored.size_bytes)
    return _add(session, employer_user, offer, assessment, session_ids, now)


def add_attestation(session: DbSession, employer_user: User, offer: Offer, statement: str,
                    session_ids: Collection[int], now: dt.datetime | None = None) -> RiskAssessment:
    """Record the employer's statement that its own risk assessment covers the chosen sessions."""
    text = (statement or "").strip()
    if not text:
        raise RiskAssessmentRefused("statement_required", "Describe the risk assessment that covers this activity",
                                    "statement")
    if len(text) > MAX_ATTESTATION_LENGTH:
        raise RiskAssessmentRefused("statement_too_long",
                                    f"The statement must be {MAX_ATTESTATION_LENGTH} characters or fewer")
    assessment = RiskAssessment(kind=RiskAssessmentKind.ATTESTATION.value, attestation=text)
    return _add(session, employer_user, offer, assessment, session_ids, now)


# --- schools review them ------------------------------------------------------------------


def reviewed_by_school(session: DbSession, assessment: RiskAssessment, school_id: int | None) -> RiskAssessmentReview | None:
    """The school's review of the assessment, if it has one."""
    if school_id is None:
        return None
    return session.get(RiskAssessmentReview, (assessment.id, school_id))


def review(session: DbSession, staff: User, assessment: RiskAssessment, now: dt.datetime | None = None) -> bool:
    """Staff mark the assessment reviewed for their school; False (and no change) when it already was."""
    if not access.is_role(staff, Role.SCHOOL) or not access.can_view_risk_assessment(staff, assessment):
        raise RiskAssessmentRefused("not_found", "No such risk assessment")
    if reviewed_by_school(session, assessment, staff.school_id) is not None:
        return False
    savepoint = session.begin_nested()
    try:
        session.add(RiskAssessmentReview(risk_assessment_id=assessment.id, school_id=staff.school_id,
                                         reviewed_by_id=staff.id, reviewed_at=now or utcnow()))
        savepoint.commit()
    except IntegrityError:  # another member of staff of the same school got there first
        if savepoint.is_active:
            savepoint.rollback()
        return False
    audit.record(session, "risk_assessment_reviewed", "risk_assessment", assessment.id, school_id=staff.school_id,
                 actor=staff)
    return True


# --- what the pages list ------------------------------------------------------------------


@dataclass(frozen=True)
class SessionCoverage:
    """An upcoming session, the assessment covering it (if any), and how many booked schools reviewed that."""

    occurrence: OfferSession
    assessment: RiskAssessment | None
    schools: int  # schools with an active booking on the session
    reviewed: int  # of those, how many have reviewed the covering assessment


@dataclass(frozen=True)
class AssessmentSummary:
    """One of an offer's assessments with how many sessions it covers and how many schools reviewed it."""

    assessment: RiskAssessment
    sessions: int
    reviews: int


def upcoming_sessions(session: DbSession, offer: Offer, now: dt.datetime | None = None) -> list[SessionCoverage]:
    """The offer's sessions still to start, each with its covering assessment and review count (three queries)."""
    now = now or utcnow()
    rows = session.execute(
        select(OfferSession, RiskAssessment)
        .outerjoin(RiskAssessmentCoverage, RiskAssessmentCoverage.session_id == OfferSession.id)
        .outerjoin(RiskAssessment, RiskAssessment.id == RiskAssessmentCoverage.risk_assessment_id)
        .where(OfferSession.offer_id == offer.id, OfferSession.starts_at > now)
        .order_by(OfferSession.starts_at, OfferSession.id)
    ).tuples().all()
    counts = {sid: (schools, reviewed) for sid, schools, reviewed in session.execute(
        select(Booking.session_id, func.count(distinct(Booking.school_id)),
               func.count(distinct(RiskAssessmentReview.school_id)))
        .outerjoin(RiskAssessmentCoverage, RiskAssessmentCoverage.session_id == Booking.session_id)
        .outerjoin(RiskAssessmentReview,
                   (RiskAssessmentReview.risk_assessment_id == RiskAssessmentCoverage.risk_assessment_id)
                   & (RiskAssessmentReview.school_id == Booking.school_id))
        .where(Booking.session_id.in_([occurrence.id for occurrence, _ in rows]), Booking.status.in_(_ACTIVE))
        .group_by(Booking.session_id)
    ).tuples()} if rows else {}
    return [SessionCoverage(occurrence, assessment, *counts.get(occurrence.id, (0, 0))) for occurrence, assessment in rows]


def offer_assessments(session: DbSession, offer: Offer) -> list[AssessmentSummary]:
    """Every assessment of the offer, newest first, with sessions covered and schools' reviews (three queries)."""
    assessments = list(session.scalars(
        select(RiskAssessment).where(RiskAssessment.offer_id == offer.id)
        .options(joinedload(RiskAssessment.created_by))
        .order_by(RiskAssessment.created_at.desc(), RiskAssessment.id.desc())
    ))
    ids = [a.id for a in assessments]
    if not ids:
        return []
    covered = dict(session.execute(
        select(RiskAssessmentCoverage.risk_assessment_id, func.count())
        .where(RiskAssessmentCoverage.risk_assessment_id.in_(ids))
        .group_by(RiskAssessmentCoverage.risk_assessment_id)
    ).tuples().all())
    reviews = dict(session.execute(
        select(RiskAssessmentReview.risk_assessment_id, func.count())
        .where(RiskAssessmentReview.risk_assessment_id.in_(ids))
        .group_by(RiskAssessmentReview.risk_assessment_id)
    ).tuples().all())
    return [AssessmentSummary(a, covered.get(a.id, 0), reviews.get(a.id, 0)) for a in assessments]


def covered_sessions(session: DbSession, assessment: RiskAssessment) -> list[OfferSession]:
    """The sessions the assessment covers now, earliest first."""
    return list(session.scalars(
        select(OfferSession)
        .join(RiskAssessmentCoverage, RiskAssessmentCoverage.session_id == OfferSession.id)
        .where(RiskAssessmentCoverage.risk_assessment_id == assessment.id)
        .order_by(OfferSession.starts_at, OfferSession.id)
    ))
