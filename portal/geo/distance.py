"""Distances between (latitude, longitude) points, and boxes for indexed SQL pre-filters."""

from __future__ import annotations

import math

#: Shortest length of one degree of latitude on the WGS84 ellipsoid (at the equator), in km.
_KM_PER_DEGREE_LATITUDE_MIN = 110.574
#: Length of one degree of longitude at the equator (WGS84 semi-major axis), in km.
_KM_PER_DEGREE_LONGITUDE_EQUATOR = 111.3195
#: Widen the box a little so rounding can never push a point at the radius outside it.
_MARGIN = 1.01


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Geodesic distance in km on the WGS84 ellipsoid between two (latitude, longitude) pairs."""
    from geopy.distance import geodesic  # imported on first use: geopy is slow to import

    return float(geodesic(a, b).km)


def bounding_box(lat: float, lon: float, radius_km: float) -> tuple[float, float, float, float]:
    """Return (min_lat, max_lat, min_lon, max_lon) surely containing every point within radius_km.

    Meant for an indexed pre-filter (``WHERE latitude BETWEEN ? AND ? AND longitude BETWEEN ? AND
    ?``) before the exact distance_km check. Longitudes are not wrapped at +/-180 degrees, which
    never matters in the UK.
    """
    if not -90.0 <= lat <= 90.0:
        raise ValueError(f"latitude {lat} is outside -90..90")
    if radius_km < 0 or not math.isfinite(radius_km):
        raise ValueError(f"radius {radius_km} km must be a finite number, zero or more")
    delta_lat = radius_km / _KM_PER_DEGREE_LATITUDE_MIN * _MARGIN
    min_lat, max_lat = max(lat - delta_lat, -90.0), min(lat + delta_lat, 90.0)
    # The circle is widest in longitude towards the pole, where degrees of longitude are shortest.
    poleward = max(abs(min_lat), abs(max_lat))
    cos_poleward = math.cos(math.radians(poleward))
    km_per_degree_lon = _KM_PER_DEGREE_LONGITUDE_EQUATOR * cos_poleward
    if km_per_degree_lon <= 0 or radius_km / km_per_degree_lon * _MARGIN >= 180.0:
        return (min_lat, max_lat, -180.0, 180.0)
    delta_lon = radius_km / km_per_degree_lon * _MARGIN
    return (min_lat, max_lat, lon - delta_lon, lon + delta_lon)
