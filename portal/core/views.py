"""Home, health check, the development outbox, and the accessibility and privacy pages."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select, text

from portal.access import public
from portal.core.models import OutboxMessage
from portal.core.pagination import page_number
from portal.extensions import db

bp = Blueprint("core", __name__)


@bp.route("/")
@public
def home() -> Any:
    """Start page; signed-in users go to their own home."""
    if current_user.is_authenticated:
        from portal.accounts.services import home_endpoint

        return redirect(url_for(home_endpoint(current_user)))
    return render_template("core/home.html")


@bp.route("/healthz")
@public
def healthz() -> Any:
    """Liveness and database state, as JSON, for load balancers and operators."""
    try:
        db.session.execute(text("SELECT 1"))
        database = "ok"
    except Exception:  # any failure means the database is unavailable
        db.session.rollback()
        database = "unavailable"
    status = 200 if database == "ok" else 503
    return jsonify({"status": "ok" if status == 200 else "degraded", "database": database}), status


@bp.route("/accessibility")
@public
def accessibility() -> Any:
    """The accessibility statement."""
    return render_template("core/accessibility.html")


@bp.route("/privacy")
@public
def privacy() -> Any:
    """How the portal uses personal data."""
    return render_template("core/privacy.html")


def outbox_page_enabled() -> bool:
    """The mail-catcher page exists only outside production."""
    return bool(current_app.config.get("OUTBOX_PAGE", current_app.config["ENV"] != "production"))


@bp.route("/outbox")
@public
def outbox() -> Any:
    """Development mail catcher: every email the portal has queued, newest first."""
    if not outbox_page_enabled():
        abort(404)
    page = db.paginate(
        select(OutboxMessage).order_by(OutboxMessage.id.desc()),
        page=page_number(), per_page=20, error_out=False,
    )
    return render_template("core/outbox.html", page=page)
