"""Command-line interface: each feature's commands, registered on the app."""

from __future__ import annotations

import json
import sys

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from portal.core.csvimport import MAX_ERRORS_SHOWN, ImportFailed, ImportReport
from portal.extensions import db

import_cli = AppGroup("import", help="Import CSV files (all-or-nothing; --dry-run validates only).")


def run_import(action: object, dry_run: bool, as_json: bool) -> None:
    """Run an import in one transaction: report row errors and exit 1, or commit (unless dry run)."""
    try:
        report: ImportReport = action()  # type: ignore[operator]
    except ImportFailed as failure:
        db.session.rollback()
        if as_json:
            click.echo(json.dumps({"ok": False, "errors": [e.__dict__ for e in failure.errors]}, indent=2))
        else:
            click.echo(f"Nothing was imported: {len(failure.errors)} problem(s) in the file.", err=True)
            for error in failure.errors[:MAX_ERRORS_SHOWN]:
                click.echo(f"  {error}", err=True)
            if len(failure.errors) > MAX_ERRORS_SHOWN:
                click.echo(f"  ... and {len(failure.errors) - MAX_ERRORS_SHOWN} more", err=True)
        sys.exit(1)
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    if as_json:
        click.echo(json.dumps({"ok": True, **report.as_dict()}, indent=2))
    else:
        click.echo(report.summary())
        for note in report.notes:
            click.echo(f"  {note}")


@import_cli.command("schools")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--hub", "hub_name", help="Hub the schools belong to (needed for the national register's extract).")
@click.option("--dry-run", is_flag=True, help="Check the file and report, writing nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def import_schools_command(file: str, hub_name: str | None, dry_run: bool, as_json: bool) -> None:
    """Import schools from our CSV (urn,name,school_type,postcode[,hub,careers_leader_email]) or the register's extract."""
    from portal.organisations.imports import import_schools

    run_import(lambda: import_schools(db.session, file, hub_name=hub_name, dry_run=dry_run), dry_run, as_json)


@import_cli.command("students")
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


@click.command("create-user")
@click.argument("email")
@click.option("--role", type=click.Choice(["school", "employer", "student", "hub"]), required=True)
@click.option("--school", "school_urn", help="URN of the school (school staff and students).")
@click.option("--employer", "employer_ref", help="Reference of the employer (employer staff).")
@click.option("--student", "student_ref", help="The school's reference of the student (students; needs --school).")
@click.option("--hub", "hub_name", help="Name of the hub (hub coordinators; created if new).")
@click.option("--name", default="", help="The person's name.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of printing a link.")
@with_appcontext
def create_user_command(
    email: str, role: str, school_urn: str | None, employer_ref: str | None, student_ref: str | None,
    hub_name: str | None, name: str, password_stdin: bool,
) -> None:
    """Create an account and print a one-time set-password link (or set the password from stdin)."""
    from portal.accounts.services import AccountError, create_user_for_operator

    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    try:
        user, link = create_user_for_operator(
            db.session, email=email, role=role, school_urn=school_urn, employer_ref=employer_ref,
            student_ref=student_ref, hub_name=hub_name, name=name, password=password,
        )
    except AccountError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"Created {user.role} account {user.email}.")
    if link:
        click.echo(f"One-time set-password link (expires in 7 days):\n{link}")


@click.group("outbox", invoke_without_command=True, help="Print queued emails; 'outbox send' delivers them.")
@click.option("--unsent", is_flag=True, help="Only messages not yet sent.")
@click.option("--limit", default=20, show_default=True, help="How many of the newest messages.")
@click.pass_context
@with_appcontext
def outbox_cli(ctx: click.Context, unsent: bool, limit: int) -> None:
    """Print the newest emails in the outbox."""
    if ctx.invoked_subcommand is not None:
        return
    from portal.core.dates import format_datetime
    from portal.core.models import OutboxMessage

    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if unsent:
        query = query.where(OutboxMessage.sent_at.is_(None))
    messages = db.session.scalars(query).all()
    if not messages:
        click.echo("The outbox is empty.")
    for message in reversed(messages):
        state = f"sent {format_datetime(message.sent_at)}" if message.sent_at else "not sent"
        click.echo(f"--- #{message.id} to {message.recipient} · {format_datetime(message.created_at)} · {state}")
        click.echo(f"Subject: {message.subject}\n\n{message.body}")


@outbox_cli.command("send")
@with_appcontext
def outbox_send_command() -> None:
    """Deliver due messages through SMTP (retries failures with back-off)."""
    from portal.core.outbox import deliver_pending, smtp_configured

    if not smtp_configured():
        raise click.ClickException("No mail server is configured (set PORTAL_MAIL_SERVER).")
    result = deliver_pending(db.session)
    db.session.commit()
    click.echo(f"Sent {result['sent']}, failed {result['failed']}.")


@click.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Load realistic demo data (idempotent) and print the demo sign-ins."""
    from portal.demo import DEMO_PASSWORD, seed_demo

    logins = seed_demo(db.session)
    db.session.commit()
    click.echo("Demo data is ready. Sign in at http://127.0.0.1:5000/sign-in with:")
    for role, email in logins:
        click.echo(f"  {role:<34} {email}")
    click.echo(f"  password for every demo account:   {DEMO_PASSWORD}")


def register_cli(app: Flask) -> None:
    """Attach every command group to the app."""
    from portal.offers.cli import register_import_commands

    register_import_commands(import_cli)
    from portal.reflections.cli import import_encounters_command

    import_cli.add_command(import_encounters_command)
    from portal.progress.cli import benchmarks_command

    app.cli.add_command(benchmarks_command)
    app.cli.add_command(import_cli)
    app.cli.add_command(create_user_command)
    app.cli.add_command(outbox_cli)
    app.cli.add_command(seed_demo_command)
    from portal.geo.cli import geo_cli
    from portal.matching.cli import match_command

    app.cli.add_command(match_command)

    app.cli.add_command(geo_cli)
    from portal.api.cli import create_token_command

    app.cli.add_command(create_token_command)
    from portal.scheduler.cli import scheduler_cli

    app.cli.add_command(scheduler_cli)
