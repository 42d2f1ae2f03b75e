"""`flask benchmarks`: a school's Benchmark 5/6 figures, the same numbers the progress page shows."""

from __future__ import annotations

import json

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import select

from portal.extensions import db


@click.command("benchmarks")
@click.option("--school", "school_urn", required=True, help="URN of the school.")
@click.option("--academic-year", "year", type=int, help="Academic year by its first year (2026 = 2026/27); default now.")
@click.option("--json", "as_json", is_flag=True, help="Print per-student status and the school totals as JSON.")
@with_appcontext
def benchmarks_command(school_urn: str, year: int | None, as_json: bool) -> None:
    """Print a school's per-student BM5/BM6 status and totals (attended and meaningful side by side)."""
    from portal.core.dates import academic_year, academic_year_label, london_date
    from portal.db import utcnow
    from portal.organisations.models import School
    from portal.progress.services import (
        EQUITY_GROUPS,
        MEASURES,
        compute_school_progress,
        student_row,
    )

    school = db.session.scalars(select(School).where(School.urn == school_urn)).first()
    if school is None:
        raise click.ClickException(f"No school has URN {school_urn}")
    today = london_date(utcnow())
    progress = compute_school_progress(db.session, school, year or academic_year(today), today=today)
    if as_json:
        click.echo(json.dumps({"school": {"urn": school.urn, "name": school.name},
                               "totals": progress.totals_dict(),
                               "students": [student_row(s) for s in progress.students]}, indent=2))
        return
    click.echo(f"{school.name} ({school.urn}), {academic_year_label(progress.academic_year)}: "
               f"{len(progress.students)} students, {len(progress.nothing_this_year)} with nothing yet this year")
    for measure, label in MEASURES.items():
        share = progress.overall[measure]
        line = f"  {label:<28} {share.met:>5} of {share.total:<5} {share.percent if share.percent is not None else '-'}%"
        gaps = [f"{EQUITY_GROUPS[g]} {progress.gap(g, measure):+g}" for g in EQUITY_GROUPS
                if g != "others" and progress.gap(g, measure) is not None]
        click.echo(line + (f"  (gaps: {', '.join(gaps)})" if gaps else ""))


@click.group("hub")
def hub_group() -> None:
    """A careers hub's views from the command line."""


@hub_group.command("gaps")
@click.option("--hub", "hub_name", required=True, help="Name of the careers hub.")
@click.option("--radius-km", type=click.FloatRange(0.1, 1200), help="Travel distance for every school (default: "
              "each school's own).")
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON.")
@with_appcontext
def hub_gaps_command(hub_name: str, radius_km: float | None, as_json: bool) -> None:
    """The hub's combinations of needs by year group against the sessions that meet them, as the hub page shows."""
    from portal.db import utcnow
    from portal.organisations.models import Hub
    from portal.progress.hub import need_gaps

    hub = db.session.scalars(select(Hub).where(Hub.name == hub_name.strip())).first()
    if hub is None:
        raise click.ClickException(f"No hub is called {hub_name!r}")
    rows = need_gaps(db.session, hub.id, utcnow(), radius_km)
    if as_json:
        click.echo(json.dumps([row.as_dict() for row in rows], indent=2))
        return
    if not rows:
        click.echo(f"{hub.name}: no student of the hub's schools has recorded access needs")
    for row in rows:
        status = {"none": "NO SUPPLY", "short": "short", "enough": "enough"}[row.status]
        click.echo(f"Year {row.year_group:<2} {row.needs_label}: {row.students} student(s), {row.sessions} session(s), "
                   f"{row.free_places} free place(s) [{status}]")
        for near in row.near_misses:
            click.echo(f"    {row.near_miss_sentence(near)}: {', '.join(e.name for e in near.employers)}")


def register_commands(app: Flask) -> None:
    """Add `benchmarks` and `hub gaps` to the app's commands."""
    app.cli.add_command(benchmarks_command)
    app.cli.add_command(hub_group)
