"""The shared runner for `flask import ...`: one transaction per file, row errors reported, nothing half-written."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

import click
from flask.cli import AppGroup

from portal.core.csvimport import MAX_ERRORS_SHOWN, ImportFailed, ImportReport
from portal.extensions import db

import_cli = AppGroup("import", help="Import CSV files (all-or-nothing; --dry-run validates only).")


def run_import(action: Callable[[], ImportReport], dry_run: bool, as_json: bool) -> None:
    """Run an import in one transaction: report row errors and exit 1, or commit (unless dry run)."""
    try:
        report = action()
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


