"""Finding published offers: each filter, the date window, distance (with virtual offers), order, pages."""

from __future__ import annotations

import datetime as dt

import pytest

from portal.core.vocab import VettingStatus
from portal.extensions import db
from portal.geo import distance_km
from portal.offers.search import OfferQuery, distances_km, search_offers
from tests.factories import make_employer, make_offer, make_session

MANCHESTER = (53.4809, -2.2374)
SALFORD = (53.4875, -2.2901)  # about 3.6 km west of Manchester
STOCKPORT = (53.4084, -2.1493)  # about 10 km south-east
LEEDS = (53.7960, -1.5479)  # about 58 km north-east


def _insured(**kw):
    return make_employer(insurance_expiry=dt.date.today() + dt.timedelta(days=365), **kw)


def _ids(page):
    return [item.offer.id for item in page.items]


def _found(query: OfferQuery, **kw):
    return set(_ids(search_offers(db.session, query, per_page=100, **kw)))


def test_only_published_offers_of_vetted_employers_are_found():
    published = make_offer()
    draft = make_offer(status="draft")
    paused = make_offer(status="paused")
    archived = make_offer(status="archived")
    unvetted = make_offer(_insured(vetting_status=VettingStatus.PENDING.value))
    found = _found(OfferQuery())
    assert published.id in found
    assert not found & {draft.id, paused.id, archived.id, unvetted.id}


def test_offers_without_a_future_session_are_not_found():
    current = make_offer()
    no_sessions = make_offer(sessions=0)
    past_only = make_offer(sessions=0)
    make_session(past_only, starts_in_days=-2)
    found = _found(OfferQuery())
    assert current.id in found and no_sessions.id not in found and past_only.id not in found


def test_filter_by_activity_type():
    talk = make_offer(activity_type="careers_talk")
    visit = make_offer(activity_type="workplace_visit")
    shadow = make_offer(activity_type="work_shadowing")
    found = _found(OfferQuery(activity_types=["careers_talk", "work_shadowing"]))
    assert found >= {talk.id, shadow.id} and visit.id not in found


def test_filter_by_delivery_mode():
    on_site = make_offer(delivery_mode="on_site")
    in_school = make_offer(delivery_mode="in_school")
    virtual = make_offer(delivery_mode="virtual")
    found = _found(OfferQuery(delivery_modes=["in_school"]))
    assert in_school.id in found and not found & {on_site.id, virtual.id}


def test_filter_by_sector_matches_any_selected_sector():
    health = make_offer(sectors=["healthcare", "social_care"])
    law = make_offer(sectors=["law_legal"])
    retail = make_offer(sectors=["retail_sales"])
    found = _found(OfferQuery(sectors=["social_care", "law_legal"]))
    assert found >= {health.id, law.id} and retail.id not in found


def test_filter_by_year_group():
    sixth_form = make_offer(year_groups=[12, 13])
    year_ten = make_offer(year_groups=[9, 10, 11])
    found = _found(OfferQuery(year_group=12))
    assert sixth_form.id in found and year_ten.id not in found


def test_send_features_filter_needs_every_selected_feature():
    both = make_offer(features=["step_free_access", "quiet_space", "bsl_makaton"])
    one = make_offer(features=["step_free_access"])
    none = make_offer(features=[])
    found = _found(OfferQuery(features=["step_free_access", "quiet_space"]))
    assert both.id in found and not found & {one.id, none.id}


def test_date_window_keeps_offers_with_a_session_inside_it():
    soon = make_offer(sessions=0)
    make_session(soon, starts_in_days=5)
    later = make_offer(sessions=0)
    make_session(later, starts_in_days=40)
    today = dt.date.today()
    found = _found(OfferQuery(date_from=today + dt.timedelta(days=30), date_to=today + dt.timedelta(days=50)))
    assert later.id in found and soon.id not in found
    found = _found(OfferQuery(date_to=today + dt.timedelta(days=10)))
    assert soon.id in found and later.id not in found


def test_results_show_only_the_sessions_inside_the_window():
    offer = make_offer(sessions=0)
    make_session(offer, starts_in_days=5)
    inside = make_session(offer, starts_in_days=35)
    today = dt.date.today()
    page = search_offers(db.session, OfferQuery(date_from=today + dt.timedelta(days=30)), per_page=100)
    result = next(item for item in page.items if item.offer.id == offer.id)
    assert result.sessions == [inside]


def test_distance_search_keeps_offers_within_the_radius_nearest_first_with_distances():
    salford = make_offer(location=SALFORD)
    stockport = make_offer(location=STOCKPORT)
    leeds = make_offer(location=LEEDS)
    here = make_offer(location=MANCHESTER)
    page = search_offers(db.session, OfferQuery(origin=MANCHESTER, radius_km=25), per_page=100)
    located = [item for item in page.items if item.offer.latitude is not None]
    assert [item.offer.id for item in located] == [here.id, salford.id, stockport.id]
    assert leeds.id not in _ids(page)
    distances = [item.distance_km for item in located]
    assert distances == sorted(distances)
    assert distances[1] == pytest.approx(distance_km(MANCHESTER, SALFORD), rel=1e-6)


def test_the_radius_is_exact_not_the_bounding_box():
    # About 7.1 km north and 7.1 km east: inside the 10 km box, but just over 10 km away.
    corner = (MANCHESTER[0] + 0.0640, MANCHESTER[1] + 0.1070)
    far_corner = make_offer(location=corner)
    assert distance_km(MANCHESTER, corner) > 10
    assert far_corner.id not in _found(OfferQuery(origin=MANCHESTER, radius_km=10))


def test_virtual_offers_match_any_distance_and_come_after_located_ones():
    virtual = make_offer(location=None)
    near = make_offer(location=SALFORD)
    page = search_offers(db.session, OfferQuery(origin=MANCHESTER, radius_km=5), per_page=100)
    ids = _ids(page)
    assert near.id in ids and virtual.id in ids
    assert ids.index(near.id) < ids.index(virtual.id)
    virtual_result = next(item for item in page.items if item.offer.id == virtual.id)
    assert virtual_result.distance_km is None


def test_distance_search_pages_through_located_then_virtual_offers():
    located = [make_offer(location=(MANCHESTER[0] + 0.005 * i, MANCHESTER[1])) for i in range(5)]
    virtual = [make_offer(location=None) for _ in range(3)]
    query = OfferQuery(origin=MANCHESTER, radius_km=10, activity_types=["workplace_visit"])
    pages = [search_offers(db.session, query, page=n, per_page=3) for n in (1, 2, 3)]
    assert [p.total for p in pages] == [8, 8, 8] and pages[0].pages == 3
    seen = [offer_id for p in pages for offer_id in _ids(p)]
    assert seen[:5] == [o.id for o in located]  # nearest first, by latitude offset
    assert set(seen[5:]) == {o.id for o in virtual}
    assert len(seen) == len(set(seen)) == 8
    assert pages[0].has_next and not pages[0].has_prev and pages[2].has_prev and not pages[2].has_next


def test_without_a_distance_results_are_paginated_soonest_first():
    offers = []
    for days in (30, 10, 20):
        offer = make_offer(sessions=0, title=f"In {days} days")
        make_session(offer, starts_in_days=days)
        offers.append(offer)
    query = OfferQuery(activity_types=["workplace_visit"])
    first = search_offers(db.session, query, page=1, per_page=2)
    second = search_offers(db.session, query, page=2, per_page=2)
    assert first.total == 3
    assert _ids(first) + _ids(second) == [offers[1].id, offers[2].id, offers[0].id]


def test_any_distance_with_an_origin_still_shows_distances():
    near = make_offer(location=SALFORD)
    leeds = make_offer(location=LEEDS)
    page = search_offers(db.session, OfferQuery(origin=MANCHESTER, radius_km=None), per_page=100)
    by_id = {item.offer.id: item for item in page.items}
    assert by_id[leeds.id].distance_km == pytest.approx(distance_km(MANCHESTER, LEEDS), rel=1e-6)
    assert by_id[near.id].distance_km < 5


def test_batch_distances_agree_with_the_geocoders_distance():
    points = [SALFORD, STOCKPORT, LEEDS, (50.37, -4.14), (55.0, -1.6)]
    for point, batch in zip(points, distances_km(MANCHESTER, points), strict=True):
        assert batch == pytest.approx(distance_km(MANCHESTER, point), abs=0.001)


def test_soonest_first_pages_skip_repeated_sessions_of_the_same_offer():
    busy = make_offer(sessions=0, title="Weekly")
    for day in range(2, 30):  # many sessions, all before the others' first one
        make_session(busy, starts_in_days=day)
    later = []
    for days in (40, 50, 60):
        offer = make_offer(sessions=0)
        make_session(offer, starts_in_days=days)
        later.append(offer)
    query = OfferQuery(activity_types=["workplace_visit"])
    first = search_offers(db.session, query, page=1, per_page=2)
    second = search_offers(db.session, query, page=2, per_page=2)
    assert first.total == 4
    assert _ids(first) == [busy.id, later[0].id] and _ids(second) == [later[1].id, later[2].id]


def test_an_offer_whose_sessions_are_all_past_drops_out_when_its_last_session_goes():
    from portal.offers import services

    offer = make_offer(sessions=0, status="draft")
    make_session(offer, starts_in_days=-3)
    future = make_session(offer, starts_in_days=9)
    offer.status = "published"
    assert offer.id in _found(OfferQuery())
    db.session.delete(future)
    db.session.flush()
    services.refresh_last_session(db.session, [offer.id])
    assert offer.id not in _found(OfferQuery())


def test_a_closed_date_window_with_a_distance_keeps_virtual_offers_in_the_window():
    inside = make_offer(location=None, sessions=0)
    make_session(inside, starts_in_days=20)
    outside = make_offer(location=None, sessions=0)
    make_session(outside, starts_in_days=60)
    today = dt.date.today()
    query = OfferQuery(origin=MANCHESTER, radius_km=10, date_from=today + dt.timedelta(days=15),
                       date_to=today + dt.timedelta(days=25))
    found = _found(query)
    assert inside.id in found and outside.id not in found


def test_offers_at_the_same_place_page_in_id_order_without_repeats():
    same_place = [make_offer(location=SALFORD) for _ in range(5)]
    nearer = make_offer(location=MANCHESTER)
    query = OfferQuery(origin=MANCHESTER, radius_km=10)
    pages = [_ids(search_offers(db.session, query, page=n, per_page=2)) for n in (1, 2, 3)]
    assert pages[0][0] == nearer.id
    assert [offer_id for page in pages for offer_id in page][1:] == sorted(o.id for o in same_place)


@pytest.mark.parametrize("ring", [False, True])
def test_the_count_stops_at_the_cap_and_says_more_than_only_when_more_match(monkeypatch, ring):
    """COUNT_CAP offers are counted exactly; one more is 'more than', whether the extra one is surely inside
    (counted in SQL) or in the ring near the edge (measured) or virtual; pages stop at the cap."""
    from portal.offers import search

    monkeypatch.setattr(search, "COUNT_CAP", 4)
    edge = 9.99 if ring else 0.0  # km north: just inside a 10 km radius, or at the centre
    offers = [make_offer(location=(MANCHESTER[0] + 0.002 * i, MANCHESTER[1])) for i in range(4)]
    query = OfferQuery(origin=MANCHESTER, radius_km=10)
    exact = search_offers(db.session, query, per_page=2)
    assert (exact.total, exact.more_than, exact.pages) == (4, False, 2)
    extra = make_offer(location=(MANCHESTER[0] + edge / 111.25, MANCHESTER[1]))
    more = search_offers(db.session, query, per_page=2)
    assert (more.total, more.more_than, more.pages) == (4, True, 2)
    everyone = sorted([*offers, extra], key=lambda o: (distance_km(MANCHESTER, (o.latitude, o.longitude)), o.id))
    assert _ids(search_offers(db.session, query, page=1, per_page=4)) == [o.id for o in everyone[:4]]
    virtual_extra = search_offers(db.session, OfferQuery(origin=MANCHESTER, radius_km=0.5), per_page=2)
    assert not virtual_extra.more_than
    for _ in range(4):
        make_offer(location=None)
    assert search_offers(db.session, OfferQuery(origin=MANCHESTER, radius_km=0.5), per_page=2).more_than
    assert search_offers(db.session, OfferQuery(), per_page=2).more_than  # soonest first counts with the cap too


def test_the_search_page_and_the_api_say_more_than_when_the_count_stops(monkeypatch, login):
    from portal.core.vocab import Role
    from portal.offers import search
    from tests.factories import make_school, make_user

    monkeypatch.setattr(search, "COUNT_CAP", 2)
    school = make_school(latitude=MANCHESTER[0], longitude=MANCHESTER[1])
    client = login(make_user(Role.SCHOOL, school_id=school.id))
    for i in range(2):
        make_offer(location=(MANCHESTER[0] + 0.002 * i, MANCHESTER[1]))
    page = client.get("/offers?radius=10").get_data(as_text=True)
    assert "2 offers found" in page and "More than" not in page and "more than" not in page
    make_offer(location=(MANCHESTER[0] + 0.01, MANCHESTER[1]))
    page = client.get("/offers?radius=10").get_data(as_text=True)
    assert "More than 2 offers found" in page
