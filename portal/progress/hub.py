"""A hub's view: each school's Benchmark 5/6 shares, and its students' real combinations of needs against the
sessions that truly meet them.

Hub coordinators see school totals only: no student lists and no SEND/disadvantage breakdown (those are for the
school's own staff only). Needs are counted, never listed by student.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from portal.core.batches import chunked
from portal.core.vocab import AccessFeature
from portal.db import DbSession
from portal.offers.models import Offer, OfferFeature, OfferSession, OfferYearGroup
from portal.offers.search import OfferQuery, filter_conditions, located_within, virtual_offer
from portal.organisations.models import Employer, School, Student, StudentNeed
from portal.progress.services import SchoolProgress, compute_school_progress


def hub_school_progress(session: DbSession, hub_id: int, year: int, *, today: dt.date) -> list[tuple[School, SchoolProgress]]:
    """Each school of the hub with its figures (three grouped queries per school, none per student)."""
    schools = session.scalars(select(School).where(School.hub_id == hub_id).order_by(School.name)).all()
    return [(school, compute_school_progress(session, school, year, today=today)) for school in schools]


GAP_HORIZON_DAYS = 183  # "the coming months": sessions starting within about six months
EMPLOYERS_TO_ASK = 5  # per missing need


@dataclass(frozen=True)
class AskEmployer:
    """An employer whose session meets every need of a combination but one: whom to ask, and about which session."""

    employer_id: int
    name: str
    session_id: int
    online: bool = False  # the offer is virtual: it has no distance


@dataclass(frozen=True)
class NearMissEmployers:
    """The employers that meet all of a combination's needs but this one."""

    need: str
    employers: list[AskEmployer]


@dataclass
class NeedGap:
    """One real combination of needs in one year group: how many students have it, and what truly supports it."""

    year_group: int
    needs: tuple[str, ...]
    students: int
    sessions: int = 0
    free_places: int = 0
    radius_km: float = 0.0
    near_misses: list[NearMissEmployers] = field(default_factory=list)

    @property
    def status(self) -> str:
        """'none' (no session meets the whole combination), 'short' (fewer free places than students) or 'enough'."""
        if not self.sessions:
            return "none"
        return "short" if self.free_places < self.students else "enough"

    @property
    def has_no_supply(self) -> bool:
        """No session meets the whole combination."""
        return self.status == "none"

    @property
    def is_short(self) -> bool:
        """Some sessions, but fewer free places than students."""
        return self.status == "short"

    @property
    def is_enough(self) -> bool:
        """At least as many free places as students."""
        return self.status == "enough"

    @property
    def needs_label(self) -> str:
        """'Quiet space, flexible or shorter hours and step-free access'."""
        words = [AccessFeature(code).label if i == 0 else AccessFeature(code).in_sentence
                 for i, code in enumerate(self.needs)]
        return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]

    def near_miss_sentence(self, near: NearMissEmployers) -> str:
        """'3 employers within 10 km meet all but flexible hours'."""
        count = len(near.employers)
        who = f"{count} employer{'s' if count != 1 else ''}" + (" or more" if count >= EMPLOYERS_TO_ASK else "")
        where = f"within {self.radius_km:g} km" + (" or online" if any(e.online for e in near.employers) else "")
        return (f"{who} {where} meet{'s' if count == 1 else ''} all but "
                f"{AccessFeature(near.need).in_sentence}")

    def as_dict(self) -> dict[str, Any]:
        """The row as `hub gaps --json` prints it."""
        return {"year_group": self.year_group, "needs": list(self.needs), "students": self.students,
                "sessions": self.sessions, "free_places": self.free_places, "status": self.status,
                "near_misses": [{"need": near.need, "employers": [{"id": e.employer_id, "name": e.name}
                                                                   for e in near.employers]}
                                for near in self.near_misses]}


@dataclass(frozen=True)
class _Supply:
    """What the gap table needs of one bookable offer: employer, year groups, features, sessions with a free place."""

    employer_id: int
    employer_name: str
    year_groups: frozenset[int]
    features: frozenset[str]
    sessions: tuple[tuple[int, int], ...]  # (session id, free places), soonest first
    online: bool


def _demand(session: DbSession, hub_id: int) -> dict[tuple[int, tuple[str, ...]], tuple[int, set[int]]]:
    """(year group, needs) -> (students, their schools), for the hub's students on roll with any need."""
    per_student: dict[int, tuple[int, int, set[str]]] = {}
    for student_id, school_id, year_group, need in session.execute(
        select(Student.id, Student.school_id, Student.year_group, StudentNeed.need)
        .join(StudentNeed, StudentNeed.student_id == Student.id).join(School, School.id == Student.school_id)
        .where(School.hub_id == hub_id, Student.left_on.is_(None))
    ):
        per_student.setdefault(student_id, (school_id, year_group, set()))[2].add(need)
    demand: dict[tuple[int, tuple[str, ...]], tuple[int, set[int]]] = {}
    for school_id, year_group, needs in per_student.values():
        count, schools = demand.get((year_group, tuple(sorted(needs))), (0, set()))
        demand[(year_group, tuple(sorted(needs)))] = (count + 1, schools | {school_id})
    return demand


def _supply(session: DbSession, offer_ids: set[int], virtual: set[int], now: dt.datetime) -> dict[int, _Supply]:
    """Each offer's employer, year groups, features and free sessions in the horizon, in four grouped queries."""
    ids = sorted(offer_ids)
    if not ids:
        return {}
    years: dict[int, set[int]] = {i: set() for i in ids}
    features: dict[int, set[str]] = {i: set() for i in ids}
    sessions: dict[int, list[tuple[int, int]]] = {i: [] for i in ids}
    for chunk in chunked(ids):
        for offer_id, year in session.execute(select(OfferYearGroup.offer_id, OfferYearGroup.year_group)
                                               .where(OfferYearGroup.offer_id.in_(chunk))):
            years[offer_id].add(year)
        for offer_id, feature in session.execute(select(OfferFeature.offer_id, OfferFeature.feature)
                                                 .where(OfferFeature.offer_id.in_(chunk))):
            features[offer_id].add(feature)
        for offer_id, session_id, free in session.execute(
            select(OfferSession.offer_id, OfferSession.id, OfferSession.capacity - OfferSession.booked)
            .where(OfferSession.offer_id.in_(chunk), OfferSession.starts_at > now,
                   OfferSession.starts_at < now + dt.timedelta(days=GAP_HORIZON_DAYS),
                   OfferSession.booked < OfferSession.capacity)
            .order_by(OfferSession.starts_at, OfferSession.id)
        ):
            sessions[offer_id].append((session_id, int(free)))
    owners = {offer_id: (employer_id, name) for offer_id, employer_id, name in session.execute(
        select(Offer.id, Employer.id, Employer.name).join(Employer, Employer.id == Offer.employer_id)
        .where(Offer.id.in_(ids)))}
    return {i: _Supply(owners[i][0], owners[i][1], frozenset(years[i]), frozenset(features[i]), tuple(sessions[i]),
                    i in virtual)
            for i in ids if sessions[i] and i in owners}


def need_gaps(session: DbSession, hub_id: int, now: dt.datetime, radius_km: float | None = None) -> list[NeedGap]:
    """Each real combination of needs among the hub's students, by year group, against the sessions in the coming
    months that meet the whole combination, for that year group, with a free place, within the radius of a school
    of the hub where such students are (virtual offers wherever they are); no supply first, with whom to ask."""
    demand = _demand(session, hub_id)
    schools = {school.id: school for school in session.scalars(select(School).where(School.hub_id == hub_id))}
    reachable: dict[int, set[int]] = {}
    for school_id in {sid for _, ids in demand.values() for sid in ids}:
        school = schools[school_id]
        if school.latitude is None or school.longitude is None:
            reachable[school_id] = set()
            continue
        query = OfferQuery(origin=(school.latitude, school.longitude),
                           radius_km=radius_km if radius_km is not None else school.match_radius_km)
        reachable[school_id] = {offer_id for _, offer_id in located_within(session, query, now)}
    virtual = set(session.scalars(select(Offer.id).where(*filter_conditions(OfferQuery(), now),
                                                         virtual_offer())))
    supply = _supply(session, virtual.union(*reachable.values()), virtual, now)
    rows = []
    for (year_group, needs), (students, school_ids) in demand.items():
        offers = [supply[i] for i in virtual.union(*(reachable[s] for s in school_ids)) if i in supply
                  and year_group in supply[i].year_groups]
        wanted = set(needs)
        row = NeedGap(year_group, needs, students, radius_km=radius_km if radius_km is not None else max(
            schools[s].match_radius_km for s in school_ids))
        for offer in offers:
            if wanted <= offer.features:
                row.sessions += len(offer.sessions)
                row.free_places += sum(free for _, free in offer.sessions)
        if row.status != "enough":
            for need in needs:
                asked: dict[int, AskEmployer] = {}
                for offer in offers:
                    if need not in offer.features and wanted - {need} <= offer.features:
                        asked.setdefault(offer.employer_id, AskEmployer(offer.employer_id, offer.employer_name,
                                                                        offer.sessions[0][0], offer.online))
                if asked:
                    chosen = sorted(asked.values(), key=lambda e: e.name)[:EMPLOYERS_TO_ASK]
                    row.near_misses.append(NearMissEmployers(need, chosen))
        rows.append(row)
    order = {"none": 0, "short": 1, "enough": 2}
    rows.sort(key=lambda r: (order[r.status], r.free_places / r.students, -r.students, r.year_group, r.needs))
    return rows
