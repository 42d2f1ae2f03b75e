"""Fixtures for portal.geo: the real postcode lookup, built once per machine and package version.

Building the full lookup takes about ten seconds, so it is cached outside the test run in
<tempdir>/portal-geo-test-<uid>-<package version>-schema<N>/postcodes.sqlite and reused by later
runs (set PORTAL_GEO_TEST_LOOKUP to use another file). ensure_lookup() rebuilds it if it is
missing, unreadable or from another package or schema version, and is safe when several test
processes start at once.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from portal.geo import OfflineGeocoder, ensure_lookup
from tests.geo.helpers import SAMPLE_ROWS, shared_lookup_path, write_source_file


@pytest.fixture(scope="session")
def lookup_path() -> Path:
    """The full lookup built from the installed ONS Postcode Directory package."""
    path = shared_lookup_path()
    ensure_lookup(path)
    return path


@pytest.fixture(scope="session")
def geocoder(lookup_path: Path) -> OfflineGeocoder:
    """An offline geocoder over the full lookup."""
    return OfflineGeocoder(lookup_path)


@pytest.fixture
def sample_source(tmp_path: Path) -> Path:
    """A folder of tiny source files in the package's format."""
    folder = tmp_path / "source"
    for letter, rows in SAMPLE_ROWS.items():
        write_source_file(folder, letter, rows)
    return folder
