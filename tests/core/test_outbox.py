"""Outbox delivery: sent after commit through SMTP, failures kept and retried with back-off."""

from __future__ import annotations

import datetime as dt
import smtplib

import pytest

from portal.core import outbox
from portal.core.outbox import deliver_pending, queue_email
from portal.extensions import db


class FakeSMTP:
    sent: list = []
    fail = False

    def __init__(self, host, port, timeout):
        self.host = host

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def starttls(self):
        pass

    def login(self, user, password):
        pass

    def send_message(self, message):
        if FakeSMTP.fail:
            raise smtplib.SMTPServerDisconnected("connection lost")
        FakeSMTP.sent.append(message)


@pytest.fixture
def smtp(app, monkeypatch):
    FakeSMTP.sent, FakeSMTP.fail = [], False
    monkeypatch.setattr(outbox.smtplib, "SMTP", FakeSMTP)
    monkeypatch.setitem(app.config, "MAIL_SERVER", "smtp.example.org")
    return FakeSMTP


def test_without_smtp_mail_stays_in_the_outbox(app):
    message = queue_email(db.session, "a@example.org", "Subject", "Body")
    assert deliver_pending(db.session) == {"sent": 0, "failed": 0}
    assert message.sent_at is None


def test_pending_mail_is_sent_once(smtp):
    message = queue_email(db.session, "a@example.org", "Subject", "Body")
    db.session.flush()
    assert deliver_pending(db.session)["sent"] == 1
    assert message.sent_at is not None and smtp.sent[0]["To"] == "a@example.org"
    assert deliver_pending(db.session)["sent"] == 0
    assert len(smtp.sent) == 1


def test_a_failed_send_is_kept_visible_and_retried_later(smtp):
    smtp.fail = True
    message = queue_email(db.session, "a@example.org", "Subject", "Body")
    db.session.flush()
    now = dt.datetime.now(dt.UTC)
    assert deliver_pending(db.session, now=now)["failed"] == 1
    assert message.sent_at is None and "connection lost" in message.last_error
    smtp.fail = False
    assert deliver_pending(db.session, now=now)["sent"] == 0  # backing off
    assert deliver_pending(db.session, now=now + dt.timedelta(minutes=2))["sent"] == 1
