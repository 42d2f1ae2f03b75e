"""`flask outbox`: read the queued emails and deliver them."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from portal.core.import_runner import import_cli
from portal.extensions import db


def register_commands(app: Flask) -> None:
    """Add `outbox`, `tasks` and the (feature-filled) `import` group."""
    app.cli.add_command(outbox_cli)
    app.cli.add_command(import_cli)
    app.cli.add_command(tasks_cli)


tasks_cli = AppGroup("tasks", help="The background task queue (browser imports): run a worker, list the tasks.")


@tasks_cli.command("run")
@click.option("--workers", default=2, show_default=True, help="Tasks run at once (threads).")
def tasks_run(workers: int) -> None:
    """Run a worker until Ctrl+C (or SIGTERM): it takes tasks from the queue TASK_QUEUE_URL names."""
    from portal.core.tasks import queue_url, task_queue

    queue = task_queue(current_app)
    names = queue.bind_all()
    click.echo(f"Task worker on {queue_url(current_app).split('@')[-1]} with {workers} worker(s): {', '.join(names)}")
    queue.huey.create_consumer(workers=workers, worker_type="thread").run()


@tasks_cli.command("list")
def tasks_list() -> None:
    """Print the registered tasks and where the queue is."""
    from portal.core.tasks import queue_url, task_queue

    queue = task_queue(current_app)
    click.echo(f"queue: {queue_url(current_app).split('@')[-1]}")
    for name in queue.bind_all():
        click.echo(f"  {name}")


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
