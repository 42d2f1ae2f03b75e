"""The fast distance search (a flat measure in SQL, exact geodesics only near the edge and for the page) gives
exactly what measuring every offer's geodesic would: the same offers within the radius, the same order (nearest
first, ties by id), the same distances and the same totals, at every radius and across England's latitudes,
with offers placed 20 m either side of the radius in every direction."""

from __future__ import annotations

import datetime as dt

import pytest
from pyproj import Geod

from portal.extensions import db
from portal.offers.search import OfferQuery, distances_km, located_within, search_offers
from tests.factories import make_employer, make_offer

GEOD = Geod(ellps="WGS84")
ORIGINS = [(50.1, -5.5), (53.4809, -2.2374), (55.7, -2.0)]  # Cornwall, Manchester, Northumberland
BEARINGS = range(0, 360, 30)


def _point(origin: tuple[float, float], bearing: float, metres: float) -> tuple[float, float]:
    lon, lat, _ = GEOD.fwd(origin[1], origin[0], bearing, metres)
    return lat, lon


def _exact(origin, offers, radius_km):
    """(km, id) of the offers within the radius by each one's own geodesic, nearest first, ties by id."""
    measured = distances_km(origin, [(o.latitude, o.longitude) for o in offers])
    return sorted((km, o.id) for km, o in zip(measured, offers, strict=True) if km <= radius_km)


@pytest.mark.parametrize("radius_km", [5, 15, 25, 50])
@pytest.mark.parametrize("origin", ORIGINS, ids=["cornwall", "manchester", "northumberland"])
def test_the_fast_search_finds_what_exact_geodesics_find(origin, radius_km):
    employer = make_employer(insurance_expiry=dt.date.today() + dt.timedelta(days=365))
    offers = []
    for index, bearing in enumerate(BEARINGS):
        for metres in (radius_km * 1000 - 20, radius_km * 1000 + 20, radius_km * 1000 * (index + 1) / 13):
            offers.append(make_offer(employer, location=_point(origin, bearing + 7 * index, metres), sessions=1))
    expected = _exact(origin, offers, radius_km)
    query = OfferQuery(origin=origin, radius_km=float(radius_km))
    assert [offer_id for _, offer_id in located_within(db.session, query, dt.datetime.now(dt.UTC))] == \
        [offer_id for _, offer_id in expected]
    assert [offer_id for _, offer_id in located_within(db.session, query, dt.datetime.now(dt.UTC), limit=7)] == \
        [offer_id for _, offer_id in expected[:7]]
    per_page = 10
    shown = []
    for page_number in range(1, len(expected) // per_page + 2):
        page = search_offers(db.session, query, page=page_number, per_page=per_page)
        assert page.total == len(expected)
        shown += [(item.distance_km, item.offer.id) for item in page.items]
    assert [offer_id for _, offer_id in shown] == [offer_id for _, offer_id in expected]
    assert [km for km, _ in shown] == pytest.approx([km for km, _ in expected], abs=1e-9)
