"""Absolute links for emails and command output, built on the configured BASE_URL."""

from __future__ import annotations

from typing import Any

from flask import current_app, has_request_context, url_for


def absolute_url(endpoint: str, **values: Any) -> str:
    """The full address of a page, usable in an email or a terminal."""
    base = str(current_app.config["BASE_URL"]).rstrip("/")
    if has_request_context():
        return base + url_for(endpoint, **values)
    with current_app.test_request_context():
        return base + url_for(endpoint, **values)
