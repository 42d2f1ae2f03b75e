"""get_geocoder(): the geocoder the app is configured to use, created on first use."""

from __future__ import annotations

import threading
from pathlib import Path

from flask import Flask, current_app

from portal.geo.models import Geocoder
from portal.geo.nominatim import NominatimGeocoder
from portal.geo.offline import OfflineGeocoder

GEOCODERS = ("offline", "nominatim")

_offline: dict[Path, OfflineGeocoder] = {}
_nominatim: dict[tuple[Path, str], NominatimGeocoder] = {}
_lock = threading.Lock()


def lookup_path_for(app: Flask) -> Path:
    """Where the app's postcode lookup lives: GEO_LOOKUP_PATH, or <instance>/geo/postcodes.sqlite."""
    configured = app.config.get("GEO_LOOKUP_PATH")
    if configured:
        return Path(configured)
    return Path(app.instance_path) / "geo" / "postcodes.sqlite"


def get_geocoder() -> Geocoder:
    """The configured geocoder for the current app (one shared instance per lookup file)."""
    config = current_app.config
    kind = str(config.get("GEOCODER") or "offline").strip().lower()
    if kind not in GEOCODERS:
        raise ValueError(f"GEOCODER must be one of {', '.join(GEOCODERS)}, not {kind!r}")
    path = lookup_path_for(current_app).resolve()
    with _lock:
        offline = _offline.get(path)
        if offline is None:
            offline = _offline[path] = OfflineGeocoder(path)
        if kind == "offline":
            return offline
        user_agent = str(config.get("NOMINATIM_USER_AGENT") or "placement-portal")
        online = _nominatim.get((path, user_agent))
        if online is None:
            online = _nominatim[(path, user_agent)] = NominatimGeocoder(
                offline, user_agent=user_agent
            )
        return online


def clear_geocoders() -> None:
    """Forget the shared geocoders (tests; after moving the lookup file)."""
    with _lock:
        for geocoder in _offline.values():
            geocoder.close()
        _offline.clear()
        _nominatim.clear()
