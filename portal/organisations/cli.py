"""`flask import schools` and `flask import students`: a hub's schools and a school's roster."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import select

from portal.core.csvimport import ImportReport
from portal.core.import_runner import import_cli, run_import
from portal.extensions import db


def register_commands(app: Flask) -> None:
    """Add the school and roster imports to the `import` group."""
    import_cli.add_command(import_schools_command)
    import_cli.add_command(import_students_command)


@click.command("schools")
@with_appcontext
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--hub", "hub_name", help="Hub the schools belong to (needed for the national register's extract).")
@click.option("--dry-run", is_flag=True, help="Check the file and report, writing nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def import_schools_command(file: str, hub_name: str | None, dry_run: bool, as_json: bool) -> None:
    """Import schools from our CSV (urn,name,school_type,postcode[,hub,careers_leader_email]) or the register's extract."""
    from portal.organisations.imports import import_schools

    run_import(lambda: import_schools(db.session, file, hub_name=hub_name, dry_run=dry_run), dry_run, as_json)


@click.command("students")
@with_appcontext
@click.option("--school", "school_urn", required=True, help="URN of the school whose roster this is.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check the file and report, writing nothing.")
@click.option("--mark-missing-left", is_flag=True, help="Mark students on roll who are not in the file as left.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def import_students_command(school_urn: str, file: str, dry_run: bool, mark_missing_left: bool, as_json: bool) -> None:
    """Import a school's roster from its MIS export (updates by student_ref; never deletes)."""
    from portal.db import utcnow
    from portal.organisations.models import School
    from portal.organisations.roster_import import import_students, mark_left

    school = db.session.scalars(select(School).where(School.urn == school_urn)).first()
    if school is None:
        raise click.ClickException(f"No school has URN {school_urn}")

    def action() -> ImportReport:
        report = import_students(db.session, school, file, dry_run=dry_run)
        if report.missing:
            names = ", ".join(f"{s.student_ref} ({s.first_name} {s.last_name})" for s in report.missing[:20])
            if mark_missing_left:
                count = mark_left(db.session, school, [s.id for s in report.missing], utcnow().date())
                report.notes.append(f"marked {count} student(s) missing from the file as left: {names}")
            else:
                report.notes.append(
                    f"{len(report.missing)} student(s) on roll are not in the file: {names}. "
                    "They were kept; use --mark-missing-left if they have left."
                )
        return report

    run_import(action, dry_run, as_json)
