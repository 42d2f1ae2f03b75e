"""OfflineGeocoder: postcode -> WGS84 from the SQLite lookup built by portal.geo.build."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from pathlib import Path

from portal.core.postcodes import normalise_postcode, outward_code
from portal.geo.build import COORD_SCALE, NO_GRID_AREAS, ensure_lookup, open_lookup
from portal.geo.models import SOURCE_DISTRICT, SOURCE_ONSPD, Location, UnknownPostcode

logger = logging.getLogger(__name__)

_POSTCODE_SQL = "SELECT lat, lon FROM postcode WHERE pc = ?"
_DISTRICT_SQL = "SELECT lat, lon FROM district WHERE outward = ?"


class OfflineGeocoder:
    """Locate postcodes from the ONS Postcode Directory, with no network access.

    Nothing is read when the object is created. The first locate() builds the lookup if it is
    missing or outdated (about ten seconds, once) and opens it; later calls cost a few
    microseconds. Each thread (and each forked process) gets its own read-only connection.
    """

    def __init__(self, lookup_path: Path, *, source_dir: Path | None = None) -> None:
        self.lookup_path = Path(lookup_path)
        self._source_dir = source_dir  # another copy of the package's data files (tests)
        self._ready = False
        self._ready_lock = threading.Lock()
        self._local = threading.local()

    def __repr__(self) -> str:
        return f"OfflineGeocoder({str(self.lookup_path)!r})"

    def locate(self, postcode: str) -> Location:
        """Locate raw postcode text; raise InvalidPostcode or UnknownPostcode."""
        normalised = normalise_postcode(postcode)
        connection = self._connection()
        row = connection.execute(_POSTCODE_SQL, (normalised.replace(" ", ""),)).fetchone()
        if row is not None:
            return Location(
                normalised, row[0] / COORD_SCALE, row[1] / COORD_SCALE, False, SOURCE_ONSPD
            )
        district = outward_code(normalised)
        row = connection.execute(_DISTRICT_SQL, (district,)).fetchone()
        if row is None:
            raise UnknownPostcode(f"{normalised}: unknown postcode district {district}")
        if row[0] is None:
            raise UnknownPostcode(_no_location_message(normalised, district))
        logger.debug("%s is not in the directory: using the centroid of %s", normalised, district)
        return Location(
            normalised, row[0] / COORD_SCALE, row[1] / COORD_SCALE, True, SOURCE_DISTRICT
        )

    def ensure_built(self) -> None:
        """Build the lookup now if it is missing or outdated (otherwise the first locate does)."""
        if not self._ready:
            with self._ready_lock:
                if not self._ready:
                    ensure_lookup(self.lookup_path, source_dir=self._source_dir)
                    self._ready = True

    def close(self) -> None:
        """Close the calling thread's connection (others close when their thread ends)."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is not None and self._local.pid == os.getpid():
            return connection
        self.ensure_built()
        connection = open_lookup(self.lookup_path)
        self._local.connection = connection
        self._local.pid = os.getpid()  # a connection must not cross a fork
        return connection


def _no_location_message(postcode: str, district: str) -> str:
    """Explain why a listed postcode district has no location."""
    area = district[:2] if district[1:2].isalpha() else district[:1]
    if area in NO_GRID_AREAS:
        return (
            f"{postcode}: postcodes in {NO_GRID_AREAS[area]} have no location in the "
            "ONS Postcode Directory, so distances cannot be worked out offline"
        )
    return (
        f"{postcode}: postcode district {district} has no location in the ONS Postcode "
        "Directory (a non-geographic district, such as PO boxes); enter the site's street postcode"
    )
