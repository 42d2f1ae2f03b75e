"""`flask create-user`: an operator creates an account and gets its one-time set-password link."""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import with_appcontext

from portal.extensions import db


def register_commands(app: Flask) -> None:
    """Add `create-user`."""
    app.cli.add_command(create_user_command)
    app.cli.add_command(deactivate_user_command)


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


@click.command("deactivate-user")
@click.argument("email")
@with_appcontext
def deactivate_user_command(email: str) -> None:
    """Close an account: it cannot sign in again and every session it has open ends at once."""
    from portal.accounts.services import deactivate, find_user_by_email

    user = find_user_by_email(db.session, email)
    if user is None:
        raise click.ClickException(f"No account has the email {email}")
    deactivate(db.session, user)
    db.session.commit()
    click.echo(f"Deactivated {user.email}; its sessions have ended.")
