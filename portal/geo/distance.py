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


# --- a flat measure near a point, with proven bounds on the geodesic ------------------------------
#
# On the ellipsoid, ds^2 = M(lat)^2 dlat^2 + P(lat)^2 dlon^2 (radians), where M is the meridional
# radius of curvature and P = N(lat) cos(lat) the radius of the parallel. Freezing both at the
# origin gives a flat measure that SQL can compute with multiplications only:
#
#     q = ((lat - lat0) * ky)^2 + ((lon - lon0) * kx)^2      (m^2; ky, kx in metres per degree)
#
# Over a band of latitudes where M and P stay within [Mmin, Mmax] and [Pmin, Pmax]:
#   * upper: the path straight in (lat, lon) from the origin stays in the band of the two
#     latitudes, so geodesic <= sqrt((Mmax dlat)^2 + (Pmax dlon)^2) <= hi * sqrt(q), with
#     hi = max(Mmax/M0, Pmax/P0);
#   * lower: a geodesic of length L from the origin never leaves bounding_box(L), so on that box's
#     band geodesic >= sqrt((Mmin dlat)^2 + (Pmin dlon)^2) >= lo * sqrt(q), lo = min(Mmin/M0, Pmin/P0)
#     (a flat norm: no path is shorter than the straight line).

_WGS84_A = 6378137.0
_WGS84_E2 = (1 / 298.257223563) * (2 - 1 / 298.257223563)
#: Slack for floating-point rounding in SQL and in the geodesic itself: far below a millimetre.
_ROUNDING = 1e-9


def _radii(lat: float) -> tuple[float, float]:
    """(M, P) in metres at this latitude: meridional radius of curvature and radius of the parallel."""
    phi = math.radians(lat)
    w = 1.0 - _WGS84_E2 * math.sin(phi) ** 2
    return _WGS84_A * (1.0 - _WGS84_E2) / w ** 1.5, _WGS84_A * math.cos(phi) / math.sqrt(w)


def _band_radii(min_lat: float, max_lat: float) -> tuple[float, float, float, float]:
    """(Mmin, Mmax, Pmin, Pmax) over a band of latitudes: M grows and P shrinks away from the equator."""
    nearest = 0.0 if min_lat <= 0.0 <= max_lat else min(abs(min_lat), abs(max_lat))
    farthest = max(abs(min_lat), abs(max_lat))
    m_min, p_max = _radii(nearest)
    m_max, p_min = _radii(farthest)
    return m_min, m_max, max(p_min, 0.0), p_max


class FlatMeasure:
    """The flat squared distance q (m^2) around an origin, and the squared bounds that classify points by it.

    ``ky`` and ``kx`` are metres per degree of latitude and longitude at the origin, so
    ``((lat - lat0) * ky)**2 + ((lon - lon0) * kx)**2`` is q in SQL as in Python.
    """

    def __init__(self, lat: float, lon: float) -> None:
        self.lat, self.lon = lat, lon
        self._m0, self._p0 = _radii(lat)
        self.ky = self._m0 * math.pi / 180.0
        self.kx = self._p0 * math.pi / 180.0

    def squared(self, lat: float, lon: float) -> float:
        """q for one point, as SQL computes it."""
        return ((lat - self.lat) * self.ky) ** 2 + ((lon - self.lon) * self.kx) ** 2

    def keep_below(self, metres: float) -> float | None:
        """A bound on q that every point of bounding_box(metres) within `metres` (geodesic) meets.

        None when there is none: the box reaches a pole or wraps round in longitude.
        """
        min_lat, max_lat, min_lon, max_lon = bounding_box(self.lat, self.lon, metres / 1000.0)
        m_min, _, p_min, _ = _band_radii(min_lat, max_lat)
        low = min(m_min / self._m0, p_min / self._p0) if self._p0 > 0 else 0.0
        if low <= 0.0 or max_lon - min_lon >= 360.0:  # a pole, or paths that may cross longitude 180
            return None
        return (metres / low) ** 2 * (1.0 + _ROUNDING)

    def inside_below(self, metres: float) -> float:
        """A bound on q under which every point of bounding_box(metres) is surely within `metres` (geodesic)."""
        min_lat, max_lat, _, _ = bounding_box(self.lat, self.lon, metres / 1000.0)
        _, m_max, _, p_max = _band_radii(min_lat, max_lat)
        high = max(m_max / self._m0, p_max / self._p0 if self._p0 > 0 else math.inf)
        return (metres / high) ** 2 * (1.0 - _ROUNDING) if math.isfinite(high) else 0.0


#: The distance index splits longitudes into strips this many to a degree (about 17 km wide in England),
#: so a search seeks each strip its box touches instead of scanning a band across the whole country.
LON_CELLS_PER_DEGREE = 4
#: The strip of a longitude, as SQL for a generated column (non-negative, so the cast truncates on SQLite; it
#: rounds on PostgreSQL: lon_cells covers either).
LON_CELL_SQL = f"CAST((longitude + 180) * {LON_CELLS_PER_DEGREE} AS INTEGER)"


def lon_cells(min_lon: float, max_lon: float) -> list[int]:
    """Every strip a longitude between the two can fall in, whether the cast truncates or rounds."""
    low = math.floor((min_lon + 180) * LON_CELLS_PER_DEGREE)
    high = math.ceil((max_lon + 180) * LON_CELLS_PER_DEGREE)
    return list(range(low, high + 1))
