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
    scheduler: dict[str, str | None] = {"last_run_at": None, "last_run_for": None}
    if database == "ok":
        try:  # the scheduler's last run: informative only, never a reason for a 503 or a 500
            from portal.scheduler.models import SchedulerState

            row = db.session.execute(
                select(SchedulerState.last_run_at, SchedulerState.last_run_for).where(SchedulerState.name == "scheduler")
            ).first()
            if row is not None:
                scheduler = {"last_run_at": row.last_run_at.isoformat() if row.last_run_at else None,
                             "last_run_for": row.last_run_for.isoformat() if row.last_run_for else None}
        except Exception:  # e.g. the table is not migrated yet
            db.session.rollback()
    status = 200 if database == "ok" else 503
    return jsonify({"status": "ok" if status == 200 else "degraded", "database": database,
                    "scheduler": scheduler}), status


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
