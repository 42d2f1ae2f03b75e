"""`flask --app portal create-token EMAIL`: an API token for a member of staff, printed once."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import with_appcontext

from portal.extensions import db


@click.command("create-token")
@click.argument("email")
@click.option("--name", default="API token", show_default=True, help="What the token is for, to recognise it later.")
@with_appcontext
def create_token_command(email: str, name: str) -> None:
    """Create an API token for the account with this email and print it (it is not shown again)."""
    from portal.accounts.services import find_user_by_email
    from portal.accounts.tokens import issue_api_token
    from portal.core.vocab import Role

    user = find_user_by_email(db.session, email)
    if user is None:
        raise click.ClickException(f"No account has the email address {email}")
    if user.role == Role.STUDENT.value:
        raise click.ClickException("Students cannot have API tokens: only school, employer and hub staff")
    if not user.is_active:
        raise click.ClickException(f"The account {user.email} is deactivated")
    token, raw = issue_api_token(db.session, user, name)
    db.session.commit()
    click.echo(f"API token {token.name!r} for {user.email} ({user.role_enum.label}). "
               "Store it now: it is shown only once.", err=True)
    click.echo(raw)


def register_commands(app: Flask) -> None:
    """Add `create_token_command` to the app's commands."""
    app.cli.add_command(create_token_command)
