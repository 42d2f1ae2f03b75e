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
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, literal, or_, select, union_all
from sqlalchemy.orm import joinedload, selectinload

from portal.adjustments.services import Grants, grants_for
from portal.bookings.confirmations import confirmed_by_offer
from portal.bookings.models import Booking
from portal.core.dates import london_date, start_of_london_day
from portal.core.vocab import (
    ACTIVE_BOOKING_STATUSES,
    WORKPLACE_ACTIVITIES,
    AccessFeature,
    ActivityType,
    BookingStatus,
    MatchRule,
    MeaningfulCriterion,
    Sector,
    SendStatus,
    SupportingAdultRole,
)
from portal.db import DbSession, any_of, utcnow
from portal.offers.models import (
    FEATURE_BITS,
    Offer,
    OfferCriterion,
    OfferFeature,
    OfferSector,
    OfferSession,
    features_mask,
)
from portal.offers.search import (
    OfferQuery,
    filter_conditions,
    located_rows_within,
    located_within,
    nearest_rows,
    session_window,
    virtual_offer,
)
from portal.organisations.models import School, Student

DEFAULT_RADIUS_KM = 15.0
CANDIDATE_LIMIT = 60  # nearest located offers considered per match
VIRTUAL_LIMIT = 20  # virtual offers considered per match
DONE_STATUSES = (BookingStatus.CONFIRMED.value, BookingStatus.COMPLETED.value)
# An offer the student is booked on, or has done, is not suggested again.
TAKEN_STATUSES = (BookingStatus.REQUESTED.value, BookingStatus.CONFIRMED.value, BookingStatus.COMPLETED.value)
NEAR_MISS_MAX_MISSING = 2  # a near miss lacks one or two of the student's needs
NEAR_MISSES_SHOWN = 5
# How far the "nearest one is ... km away" search looks (km): all of Great Britain.
NEAREST_ANYWHERE_KM = 1200.0


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


@dataclass(frozen=True)
class NearMiss:
    """A session that passes every hard rule but lacks one or two of the student's needs: not bookable as it is."""

    offer: Offer
    session: OfferSession
    distance_km: float | None
    missing: tuple[str, ...]

    @property
    def missing_labels(self) -> list[str]:
        """The needs it lacks, in words."""
        return [AccessFeature(code).in_sentence for code in self.missing]


@dataclass(frozen=True)
class UnmetNeed:
    """A need no bookable session within the distance supports, and how far the nearest that does is."""

    need: str
    nearest_km: float | None  # None: no session supports it anywhere (that passes the other rules)


@dataclass
class MatchOutcome:
    """Ranked matches for one student, near misses, and why there are none when the list is empty."""

    student: Student
    matches: list[Match]
    something_different: Match | None = None
    explanations: list[str] = field(default_factory=list)
    unmet: list[UnmetNeed] = field(default_factory=list)
    blocked_by: list[MatchRule] = field(default_factory=list)  # the rules other than needs that leave nothing
    near_misses: list[NearMiss] = field(default_factory=list)


@dataclass(frozen=True)
class Rules:
    """Which of matching's hard rules other than needs a search applies: each is relaxed in turn to find what blocks."""

    year_group: bool = True
    dates: bool = True
    free_place: bool = True
    notice: bool = True
    filters: bool = True
    supporting_adult: bool = True  # for a student who must attend with one: the offer accepts one, a place is free
    busy: bool = True  # the student is not already booked on the session or at its time


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


def _adult_place_free() -> ColumnElement[bool]:
    """The session still has a place for a supporting adult (against its offer's limit)."""
    limit = select(Offer.supporting_adults_max).where(Offer.id == OfferSession.offer_id).scalar_subquery()
    return OfferSession.adults_booked < limit


def _not_busy(student_id: int) -> ColumnElement[bool]:
    """The student has no active booking on the session in hand or overlapping its time."""
    active = [status.value for status in ACTIVE_BOOKING_STATUSES]
    return ~exists().where(
        Booking.student_id == student_id, Booking.status.in_(active),
        or_(Booking.session_id == OfferSession.id,
            and_(Booking.starts_at < OfferSession.ends_at, Booking.ends_at > OfferSession.starts_at)))


def _bookable_session(request: MatchRequest, now: dt.datetime, min_notice_days: int, rules: Rules,
                      adult: bool = False, student_id: int | None = None) -> ColumnElement[bool]:
    """The offer has a session inside the window, far enough ahead, with a free place (as far as `rules` ask), with
    a place for the student's supporting adult when `adult`, and that the student (if given) is free for."""
    start, end = session_window(OfferQuery(date_from=request.date_from, date_to=request.date_to) if rules.dates
                                else OfferQuery(), now)
    if rules.notice:
        start = max(start, start_of_london_day(london_date(now) + dt.timedelta(days=min_notice_days)))
    conditions: list[ColumnElement[bool]] = [OfferSession.offer_id == Offer.id, OfferSession.starts_at >= start]
    if end is not None:
        conditions.append(OfferSession.starts_at < end)
    if rules.free_place:
        conditions.append(OfferSession.booked < OfferSession.capacity)
    if adult:
        conditions.append(OfferSession.adults_booked < Offer.supporting_adults_max)
    if student_id is not None and rules.busy:
        conditions.append(_not_busy(student_id))
    return exists().where(*conditions)


def _taken(session: DbSession, student_ids: Sequence[int], offer_ids: Sequence[int]) -> set[tuple[int, int]]:
    """(student id, offer id) pairs where the student is booked on the offer or has done it."""
    if not student_ids or not offer_ids:
        return set()
    return {(row.student_id, row.offer_id) for row in session.execute(
        select(Booking.student_id, OfferSession.offer_id).join(OfferSession, OfferSession.id == Booking.session_id)
        .where(Booking.student_id.in_(list(student_ids)), OfferSession.offer_id.in_(list(offer_ids)),
               Booking.status.in_(TAKEN_STATUSES)))}


def _not_taken(student_id: int) -> ColumnElement[bool]:
    """The student is not booked on the offer and has not done it already."""
    taken = (select(OfferSession.offer_id).join(Booking, Booking.session_id == OfferSession.id)
             .where(Booking.student_id == student_id, Booking.status.in_(TAKEN_STATUSES)))
    return Offer.id.not_in(taken)


def student_query(student: Student, request: MatchRequest, now: dt.datetime, *, needs: Sequence[str] | None = None,
                  rules: Rules = Rules(), radius: float | None = None, bookable: bool = True) -> OfferQuery:
    """Every hard rule for one student as an offer search: `needs` (default the student's) and `rules` relax it;
    bookable=False leaves out "a session the student could book", for a caller that asks it of few (_Bookable)."""
    school = student.school
    query = _query_for(
        MatchRequest(activity_types=request.activity_types if rules.filters else (),
                     sectors=request.sectors if rules.filters else (),
                     date_from=request.date_from if rules.dates else None,
                     date_to=request.date_to if rules.dates else None, radius_km=request.radius_km),
        school, student.year_group if rules.year_group else None,
        student.need_codes if needs is None else needs, request.radius_km if radius is None else radius)
    adult = student.needs_supporting_adult and rules.supporting_adult
    bookable_session = (_bookable_session(request, now, school.min_notice_days, rules, adult, student.id),) if bookable else ()
    return replace(query, extra=(*bookable_session, _not_taken(student.id)))


class _Bookable:
    """Which offers have a session the student could book (in the window, far enough ahead, a free place, a place
    for their supporting adult, not at the time of another booking), asked of the database a batch at a time and
    remembered: a wide search reads many offers but needs this of few."""

    BATCH = 40

    def __init__(self, session: DbSession, student: Student, request: MatchRequest, now: dt.datetime) -> None:
        self.session = session
        self.condition = _bookable_session(request, now, student.school.min_notice_days, Rules(),
                                           student.needs_supporting_adult, student.id)
        self.known: dict[int, bool] = {}

    def check(self, ids: Sequence[int]) -> None:
        """Learn about the offers not yet asked about."""
        unknown = [offer_id for offer_id in ids if offer_id not in self.known]
        if unknown:
            yes = set(self.session.scalars(select(Offer.id).where(any_of(Offer.id, unknown), self.condition)))
            self.known.update((offer_id, offer_id in yes) for offer_id in unknown)

    def first(self, rows: Iterable[Any], wanted: int, keep: Callable[[Any], bool] | None = None) -> list[Any]:
        """The first `wanted` rows (metres, id, ...) that `keep` keeps (all by default) and that are bookable, asking
        about a batch at a time and no more rows than it takes."""
        chosen: list[Any] = []
        batch: list[Any] = []
        for row in rows:
            if keep is not None and not keep(row):
                continue
            batch.append(row)
            if len(batch) >= max(self.BATCH, wanted - len(chosen)):
                chosen += self._bookable(batch)
                batch = []
                if len(chosen) >= wanted:
                    return chosen[:wanted]
        return (chosen + self._bookable(batch))[:wanted]

    def _bookable(self, rows: Sequence[Any]) -> list[Any]:
        """The rows (metres, id, ...) whose offer is bookable."""
        self.check([row[1] for row in rows])
        return [row for row in rows if self.known[row[1]]]


def _candidates(session: DbSession, query: OfferQuery, now: dt.datetime, limit: int,
                virtual_limit: int = VIRTUAL_LIMIT) -> list[tuple[int, float | None]]:
    """(offer id, distance) of offers meeting the query: the nearest located ones, then virtual ones."""
    found: list[tuple[int, float | None]] = []
    if query.origin is not None and query.radius_km is not None:
        found = [(offer_id, metres / 1000.0) for metres, offer_id in located_within(session, query, now, limit=limit)]
        conditions = [*filter_conditions(query, now), virtual_offer()]
    else:
        conditions = filter_conditions(query, now)
        virtual_limit = limit
    found += [(offer_id, None) for offer_id in session.scalars(select(Offer.id).where(*conditions).limit(virtual_limit))]
    return found


@dataclass
class _Candidates:
    """A student's candidates for matches and for near misses, from one widening search of the offers that pass
    every rule but needs (each with its feature mask): the matches are the ones that have every need."""

    strict: list[tuple[int, float | None]]
    near: list[tuple[int, float | None]]
    masks: dict[int, int]
    # (metres, id, mask) of every located offer within the radius that passes the rules but needs (whether one
    # can be booked is asked of the _Bookable), when the search had to read them all (too few had every need):
    # what the reasons for no match judge.
    everything: tuple[list[tuple[float, int, int]], _Bookable] | None = None


def _candidates_with_needs(session: DbSession, student: Student, request: MatchRequest,
                           now: dt.datetime) -> _Candidates | None:
    """The candidates of a located student with needs, or None when the school has no location (no distance).

    The offers that pass every rule but needs are read with their masks, and whether each could be booked is asked
    only of those that can be candidates, until the disc holds enough bookable ones that have every need."""
    near_query = student_query(student, request, now, needs=(), bookable=False)
    if near_query.origin is None or near_query.radius_km is None:
        return None
    need_mask = features_mask(student.need_codes) or 0
    bookable = _Bookable(session, student, request, now)

    def with_every_need(rows: Sequence[Any]) -> list[Any]:
        return [row for row in rows if row[2] & need_mask == need_mask]

    def bookable_with_every_need(rows: Sequence[Any]) -> int:
        return len(bookable.first(with_every_need(rows), CANDIDATE_LIMIT))

    located = nearest_rows(session, near_query, now, CANDIDATE_LIMIT, Offer.feature_mask, count=bookable_with_every_need)
    masks = {offer_id: mask for _, offer_id, mask in located}
    strict: list[tuple[int, float | None]] = [
        (offer_id, metres / 1000.0) for metres, offer_id, _ in bookable.first(with_every_need(located), CANDIDATE_LIMIT)]
    near: list[tuple[int, float | None]] = [
        (offer_id, metres / 1000.0) for metres, offer_id, _ in bookable.first(located, CANDIDATE_LIMIT)]
    complete = len(strict) < CANDIDATE_LIMIT
    strict_query = student_query(student, request, now)
    strict += [(offer_id, None) for offer_id in session.scalars(
        select(Offer.id).where(*filter_conditions(strict_query, now), virtual_offer()).limit(VIRTUAL_LIMIT))]
    for offer_id, mask in session.execute(select(Offer.id, Offer.feature_mask).where(
            *filter_conditions(student_query(student, request, now, needs=()), now), virtual_offer())
            .limit(VIRTUAL_LIMIT)):
        near.append((offer_id, None))
        masks[offer_id] = mask
    return _Candidates(strict, near, masks, (located, bookable) if complete else None)


@dataclass(frozen=True)
class _Brief:
    """The few columns scoring needs, read without building ORM objects."""

    id: int
    activity_type: str
    sector_codes: tuple[str, ...]
    criterion_codes: tuple[str, ...]
    feature_codes: tuple[str, ...]


def _briefs(session: DbSession, ids: Sequence[int]) -> dict[int, _Brief]:
    """Activity type, sectors, criteria and features (from the mask) of each offer, in two light queries."""
    if not ids:
        return {}
    codes: dict[tuple[int, str], list[str]] = {}
    for offer_id, kind, code in session.execute(union_all(
        select(OfferSector.offer_id, literal("sector"), OfferSector.sector).where(any_of(OfferSector.offer_id, ids)),
        select(OfferCriterion.offer_id, literal("criterion"), OfferCriterion.criterion)
        .where(any_of(OfferCriterion.offer_id, ids)),
    )):
        codes.setdefault((offer_id, kind), []).append(code)
    return {
        row.id: _Brief(row.id, row.activity_type, tuple(codes.get((row.id, "sector"), ())),
                       tuple(codes.get((row.id, "criterion"), ())),
                       tuple(code for code, bit in FEATURE_BITS.items() if row.feature_mask & bit))
        for row in session.execute(select(Offer.id, Offer.activity_type, Offer.feature_mask).where(any_of(Offer.id, ids)))
    }


def _free_sessions(session: DbSession, offer_ids: Sequence[int], request: MatchRequest, now: dt.datetime,
                   min_notice_days: int, *, free_only: bool = True, adult: bool = False,
                   light: bool = False) -> dict[int, list[Any]]:
    """Sessions of these offers in the window, far enough ahead, with a free place (unless not asked) and a
    supporting adult's place when `adult`, soonest first: OfferSessions, or when `light` rows of the few columns
    ranking reads (id, offer_id, starts_at, ends_at), without building ORM objects."""
    start, end = session_window(OfferQuery(date_from=request.date_from, date_to=request.date_to), now)
    earliest_day = london_date(now) + dt.timedelta(days=min_notice_days)
    conditions = [any_of(OfferSession.offer_id, offer_ids), OfferSession.starts_at > start]
    if free_only:
        conditions.append(OfferSession.booked < OfferSession.capacity)
    if adult:
        conditions.append(_adult_place_free())
    if end is not None:
        conditions.append(OfferSession.starts_at < end)
    sessions: dict[int, list[Any]] = {}
    read = (session.execute(select(OfferSession.id, OfferSession.offer_id, OfferSession.starts_at, OfferSession.ends_at)
                            .where(*conditions).order_by(OfferSession.starts_at)) if light
            else session.scalars(select(OfferSession).where(*conditions).order_by(OfferSession.starts_at)))
    for occurrence in read:
        if london_date(occurrence.starts_at) >= earliest_day:
            sessions.setdefault(occurrence.offer_id, []).append(occurrence)
    return sessions


def _busy(session: DbSession, student_ids: Sequence[int], sessions: Sequence[Any]) -> set[tuple[int, int]]:
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
    """Offers with their codes and employer, in one round of queries (for group matching, which reads the codes)."""
    return {
        offer.id: offer for offer in session.scalars(
            select(Offer).where(Offer.id.in_(list(ids))).options(
                joinedload(Offer.employer), selectinload(Offer.sectors), selectinload(Offer.features),
                selectinload(Offer.year_groups), selectinload(Offer.criteria),
            )
        )
    }


def _cards(session: DbSession, ids: Sequence[int]) -> dict[int, Offer]:
    """Offers with their employer, as a result card shows them (title, employer, activity): one query."""
    if not ids:
        return {}
    return {offer.id: offer for offer in session.scalars(
        select(Offer).where(any_of(Offer.id, ids)).options(joinedload(Offer.employer)))}


MAX_SCORE = 100  # scores are out of 100: an offer that earns more (every bonus at once) scores 100
CONFIRMED_FEATURE_POINTS = 5  # per need of the student that schools have confirmed on the offer
CRITERION_POINTS = 2  # per meaningful-experience criterion the offer provides (at most 12: below a shared interest)


def score_match(offer: Offer | _Brief, distance_km: float | None, radius_km: float, student: Student,
                done: set[str], confirmed: Collection[str] = (), *, interests: Collection[str] | None = None,
                with_reasons: bool = True) -> tuple[int, list[str], bool]:
    """Score, reasons in words (unless not wanted: ranking needs only the score), and whether the offer is outside
    the student's interests (`interests`, when given, saves reading them again for every offer).

    A need the offer supports scores more when schools have confirmed the feature after placements
    (`confirmed`) than when the employer only declares it.
    """
    interests = student.interest_codes if interests is None else interests
    reasons: list[str] = []
    if distance_km is None:
        score = 20
    else:
        score = round(40 * max(0.0, 1 - distance_km / radius_km)) if radius_km else 0
    if with_reasons:
        reasons.append("Virtual" if distance_km is None else f"{distance_km:.1f} km")
    needs = student.need_codes if with_reasons or confirmed else ()
    if needs and with_reasons:
        reasons.append(" ".join(f"{AccessFeature(code).in_sentence} ✓" for code in needs))
    checked = [code for code in needs if code in confirmed]
    if checked:
        score += CONFIRMED_FEATURE_POINTS * len(checked)
        if with_reasons:
            reasons.append(" and ".join(AccessFeature(code).in_sentence for code in checked) + " confirmed by schools")
    shared = sorted(set(offer.sector_codes).intersection(interests))
    if shared:
        score += 30
        if with_reasons:
            reasons.append("interested in " + ", ".join(Sector(code).label.lower() for code in shared))
    if offer.activity_type not in done:
        score += 15
        if with_reasons:
            reasons.append(f"new kind of experience: {ActivityType(offer.activity_type).label.lower()}")
    if offer.activity_type in _WORKPLACE_CODES and not (done & _WORKPLACE_CODES):
        score += 15
        if with_reasons:
            reasons.append("first workplace experience (Benchmark 6)")
    provided = len(set(offer.criterion_codes))
    if provided:
        score += CRITERION_POINTS * provided
        if with_reasons:
            reasons.append(f"provides {provided} of the {len(MeaningfulCriterion)} marks of a meaningful experience")
    outside = bool(interests) and not shared
    return min(score, MAX_SCORE), reasons, outside


_WORKPLACE_CODES = frozenset(activity.value for activity in WORKPLACE_ACTIVITIES)


def _available(session: DbSession, student: Student, query: OfferQuery | None, request: MatchRequest, now: dt.datetime,
               limit: int = CANDIDATE_LIMIT, *, rules: Rules = Rules(),
               candidates: list[tuple[int, float | None]] | None = None) -> list[tuple[int, float | None, list[Any]]]:
    """(offer id, distance, bookable sessions soonest first, as light rows) of the offers the query finds (or of
    the `candidates` already found for it), nearest first."""
    if candidates is None:
        candidates = _candidates(session, query or student_query(student, request, now, rules=rules), now, limit)
    window = request if rules.dates else replace(request, date_from=None, date_to=None)
    free = _free_sessions(session, [offer_id for offer_id, _ in candidates], window, now,
                          student.school.min_notice_days if rules.notice else 0, free_only=rules.free_place,
                          adult=student.needs_supporting_adult and rules.supporting_adult, light=True)
    busy = _busy(session, [student.id], [s for sessions in free.values() for s in sessions]) if rules.busy else set()
    found = []
    for offer_id, distance in candidates:
        sessions = [s for s in free.get(offer_id, []) if (student.id, s.id) not in busy]
        if sessions:
            found.append((offer_id, distance, sessions))
    return found


def match_student(session: DbSession, student: Student, request: MatchRequest, now: dt.datetime | None = None,
                  limit: int = 20) -> MatchOutcome:
    """Ranked, explained sessions one student can be booked on; near misses; true reasons when there are none."""
    now = now or utcnow()
    found = _candidates_with_needs(session, student, request, now) if student.need_codes else None
    available = _available(session, student, None, request, now, candidates=found.strict if found is not None else None)
    grants = grants_for(session, student)
    if grants.offers:
        available += _granted(session, student, request, now, grants, {offer_id for offer_id, _, _ in available})
    done = _history(session, [student.id])[student.id]
    briefs = _briefs(session, [offer_id for offer_id, _, _ in available])
    confirmed = confirmed_by_offer(session, list(briefs)) if student.need_codes else {}
    scored = []
    interests = student.interest_codes
    for offer_id, distance, sessions in available:
        score, _, outside = score_match(briefs[offer_id], distance, request.radius_km, student, done,
                                        confirmed.get(offer_id, set()), interests=interests, with_reasons=False)
        scored.append((score, distance, sessions[0], outside, offer_id))
    scored.sort(key=lambda m: (-m[0], m[1] if m[1] is not None else 1e9, m[2].starts_at))
    shown = scored[:limit]
    shown_ids = {m[4] for m in shown}
    different = (next((m for m in scored if m[3] and m[4] not in shown_ids), None)
                 if student.interest_codes and not request.sectors else None)
    offers = _cards(session, [m[4] for m in shown] + ([different[4]] if different else []))
    occurrences = {occurrence.id: occurrence for occurrence in session.scalars(select(OfferSession).where(
        any_of(OfferSession.id, [m[2].id for m in shown] + ([different[2].id] if different else []))))}

    def as_match(entry: tuple[int, float | None, Any, bool, int]) -> Match:
        score, distance, slot, outside, offer_id = entry
        offer, brief, occurrence = offers[offer_id], briefs[offer_id], occurrences[slot.id]
        _, reasons, _ = score_match(brief, distance, request.radius_km, student, done, confirmed.get(offer_id, set()))
        if student.supporting_adult is not None:
            left = offer.supporting_adults_max - occurrence.adults_booked
            adult = SupportingAdultRole(student.supporting_adult).in_sentence
            reasons.append(f"room for the {adult} to attend "
                           f"({left} supporting adult place{'s' if left != 1 else ''} left)")
        agreed = sorted(grants.needs_for(occurrence.id) - set(brief.feature_codes))
        if agreed:
            reasons.append(f"{employer_agreed(agreed)} for this session")
        return Match(offer, occurrence, distance, score, reasons, outside)

    outcome = MatchOutcome(student, [as_match(entry) for entry in shown])
    if different is not None:
        chosen = as_match(different)
        outcome.something_different = replace(chosen, reasons=[*chosen.reasons, "something different: outside their interests"])
    if student.need_codes:
        matched = {offer_id for offer_id, _, _ in available}
        outcome.near_misses = [miss for miss in near_misses(session, student, request, now, found)
                               if miss.offer.id not in matched]
    if not scored:
        explain_no_match(session, student, request, now, outcome, found.everything if found is not None else None)
    return outcome


def employer_agreed(codes: Sequence[str]) -> str:
    """'the employer agreed to provide flexible hours'."""
    return "the employer agreed to provide " + " and ".join(AccessFeature(code).in_sentence for code in codes)


def _granted(session: DbSession, student: Student, request: MatchRequest, now: dt.datetime, grants: Grants,
             found: set[int]) -> list[tuple[int, float | None, list[Any]]]:
    """Offers not found by the strict rules whose sessions an employer's yes makes fit: every other rule holds
    and each need is either on the offer or agreed for that very session."""
    wanted = sorted(grants.offers - found)
    if not wanted:
        return []
    query = student_query(student, request, now, needs=())
    query = replace(query, extra=(*query.extra, Offer.id.in_(wanted)))
    supported: dict[int, set[str]] = {offer_id: set() for offer_id in wanted}
    for offer_id, feature in session.execute(
            select(OfferFeature.offer_id, OfferFeature.feature).where(OfferFeature.offer_id.in_(wanted))):
        supported[offer_id].add(feature)
    needs = set(student.need_codes)
    granted = []
    for offer_id, distance, sessions in _available(session, student, query, request, now):
        fitting = [s for s in sessions if needs <= supported[offer_id] | grants.needs_for(s.id)]
        if fitting:
            granted.append((offer_id, distance, fitting))
    return granted


def near_misses(session: DbSession, student: Student, request: MatchRequest, now: dt.datetime,
                found: _Candidates | None = None) -> list[NearMiss]:
    """The nearest sessions that pass every hard rule but lack one or two of the student's needs, fewest missing first.

    The candidates (those `found` with the matches, when given) are judged by their feature masks; sessions are
    read only for the few shown."""
    needs = student.need_codes
    if found is not None:
        candidates, masks = found.near, found.masks
    else:
        candidates = _candidates(session, student_query(student, request, now, needs=()), now, CANDIDATE_LIMIT)
        masks = dict(session.execute(select(Offer.id, Offer.feature_mask)
                                     .where(any_of(Offer.id, [offer_id for offer_id, _ in candidates]))).tuples().all()
                     ) if candidates else {}
    lacking = []
    for offer_id, distance in candidates:
        missing = tuple(sorted(code for code in needs if not masks[offer_id] & FEATURE_BITS[code]))
        if 0 < len(missing) <= NEAR_MISS_MAX_MISSING:
            lacking.append((len(missing), distance if distance is not None else 1e9, offer_id, distance, missing))
    lacking.sort(key=lambda m: m[:3])
    shown = lacking[:NEAR_MISSES_SHOWN]
    if not shown:
        return []
    ids = [offer_id for _, _, offer_id, _, _ in shown]
    free = _free_sessions(session, ids, request, now, student.school.min_notice_days,
                          adult=student.needs_supporting_adult)
    busy = _busy(session, [student.id], [s for sessions in free.values() for s in sessions])
    offers = _cards(session, ids)
    misses = []
    for _, _, offer_id, distance, missing in shown:
        first = next((s for s in free.get(offer_id, []) if (student.id, s.id) not in busy), None)
        if first is not None:  # the SQL found a bookable session the student is free for: this is it
            misses.append(NearMiss(offers[offer_id], first, distance, missing))
    return misses


def _any(session: DbSession, student: Student, request: MatchRequest, now: dt.datetime, *,
         needs: Sequence[str] | None = None, rules: Rules = Rules()) -> bool:
    """Whether some session passes the rules asked for (a check behind one sentence of a reason): the nearest
    located offer or any virtual one, in SQL, which checks every rule (a bookable session the student is free for)."""
    query = student_query(student, request, now, needs=needs, rules=rules)
    if query.origin is not None and query.radius_km is not None:
        if located_within(session, query, now, limit=1):
            return True
        conditions = [*filter_conditions(query, now), virtual_offer()]
    else:
        conditions = filter_conditions(query, now)
    return session.scalar(select(Offer.id).where(*conditions).limit(1)) is not None


def _nearest_km(session: DbSession, student: Student, request: MatchRequest, now: dt.datetime,
                needs: Sequence[str]) -> float | None:
    """How far the nearest located session is that passes every rule but distance (None: none in Great Britain).

    Called when none is within the radius, so the search starts there and widens by the density it finds."""
    query = student_query(student, request, now, needs=needs, radius=NEAREST_ANYWHERE_KM)
    if query.origin is None:
        return None
    nearest = located_within(session, query, now, limit=1, first_metres=request.radius_km * 1000.0)
    return nearest[0][0] / 1000.0 if nearest else None


@dataclass(frozen=True)
class _Open:
    """An offer within the distance that passes every rule but needs: how far (None: virtual) and its features."""

    offer_id: int
    distance_km: float | None
    feature_mask: int


def _open_virtual(session: DbSession, student: Student, request: MatchRequest, now: dt.datetime) -> list[_Open]:
    """One virtual offer (the first) of each set of features that the student could book but for their needs (every
    one when the school has no location, which no distance applies to)."""
    query = student_query(student, request, now, needs=())
    conditions = filter_conditions(query, now)
    if query.origin is not None and query.radius_km is not None:
        conditions = [*conditions, virtual_offer()]
    virtual = session.execute(select(Offer.feature_mask, func.min(Offer.id)).where(*conditions)
                              .group_by(Offer.feature_mask))
    return sorted((_Open(offer_id, None, mask) for mask, offer_id in virtual), key=lambda entry: entry.offer_id)


def explain_no_match(session: DbSession, student: Student, request: MatchRequest, now: dt.datetime,
                     outcome: MatchOutcome,
                     located: tuple[Sequence[tuple[float, int, int]], _Bookable] | None = None) -> None:
    """Say truly what leaves nothing: the rules other than needs when they already exclude everything, else each
    need no session within the distance supports (and how far the nearest is), and what comes closest.

    Judged from every located offer within the distance that passes the rules but needs (`located`, when the match
    search read them already, asking whether one can be booked only of the few that decide a sentence), then, when
    those leave a sentence open, from the virtual ones, which come after them."""
    where, name = f"within {request.radius_km:g} km", student.first_name
    needs = student.need_codes
    need_mask = features_mask(needs) or 0
    if located is not None:
        rows, bookable = located

        def first(keep: Callable[[Any], bool] | None) -> Any:
            found = bookable.first(rows, 1, keep)
            return found[0] if found else None
    else:
        query = student_query(student, request, now, needs=())
        rows = (sorted(located_rows_within(session, query, now, Offer.feature_mask))
                if query.origin is not None and query.radius_km is not None else [])

        def first(keep: Callable[[Any], bool] | None) -> Any:
            return next((row for row in rows if keep is None or keep(row)), None)

    def lacks_one(mask: int) -> bool:
        return bin(mask & need_mask).count("1") == len(needs) - 1

    def supports(need: str) -> Callable[[Any], bool]:
        return lambda row: bool(row[2] & FEATURE_BITS[need])

    any_located = first(None)
    supported = {need for need in needs if first(supports(need))}
    closest = first(lambda row: lacks_one(row[2])) if len(needs) > 1 else None
    virtual: list[_Open] = []
    if any_located is None or len(supported) < len(needs) or (len(needs) > 1 and closest is None):
        virtual = _open_virtual(session, student, request, now)
    if any_located is None and not virtual:
        outcome.blocked_by, outcome.explanations = _blocking_rules(session, student, request, now)
        return
    supported |= {need for need in needs for entry in virtual if entry.feature_mask & FEATURE_BITS[need]}
    for need in needs:
        if need not in supported:
            nearest = _nearest_km(session, student, request, now, (need,))
            outcome.unmet.append(UnmetNeed(need, nearest))
            outcome.explanations.append(
                f"No session {where} that {name} could otherwise book supports {AccessFeature(need).in_sentence}"
                + (f"; the nearest that does is {nearest:.0f} km away" if nearest is not None
                   else "; none does anywhere yet"))
    if len(needs) > 1:
        if not outcome.unmet:
            outcome.explanations.append(f"Each of {name}'s needs is supported by a session {where}, but no one "
                                        "session supports them all")
        if closest is not None:
            offer_id, distance, mask = closest[1], closest[0] / 1000.0, closest[2]
        else:
            online = next((entry for entry in virtual if lacks_one(entry.feature_mask)), None)
            offer_id, distance, mask = (online.offer_id, None, online.feature_mask) if online else (None, None, 0)
        if offer_id is None:
            outcome.explanations.append(f"No session {where} that {name} could otherwise book meets all but one "
                                        f"of {name}'s needs")
        else:
            lacking = next(need for need in needs if not mask & FEATURE_BITS[need])
            title = _cards(session, [offer_id])[offer_id].title
            away = "online" if distance is None else f"{distance:.1f} km away"
            outcome.explanations.append(f"Closest to fitting: {title} ({away}) has everything but "
                                        f"{AccessFeature(lacking).in_sentence}")


def _blocking_rules(session: DbSession, student: Student, request: MatchRequest,
                    now: dt.datetime) -> tuple[list[MatchRule], list[str]]:
    """The rules other than needs that leave nothing within the distance, each with its sentence."""
    where, name = f"within {request.radius_km:g} km", student.first_name
    blocked: list[MatchRule] = []
    said: list[str] = []

    def relaxing(**changes: bool) -> bool:
        return _any(session, student, request, now, needs=(), rules=Rules(**changes))

    if relaxing(year_group=False):
        blocked.append(MatchRule.YEAR_GROUP)
        said.append(f"No session {where} that {name} could otherwise book is open to Year {student.year_group}; "
                    "there are sessions for other year groups")
    if (request.date_from or request.date_to) and relaxing(dates=False):
        blocked.append(MatchRule.DATES)
        said.append(f"No session {where} that {name} could book falls in the dates chosen; there are some at other dates")
    if (request.activity_types or request.sectors) and relaxing(filters=False):
        blocked.append(MatchRule.FILTERS)
        said.append(f"No session {where} that {name} could otherwise book is of the kinds of activity or sectors "
                    "chosen; there are others")
    if student.needs_supporting_adult and relaxing(supporting_adult=False):
        blocked.append(MatchRule.SUPPORTING_ADULT)
        said.append(f"No session {where} that {name} could otherwise book has a place for the supporting adult "
                    f"{name} must attend with")
    if relaxing(free_place=False):
        blocked.append(MatchRule.FULL)
        said.append(f"Every session {where} that {name} could otherwise book is full")
    if relaxing(notice=False):
        blocked.append(MatchRule.NOTICE)
        said.append(f"Every session {where} that {name} could otherwise book starts too soon: your school asks for "
                    f"{student.school.min_notice_days} days' notice")
    if _any(session, student, request, now, needs=(), rules=Rules(busy=False)):
        blocked.append(MatchRule.BUSY)
        said.append(f"{name} is already booked at the times of every session {where} that would otherwise fit")
    nearest = _nearest_km(session, student, request, now, ())
    if nearest is not None:
        blocked.append(MatchRule.DISTANCE)
        said.append(f"No session {where} is open to {name}, whatever the needs; the nearest that is open is "
                    f"{nearest:.0f} km away")
    if not blocked:
        said.append(f"No session {name} could book is open yet, at any distance, whatever the needs")
    return blocked, said


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
    taken = _taken(session, [s.id for s in students], list(offers))
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
                misfits.append((student, "needs " + ", ".join(AccessFeature(c).in_sentence for c in missing)))
            elif student.needs_supporting_adult and occurrence.adults_booked >= offer.supporting_adults_max:
                misfits.append((student, "must attend with a supporting adult: no place for one"))
            elif (student.id, offer_id) in taken:
                misfits.append((student, "already booked on or done this offer"))
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
