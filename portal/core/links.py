"""Absolute links for emails and command output, built on the configured BASE_URL."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app, has_request_context, request, url_for

from portal.core.cleaning import text_problem


def absolute_url(endpoint: str, **values: Any) -> str:
    """The full address of a page, usable in an email or a terminal."""
    base = str(current_app.config["BASE_URL"]).rstrip("/")
    if has_request_context():
        return base + url_for(endpoint, **values)
    with current_app.test_request_context():
        return base + url_for(endpoint, **values)


def local_path(target: str | None) -> str | None:
    """The target when it is a path on this site (`/bookings/7?x=1`), else None: never another host or scheme."""
    if not target or len(target) > 2000 or text_problem(target) or any(c in target for c in "\\ \t\r\n"):
        return None
    if not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


def same_site_path(url: str | None) -> str | None:
    """The path (and query) of a full URL on this very host, e.g. a Referer; None for any other site."""
    if not url or len(url) > 2000 or text_problem(url):
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.netloc != request.host:
        return None
    return local_path(parts.path + (f"?{parts.query}" if parts.query else ""))
