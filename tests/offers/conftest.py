"""Offer tests use the real postcode lookup: the one tests/geo builds once per machine and reuses."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from portal.geo import clear_geocoders, ensure_lookup


@pytest.fixture(scope="session", autouse=True)
def shared_geocoder(app: Flask) -> Iterator[None]:
    """Point the app's geocoder at the shared, prebuilt lookup instead of building one per run."""
    from tests.geo.helpers import shared_lookup_path

    path = shared_lookup_path()
    ensure_lookup(path)
    previous = app.config.get("GEO_LOOKUP_PATH")
    app.config["GEO_LOOKUP_PATH"] = str(path)
    clear_geocoders()
    yield
    app.config["GEO_LOOKUP_PATH"] = previous
    clear_geocoders()
