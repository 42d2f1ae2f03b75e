"""get_geocoder() inside a minimal Flask app, and the `flask geo` commands."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import Result
from flask import Flask

from portal.geo import (
    NominatimGeocoder,
    OfflineGeocoder,
    clear_geocoders,
    get_geocoder,
    lookup_path_for,
)
from portal.geo.cli import geo_cli


@pytest.fixture(autouse=True)
def _fresh_geocoders() -> Iterator[None]:
    clear_geocoders()
    yield
    clear_geocoders()


def make_app(instance: Path, **config: object) -> Flask:
    app = Flask(__name__, instance_path=str(instance))
    app.config.update(config)
    app.cli.add_command(geo_cli)
    return app


def run_cli(app: Flask, *args: str) -> Result:
    """Invoke a command with this app's context pushed (so it wins over any outer app context)."""
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args))


def test_get_geocoder_uses_the_instance_folder_and_is_shared(
    tmp_path: Path, lookup_path: Path
) -> None:
    instance = tmp_path / "instance"
    app = make_app(instance)  # GEOCODER unset: offline is the default
    expected = instance / "geo" / "postcodes.sqlite"
    with app.app_context():
        geocoder = get_geocoder()
        assert isinstance(geocoder, OfflineGeocoder)
        assert geocoder.lookup_path == expected.resolve()
        assert get_geocoder() is geocoder
        assert not expected.exists()  # nothing built or opened until the first locate()
        expected.parent.mkdir(parents=True)
        expected.symlink_to(lookup_path)  # reuse the session's lookup instead of building one
        location = geocoder.locate("LS1 1UR")
    assert (location.postcode, location.source) == ("LS1 1UR", "onspd")
    assert 53.7 < location.latitude < 53.9


def test_get_geocoder_online_mode_and_bad_settings(tmp_path: Path, lookup_path: Path) -> None:
    app = make_app(tmp_path, GEOCODER="nominatim", GEO_LOOKUP_PATH=str(lookup_path))
    with app.app_context():
        online = get_geocoder()
        assert isinstance(online, NominatimGeocoder)
        assert isinstance(online.fallback, OfflineGeocoder)
        assert online.fallback.lookup_path == lookup_path.resolve()
        assert lookup_path_for(app) == lookup_path
        app.config["GEOCODER"] = "offline"
        assert get_geocoder() is online.fallback
        app.config["GEOCODER"] = "google"
        with pytest.raises(ValueError, match="GEOCODER must be one of offline, nominatim"):
            get_geocoder()


def test_cli_locate(tmp_path: Path, lookup_path: Path) -> None:
    app = make_app(tmp_path, GEO_LOOKUP_PATH=str(lookup_path))
    result = run_cli(app, "geo", "locate", "bs1", "4dj")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("BS1 4DJ: latitude 51.45")
    assert "approximate no (source: onspd)" in result.output

    result = run_cli(app, "geo", "locate", "SW1A 9ZZ")
    assert "approximate yes (source: district)" in result.output

    result = run_cli(app, "geo", "locate", "ZZ9 9ZZ")
    assert result.exit_code == 1
    assert "ZZ9 9ZZ: unknown postcode district ZZ9" in result.output

    result = run_cli(app, "geo", "locate", "nonsense")
    assert result.exit_code == 1
    assert "is not a valid UK postcode" in result.output


def test_cli_build_skips_a_current_lookup(tmp_path: Path, lookup_path: Path) -> None:
    result = run_cli(make_app(tmp_path, GEO_LOOKUP_PATH=str(lookup_path)), "geo", "build")
    assert result.exit_code == 0, result.output
    assert "is up to date (ONSPD November 2025" in result.output
    assert "--force" in result.output


def test_cli_build_builds(
    tmp_path: Path, sample_source: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from portal.geo import build

    monkeypatch.setattr(build, "source_directory", lambda: sample_source)  # keep it tiny and fast
    app = make_app(tmp_path / "instance")
    result = run_cli(app, "geo", "build")
    assert result.exit_code == 0, result.output
    assert "postcodes located:" in result.output
    assert (tmp_path / "instance" / "geo" / "postcodes.sqlite").exists()
    result = run_cli(app, "geo", "build", "--force")
    assert result.exit_code == 0, result.output
    assert "Built " in result.output
