"""distance_km against independently computed distances; bounding_box containment."""

from __future__ import annotations

import pytest
from geopy.distance import geodesic

from portal.geo import OfflineGeocoder, bounding_box, distance_km
from tests.geo.helpers import haversine_km

BUCKINGHAM_PALACE = (51.501364, -0.141890)
MANCHESTER_TOWN_HALL = (53.479444, -2.244444)
BIRMINGHAM_COUNCIL_HOUSE = (52.479722, -1.902778)


@pytest.mark.parametrize(
    ("from_postcode", "to_postcode", "landmarks", "about_km"),
    [
        ("SW1A 1AA", "M2 5DB", (BUCKINGHAM_PALACE, MANCHESTER_TOWN_HALL), 262),
        ("SW1A 1AA", "B1 1BB", (BUCKINGHAM_PALACE, BIRMINGHAM_COUNCIL_HOUSE), 163),
    ],
    ids=["London-Manchester", "London-Birmingham"],
)
def test_city_centre_distances_are_within_one_percent(
    geocoder: OfflineGeocoder,
    from_postcode: str,
    to_postcode: str,
    landmarks: tuple[tuple[float, float], tuple[float, float]],
    about_km: float,
) -> None:
    expected = haversine_km(*landmarks)  # great circle between the published coordinates
    assert expected == pytest.approx(about_km, abs=1)
    measured = distance_km(geocoder.locate(from_postcode).point, geocoder.locate(to_postcode).point)
    assert measured == pytest.approx(expected, rel=0.01)


def test_distance_is_symmetric_and_zero_to_itself() -> None:
    assert distance_km(BUCKINGHAM_PALACE, BUCKINGHAM_PALACE) == 0
    there = distance_km(BUCKINGHAM_PALACE, MANCHESTER_TOWN_HALL)
    back = distance_km(MANCHESTER_TOWN_HALL, BUCKINGHAM_PALACE)
    assert there == pytest.approx(back)
    assert isinstance(there, float)


def test_short_distances_are_accurate() -> None:
    # One minute of latitude along a meridian at 52 N is 1.8547 km on the WGS84 ellipsoid.
    assert distance_km((52.0, -1.0), (52.0 + 1 / 60, -1.0)) == pytest.approx(1.8547, rel=1e-3)


@pytest.mark.parametrize("latitude", [49.9, 51.5, 54.6, 60.8, 0.0, -33.9, 75.0])
@pytest.mark.parametrize("radius_km", [0.5, 5.0, 25.0, 100.0, 400.0])
def test_bounding_box_contains_the_whole_circle(latitude: float, radius_km: float) -> None:
    longitude = -2.0
    min_lat, max_lat, min_lon, max_lon = bounding_box(latitude, longitude, radius_km)
    assert min_lat < latitude < max_lat
    assert min_lon < longitude < max_lon
    for bearing in range(0, 360, 5):
        point = geodesic(kilometers=radius_km).destination((latitude, longitude), bearing)
        assert min_lat <= point.latitude <= max_lat, bearing
        assert min_lon <= point.longitude <= max_lon, bearing


def test_bounding_box_is_not_much_larger_than_the_circle() -> None:
    min_lat, max_lat, min_lon, max_lon = bounding_box(52.0, -1.5, 10.0)
    north_south = distance_km((min_lat, -1.5), (max_lat, -1.5))
    east_west = distance_km((52.0, min_lon), (52.0, max_lon))
    assert 20.0 < north_south < 20.0 * 1.05
    assert 20.0 < east_west < 20.0 * 1.05


def test_bounding_box_edge_cases() -> None:
    assert bounding_box(51.5, -0.1, 0.0) == (51.5, 51.5, -0.1, -0.1)
    assert bounding_box(89.99, 10.0, 50.0)[2:] == (-180.0, 180.0)  # the circle covers the pole
    with pytest.raises(ValueError, match="radius"):
        bounding_box(51.5, -0.1, -1.0)
    with pytest.raises(ValueError, match="latitude"):
        bounding_box(91.0, 0.0, 1.0)
