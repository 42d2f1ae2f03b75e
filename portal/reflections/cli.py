"""`flask import encounters`: encounters logged outside the portal, from a school's CSV."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import select

from portal.core.csvimport import ImportReport
from portal.core.import_runner import import_cli, run_import
from portal.extensions import db


def register_commands(app: Flask) -> None:
    """Add the logged-encounters import to the `import` group."""
    import_cli.add_command(import_encounters_command)


@click.command("encounters")
@click.option("--school", "school_urn", required=True, help="URN of the school whose students these are.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check the file and report, writing nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@with_appcontext
def import_encounters_command(school_urn: str, file: str, dry_run: bool, as_json: bool) -> None:
    """Import logged encounters (student_ref,date,activity_type,employer_name,attended,debriefed)."""
    from portal.core.dates import london_date
    from portal.db import utcnow
    from portal.organisations.models import School
    from portal.reflections.encounters import import_encounters

    school = db.session.scalars(select(School).where(School.urn == school_urn)).first()
    if school is None:
        raise click.ClickException(f"No school has URN {school_urn}")

    def action() -> ImportReport:
        return import_encounters(db.session, school, file, today=london_date(utcnow()), dry_run=dry_run)

    run_import(action, dry_run, as_json)
