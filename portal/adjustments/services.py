"""Asking an employer to provide what a near miss lacks, answering, reminding, and what a yes makes bookable.

A request names the session, the year group and the needs; the employer sees the school and the
student's first name, never SEND status or a diagnosis. A yes makes that session a match for that
student (or, asked by a hub, for the hub's students of that year group with those needs); the
employer may also add the features to the offer for everyone. Unanswered requests are reminded
after REMIND_AFTER_DAYS and lapse after EXPIRE_AFTER_DAYS; the school hears of a no and of a lapse.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from portal.accounts.models import User
from portal.accounts.recipients import Directory
from portal.adjustments.models import AdjustmentRequest
from portal.core import audit
from portal.core.links import absolute_url
from portal.core.notify import notify
from portal.core.refusals import Refusal
from portal.core.vocab import AccessFeature, AdjustmentStatus, OfferStatus
from portal.db import DbSession, utcnow
from portal.offers.models import Offer, OfferFeature, OfferSession
from portal.organisations.models import Employer, School, Student

REMIND_AFTER_DAYS = 3
EXPIRE_AFTER_DAYS = 5
NOTE_MAX = 500


class AdjustmentRefused(Refusal):
    """A request or an answer is not allowed; `code` is stable for the API, the message is for people."""


def _needs_text(codes: Sequence[str]) -> str:
    words = [AccessFeature(code).in_sentence for code in codes]
    return " and ".join(words) if len(words) < 3 else ", ".join(words[:-1]) + " and " + words[-1]


def _askable(occurrence: OfferSession, now: dt.datetime) -> None:
    """The session can still be asked about: published, vetted, in the future."""
    offer = occurrence.offer
    if offer.status != OfferStatus.PUBLISHED.value or not offer.employer.is_vetted:
        raise AdjustmentRefused("not_available", "This offer is not open for booking")
    if occurrence.starts_at <= now:
        raise AdjustmentRefused("in_past", "This session has already started")


def _valid_needs(needs: Sequence[str], offer: Offer, wanted_from: Sequence[str]) -> list[str]:
    """The needs asked for: known, among those the student (or group) has, and not already on the offer."""
    chosen = sorted(set(needs))
    if not chosen:
        raise AdjustmentRefused("no_needs", "Choose what to ask the employer to provide", field="needs")
    if any(code not in AccessFeature._value2member_map_ or code not in wanted_from for code in chosen):
        raise AdjustmentRefused("needs_unknown", "Ask only for what the student needs", field="needs")
    already = sorted(set(chosen) & set(offer.feature_codes))
    if already:
        raise AdjustmentRefused("needs_supported", f"The offer already supports {_needs_text(already)}", field="needs")
    return chosen


def ask_for_student(session: DbSession, staff: User, student: Student, occurrence: OfferSession,
                    needs: Sequence[str], now: dt.datetime | None = None) -> AdjustmentRequest:
    """A school asks the session's employer to provide needs of one of its students; raises AdjustmentRefused."""
    now = now or utcnow()
    if student.school_id != staff.school_id:
        raise AdjustmentRefused("not_found", "No such student")
    _askable(occurrence, now)
    offer = occurrence.offer
    if student.year_group not in offer.year_group_numbers:
        raise AdjustmentRefused("year_group", f"This offer is not open to Year {student.year_group}")
    chosen = _valid_needs(needs, offer, student.need_codes)
    request = AdjustmentRequest(school_id=student.school_id, hub_id=student.school.hub_id, student_id=student.id,
                                employer_id=offer.employer_id, offer_id=offer.id, session_id=occurrence.id,
                                year_group=student.year_group, needs=",".join(chosen), asked_by_id=staff.id,
                                asked_at=now)
    _insert_once(session, request, f"You have already asked about this session for {student.first_name}")
    audit.record(session, "adjustment_requested", "adjustment_request", request.id, school_id=student.school_id,
                 actor=staff, detail=f"{request.needs} on session {occurrence.id}")
    _tell_employer(session, request, "adjustment_requested")
    return request


def ask_for_hub(session: DbSession, coordinator: User, occurrence: OfferSession, year_group: int,
                needs: Sequence[str], now: dt.datetime | None = None) -> AdjustmentRequest:
    """A hub asks the session's employer to provide needs for its students of a year group (counts, no names)."""
    now = now or utcnow()
    if coordinator.hub_id is None:
        raise AdjustmentRefused("not_found", "No such hub")
    _askable(occurrence, now)
    offer = occurrence.offer
    if year_group not in offer.year_group_numbers:
        raise AdjustmentRefused("year_group", f"This offer is not open to Year {year_group}")
    chosen = _valid_needs(needs, offer, [f.value for f in AccessFeature])
    duplicate = session.scalar(select(AdjustmentRequest.id).where(
        AdjustmentRequest.hub_id == coordinator.hub_id, AdjustmentRequest.student_id.is_(None),
        AdjustmentRequest.session_id == occurrence.id, AdjustmentRequest.year_group == year_group,
        AdjustmentRequest.needs == ",".join(chosen), AdjustmentRequest.status == AdjustmentStatus.PENDING.value))
    if duplicate is not None:
        raise AdjustmentRefused("already_asked", "The hub has already asked about this session")
    request = AdjustmentRequest(hub_id=coordinator.hub_id, employer_id=offer.employer_id, offer_id=offer.id,
                                session_id=occurrence.id, year_group=year_group, needs=",".join(chosen),
                                asked_by_id=coordinator.id, asked_at=now)
    session.add(request)
    session.flush()
    audit.record(session, "adjustment_requested", "adjustment_request", request.id, actor=coordinator,
                 detail=f"hub {coordinator.hub_id}: {request.needs} on session {occurrence.id}")
    _tell_employer(session, request, "adjustment_requested")
    return request


def _insert_once(session: DbSession, request: AdjustmentRequest, duplicate_message: str) -> None:
    """Add the request; a second open one for the same student and session is refused (the unique index decides)."""
    try:
        with session.begin_nested():
            session.add(request)
    except IntegrityError:
        raise AdjustmentRefused("already_asked", duplicate_message) from None


def _tell_employer(session: DbSession, request: AdjustmentRequest, template: str) -> None:
    """Email the employer's staff the question (no SEND status, no surname)."""
    directory = Directory.load(session, employer_ids=[request.employer_id])
    link = absolute_url("adjustments.employer_request", request_id=request.id)
    asker = _asker_name(session, request)
    for email in directory.employer(request.employer_id):
        notify(session, template, email, employer_id=request.employer_id, request=request, asker=asker,
               offer=request.offer, occurrence=request.session, needs=_needs_text(request.need_codes), link=link)


def _asker_name(session: DbSession, request: AdjustmentRequest) -> str:
    """The school's name, or the hub's."""
    if request.school_id is not None:
        return session.get(School, request.school_id).name  # type: ignore[union-attr]
    from portal.organisations.models import Hub

    hub = session.get(Hub, request.hub_id)
    return hub.name if hub is not None else "A careers hub"


def answer(session: DbSession, employer_user: User, request: AdjustmentRequest, accept: bool, note: str = "",
           add_to_offer: bool = False, now: dt.datetime | None = None) -> None:
    """The employer says yes (optionally adding the features to the offer) or no; only the first answer counts."""
    now = now or utcnow()
    if employer_user.employer_id != request.employer_id:
        raise AdjustmentRefused("not_found", "No such request")
    note = note.strip()
    if len(note) > NOTE_MAX:
        raise AdjustmentRefused("note_too_long", f"Keep the note to {NOTE_MAX} characters", field="note")
    if not accept and add_to_offer:
        add_to_offer = False
    status = AdjustmentStatus.ACCEPTED if accept else AdjustmentStatus.DECLINED
    claimed = session.execute(
        update(AdjustmentRequest)
        .where(AdjustmentRequest.id == request.id, AdjustmentRequest.status == AdjustmentStatus.PENDING.value)
        .values(status=status.value, answered_by_id=employer_user.id, answered_at=now, answer_note=note,
                added_to_offer=add_to_offer)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if claimed != 1:
        raise AdjustmentRefused("already_answered", "This request has already been answered or has lapsed")
    session.refresh(request)
    if add_to_offer:
        present = set(request.offer.feature_codes)
        for code in request.need_codes:
            if code not in present:
                session.add(OfferFeature(offer_id=request.offer_id, feature=code,
                                         note=(note[:300] or None)))
    audit.record(session, f"adjustment_{status.value}", "adjustment_request", request.id,
                 school_id=request.school_id, actor=employer_user,
                 detail="added to the offer" if add_to_offer else "")
    _tell_asker(session, request, "adjustment_answered")


def _asker_emails(session: DbSession, request: AdjustmentRequest) -> list[str]:
    """Who asked (if they can still sign in), else the school's careers leader or staff, or the hub's coordinators."""
    if request.school_id is not None:
        return Directory.load(session, school_ids=[request.school_id]).booking_staff(request.school_id,
                                                                                    request.asked_by_id)
    from portal.core.vocab import Role

    return list(session.scalars(select(User.email).where(
        User.hub_id == request.hub_id, User.role == Role.HUB.value, User.is_active,
        User.password_hash.is_not(None)).order_by(User.email)))


def _tell_asker(session: DbSession, request: AdjustmentRequest, template: str) -> None:
    """Email whoever asked what became of the request."""
    endpoint = "adjustments.school_requests" if request.school_id is not None else "adjustments.hub_requests"
    link = absolute_url(endpoint)
    employer = session.get(Employer, request.employer_id)
    for email in _asker_emails(session, request):
        notify(session, template, email, school_id=request.school_id, request=request,
               employer_name=employer.name if employer else "", offer=request.offer, occurrence=request.session,
               needs=_needs_text(request.need_codes), link=link)


def remind_and_lapse(session: DbSession, now: dt.datetime) -> dict[str, int]:
    """Remind employers of requests unanswered for REMIND_AFTER_DAYS; lapse those unanswered for EXPIRE_AFTER_DAYS."""
    pending = AdjustmentRequest.status == AdjustmentStatus.PENDING.value
    lapsing = list(session.scalars(
        update(AdjustmentRequest)
        .where(pending, AdjustmentRequest.asked_at <= now - dt.timedelta(days=EXPIRE_AFTER_DAYS))
        .values(status=AdjustmentStatus.EXPIRED.value, answered_at=now)
        .returning(AdjustmentRequest.id)
    ))
    reminding = list(session.scalars(
        update(AdjustmentRequest)
        .where(pending, AdjustmentRequest.reminded_at.is_(None),
               AdjustmentRequest.asked_at <= now - dt.timedelta(days=REMIND_AFTER_DAYS))
        .values(reminded_at=now)
        .returning(AdjustmentRequest.id)
    ))
    for request in _loaded(session, lapsing):
        audit.record(session, "adjustment_expired", "adjustment_request", request.id, school_id=request.school_id,
                     actor=None)
        _tell_asker(session, request, "adjustment_lapsed")
    for request in _loaded(session, reminding):
        _tell_employer(session, request, "adjustment_reminder")
    return {"adjustment_reminders": len(reminding), "adjustments_lapsed": len(lapsing)}


def _loaded(session: DbSession, ids: Sequence[int]) -> list[AdjustmentRequest]:
    """Requests with their offer and session, in id order."""
    if not ids:
        return []
    return list(session.scalars(select(AdjustmentRequest).where(AdjustmentRequest.id.in_(list(ids)))
                                .options(joinedload(AdjustmentRequest.offer), joinedload(AdjustmentRequest.session))
                                .order_by(AdjustmentRequest.id)).unique())


# --- what a yes makes bookable ---------------------------------------------------------------


def _granted_to(student: Student) -> Select[tuple[int, int, str]]:
    """(offer id, session id, needs) of the accepted requests that apply to the student."""
    hub_id = student.school.hub_id
    applies = AdjustmentRequest.student_id == student.id
    if hub_id is not None:
        applies = or_(applies, and_(AdjustmentRequest.student_id.is_(None), AdjustmentRequest.hub_id == hub_id,
                                    AdjustmentRequest.year_group == student.year_group))
    return select(AdjustmentRequest.offer_id, AdjustmentRequest.session_id, AdjustmentRequest.needs).where(
        applies, AdjustmentRequest.status == AdjustmentStatus.ACCEPTED.value)


@dataclass(frozen=True)
class Grants:
    """Needs an employer said yes to, per session, for one student."""

    by_session: dict[int, frozenset[str]]
    offers: frozenset[int]

    def needs_for(self, session_id: int) -> frozenset[str]:
        """The needs granted on this session (empty when none)."""
        return self.by_session.get(session_id, frozenset())


def grants_for(session: DbSession, student: Student) -> Grants:
    """What accepted requests grant the student, session by session (one indexed query)."""
    by_session: dict[int, set[str]] = {}
    offers: set[int] = set()
    if student.need_codes:
        for offer_id, session_id, needs in session.execute(_granted_to(student)):
            by_session.setdefault(session_id, set()).update(needs.split(","))
            offers.add(offer_id)
    return Grants({k: frozenset(v) for k, v in by_session.items()}, frozenset(offers))


# --- lists -----------------------------------------------------------------------------------


def for_school(school_id: int) -> Select[tuple[AdjustmentRequest]]:
    """The school's requests, newest first."""
    return (select(AdjustmentRequest).where(AdjustmentRequest.school_id == school_id)
            .options(joinedload(AdjustmentRequest.student), joinedload(AdjustmentRequest.offer)
                     .joinedload(Offer.employer), joinedload(AdjustmentRequest.session))
            .order_by(AdjustmentRequest.asked_at.desc(), AdjustmentRequest.id.desc()))


def for_hub(hub_id: int) -> Select[tuple[AdjustmentRequest]]:
    """The hub's own requests (not its schools'), newest first."""
    return (select(AdjustmentRequest).where(AdjustmentRequest.hub_id == hub_id, AdjustmentRequest.student_id.is_(None))
            .options(joinedload(AdjustmentRequest.offer).joinedload(Offer.employer),
                     joinedload(AdjustmentRequest.session))
            .order_by(AdjustmentRequest.asked_at.desc(), AdjustmentRequest.id.desc()))


def for_employer(employer_id: int, *, pending_only: bool = False) -> Select[tuple[AdjustmentRequest]]:
    """Requests to the employer, unanswered first then newest."""
    conditions = [AdjustmentRequest.employer_id == employer_id]
    if pending_only:
        conditions.append(AdjustmentRequest.status == AdjustmentStatus.PENDING.value)
    return (select(AdjustmentRequest).where(*conditions)
            .options(joinedload(AdjustmentRequest.school), joinedload(AdjustmentRequest.student),
                     joinedload(AdjustmentRequest.offer), joinedload(AdjustmentRequest.session))
            .order_by((AdjustmentRequest.status == AdjustmentStatus.PENDING.value).desc(),
                      AdjustmentRequest.asked_at.desc(), AdjustmentRequest.id.desc()))


def pending_count(session: DbSession, employer_id: int) -> int:
    """How many requests the employer has still to answer."""
    return session.scalar(select(func.count()).select_from(AdjustmentRequest).where(
        AdjustmentRequest.employer_id == employer_id,
        AdjustmentRequest.status == AdjustmentStatus.PENDING.value)) or 0


@dataclass(frozen=True)
class AnswerRate:
    """How an employer has answered the requests of a hub's schools (and the hub's own)."""

    asked: int
    answered: int
    accepted: int

    @property
    def sentence(self) -> str:
        """'Answered 3 of 4 (2 yes)', or 'No requests yet'."""
        if not self.asked:
            return "No requests yet"
        return f"Answered {self.answered} of {self.asked} ({self.accepted} yes)"


def answer_rates(session: DbSession, hub_id: int, employer_ids: Sequence[int]) -> dict[int, AnswerRate]:
    """Per employer, requests from the hub and its schools: asked (not counting those still within the answer
    window), answered, and said yes — in one grouped query."""
    if not employer_ids:
        return {}
    answered = AdjustmentRequest.status.in_([AdjustmentStatus.ACCEPTED.value, AdjustmentStatus.DECLINED.value])
    rows = session.execute(
        select(AdjustmentRequest.employer_id,
               func.count().filter(AdjustmentRequest.status != AdjustmentStatus.PENDING.value),
               func.count().filter(answered),
               func.count().filter(AdjustmentRequest.status == AdjustmentStatus.ACCEPTED.value))
        .where(AdjustmentRequest.hub_id == hub_id, AdjustmentRequest.employer_id.in_(list(employer_ids)))
        .group_by(AdjustmentRequest.employer_id)
    ).all()
    rates = {employer_id: AnswerRate(int(asked), int(done), int(yes)) for employer_id, asked, done, yes in rows}
    return {employer_id: rates.get(employer_id, AnswerRate(0, 0, 0)) for employer_id in employer_ids}


def find(session: DbSession, request_id: int) -> AdjustmentRequest | None:
    """One request with what its pages show."""
    return session.scalars(select(AdjustmentRequest).where(AdjustmentRequest.id == request_id).options(
        joinedload(AdjustmentRequest.school), joinedload(AdjustmentRequest.student),
        joinedload(AdjustmentRequest.offer).joinedload(Offer.employer), joinedload(AdjustmentRequest.session),
    )).first()
