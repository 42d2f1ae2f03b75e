"""Helpers shared by the geo tests (not fixtures)."""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

import brotli
import msgpack

from portal.geo.build import SCHEMA_VERSION, installed_source_version


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance on a sphere of the mean Earth radius (independent of geopy)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


def write_source_file(
    folder: Path, letter: str, rows: Iterable[tuple[str, float | None, float | None]]
) -> Path:
    """Write a tiny postcodes_<letter>.msgpack.br in the package's layout (pcd in 7-char form)."""
    rows = list(rows)
    payload = {
        "columns": ["pcd", "laua", "oseast1m", "osnrth1m"],
        "data": {
            "pcd": [pcd for pcd, _, _ in rows],
            "laua": ["E00000000"] * len(rows),
            "oseast1m": [float("nan") if east is None else east for _, east, _ in rows],
            "osnrth1m": [float("nan") if north is None else north for _, _, north in rows],
        },
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"postcodes_{letter}.msgpack.br"
    path.write_bytes(brotli.compress(msgpack.packb(payload, use_bin_type=True)))
    return path


#: A small directory: real grid references for a few postcodes, plus the awkward cases.
SAMPLE_ROWS: dict[str, list[tuple[str, float | None, float | None]]] = {
    "S": [
        ("SW1A1AA", 529090.0, 179645.0),  # Buckingham Palace (British National Grid)
        ("SW1A2AA", 530047.0, 179951.0),  # 10 Downing Street
    ],
    "B": [
        ("B1  1BB", 406654.0, 286948.0),  # Birmingham Council House
        ("BT1 5GS", 333832.0, 374014.0),  # Belfast City Hall (Irish Grid)
        ("BT1 1AH", None, None),  # listed without a grid reference
    ],
    "G": [("GY1 1AA", None, None)],  # Guernsey: never has a grid reference
    "N": [("NPT 0AD", 331000.0, 188000.0)],  # pre-1984 Newport code: not a valid postcode now
}


def shared_lookup_path() -> Path:
    """Where test runs keep the full lookup (pass to ensure_lookup, or as GEO_LOOKUP_PATH)."""
    override = os.environ.get("PORTAL_GEO_TEST_LOOKUP", "").strip()
    if override:
        return Path(override)
    owner = os.getuid() if hasattr(os, "getuid") else "user"
    version = installed_source_version() or "unknown"
    folder = f"portal-geo-test-{owner}-{version}-schema{SCHEMA_VERSION}"
    return Path(tempfile.gettempdir()) / folder / "postcodes.sqlite"
