"""Finding published offers: filters, date window and distance, nearest first, a page at a time.

Distance searches first keep the offers inside a latitude/longitude box around the origin (an
indexed range query), then compute exact geodesic distances only for those survivors and keep
the ones within the radius. Virtual offers have no location: they match any distance and are
listed after the located ones.
"""

from __future__ import annotations

import datetime as dt
import functools
import heapq
import math
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import compress
from typing import Any

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.orm import joinedload, selectinload

from portal.core.dates import start_of_london_day
from portal.core.vocab import OfferStatus, VettingStatus
from portal.db import DbSession, utcnow
from portal.geo import bounding_box
from portal.offers.models import Offer, OfferFeature, OfferSector, OfferSession, OfferYearGroup
from portal.organisations.models import Employer

DEFAULT_PER_PAGE = 20


@dataclass(frozen=True)
class OfferQuery:
    """What a school or hub is looking for; empty lists mean "any"."""

    activity_types: Sequence[str] = ()
    delivery_modes: Sequence[str] = ()
    sectors: Sequence[str] = ()  # any of these
    year_group: int | None = None
    features: Sequence[str] = ()  # the offer must support all of these
    date_from: dt.date | None = None  # London calendar days, inclusive
    date_to: dt.date | None = None
    origin: tuple[float, float] | None = None  # (latitude, longitude) to measure distances from
    radius_km: float | None = None  # None: any distance (ordered by date, distances still shown)
    # Further SQL conditions on the offer that a caller's own rules add (matching: a bookable session,
    # offers the student has done already left out).
    extra: Sequence[ColumnElement[bool]] = ()


@dataclass
class SearchResult:
    """One offer found, its distance (None when virtual or no origin) and its matching sessions."""

    offer: Offer
    distance_km: float | None
    sessions: list[OfferSession] = field(default_factory=list)


@dataclass
class SearchPage:
    """One page of results with what the pagination macro needs."""

    items: list[SearchResult]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        """How many pages there are (at least 1)."""
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        """Whether a previous page exists."""
        return self.page > 1

    @property
    def has_next(self) -> bool:
        """Whether a next page exists."""
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        """The previous page's number."""
        return self.page - 1

    @property
    def next_num(self) -> int:
        """The next page's number."""
        return self.page + 1


@functools.cache
def _geod() -> Any:
    """The WGS84 ellipsoid for batch geodesic distances (Karney's algorithm, as geopy uses)."""
    from pyproj import Geod

    return Geod(ellps="WGS84")


def distances_km(origin: tuple[float, float], points: Sequence[tuple[float, float]]) -> list[float]:
    """Exact geodesic distances (km) from origin to many (lat, lon) points in one vectorised call."""
    if not points:
        return []
    count = len(points)
    _, _, metres = _geod().inv(
        [origin[1]] * count, [origin[0]] * count, [p[1] for p in points], [p[0] for p in points]
    )
    return [m / 1000.0 for m in metres]


def session_window(query: OfferQuery, now: dt.datetime) -> tuple[dt.datetime, dt.datetime | None]:
    """The span session starts must fall in: from now (or the later first day) to the end of the last day."""
    start = now
    if query.date_from is not None:
        start = max(now, start_of_london_day(query.date_from))
    end = start_of_london_day(query.date_to + dt.timedelta(days=1)) if query.date_to is not None else None
    return start, end


def _session_conditions(start: dt.datetime, end: dt.datetime | None) -> list[ColumnElement[bool]]:
    """Sessions of the current offer that start inside the window."""
    conditions = [OfferSession.offer_id == Offer.id, OfferSession.starts_at > start]
    if end is not None:
        conditions.append(OfferSession.starts_at < end)
    return conditions


def filter_conditions(query: OfferQuery, now: dt.datetime, *, sessions: bool = True) -> list[ColumnElement[bool]]:
    """SQL conditions every result meets: published, vetted employer, the filters, a session in the window.

    The offer's last session start settles "has a session after the window's start" from the index;
    the sessions themselves are read only when the window also has an end. sessions=False leaves
    that read out, for queries that join the sessions themselves.
    """
    start, end = session_window(query, now)
    vetted = select(Employer.id).where(Employer.vetting_status == VettingStatus.VETTED.value)
    conditions: list[ColumnElement[bool]] = [
        Offer.status == OfferStatus.PUBLISHED.value,
        Offer.last_session_starts_at > start,
        Offer.employer_id.in_(vetted),
    ]
    if sessions and end is not None:
        conditions.append(exists().where(*_session_conditions(start, end)))
    if query.activity_types:
        conditions.append(Offer.activity_type.in_(list(query.activity_types)))
    if query.delivery_modes:
        conditions.append(Offer.delivery_mode.in_(list(query.delivery_modes)))
    if query.sectors:
        conditions.append(
            exists().where(OfferSector.offer_id == Offer.id, OfferSector.sector.in_(list(query.sectors)))
        )
    if query.year_group is not None:
        conditions.append(
            exists().where(OfferYearGroup.offer_id == Offer.id, OfferYearGroup.year_group == query.year_group)
        )
    for feature in sorted(set(query.features)):
        conditions.append(exists().where(OfferFeature.offer_id == Offer.id, OfferFeature.feature == feature))
    conditions.extend(query.extra)
    return conditions


def _count(session: DbSession, conditions: list[ColumnElement[bool]]) -> int:
    """How many offers meet the conditions."""
    return session.scalar(select(func.count()).select_from(Offer).where(*conditions)) or 0


def _ids_by_date(session: DbSession, query: OfferQuery, now: dt.datetime, offset: int, limit: int,
                 *extra: ColumnElement[bool]) -> list[int]:
    """Ids of a page of offers meeting the query (and extra conditions), soonest session in the window first.

    Reads sessions in start order (the starts_at index), checks each one's offer, and keeps each
    offer's first appearance, fetching more rows only when sessions of the same offers fill the
    batch: a page costs a short index scan instead of ranking every offer.
    """
    start, end = session_window(query, now)
    window = [OfferSession.starts_at > start] + ([OfferSession.starts_at < end] if end is not None else [])
    offer_matches = exists().where(
        Offer.id == OfferSession.offer_id, *filter_conditions(query, now, sessions=False), *extra
    )
    statement = (
        select(OfferSession.offer_id)
        .where(*window, offer_matches)
        .order_by(OfferSession.starts_at, OfferSession.id)
    )
    wanted = offset + limit
    found: dict[int, None] = {}
    fetched, batch = 0, 2 * wanted + 20
    connection = session.connection()
    while len(found) < wanted:
        rows = connection.execute(statement.offset(fetched).limit(batch)).scalars().all()
        found.update(dict.fromkeys(rows))
        fetched += len(rows)
        if len(rows) < batch:
            break
        batch *= 2
    return list(found)[offset:wanted]


def _within_radius(session: DbSession, query: OfferQuery, now: dt.datetime) -> tuple[list[float], list[int]]:
    """Distances in metres and ids, in parallel lists and unsorted, of the located offers within the radius.

    Parallel lists of floats and ints rather than a list of pairs: thousands of survivors then
    allocate almost nothing the garbage collector has to track.
    """
    if query.origin is None or query.radius_km is None:
        raise ValueError("a distance search needs an origin and a radius")
    latitude, longitude = query.origin
    min_lat, max_lat, min_lon, max_lon = bounding_box(latitude, longitude, query.radius_km)
    statement = select(Offer.id, Offer.latitude, Offer.longitude).where(
        *filter_conditions(query, now),
        Offer.latitude.between(min_lat, max_lat),
        Offer.longitude.between(min_lon, max_lon),
    )
    # Plain rows, a thousand at a time, copied into typed arrays: no ORM work per survivor, and
    # few live objects for the garbage collector to promote and walk.
    ids, latitudes, longitudes = array("q"), array("d"), array("d")
    for part in session.connection().execute(statement).partitions(1000):
        part_ids, part_latitudes, part_longitudes = zip(*part, strict=True)
        ids.extend(part_ids)
        latitudes.extend(part_latitudes)
        longitudes.extend(part_longitudes)
    if not ids:
        return [], []
    count = len(ids)
    _, _, metres = _geod().inv(array("d", [longitude]) * count, array("d", [latitude]) * count, longitudes, latitudes)
    inside = list(map((query.radius_km * 1000.0).__ge__, metres))  # radius >= distance, evaluated in C
    return list(compress(metres, inside)), list(compress(ids, inside))


def located_within(session: DbSession, query: OfferQuery, now: dt.datetime) -> list[tuple[float, int]]:
    """(distance in metres, offer id) of every located offer within the radius, nearest first."""
    return sorted(zip(*_within_radius(session, query, now), strict=True))


def _nearest_positions(metres: list[float], ids: list[int], offset: int, count: int) -> list[int]:
    """Positions of the page's offers, nearest first and ties by id, without sorting every survivor."""
    first = heapq.nsmallest(offset + count, range(len(ids)), key=metres.__getitem__)
    if not first:
        return []
    cutoff = metres[first[-1]]  # everything as near as the page's last offer, ties included
    candidates = list(compress(range(len(ids)), map(cutoff.__ge__, metres)))
    candidates.sort(key=lambda i: (metres[i], ids[i]))
    return candidates[offset:offset + count]


def search_offers(
    session: DbSession, query: OfferQuery, *, page: int = 1, per_page: int = DEFAULT_PER_PAGE,
    now: dt.datetime | None = None,
) -> SearchPage:
    """Find published offers matching the query; nearest first when a radius is given."""
    now = now or utcnow()
    page = max(page, 1)
    offset = (page - 1) * per_page
    distances: dict[int, float] = {}
    if query.origin is not None and query.radius_km is not None:
        metres, ids = _within_radius(session, query, now)
        nearest = _nearest_positions(metres, ids, offset, per_page)
        # Virtual offers have no location: they match any distance and follow the located ones.
        virtual = Offer.latitude.is_(None)
        total = len(ids) + _count(session, [*filter_conditions(query, now), virtual])
        page_ids = [ids[i] for i in nearest]
        distances = {ids[i]: metres[i] / 1000.0 for i in nearest}
        if len(page_ids) < per_page and total > len(ids):
            page_ids += _ids_by_date(session, query, now, max(0, offset - len(ids)), per_page - len(page_ids), virtual)
    else:
        total = _count(session, filter_conditions(query, now))
        page_ids = _ids_by_date(session, query, now, offset, per_page)
    offers = _load(session, page_ids)
    if query.origin is not None and query.radius_km is None:
        located_here = [o for o in offers if o.latitude is not None and o.longitude is not None]
        points = [(o.latitude, o.longitude) for o in located_here]
        distances = dict(zip([o.id for o in located_here], distances_km(query.origin, points), strict=True))  # type: ignore[arg-type]
    start, end = session_window(query, now)
    items = [
        SearchResult(
            offer=offer,
            distance_km=distances.get(offer.id),
            sessions=[s for s in offer.sessions if s.starts_at > start and (end is None or s.starts_at < end)],
        )
        for offer in offers
    ]
    return SearchPage(items=items, page=page, per_page=per_page, total=total)


def _load(session: DbSession, ids: list[int]) -> list[Offer]:
    """The offers with everything a result card shows, in the order of ids (no N+1 queries)."""
    if not ids:
        return []
    found = {
        offer.id: offer
        for offer in session.scalars(
            select(Offer).where(Offer.id.in_(ids)).options(
                joinedload(Offer.employer),
                selectinload(Offer.sessions),
                selectinload(Offer.year_groups),
                selectinload(Offer.features),
            )
        )
    }
    return [found[offer_id] for offer_id in ids if offer_id in found]
