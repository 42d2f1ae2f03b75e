"""NominatimGeocoder with a fake geopy client: no network is ever touched."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from geopy.exc import GeocoderServiceError, GeocoderTimedOut

from portal.core.postcodes import InvalidPostcode
from portal.geo import Location, NominatimGeocoder, OfflineGeocoder


@dataclass
class FakePlace:
    latitude: float
    longitude: float


class FakeNominatim:
    """Stands in for geopy.geocoders.Nominatim: records queries, answers or raises."""

    def __init__(self, answer: Any = None, error: Exception | None = None) -> None:
        self.answer = answer
        self.error = error
        self.calls: list[tuple[Any, dict[str, Any]]] = []

    def geocode(self, query: Any, **kwargs: Any) -> Any:
        self.calls.append((query, kwargs))
        if self.error is not None:
            raise self.error
        return self.answer


def test_an_answer_from_nominatim_is_used(geocoder: OfflineGeocoder) -> None:
    client = FakeNominatim(FakePlace(51.5012, -0.1417))
    online = NominatimGeocoder(geocoder, client=client)
    assert online.locate("sw1a1aa") == Location("SW1A 1AA", 51.5012, -0.1417, False, "nominatim")
    query, options = client.calls[0]
    assert query == {"postalcode": "SW1A 1AA"}
    assert "gb" in options["country_codes"]


@pytest.mark.parametrize(
    "client",
    [
        FakeNominatim(None),
        FakeNominatim(error=GeocoderTimedOut("slow")),
        FakeNominatim(error=GeocoderServiceError("down")),
        FakeNominatim(error=OSError("no route to host")),
        FakeNominatim(FakePlace(40.7, -74.0)),  # New York: not a UK answer
    ],
    ids=["no-answer", "timeout", "service-error", "os-error", "outside-uk"],
)
def test_any_failure_falls_back_to_the_offline_lookup(
    geocoder: OfflineGeocoder, client: FakeNominatim
) -> None:
    online = NominatimGeocoder(geocoder, client=client)
    assert online.locate("B1 1BB") == geocoder.locate("B1 1BB")
    assert len(client.calls) == 1


def test_a_malformed_postcode_is_rejected_before_any_request(geocoder: OfflineGeocoder) -> None:
    client = FakeNominatim(FakePlace(51.5, -0.1))
    with pytest.raises(InvalidPostcode):
        NominatimGeocoder(geocoder, client=client).locate("not a postcode")
    assert client.calls == []


def test_the_real_client_is_created_lazily_without_network(geocoder: OfflineGeocoder) -> None:
    online = NominatimGeocoder(geocoder, user_agent="portal-tests", timeout=1.0)
    client = online._geocoder()  # constructing geopy's Nominatim sends nothing
    assert type(client).__name__ == "Nominatim"
    assert client.headers["User-Agent"] == "portal-tests"
