"""Emails from templates: services decide who gets one and when; `templates/email/<name>.txt` says what.

A template's first line is `Subject: ...`, then one blank line, then the body, in plain text (no HTML
escaping: `.txt` templates are not autoescaped). Line breaks are kept exactly as written (no trim_blocks,
unlike the page templates), and rendered bodies end with exactly one line break.
Everything queues to the outbox inside the caller's transaction, so nothing is sent unless it commits.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from jinja2 import Environment

from portal.core.models import OutboxMessage
from portal.core.outbox import queue_email
from portal.db import DbSession

SUBJECT_LINE = "Subject: "


class EmailTemplateError(ValueError):
    """An email template that does not start with its subject line."""


def _email_environment() -> Environment:
    """The app's templates, filters and globals, with every line break kept (made once per app)."""
    environment = current_app.extensions.get("email_jinja")
    if environment is None:
        environment = current_app.jinja_env.overlay(trim_blocks=False, lstrip_blocks=False, autoescape=False)
        current_app.extensions["email_jinja"] = environment
    return environment


def render_email(template: str, **context: Any) -> tuple[str, str]:
    """The subject and body of `templates/email/<template>.txt` rendered with the context."""
    text = _email_environment().get_template(f"email/{template}.txt").render(**context)
    head, _, body = text.partition("\n\n")
    if not head.startswith(SUBJECT_LINE) or "\n" in head:
        raise EmailTemplateError(f"email/{template}.txt must start with one '{SUBJECT_LINE}...' line and a blank line")
    return head.removeprefix(SUBJECT_LINE).strip(), body.rstrip("\n") + "\n"


def notify(session: DbSession, template: str, recipient: str, *, school_id: int | None = None,
           employer_id: int | None = None, **context: Any) -> OutboxMessage:
    """Render the template for one recipient and queue it to the outbox (the only channel today: email)."""
    subject, body = render_email(template, **context)
    return queue_email(session, recipient, subject, body, school_id=school_id, employer_id=employer_id)
