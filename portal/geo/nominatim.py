"""NominatimGeocoder: optional online lookup through geopy, falling back to the offline one.

Off by default (GEOCODER = "offline"). OpenStreetMap's public Nominatim service allows at most
one request a second and needs an identifying user agent (NOMINATIM_USER_AGENT); results are
OpenStreetMap data (ODbL). Any error, timeout, empty or implausible answer falls back to the
offline geocoder, so a locate() never fails because the network did.
"""

from __future__ import annotations

import logging
from typing import Any

from portal.core.postcodes import normalise_postcode
from portal.geo.models import SOURCE_NOMINATIM, Geocoder, Location

logger = logging.getLogger(__name__)

#: United Kingdom, Guernsey, Jersey, Isle of Man.
COUNTRY_CODES = ("gb", "gg", "je", "im")
#: A generous box around the UK, the Channel Islands and the Isle of Man.
_UK_BOUNDS = (49.0, 61.5, -8.8, 2.1)  # min_lat, max_lat, min_lon, max_lon


class NominatimGeocoder:
    """Locate postcodes with OpenStreetMap Nominatim; fall back to another geocoder on any failure."""

    def __init__(
        self,
        fallback: Geocoder,
        *,
        user_agent: str = "placement-portal",
        timeout: float = 5.0,
        client: Any | None = None,
    ) -> None:
        self.fallback = fallback
        self._user_agent = user_agent
        self._timeout = timeout
        self._client = client  # anything with geopy's geocode(query, ...) method

    def __repr__(self) -> str:
        return f"NominatimGeocoder(fallback={self.fallback!r})"

    def locate(self, postcode: str) -> Location:
        """Locate raw postcode text; raise InvalidPostcode or UnknownPostcode."""
        normalised = normalise_postcode(postcode)
        try:
            result = self._geocoder().geocode(
                {"postalcode": normalised},
                exactly_one=True,
                country_codes=list(COUNTRY_CODES),
            )
            latitude, longitude = (
                (float(result.latitude), float(result.longitude)) if result else (None, None)
            )
        except Exception:
            logger.warning(
                "Nominatim failed for %s; using the offline lookup", normalised, exc_info=True
            )
            return self.fallback.locate(normalised)
        if latitude is None or longitude is None or not _in_uk(latitude, longitude):
            logger.info(
                "Nominatim has no usable answer for %s; using the offline lookup", normalised
            )
            return self.fallback.locate(normalised)
        return Location(normalised, latitude, longitude, False, SOURCE_NOMINATIM)

    def _geocoder(self) -> Any:
        if self._client is None:
            from geopy.geocoders import Nominatim  # imported late: geopy loads asyncio and more

            self._client = Nominatim(user_agent=self._user_agent, timeout=self._timeout)
        return self._client


def _in_uk(latitude: float, longitude: float) -> bool:
    """Whether a point lies in the box around the UK and Crown Dependencies."""
    min_lat, max_lat, min_lon, max_lon = _UK_BOUNDS
    return min_lat <= latitude <= max_lat and min_lon <= longitude <= max_lon
