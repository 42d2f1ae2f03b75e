"""Configuration: defaults here, then instance/config.py, then PORTAL_* environment variables."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from flask import Flask


class ConfigError(RuntimeError):
    """Raised at start-up when the configuration cannot run safely."""


DEFAULTS: dict[str, Any] = {
    "ENV": "development",  # development | production | testing
    "DATABASE_URL": None,  # default: sqlite:///<instance>/portal.db
    "SECRET_KEY": None,
    "SERVER_NAME": None,
    "BASE_URL": "http://127.0.0.1:5000",
    "MAIL_SERVER": None,
    "MAIL_PORT": 587,
    "MAIL_USERNAME": None,
    "MAIL_PASSWORD": None,
    "MAIL_USE_TLS": True,
    "MAIL_FROM": "Placement Portal <no-reply@placement-portal.local>",
    "RATELIMIT_STORAGE_URI": "memory://",
    "RATELIMIT_HEADERS_ENABLED": False,
    # Proxies in front of the portal to trust for X-Forwarded-For / -Proto / -Host (werkzeug ProxyFix); 0 = none.
    "PROXY_FIX_X_FOR": 0,
    "PROXY_FIX_X_PROTO": 0,
    "PROXY_FIX_X_HOST": 0,
    "SIGN_IN_MAX_FAILURES": 5,
    "SIGN_IN_LOCK_MINUTES": 15,
    "SIGN_IN_RATE_LIMIT": "20 per 10 minutes",
    "RESET_TOKEN_HOURS": 24,
    "INVITATION_TOKEN_DAYS": 7,
    "PAGE_SIZE": 25,
    "WTF_CSRF_TIME_LIMIT": None,
    "MAX_CONTENT_LENGTH": 10 * 1024 * 1024,
    # CSV imports (a roster, a hub's offers) may be larger: a 100,000-row MIS export with every column is 10-20 MB.
    "IMPORT_MAX_BYTES": 50 * 1024 * 1024,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "PERMANENT_SESSION_LIFETIME": 8 * 60 * 60,
    "SQLALCHEMY_ENGINE_OPTIONS": {},
    "GEOCODER": "offline",  # offline | nominatim (online, with offline fallback)
    "NOMINATIM_USER_AGENT": "placement-portal",
    # Risk assessment uploads: kept outside static/ (default <instance>/uploads), PDF only.
    "UPLOAD_FOLDER": None,
    "RISK_ASSESSMENT_MAX_BYTES": 5 * 1024 * 1024,
    # Background tasks (browser imports): default sqlite:///<instance>/tasks.sqlite3; redis://host:6379/0 at scale.
    "TASK_QUEUE_URL": None,
    "TASK_QUEUE_IMMEDIATE": False,  # run tasks at once, in the caller (tests)
    # Parental consent links: signed, single-use, and valid for this many days.
    "CONSENT_LINK_DAYS": 14,
    "CONSENT_LINK_RATE_LIMIT": "30 per hour",
    # The scheduler: how often `scheduler run` ticks, and how long a leader's lease lasts unrenewed.
    "SCHEDULER_INTERVAL_SECONDS": 300,
    "SCHEDULER_LEASE_SECONDS": 900,
    # Days before a compliance item is due that the person who must act is reminded.
    "COMPLIANCE_REMINDER_DAYS": 3,
    # Longest web address (path and query) answered; longer is a 414, JSON under /api. Below gunicorn's
    # limit_request_line (gunicorn.conf.py), so the portal, not the server, answers.
    "MAX_URL_LENGTH": 4096,
}


def load_config(app: Flask, test_config: dict[str, Any] | None) -> None:
    """Fill app.config in the documented order and check what production needs."""
    app.config.from_mapping(DEFAULTS)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("PORTAL")
    else:
        app.config.from_mapping(test_config)

    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    if not app.config["DATABASE_URL"]:
        app.config["DATABASE_URL"] = f"sqlite:///{instance / 'portal.db'}"
    app.config["SQLALCHEMY_DATABASE_URI"] = app.config["DATABASE_URL"]
    if not app.config["UPLOAD_FOLDER"]:
        app.config["UPLOAD_FOLDER"] = str(instance / "uploads")
    if not app.config["SECRET_KEY"]:
        if app.config["ENV"] == "production":
            raise ConfigError(
                "PORTAL_SECRET_KEY is not set: a production start needs a secret key "
                "(set PORTAL_SECRET_KEY or SECRET_KEY in instance/config.py)."
            )
        app.config["SECRET_KEY"] = _development_secret(instance)
    production = app.config["ENV"] == "production"
    app.config["SESSION_COOKIE_SECURE"] = production
    app.config["REMEMBER_COOKIE_SECURE"] = production
    app.config["PREFERRED_URL_SCHEME"] = "https" if production else "http"


def _development_secret(instance: Path) -> str:
    """Read, or create once, the development secret key kept in instance/."""
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key
