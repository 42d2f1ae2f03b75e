"""`flask scheduler tick | run | status`: run the jobs once (cron, operators, tests), run them for ever, or report."""

from __future__ import annotations

import datetime as dt
import json
import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from portal.core.dates import format_datetime, local_to_utc
from portal.db import utcnow
from portal.extensions import db

scheduler_cli = AppGroup("scheduler", help="Reminders, escalations and purges: tick once, run for ever, or status.")

# What `tick` prints, in order: summary key -> label.
LABELS = {
    "bookings_completed": "bookings completed",
    "reflection_prompts": "reflection prompts",
    "reflection_reminders": "reflection reminders",
    "reflection_flags": "reflections flagged to staff",
    "feedback_requests": "feedback requests",
    "feedback_reminders": "feedback reminders",
    "feedback_flags": "feedback flagged to staff",
    "compliance_reminders": "compliance reminders",
    "escalations": "escalations",
    "insurance_reminders": "insurance reminders",
    "digests": "weekly digests",
    "dbs_details_purged": "DBS details purged",
    "leavers_removed": "leavers' records removed",
    "emails_queued": "emails queued",
    "emails_delivered": "emails delivered",
    "emails_failed": "emails failed (will retry)",
}


def parse_now(value: str | None) -> dt.datetime:
    """--now as an aware UTC datetime: naive means Europe/London wall-clock time; none means now."""
    if value is None:
        return utcnow()
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO date-time such as 2027-03-28T09:00", param_hint="--now") from None
    return local_to_utc(parsed)


@scheduler_cli.command("tick")
@click.option("--now", "now_text", metavar="ISO-DATETIME",
              help="Run as if it were this time (naive: Europe/London local time). Default: now.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--wait", "wait_seconds", default=60.0, show_default=True, type=click.FloatRange(min=0),
              help="Seconds to wait for another scheduler to let go of the lead.")
def tick_command(now_text: str | None, as_json: bool, wait_seconds: float) -> None:
    """Run every due job once and print what it did (exit 1 if a job failed, 2 if another scheduler leads)."""
    from portal.scheduler import lease
    from portal.scheduler.runner import Leadership, tick, wait_for_lease

    now = parse_now(now_text)
    holder = lease.new_holder()
    ttl = dt.timedelta(seconds=int(current_app.config["SCHEDULER_LEASE_SECONDS"]))
    if not wait_for_lease(db.session, holder, ttl, wait_seconds):
        state = lease.current(db.session)
        message = (f"Another scheduler leads ({state.holder}, until {format_datetime(state.expires_at)}); "
                   f"nothing was run.")
        if as_json:
            click.echo(json.dumps({"ok": False, "error": message}))
        else:
            click.echo(message, err=True)
        sys.exit(2)
    try:
        result = tick(db.session, now, leadership=Leadership(holder, ttl))
    finally:
        lease.release(db.session, holder)
    if as_json:
        click.echo(json.dumps(result.as_dict(), sort_keys=True))
    else:
        click.echo(f"Scheduler tick for {format_datetime(now)} (London time):")
        for key, label in LABELS.items():
            click.echo(f"  {label:<30} {result.counts.get(key, 0)}")
        for name, error in result.errors.items():
            click.echo(f"FAILED {name}: {error}", err=True)
    if not result.ok:
        sys.exit(1)


@scheduler_cli.command("run")
def run_command() -> None:
    """Run the scheduler until stopped (SIGTERM/Ctrl+C): one process leads, the others stand by."""
    import logging

    from portal.scheduler.runner import run

    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    click.echo(f"Scheduler running: a tick every {app.config['SCHEDULER_INTERVAL_SECONDS']} s. Stop with Ctrl+C.")
    run(app)
    click.echo("Scheduler stopped.")


@scheduler_cli.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def status_command(as_json: bool) -> None:
    """Print the last run (when, for which time, what it did) and which process leads now."""
    from portal.scheduler import lease
    from portal.scheduler.models import SchedulerState

    state = db.session.scalars(select(SchedulerState).where(SchedulerState.name == lease.LEASE_NAME)).first()
    summary = json.loads(state.last_summary) if state and state.last_summary else None
    live = lease.current(db.session)
    leader = live.holder if live.live() else None
    if as_json:
        click.echo(json.dumps({
            "last_run_at": state.last_run_at.isoformat() if state and state.last_run_at else None,
            "last_run_for": state.last_run_for.isoformat() if state and state.last_run_for else None,
            "summary": summary,
            "leader": leader,
            "lease_expires_at": live.expires_at.isoformat() if leader and live.expires_at else None,
        }, sort_keys=True))
        return
    if state is None or state.last_run_at is None:
        click.echo("The scheduler has never run.")
    else:
        click.echo(f"Last run:  {format_datetime(state.last_run_at)} (for {format_datetime(state.last_run_for)})")
        if summary:
            counts = summary.get("counts", {})
            done = ", ".join(f"{LABELS.get(k, k)} {v}" for k, v in counts.items() if v) or "nothing to do"
            click.echo(f"Did:       {done}")
            for name, error in summary.get("errors", {}).items():
                click.echo(f"Failed:    {name}: {error}")
    click.echo(f"Leader:    {leader} until {format_datetime(live.expires_at)}" if leader else "Leader:    none")


def register_commands(app: Flask) -> None:
    """Add `scheduler_cli` to the app's commands."""
    app.cli.add_command(scheduler_cli)
