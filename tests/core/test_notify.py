"""Emails are templates: every email's wording lives in templates/email/, queued through one helper."""

from __future__ import annotations

import ast
from pathlib import Path

import portal
from portal.core.notify import notify, render_email
from portal.extensions import db

PACKAGE = Path(portal.__file__).parent
TEMPLATES = PACKAGE.parent / "templates" / "email"


def test_no_email_is_queued_outside_the_template_helper():
    """Rule: services say who and when, templates say what; nothing calls queue_email with its own wording."""
    callers = []
    for path in PACKAGE.rglob("*.py"):
        if path.relative_to(PACKAGE).as_posix() in ("core/notify.py", "core/outbox.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "queue_email":
                callers.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert callers == []


def test_every_email_template_starts_with_its_subject():
    """Each template names its subject on the first line, then a blank line, then the body."""
    for path in TEMPLATES.glob("[!_]*.txt"):
        first, second = path.read_text(encoding="utf-8").split("\n")[:2]
        assert first.startswith("Subject: ") and second == "", path.name


def test_a_rendered_email_keeps_its_line_breaks_and_is_queued(app):
    """The body keeps the template's blank lines (page templates trim them) and lands in the outbox."""
    subject, body = render_email("booking_cancelled", offer={"title": "Ward visit"},
                                 booking={"student": {"school": {"name": "Northgate"}, "first_name": "Ali"},
                                          "session": {"when": "5 March"}})
    assert subject == "Booking cancelled: Ward visit"
    assert body == "Northgate has cancelled Ali's place on Ward visit, 5 March. The place is free again.\n"
    message = notify(db.session, "password_reset", "someone@example.org", user={"display_name": "Sam"},
                     link="http://portal.test/reset/x", hours=24)
    assert message.subject == "Reset your Placement Portal password"
    assert "Hello Sam,\n\nSomeone asked" in message.body and message.body.endswith("has not changed.\n")
