"""Finding published offers: filters, date window and distance, nearest first, a page at a time.

Distance searches keep, in SQL, the offers inside a latitude/longitude box around the origin (an
index seek per strip of longitude the box touches, then a latitude range) whose flat squared distance (multiplications only, so on SQLite and
PostgreSQL alike) is under a bound every offer within the radius meets. The offers that bound
proves to be inside are counted in SQL; exact geodesic distances are computed only for the thin
ring near the radius and for the page shown, which SQL orders by the flat distance. Every
distance shown and every "within the radius" is the exact geodesic one. Virtual offers have no
location: they match any distance and are listed after the located ones.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    bindparam,
    cast,
    exists,
    false,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.orm import joinedload, selectinload

from portal.core.dates import start_of_london_day
from portal.core.vocab import MeaningfulCriterion, OfferStatus, VettingStatus
from portal.db import DbSession, any_of, utcnow
from portal.geo import bounding_box
from portal.geo.distance import FlatMeasure, lon_cells
from portal.offers.models import (
    YEAR_BITS,
    Offer,
    OfferCriterion,
    OfferFeature,
    OfferSector,
    OfferSession,
    OfferYearGroup,
    criteria_summary,
    features_mask,
)
from portal.organisations.models import Employer

DEFAULT_PER_PAGE = 20
#: Searches count matching offers up to this many; beyond it they say "more than 1,000" (50 pages of 20,
#: nearest or soonest first), so a wide search costs what its pages cost, not what the whole country holds.
COUNT_CAP = 1000


def virtual_offer() -> ColumnElement[bool]:
    """The offer has no location (virtual), as the distance index finds it: its longitude strip is NULL."""
    return Offer.lon_cell.is_(None)

#: The nearest-first search looks this far first (metres), widening until a page is found.
_FIRST_DISC_METRES = 2000.0
#: The bound on q of a disc the flat measure cannot bound (one reaching a pole): every point meets it.
_NO_BOUND = 1e300


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


@dataclass(frozen=True)
class OfferCodes:
    """The coded lists a result card shows, read as plain values (sorted; criteria in the vocabulary's order)."""

    sectors: tuple[str, ...] = ()
    year_groups: tuple[int, ...] = ()
    features: tuple[str, ...] = ()
    criteria: tuple[str, ...] = ()

    @property
    def criteria_summary(self) -> str:
        """'4 of the 6 marks of a meaningful experience'."""
        return criteria_summary(len(self.criteria))


@dataclass
class SearchResult:
    """One offer found, its distance (None when virtual or no origin), its matching sessions and its codes."""

    offer: Offer
    distance_km: float | None
    sessions: list[OfferSession] = field(default_factory=list)
    codes: OfferCodes = field(default_factory=OfferCodes)


@dataclass
class SearchPage:
    """One page of results with what the pagination macro needs."""

    items: list[SearchResult]
    page: int
    per_page: int
    total: int
    more_than: bool = False  # more offers than `total` match (the count stopped at COUNT_CAP)

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
        year_bit = YEAR_BITS.get(query.year_group)
        conditions.append(Offer.year_mask.bitwise_and(year_bit) != 0 if year_bit is not None else false())
    if query.features:
        wanted = features_mask(query.features)
        conditions.append(Offer.feature_mask.bitwise_and(wanted) == wanted if wanted is not None else false())
    conditions.extend(query.extra)
    return conditions


def _count(session: DbSession, conditions: Sequence[ColumnElement[bool]], cap: int) -> int:
    """How many offers meet the conditions, counting no further than cap + 1."""
    upto = select(Offer.id).where(*conditions).limit(cap + 1).subquery()
    return session.scalar(select(func.count()).select_from(upto)) or 0


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


def _exact_metres(origin: tuple[float, float], latitudes: Sequence[float], longitudes: Sequence[float]) -> list[float]:
    """Exact WGS84 geodesic distances in metres from origin, in one vectorised call."""
    count = len(latitudes)
    if not count:
        return []
    _, _, metres = _geod().inv(array("d", [origin[1]]) * count, array("d", [origin[0]]) * count,
                               array("d", longitudes), array("d", latitudes))
    return list(metres)


class _Disc:
    """The offers of a query within its radius, found with the flat measure in SQL and geodesics for few.

    The SQL keeps the latitude/longitude box (an indexed range) and, inside it, the points whose
    flat squared distance q is under a bound every point within the radius meets (a superset:
    FlatMeasure proves the bounds). Points with q under a second bound are surely inside and are
    only counted; exact geodesics are computed for the thin ring between the bounds and for the
    page, so every distance shown and every inside/outside decision is the exact geodesic one.
    Each statement is built once, with the disc's size as parameters, however often the disc widens.
    """

    def __init__(self, session: DbSession, query: OfferQuery, now: dt.datetime) -> None:
        if query.origin is None or query.radius_km is None:
            raise ValueError("a distance search needs an origin and a radius")
        self.session, self.origin, self.metres = session, query.origin, query.radius_km * 1000.0
        self.conditions = filter_conditions(query, now)
        self.flat = FlatMeasure(*query.origin)
        self.q = ((Offer.latitude - self.flat.lat) * self.flat.ky) * ((Offer.latitude - self.flat.lat) * self.flat.ky) \
            + ((Offer.longitude - self.flat.lon) * self.flat.kx) * ((Offer.longitude - self.flat.lon) * self.flat.kx)
        # SQL conditions every offer of the query within the disc's size (geodesic) meets: the box, then q.
        self.near: list[ColumnElement[bool]] = [
            any_of(Offer.lon_cell, key="cells"),
            Offer.latitude.between(bindparam("min_lat"), bindparam("max_lat")),
            Offer.longitude.between(bindparam("min_lon"), bindparam("max_lon")),
            self.q <= bindparam("keep"), *self.conditions,
        ]
        self._rows_near = select(Offer.id, Offer.latitude, Offer.longitude).where(*self.near)

    def _size(self, metres: float, **more: float) -> dict[str, Any]:
        """The parameters of a disc of `metres`: its longitude strips, box and bound on q."""
        min_lat, max_lat, min_lon, max_lon = bounding_box(*self.origin, metres / 1000.0)
        keep = self.flat.keep_below(metres)
        return {"cells": lon_cells(min_lon, max_lon), "min_lat": min_lat, "max_lat": max_lat, "min_lon": min_lon,
                "max_lon": max_lon, "keep": keep if keep is not None else _NO_BOUND, **more}

    def within(self, *columns: Any) -> list[Any]:
        """(metres, id, *columns) of every located offer within the radius, unsorted."""
        statement = select(Offer.id, Offer.latitude, Offer.longitude, *columns).where(*self.near) if columns \
            else self._rows_near
        rows = self.session.connection().execute(statement, self._size(self.metres)).all()
        return [row for row in self._measured(rows) if row[0] <= self.metres]

    def count(self, cap: int) -> int:
        """How many located offers are within the radius, counting no further than cap + 1: the surely-inside
        ones counted in SQL (stopping there), the thin ring near the edge measured exactly."""
        size = self._size(self.metres, sure=self.flat.inside_below(self.metres))
        connection = self.session.connection()
        upto = select(Offer.id).where(*self.near, self.q <= bindparam("sure")).limit(cap + 1).subquery()
        inner = connection.execute(select(func.count()).select_from(upto), size).scalar_one()
        if inner > cap:
            return inner
        ring = connection.execute(self._rows_near.where(self.q > bindparam("sure")), size).all()
        return inner + sum(1 for row in self._measured(ring) if row[0] <= self.metres)

    def nearest(self, offset: int, count: int, first_metres: float = _FIRST_DISC_METRES) -> list[tuple[float, int]]:
        """(metres, id) of the located offers within the radius from offset, count of them, nearest first, ties by id."""
        if count <= 0:
            return []
        return [(row[0], row[1]) for row in self.nearest_rows(offset + count, first_metres=first_metres)[offset:]][:count]

    def nearest_rows(self, wanted: int, *columns: Any, count: Callable[[Sequence[Any]], int] | None = None,
                     first_metres: float = _FIRST_DISC_METRES) -> list[Any]:
        """(metres, id, *columns) of the located offers within the smallest disc that holds `wanted` of them (as
        many as `count` says of the disc's rows, when given) or that reaches the radius, nearest first, ties by id.

        A small disc first, widened (by the density found) until it holds enough or reaches the radius.
        Every offer of the disc is read and measured exactly, so once it holds that many within its reach R,
        the first `wanted` are among these rows: any offer nearer than them is within R too. Each widening reads
        only the offers the last read did not (outside its box or its bound on q).
        """
        connection = self.session.connection()
        statement = select(Offer.id, Offer.latitude, Offer.longitude, *columns).where(*self.near)
        beyond = statement.where(~and_(
            Offer.latitude.between(bindparam("read_min_lat"), bindparam("read_max_lat")),
            Offer.longitude.between(bindparam("read_min_lon"), bindparam("read_max_lon")),
            self.q <= bindparam("read_keep"),
        ))
        measured: list[tuple[Any, ...]] = []  # (metres, id, *columns) of every offer read so far
        reach, read = min(self.metres, first_metres), None
        while True:
            size = self._size(reach)
            rows = connection.execute(statement if read is None else beyond,
                                      size if read is None else {**size, **read}).all()
            measured += self._measured(rows)
            inside = [row for row in measured if row[0] <= reach]
            found = len(inside) if count is None else count(inside)
            if found >= wanted or reach >= self.metres:
                return sorted(inside)
            read = {f"read_{name}": size[name] for name in ("min_lat", "max_lat", "min_lon", "max_lon", "keep")}
            reach = min(self.metres, reach * _growth(found, wanted))

    def _measured(self, rows: Sequence[Any]) -> list[tuple[Any, ...]]:
        """(metres, id, *more) of the rows (id, latitude, longitude, *more), with exact distances computed column by
        column, so the per-row work stays in C."""
        if not rows:
            return []
        ids, latitudes, longitudes, *more = zip(*rows, strict=True)
        return list(zip(_exact_metres(self.origin, latitudes, longitudes), ids, *more, strict=True))


def _growth(found: int, wanted: int) -> float:
    """How much wider the next disc is: by the area the missing offers need at the density found so far (with a
    fifth to spare), between 1.5 and 4 times (4 when the disc held none)."""
    if found == 0:
        return 4.0
    return min(4.0, max(1.5, 1.2 * math.sqrt(wanted / found)))


def located_within(session: DbSession, query: OfferQuery, now: dt.datetime, *, limit: int | None = None,
                   first_metres: float = _FIRST_DISC_METRES) -> list[tuple[float, int]]:
    """(distance in metres, offer id) of every located offer within the radius (the first `limit`), nearest first;
    `first_metres` is how far the nearest-first search looks first (farther when nothing is known to be nearer)."""
    disc = _Disc(session, query, now)
    if limit is not None:
        return disc.nearest(0, limit, first_metres)
    return sorted(disc.within())


def nearest_rows(session: DbSession, query: OfferQuery, now: dt.datetime, wanted: int, *columns: Any,
                 count: Callable[[Sequence[Any]], int] | None = None,
                 first_metres: float = _FIRST_DISC_METRES) -> list[Any]:
    """(distance in metres, offer id, *columns) of the located offers meeting the query nearest the origin: all
    within the smallest disc holding `wanted` of them (as `count` counts rows; all, by default) or the radius."""
    return _Disc(session, query, now).nearest_rows(wanted, *columns, count=count, first_metres=first_metres)


def located_rows_within(session: DbSession, query: OfferQuery, now: dt.datetime, *columns: Any) -> list[Any]:
    """(distance in metres, offer id, *columns) of every located offer meeting the query within its radius, unsorted."""
    return _Disc(session, query, now).within(*columns)


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
        disc = _Disc(session, query, now)
        located = disc.count(COUNT_CAP)
        nearest = disc.nearest(offset, per_page) if offset < located else []
        # Virtual offers have no location: they match any distance and follow the located ones.
        virtual = virtual_offer()
        virtual_count = _count(session, [*filter_conditions(query, now), virtual], COUNT_CAP) if located <= COUNT_CAP else 0
        total = located + virtual_count
        page_ids = [offer_id for _, offer_id in nearest]
        distances = {offer_id: metres / 1000.0 for metres, offer_id in nearest}
        if len(page_ids) < per_page and total > located:
            page_ids += _ids_by_date(session, query, now, max(0, offset - located), per_page - len(page_ids), virtual)
    else:
        total = _count(session, filter_conditions(query, now), COUNT_CAP)
        page_ids = _ids_by_date(session, query, now, offset, per_page)
    offers = _load(session, page_ids)
    codes = offer_codes(session, page_ids)
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
            codes=codes.get(offer.id, OfferCodes()),
        )
        for offer in offers
    ]
    return SearchPage(items=items, page=page, per_page=per_page, total=min(total, COUNT_CAP), more_than=total > COUNT_CAP)


def _load(session: DbSession, ids: list[int]) -> list[Offer]:
    """The offers with their employer and sessions, in the order of ids (the codes come from offer_codes)."""
    if not ids:
        return []
    found = {
        offer.id: offer
        for offer in session.scalars(
            select(Offer).where(any_of(Offer.id, ids)).options(joinedload(Offer.employer), selectinload(Offer.sessions))
        )
    }
    return [found[offer_id] for offer_id in ids if offer_id in found]


def offer_codes(session: DbSession, ids: Sequence[int]) -> dict[int, OfferCodes]:
    """Sectors, year groups, SEND-ready features and meaningful-experience criteria of the offers, in one query."""
    if not ids:
        return {}
    wanted = list(ids)
    rows = session.execute(union_all(
        select(OfferSector.offer_id, literal("sector"), OfferSector.sector).where(any_of(OfferSector.offer_id, wanted)),
        select(OfferYearGroup.offer_id, literal("year"), cast(OfferYearGroup.year_group, String))
        .where(any_of(OfferYearGroup.offer_id, wanted)),
        select(OfferFeature.offer_id, literal("feature"), OfferFeature.feature).where(any_of(OfferFeature.offer_id, wanted)),
        select(OfferCriterion.offer_id, literal("criterion"), OfferCriterion.criterion)
        .where(any_of(OfferCriterion.offer_id, wanted)),
    )).all()
    found: dict[int, dict[str, list[str]]] = {offer_id: {} for offer_id in wanted}
    for offer_id, kind, code in rows:
        found[offer_id].setdefault(kind, []).append(code)
    order = {member.value: index for index, member in enumerate(MeaningfulCriterion)}
    return {
        offer_id: OfferCodes(
            sectors=tuple(sorted(kinds.get("sector", ()))),
            year_groups=tuple(sorted(int(year) for year in kinds.get("year", ()))),
            features=tuple(sorted(kinds.get("feature", ()))),
            criteria=tuple(sorted(kinds.get("criterion", ()), key=lambda code: order.get(code, len(order)))),
        )
        for offer_id, kinds in found.items()
    }
