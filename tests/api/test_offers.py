"""GET /api/v1/offers: the search page's filters, distance from lat/lon, a postcode or the school, pages."""

from __future__ import annotations

import datetime as dt

import pytest

from portal.core.dates import london_date
from portal.extensions import db
from portal.geo import get_geocoder
from tests.api.conftest import STOCKPORT, insured_employer
from tests.factories import make_offer, make_session


def _refs(response):
    return [item["offer_ref"] for item in response.get_json()["items"]]


@pytest.fixture
def spread(world):
    """Three more offers: one far (Stockport), one virtual, one for Year 7 only in the creative sector."""
    far = make_offer(insured_employer(), offer_ref="OF-FAR", location=STOCKPORT, activity_type="work_shadowing")
    virtual = make_offer(insured_employer(), offer_ref="OF-WEB", delivery_mode="virtual", activity_type="virtual_encounter")
    creative = make_offer(insured_employer(), offer_ref="OF-ART", sectors=["creative_media"], year_groups=[7],
                          activity_type="careers_talk")
    return {"far": far, "virtual": virtual, "creative": creative}


def test_school_staff_search_from_their_school_nearest_first_then_virtual(api, world, spread):
    response = api.get("/offers", world.tokens["staff"])
    assert response.status_code == 200
    body = response.get_json()
    assert body["origin"] == {"latitude": world.school.latitude, "longitude": world.school.longitude, "source": "school"}
    assert body["radius_km"] == 25
    refs = _refs(response)
    assert refs[-1] == "OF-WEB"  # virtual offers follow the located ones
    located = [item for item in body["items"] if item["distance_km"] is not None]
    assert [i["distance_km"] for i in located] == sorted(i["distance_km"] for i in located)
    assert located[-1]["offer_ref"] == "OF-FAR" and 7 < located[-1]["distance_km"] < 12


def test_search_by_lat_lon_orders_by_distance_from_that_point(api, world, spread):
    # Standing in Stockport, the Stockport offer is nearest.
    response = api.get("/offers", world.tokens["hub"], query={"lat": STOCKPORT[0], "lon": STOCKPORT[1], "radius_km": 50})
    body = response.get_json()
    assert body["origin"]["source"] == "coordinates"
    assert _refs(response)[0] == "OF-FAR" and body["items"][0]["distance_km"] < 0.1


def test_search_by_postcode_measures_from_the_postcode(api, world, spread):
    point = get_geocoder().locate("SK1 3XE").point  # Stockport town centre
    response = api.get("/offers", world.tokens["staff"], query={"postcode": "sk1 3xe", "radius_km": "5"})
    body = response.get_json()
    assert body["origin"] == {"latitude": point[0], "longitude": point[1], "source": "postcode"}
    assert _refs(response) == ["OF-FAR", "OF-WEB"]  # the Manchester offers are beyond 5 km


def test_a_radius_leaves_out_offers_further_away(api, world, spread):
    response = api.get("/offers", world.tokens["staff"], query={"radius_km": 3})
    assert "OF-FAR" not in _refs(response) and "OF-CARE1" in _refs(response)


def test_a_hub_without_a_location_gets_every_offer_by_date_without_distances(api, world, spread):
    body = api.get("/offers", world.tokens["hub"]).get_json()
    assert body["origin"] is None and body["radius_km"] is None
    assert {i["offer_ref"] for i in body["items"]} == {"OF-CARE1", "OF-FAR", "OF-WEB", "OF-ART"}
    assert all(i["distance_km"] is None for i in body["items"])


def test_list_filters_may_repeat_or_be_comma_separated(api, world, spread):
    token = world.tokens["hub"]
    comma = api.get("/offers", token, query={"activity_type": "work_shadowing,careers_talk"})
    repeated = api.get("/offers", token, query=[("activity_type", "work_shadowing"), ("activity_type", "careers_talk")])
    assert set(_refs(comma)) == set(_refs(repeated)) == {"OF-FAR", "OF-ART"}
    assert _refs(api.get("/offers", token, query={"sector": "creative_media"})) == ["OF-ART"]
    assert _refs(api.get("/offers", token, query={"year_group": 7})) == ["OF-ART"]
    assert _refs(api.get("/offers", token, query={"delivery_mode": "virtual"})) == ["OF-WEB"]
    both = api.get("/offers", token, query={"feature": "step_free_access,quiet_space"})
    assert _refs(both) == ["OF-CARE1"]


def test_an_offer_shows_its_codes_and_sessions_in_uk_time(api, world):
    summer = dt.datetime(dt.date.today().year + 1, 7, 1, 8, 30, tzinfo=dt.UTC)
    make_session(world.offer, starts_at=summer, capacity=5)
    body = api.get("/offers", world.tokens["hub"]).get_json()
    (item,) = body["items"]
    assert item["title"] == "Hospital ward visit" and item["employer_name"] == "Northern Care"
    assert item["activity_type"] == "workplace_visit" and item["delivery_mode"] == "on_site"
    assert item["sectors"] == ["healthcare"] and item["year_groups"] == [10, 11]
    assert item["send_features"] == ["quiet_space", "step_free_access"]
    starts = [s["start"] for s in item["sessions"]]
    assert f"{summer.year}-07-01T09:30:00+01:00" in starts  # British Summer Time
    assert item["sessions"][0]["capacity"] == 3 and item["sessions"][0]["free_places"] == 3


def test_dates_limit_the_sessions(api, world):
    later = make_session(world.offer, starts_in_days=60)
    day = london_date(later.starts_at)
    body = api.get("/offers", world.tokens["hub"], query={"date_from": day.isoformat(), "date_to": day.isoformat()}).get_json()
    assert [s["start"][:10] for s in body["items"][0]["sessions"]] == [world.session_start(later)[:10]]


def test_pages(api, world, spread):
    token = world.tokens["hub"]
    first = api.get("/offers", token, query={"per_page": 3}).get_json()
    second = api.get("/offers", token, query={"per_page": 3, "page": 2}).get_json()
    assert (first["total"], first["pages"], len(first["items"]), len(second["items"])) == (4, 2, 3, 1)
    assert not {i["offer_ref"] for i in first["items"]} & {i["offer_ref"] for i in second["items"]}


@pytest.mark.parametrize(("query", "field"), [
    ({"activity_type": "juggling"}, "activity_type"),
    ({"year_group": "6"}, "year_group"),
    ({"year_group": "ten"}, "year_group"),
    ({"date_from": "2027-02-30"}, "date_from"),
    ({"date_from": "1/2/2027"}, "date_from"),
    ({"date_from": "2027-03-02", "date_to": "2027-03-01"}, "date_to"),
    ({"lat": "53.4"}, "lon"),
    ({"lat": "91", "lon": "0"}, "lat"),
    ({"lat": "nan", "lon": "0"}, "lat"),
    ({"lat": "53.4", "lon": "-2.2", "postcode": "M1 3BN"}, "postcode"),
    ({"postcode": "NOT A POSTCODE"}, "postcode"),
    ({"radius_km": "0"}, "radius_km"),
    ({"radius_km": "-5"}, "radius_km"),
    ({"per_page": "101"}, "per_page"),
    ({"page": "0"}, "page"),
    ({"sectors": "healthcare"}, "sectors"),  # misspelt name: refused, not ignored
])
def test_bad_parameters_are_422_naming_each(api, world, query, field):
    response = api.get("/offers", world.tokens["staff"], query=query)
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "invalid_request" and field in body["details"]


def test_a_radius_without_any_origin_is_422(api, world):
    response = api.get("/offers", world.tokens["hub"], query={"radius_km": 10})
    assert response.status_code == 422 and "radius_km" in response.get_json()["details"]


def test_an_offer_carries_the_marks_of_a_meaningful_experience_it_provides(api, world):
    from portal.offers.models import OfferCriterion

    world.offer.criteria = [OfferCriterion(criterion="time_to_reflect"), OfferCriterion(criterion="clear_purpose")]
    db.session.flush()
    (item,) = api.get("/offers", world.tokens["hub"]).get_json()["items"]
    assert item["meaningful_criteria"] == ["clear_purpose", "time_to_reflect"]


def test_the_total_says_when_it_is_only_a_lower_bound(api, world, spread, monkeypatch):
    from portal.offers import search

    body = api.get("/offers", world.tokens["hub"]).get_json()
    assert (body["total"], body["total_is_lower_bound"]) == (4, False)
    monkeypatch.setattr(search, "COUNT_CAP", 3)
    body = api.get("/offers", world.tokens["hub"]).get_json()
    assert (body["total"], body["total_is_lower_bound"], body["pages"]) == (3, True, 1)
