"""Rank the sessions a student (or a group) can do, say why, and say why not when nothing fits.

Hard rules (in SQL, through the offer search): published offer of a vetted employer; a session
inside the window, in the future, with a free place; the student's year group eligible; within
the distance of the school (virtual offers ignore distance); every access need supported.

Score (0-100, higher first), documented in the README:
  distance   up to 40: 40 x (1 - km / radius); virtual offers get 20
  interest   30 when the offer is in a sector the student is interested in
  new kind   15 when the student has not yet done this kind of activity
  first BM6  15 when it is a workplace experience and the student has none yet
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Select, and_, select
from sqlalchemy.orm import joinedload, selectinload

from portal.bookings.models import Booking
from portal.core.dates import london_date
from portal.core.vocab import (
    ACTIVE_BOOKING_STATUSES,
    WORKPLACE_ACTIVITIES,
    AccessFeature,
    ActivityType,
    BookingStatus,
    Sector,
    SendStatus,
)
from portal.db import DbSession, utcnow
from portal.offers.models import Offer, OfferSector, OfferSession
from portal.offers.search import (
    OfferQuery,
    distances_km,
    filter_conditions,
    located_within,
    session_window,
)
from portal.organisations.models import School, Student

DEFAULT_RADIUS_KM = 15.0
CANDIDATE_LIMIT = 60  # nearest located offers considered per match
VIRTUAL_LIMIT = 20  # virtual offers considered per match
DONE_STATUSES = (BookingStatus.CONFIRMED.value, BookingStatus.COMPLETED.value)


@dataclass(frozen=True)
class MatchRequest:
    """What staff ask for; empty lists mean any."""

    activity_types: Sequence[str] = ()
    sectors: Sequence[str] = ()
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    radius_km: float = DEFAULT_RADIUS_KM


@dataclass
class Match:
    """A session the student can be booked on, with its score and the reasons in words."""

    offer: Offer
    session: OfferSession
    distance_km: float | None
    score: int
    reasons: list[str]
    outside_interests: bool = False

    @property
    def free_places(self) -> int:
        """Places still free on the session."""
        return self.session.capacity - self.session.booked


@dataclass
class MatchOutcome:
    """Ranked matches for one student, and why there are none when the list is empty."""

    student: Student
    matches: list[Match]
    something_different: Match | None = None
    explanations: list[str] = field(default_factory=list)


def _history(session: DbSession, student_ids: Sequence[int]) -> dict[int, set[str]]:
    """Activity types each student has been confirmed on or completed (for 'new kind of experience')."""
    done: dict[int, set[str]] = {sid: set() for sid in student_ids}
    rows = session.execute(
        select(Booking.student_id, Offer.activity_type)
        .join(OfferSession, OfferSession.id == Booking.session_id).join(Offer, Offer.id == OfferSession.offer_id)
        .where(Booking.student_id.in_(list(student_ids)), Booking.status.in_(DONE_STATUSES))
    ).all()
    for student_id, activity in rows:
        done[student_id].add(activity)
    return done


def _query_for(request: MatchRequest, school: School, year_group: int | None, needs: Sequence[str],
               radius: float | None) -> OfferQuery:
    """The offer search that applies the hard rules."""
    origin = (school.latitude, school.longitude) if school.latitude is not None and school.longitude is not None else None
    return OfferQuery(
        activity_types=tuple(request.activity_types), sectors=tuple(request.sectors), year_group=year_group,
        features=tuple(needs), date_from=request.date_from, date_to=request.date_to,
        origin=origin, radius_km=radius if origin is not None else None,
    )


def _candidates(session: DbSession, query: OfferQuery, now: dt.datetime, limit: int,
                virtual_limit: int = VIRTUAL_LIMIT) -> list[tuple[int, float | None]]:
    """(offer id, distance) of offers meeting the query: the nearest located ones, then virtual ones."""
    found: list[tuple[int, float | None]] = []
    if query.origin is not None and query.radius_km is not None:
        found = [(offer_id, metres / 1000.0) for metres, offer_id in located_within(session, query, now)[:limit]]
        conditions = [*filter_conditions(query, now), Offer.latitude.is_(None)]
    else:
        conditions = filter_conditions(query, now)
        virtual_limit = limit
    found += [(offer_id, None) for offer_id in session.scalars(select(Offer.id).where(*conditions).limit(virtual_limit))]
    return found


@dataclass(frozen=True)
class _Brief:
    """The few columns scoring needs, read without building ORM objects."""

    id: int
    activity_type: str
    sector_codes: tuple[str, ...]


def _briefs(session: DbSession, ids: Sequence[int]) -> dict[int, _Brief]:
    """Activity type and sectors of each offer, in two light queries."""
    sectors: dict[int, list[str]] = {}
    for offer_id, sector in session.execute(select(OfferSector.offer_id, OfferSector.sector).where(OfferSector.offer_id.in_(list(ids)))):
        sectors.setdefault(offer_id, []).append(sector)
    return {
        row.id: _Brief(row.id, row.activity_type, tuple(sectors.get(row.id, ())))
        for row in session.execute(select(Offer.id, Offer.activity_type).where(Offer.id.in_(list(ids))))
    }


def _free_sessions(session: DbSession, offer_ids: Sequence[int], request: MatchRequest, now: dt.datetime,
                   min_notice_days: int) -> dict[int, list[OfferSession]]:
    """Sessions of these offers in the window, far enough ahead, with a free place, soonest first."""
    start, end = session_window(OfferQuery(date_from=request.date_from, date_to=request.date_to), now)
    earliest_day = london_date(now) + dt.timedelta(days=min_notice_days)
    conditions = [OfferSession.offer_id.in_(list(offer_ids)), OfferSession.starts_at > start,
                  OfferSession.booked < OfferSession.capacity]
    if end is not None:
        conditions.append(OfferSession.starts_at < end)
    sessions: dict[int, list[OfferSession]] = {}
    for occurrence in session.scalars(select(OfferSession).where(*conditions).order_by(OfferSession.starts_at)):
        if london_date(occurrence.starts_at) >= earliest_day:
            sessions.setdefault(occurrence.offer_id, []).append(occurrence)
    return sessions


def _busy(session: DbSession, student_ids: Sequence[int], sessions: Sequence[OfferSession]) -> set[tuple[int, int]]:
    """(student id, session id) pairs the student cannot take: already booked on it or at that time."""
    if not sessions or not student_ids:
        return set()
    active = [s.value for s in ACTIVE_BOOKING_STATUSES]
    bookings = session.execute(
        select(Booking.student_id, Booking.session_id, Booking.starts_at, Booking.ends_at)
        .where(Booking.student_id.in_(list(student_ids)), Booking.status.in_(active),
               Booking.ends_at > min(s.starts_at for s in sessions),
               Booking.starts_at < max(s.ends_at for s in sessions))
    ).all()
    busy = set()
    for row in bookings:
        for occurrence in sessions:
            if row.session_id == occurrence.id or (row.starts_at < occurrence.ends_at and row.ends_at > occurrence.starts_at):
                busy.add((row.student_id, occurrence.id))
    return busy


def _load_offers(session: DbSession, ids: Sequence[int]) -> dict[int, Offer]:
    """Offers with what scoring and display need, in one round of queries."""
    return {
        offer.id: offer for offer in session.scalars(
            select(Offer).where(Offer.id.in_(list(ids))).options(
                joinedload(Offer.employer), selectinload(Offer.sectors), selectinload(Offer.features),
                selectinload(Offer.year_groups),
            )
        )
    }


def score_match(offer: Offer | _Brief, distance_km: float | None, radius_km: float, student: Student,
                done: set[str]) -> tuple[int, list[str], bool]:
    """Score, reasons in words, and whether the offer is outside the student's interests."""
    reasons: list[str] = []
    if distance_km is None:
        score, reasons_distance = 20, "Virtual"
    else:
        score = round(40 * max(0.0, 1 - distance_km / radius_km)) if radius_km else 0
        reasons_distance = f"{distance_km:.1f} km"
    reasons.append(reasons_distance)
    needs = student.need_codes
    if needs:
        reasons.append(" ".join(f"{AccessFeature(code).label.lower()} ✓" for code in needs))
    shared = sorted(set(offer.sector_codes) & set(student.interest_codes))
    if shared:
        score += 30
        reasons.append("interested in " + ", ".join(Sector(code).label.lower() for code in shared))
    if offer.activity_type not in done:
        score += 15
        reasons.append(f"new kind of experience: {ActivityType(offer.activity_type).label.lower()}")
    if ActivityType(offer.activity_type) in WORKPLACE_ACTIVITIES and not (done & {a.value for a in WORKPLACE_ACTIVITIES}):
        score += 15
        reasons.append("first workplace experience (Benchmark 6)")
    outside = bool(student.interest_codes) and not shared
    return score, reasons, outside


def match_student(session: DbSession, student: Student, request: MatchRequest, now: dt.datetime | None = None,
                  limit: int = 20) -> MatchOutcome:
    """Ranked, explained sessions one student can be booked on; explanations when there are none."""
    now = now or utcnow()
    school = student.school
    query = _query_for(request, school, student.year_group, student.need_codes, request.radius_km)
    candidates = _candidates(session, query, now, CANDIDATE_LIMIT)
    free = _free_sessions(session, [offer_id for offer_id, _ in candidates], request, now, school.min_notice_days)
    busy = _busy(session, [student.id], [s for sessions in free.values() for s in sessions])
    done = _history(session, [student.id])[student.id]
    briefs = _briefs(session, list(free))
    scored = []
    for offer_id, distance in candidates:
        available = [s for s in free.get(offer_id, []) if (student.id, s.id) not in busy]
        if offer_id not in briefs or not available:
            continue
        score, _, outside = score_match(briefs[offer_id], distance, request.radius_km, student, done)
        scored.append((score, distance, available[0], outside, offer_id))
    scored.sort(key=lambda m: (-m[0], m[1] if m[1] is not None else 1e9, m[2].starts_at))
    shown = scored[:limit]
    different = next((m for m in scored if m[3]), None) if student.interest_codes and not request.sectors else None
    offers = _load_offers(session, [m[4] for m in shown] + ([different[4]] if different else []))

    def as_match(entry: tuple[int, float | None, OfferSession, bool, int]) -> Match:
        score, distance, occurrence, outside, offer_id = entry
        offer = offers[offer_id]
        _, reasons, _ = score_match(offer, distance, request.radius_km, student, done)
        return Match(offer, occurrence, distance, score, reasons, outside)

    matches = [as_match(entry) for entry in shown]
    outcome = MatchOutcome(student, matches)
    if different is not None:
        chosen = as_match(different)
        outcome.something_different = replace(chosen, reasons=[*chosen.reasons, "something different: outside their interests"])
    if not scored:
        outcome.explanations = explain_no_match(session, student, request, now)
    return outcome


def _nearest_km(session: DbSession, query: OfferQuery, now: dt.datetime) -> float | None:
    """Distance to the nearest located offer meeting the query, at any distance (None: none exists)."""
    if query.origin is None:
        return None
    rows = session.execute(
        select(Offer.latitude, Offer.longitude).where(*filter_conditions(query, now), Offer.latitude.is_not(None))
    ).all()
    distances = distances_km(query.origin, [(r.latitude, r.longitude) for r in rows])
    return min(distances) if distances else None


def _any(session: DbSession, query: OfferQuery, now: dt.datetime) -> bool:
    """Whether any offer meets the query (radius included)."""
    return bool(_candidates(session, query, now, 1))


def explain_no_match(session: DbSession, student: Student, request: MatchRequest, now: dt.datetime) -> list[str]:
    """Say which rule leaves nothing, and how far away the nearest offer that would fit is."""
    school = student.school
    radius = request.radius_km
    reasons: list[str] = []
    where = f"within {radius:g} km"
    base = _query_for(request, school, student.year_group, (), radius)
    for need in student.need_codes:
        if not _any(session, replace(base, features=(need,)), now):
            nearest = _nearest_km(session, replace(base, features=(need,), radius_km=None), now)
            label = AccessFeature(need).label.lower()
            reasons.append(f"No offer supports {label} ({need}) {where}"
                           + (f"; the nearest one is {nearest:.0f} km away" if nearest is not None else "; none anywhere yet"))
    if not _any(session, _query_for(request, school, None, student.need_codes, radius), now):
        nearest = _nearest_km(session, _query_for(request, school, None, student.need_codes, None), now)
        reasons.append(f"No offer that fits {student.first_name}'s needs is open {where}"
                       + (f"; the nearest is {nearest:.0f} km away" if nearest is not None else ""))
    elif not _any(session, _query_for(request, school, student.year_group, (), radius), now):
        reasons.append(f"No offer {where} is open to Year {student.year_group}")
    if not reasons:
        reasons.append("Offers fit, but none has a session with a free place in the dates chosen, "
                       "or the student is already booked at those times")
    return reasons


# --- groups ---------------------------------------------------------------------------


def priority_key(student: Student, has_workplace_experience: bool) -> tuple[int, int, int, str]:
    """Who comes first when places are scarce: no workplace experience yet, disadvantaged, EHCP."""
    return (
        0 if not has_workplace_experience else 1,
        0 if student.disadvantaged else 1,
        0 if student.send_status == SendStatus.EHCP.value else 1,
        f"{student.last_name} {student.first_name}",
    )


@dataclass
class GroupMatch:
    """An offer's best session for a group: who fits (priority order) and who does not, and why."""

    offer: Offer
    session: OfferSession
    distance_km: float | None
    fits: list[Student]
    misfits: list[tuple[Student, str]]

    @property
    def free_places(self) -> int:
        """Places still free on the session."""
        return self.session.capacity - self.session.booked


def match_group(session: DbSession, school: School, students: Sequence[Student], request: MatchRequest,
                now: dt.datetime | None = None, limit: int = 20) -> list[GroupMatch]:
    """Offers for a group, each with how many of the group it fits and who it doesn't fit and why."""
    now = now or utcnow()
    if not students:
        return []
    query = _query_for(request, school, None, (), request.radius_km)
    candidates = _candidates(session, query, now, CANDIDATE_LIMIT)
    offers = _load_offers(session, [offer_id for offer_id, _ in candidates])
    free = _free_sessions(session, list(offers), request, now, school.min_notice_days)
    first_sessions = [sessions[0] for sessions in free.values()]
    busy = _busy(session, [s.id for s in students], first_sessions)
    history = _history(session, [s.id for s in students])
    workplace = {a.value for a in WORKPLACE_ACTIVITIES}
    ordered = sorted(students, key=lambda s: priority_key(s, bool(history[s.id] & workplace)))
    results = []
    for offer_id, distance in candidates:
        offer, sessions = offers.get(offer_id), free.get(offer_id)
        if offer is None or not sessions:
            continue
        occurrence = sessions[0]
        fits, misfits = [], []
        for student in ordered:
            missing = sorted(set(student.need_codes) - set(offer.feature_codes))
            if student.year_group not in offer.year_group_numbers:
                misfits.append((student, f"not open to Year {student.year_group}"))
            elif missing:
                misfits.append((student, "needs " + ", ".join(AccessFeature(c).label.lower() for c in missing)))
            elif (student.id, occurrence.id) in busy:
                misfits.append((student, "already booked at that time"))
            else:
                fits.append(student)
        if fits:
            results.append(GroupMatch(offer, occurrence, distance, fits, misfits))
    results.sort(key=lambda g: (-len(g.fits), g.distance_km if g.distance_km is not None else 1e9))
    return results[:limit]


def students_in_group(session: DbSession, school: School, *, year_group: int | None = None,
                      tutor_group: str | None = None, student_ids: Sequence[int] = ()) -> list[Student]:
    """The school's students on roll in a year group, a tutor group, or a hand-picked list."""
    conditions = [Student.school_id == school.id, Student.left_on.is_(None)]
    if year_group is not None:
        conditions.append(Student.year_group == year_group)
    if tutor_group:
        conditions.append(Student.tutor_group == tutor_group)
    if student_ids:
        conditions.append(Student.id.in_(list(student_ids)))
    if year_group is None and not tutor_group and not student_ids:
        return []
    return list(session.scalars(
        select(Student).where(and_(*conditions)).options(selectinload(Student.needs), selectinload(Student.interests))
        .order_by(Student.last_name, Student.first_name)
    ))


def student_to_match(session: DbSession, scope: Select[Any], student_id: int) -> Student | None:
    """One student from the caller's permitted scope, with the needs and interests matching reads."""
    return session.scalars(
        scope.where(Student.id == student_id).options(selectinload(Student.needs), selectinload(Student.interests))
    ).first()
