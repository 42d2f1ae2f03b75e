"""Offline UK postcode geocoding (ONS Postcode Directory) and distances for travel matching.

Importing this package is cheap: nothing is read or built until the first locate(). pyproj,
brotli and msgpack are only imported by a build, and geopy only on the first distance_km().
"""

from __future__ import annotations

from portal.geo.build import BuildReport, build_lookup, ensure_lookup
from portal.geo.distance import bounding_box, distance_km
from portal.geo.models import Geocoder, Location, UnknownPostcode
from portal.geo.nominatim import NominatimGeocoder
from portal.geo.offline import OfflineGeocoder
from portal.geo.service import clear_geocoders, get_geocoder, lookup_path_for

__all__ = [
    "BuildReport",
    "Geocoder",
    "Location",
    "NominatimGeocoder",
    "OfflineGeocoder",
    "UnknownPostcode",
    "bounding_box",
    "build_lookup",
    "clear_geocoders",
    "distance_km",
    "ensure_lookup",
    "get_geocoder",
    "lookup_path_for",
]
