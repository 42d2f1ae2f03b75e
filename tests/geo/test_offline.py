"""OfflineGeocoder over the full ONS Postcode Directory lookup."""

from __future__ import annotations

import time

import pytest

from portal.core.postcodes import InvalidPostcode
from portal.geo import Location, OfflineGeocoder, UnknownPostcode
from tests.geo.helpers import haversine_km

# Real postcodes in every English region, with the published coordinates of a landmark there.
ENGLAND = [
    ("North East", "NE1 7RU", (54.9741, -1.6131)),  # Grey's Monument, Newcastle
    ("North West", "M1 1AE", (53.4808, -2.2426)),  # Manchester city centre
    ("Yorkshire and the Humber", "LS1 1UR", (53.7997, -1.5492)),  # Leeds city centre
    ("East Midlands", "NG1 5FW", (52.9531, -1.1505)),  # Old Market Square, Nottingham
    ("West Midlands", "B1 1BB", (52.4797, -1.9028)),  # Council House, Birmingham
    ("East of England", "CB2 1TN", (52.2043, 0.1165)),  # King's College, Cambridge
    ("London", "SW1A 1AA", (51.5014, -0.1419)),  # Buckingham Palace
    ("South East", "BN1 1EE", (50.8225, -0.1372)),  # Royal Pavilion, Brighton
    ("South West", "BS1 4DJ", (51.4545, -2.5879)),  # Bristol city centre
]


@pytest.mark.parametrize(
    ("region", "postcode", "landmark"), ENGLAND, ids=[region for region, _, _ in ENGLAND]
)
def test_every_english_region_resolves_near_its_landmark(
    geocoder: OfflineGeocoder, region: str, postcode: str, landmark: tuple[float, float]
) -> None:
    location = geocoder.locate(postcode)
    assert location.postcode == postcode
    assert location.source == "onspd"
    assert location.approximate is False
    assert haversine_km(location.point, landmark) < 1.5, region


def test_raw_text_is_normalised(geocoder: OfflineGeocoder) -> None:
    assert geocoder.locate("  sw1a1aa ") == geocoder.locate("SW1A 1AA")
    location = geocoder.locate("sw1a 1aa")
    assert location == Location("SW1A 1AA", location.latitude, location.longitude, False, "onspd")
    assert location.latitude == pytest.approx(51.501, abs=0.001)
    assert location.longitude == pytest.approx(-0.1416, abs=0.001)


@pytest.mark.parametrize("text", ["", "   ", "hello", "SW1A 1A", "12345", "SW1A 1AAA", "SW1A 1CA"])
def test_malformed_text_is_an_invalid_postcode(geocoder: OfflineGeocoder, text: str) -> None:
    with pytest.raises(InvalidPostcode):
        geocoder.locate(text)


def test_an_unknown_district_names_the_district(geocoder: OfflineGeocoder) -> None:
    with pytest.raises(UnknownPostcode, match=r"^ZZ9 9ZZ: unknown postcode district ZZ9$"):
        geocoder.locate("zz9 9zz")
    with pytest.raises(UnknownPostcode, match=r"^Q1 1AA: unknown postcode district Q1$"):
        geocoder.locate("Q1 1AA")
    assert issubclass(UnknownPostcode, ValueError)


def test_a_postcode_missing_from_the_directory_uses_its_district_centroid(
    geocoder: OfflineGeocoder,
) -> None:
    location = geocoder.locate("SW1A 9ZZ")  # well formed, district SW1A, not a real unit
    assert location.postcode == "SW1A 9ZZ"
    assert location.approximate is True
    assert location.source == "district"
    assert haversine_km(location.point, geocoder.locate("SW1A 1AA").point) < 2.0


def test_a_listed_postcode_without_a_grid_reference_uses_its_district_centroid(
    geocoder: OfflineGeocoder,
) -> None:
    location = geocoder.locate("BT1 1AH")  # in the ONSPD, but with no grid reference
    assert (location.approximate, location.source) == (True, "district")
    assert haversine_km(location.point, (54.5967, -5.9301)) < 2.0  # central Belfast


# Scotland and Wales use British National Grid like England.
@pytest.mark.parametrize(
    ("postcode", "landmark"),
    [
        ("EH1 1YZ", (55.9533, -3.1883)),  # Edinburgh, Princes Street
        ("G1 1XQ", (55.8611, -4.2502)),  # Glasgow, George Square
        ("CF10 1EP", (51.4816, -3.1791)),  # Cardiff city centre
    ],
)
def test_scotland_and_wales_are_covered(
    geocoder: OfflineGeocoder, postcode: str, landmark: tuple[float, float]
) -> None:
    location = geocoder.locate(postcode)
    assert (location.approximate, location.source) == (False, "onspd")
    assert haversine_km(location.point, landmark) < 1.5


def test_northern_ireland_is_converted_from_the_irish_grid(geocoder: OfflineGeocoder) -> None:
    # The ONSPD gives BT postcodes in Irish Grid metres; read as British grid they would land in
    # the Irish Sea off Wales. Belfast City Hall is at 54.5967 N, 5.9301 W.
    location = geocoder.locate("BT1 5GS")
    assert (location.approximate, location.source) == (False, "onspd")
    assert haversine_km(location.point, (54.596667, -5.930139)) < 0.2


@pytest.mark.parametrize(
    ("postcode", "place"),
    [("GY1 1AA", "Guernsey"), ("JE2 3NQ", "Jersey"), ("IM1 1AF", "the Isle of Man")],
)
def test_channel_islands_and_isle_of_man_cannot_be_located_offline(
    geocoder: OfflineGeocoder, postcode: str, place: str
) -> None:
    with pytest.raises(
        UnknownPostcode, match=f"^{postcode}: postcodes in {place} have no location"
    ):
        geocoder.locate(postcode)


def test_a_district_without_any_location_says_so(geocoder: OfflineGeocoder) -> None:
    with pytest.raises(UnknownPostcode, match=r"district W1E has no location"):
        geocoder.locate("W1E 1AA")  # a PO-box-only district


def test_lookups_take_microseconds_once_open(geocoder: OfflineGeocoder) -> None:
    geocoder.locate("SW1A 1AA")
    postcodes = [postcode for _, postcode, _ in ENGLAND] * 50
    started = time.perf_counter()
    for postcode in postcodes:
        geocoder.locate(postcode)
    per_lookup = (time.perf_counter() - started) / len(postcodes)
    assert per_lookup < 0.001  # the benchmark measures single-digit microseconds


def test_each_thread_gets_its_own_connection(geocoder: OfflineGeocoder) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(geocoder.locate, ["B1 1BB"] * 40))
    assert {result.postcode for result in results} == {"B1 1BB"}
    assert len(set(results)) == 1
