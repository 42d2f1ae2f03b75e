"""`flask import employers FILE` and `flask import offers FILE` (all-or-nothing; --dry-run checks only)."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import with_appcontext

from portal.core.import_runner import import_cli, run_import
from portal.extensions import db


def register_commands(app: Flask) -> None:
    """Add the employer and offer imports to the `import` group."""
    import_cli.add_command(import_employers_command)
    import_cli.add_command(import_offers_command)


@click.command("employers")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check the file and report, writing nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@with_appcontext
def import_employers_command(file: str, dry_run: bool, as_json: bool) -> None:
    """Import employers (employer_ref,name,sector,postcode,safeguarding_email,insurance_expiry)."""
    from portal.offers.imports import import_employers

    run_import(lambda: import_employers(db.session, file, dry_run=dry_run), dry_run, as_json)


@click.command("offers")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check the file and report, writing nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@with_appcontext
def import_offers_command(file: str, dry_run: bool, as_json: bool) -> None:
    """Import offers, one row per session (offer_ref,employer_ref,title,...,session_start,session_end,capacity)."""
    from portal.offers.imports import import_offers

    run_import(lambda: import_offers(db.session, file, dry_run=dry_run), dry_run, as_json)
