"""Value types shared by the geocoders: Location, UnknownPostcode and the Geocoder protocol."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

SOURCE_ONSPD = "onspd"
SOURCE_DISTRICT = "district"
SOURCE_NOMINATIM = "nominatim"


@dataclass(frozen=True)
class Location:
    """Where a postcode is, in WGS84 degrees."""

    postcode: str  # normalised, e.g. "SW1A 1AA"
    latitude: float
    longitude: float
    approximate: bool  # True when the district centroid was used
    source: str  # "onspd", "district" or "nominatim"

    @property
    def point(self) -> tuple[float, float]:
        """The (latitude, longitude) pair that distance_km expects."""
        return (self.latitude, self.longitude)


class UnknownPostcode(ValueError):
    """A well-formed postcode that cannot be placed on a map."""


@runtime_checkable
class Geocoder(Protocol):
    """Anything that turns a UK postcode into a Location."""

    def locate(self, postcode: str) -> Location:
        """Locate raw postcode text; raise InvalidPostcode or UnknownPostcode."""
        ...
