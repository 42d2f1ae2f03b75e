"""Queue emails in the outbox (inside the caller's transaction) and deliver them after commit."""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from email.message import EmailMessage

from flask import current_app
from sqlalchemy import or_, select

from portal.core.models import OutboxMessage
from portal.db import DbSession, utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8


def queue_email(
    session: DbSession,
    recipient: str,
    subject: str,
    body: str,
    *,
    school_id: int | None = None,
    employer_id: int | None = None,
) -> OutboxMessage:
    """Store an email to send; it goes out only if the caller's transaction commits."""
    message = OutboxMessage(
        recipient=recipient,
        subject=subject,
        body=body,
        school_id=school_id,
        employer_id=employer_id,
        next_attempt_at=utcnow(),
    )
    session.add(message)
    return message


def smtp_configured() -> bool:
    """Whether an SMTP server is configured (otherwise mail stays in the outbox to be read)."""
    return bool(current_app.config.get("MAIL_SERVER"))


def _backoff(attempts: int) -> dt.timedelta:
    """Delay before the next try: 1, 2, 4 ... minutes, at most 6 hours."""
    return dt.timedelta(minutes=min(2 ** (attempts - 1), 360))


def _send(message: OutboxMessage) -> None:
    """Send one message through the configured SMTP server."""
    cfg = current_app.config
    email = EmailMessage()
    email["From"] = cfg["MAIL_FROM"]
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email.set_content(message.body)
    with smtplib.SMTP(cfg["MAIL_SERVER"], int(cfg["MAIL_PORT"]), timeout=20) as smtp:
        if cfg.get("MAIL_USE_TLS"):
            smtp.starttls()
        if cfg.get("MAIL_USERNAME"):
            smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"] or "")
        smtp.send_message(email)


def deliver_pending(session: DbSession, now: dt.datetime | None = None, limit: int = 200) -> dict[str, int]:
    """Try every due, unsent message once; record failures for retry. The caller commits."""
    if not smtp_configured():
        return {"sent": 0, "failed": 0}
    now = now or utcnow()
    due = session.scalars(
        select(OutboxMessage)
        .where(
            OutboxMessage.sent_at.is_(None),
            OutboxMessage.attempts < MAX_ATTEMPTS,
            or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now),
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
    ).all()
    sent = failed = 0
    for message in due:
        message.attempts += 1
        try:
            _send(message)
        except (OSError, smtplib.SMTPException) as exc:
            failed += 1
            message.last_error = f"{type(exc).__name__}: {exc}"[:500]
            message.next_attempt_at = now + _backoff(message.attempts)
            log.warning("outbox message %s failed (attempt %s)", message.id, message.attempts)
        else:
            sent += 1
            message.sent_at = now
            message.last_error = None
    return {"sent": sent, "failed": failed}
