"""A hub's view: each school's Benchmark 5/6 shares, and access needs against the sessions that support them nearby.

Hub coordinators see school totals only: no student lists and no SEND/disadvantage breakdown (those are for the
school's own staff only). Needs are counted, never listed by student.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from portal.core.vocab import AccessFeature
from portal.db import DbSession
from portal.offers.models import OfferFeature, OfferSession
from portal.offers.search import OfferQuery, located_within
from portal.organisations.models import School, Student, StudentNeed
from portal.progress.services import SchoolProgress, compute_school_progress

SUPPLY_RADIUS_KM = 15.0


def hub_school_progress(session: DbSession, hub_id: int, year: int, *, today: dt.date) -> list[tuple[School, SchoolProgress]]:
    """Each school of the hub with its figures (three grouped queries per school, none per student)."""
    schools = session.scalars(select(School).where(School.hub_id == hub_id).order_by(School.name)).all()
    return [(school, compute_school_progress(session, school, year, today=today)) for school in schools]


@dataclass(frozen=True)
class NeedBalance:
    """How many of the hub's students need an adjustment, and how many upcoming sessions nearby support it."""

    feature: str
    label: str
    students: int
    sessions: int

    @property
    def short(self) -> bool:
        """Fewer supporting sessions than students who need them: employers to recruit."""
        return self.sessions < self.students


def access_supply_demand(session: DbSession, hub_id: int, now: dt.datetime,
                         radius_km: float = SUPPLY_RADIUS_KM) -> list[NeedBalance]:
    """Per access need: students on roll in the hub's schools who need it, and upcoming sessions of bookable
    offers within `radius_km` of any of the hub's schools that support it (in-person offers only)."""
    demand = dict(session.execute(
        select(StudentNeed.need, func.count(func.distinct(StudentNeed.student_id)))
        .join(Student, Student.id == StudentNeed.student_id)
        .join(School, School.id == Student.school_id)
        .where(School.hub_id == hub_id, Student.left_on.is_(None))
        .group_by(StudentNeed.need)
    ).tuples().all())
    places = session.execute(
        select(School.latitude, School.longitude).where(School.hub_id == hub_id, School.latitude.is_not(None))
    ).all()
    offer_ids: set[int] = set()
    for latitude, longitude in places:
        query = OfferQuery(origin=(latitude, longitude), radius_km=radius_km)
        offer_ids.update(offer_id for _, offer_id in located_within(session, query, now))
    supply: dict[str, int] = {}
    if offer_ids:
        supply = dict(session.execute(
            select(OfferFeature.feature, func.count(OfferSession.id))
            .join(OfferSession, OfferSession.offer_id == OfferFeature.offer_id)
            .where(OfferFeature.offer_id.in_(sorted(offer_ids)), OfferSession.starts_at > now)
            .group_by(OfferFeature.feature)
        ).tuples().all())
    return [NeedBalance(feature.value, feature.label, int(demand.get(feature.value, 0)), int(supply.get(feature.value, 0)))
            for feature in AccessFeature]
