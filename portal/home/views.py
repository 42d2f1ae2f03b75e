"""The start page, each role's overview, the student's record, health, the statements and the development outbox."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select, text

from portal.access import allow, public
from portal.accounts.services import home_endpoint
from portal.adjustments.needs import open_for_employer
from portal.adjustments.services import pending_count
from portal.bookings.services import bookings_on_record
from portal.compliance.checklist import school_at_risk_count
from portal.core.dates import london_date
from portal.core.models import OutboxMessage
from portal.core.pagination import paginate
from portal.core.templating import extend_navigation
from portal.core.vocab import BookingStatus, Role
from portal.db import utcnow
from portal.extensions import db
from portal.organisations.services import roster_by_year
from portal.reflections.services import student_record_notes
from portal.scheduler.runner import last_run

bp = Blueprint("home", __name__)

extend_navigation(Role.SCHOOL, "Overview", "home.school_home", position=0)
extend_navigation(Role.EMPLOYER, "Overview", "home.employer_home", position=0)
extend_navigation(Role.STUDENT, "My record", "home.my_record", position=0)


@bp.route("/")
@public
def start() -> Any:
    """Start page; signed-in users go to their own home."""
    if current_user.is_authenticated:
        return redirect(url_for(home_endpoint(current_user)))
    return render_template("home/start.html")


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
            scheduler = last_run(db.session)
        except Exception:  # e.g. the table is not migrated yet
            db.session.rollback()
    status = 200 if database == "ok" else 503
    return jsonify({"status": "ok" if status == 200 else "degraded", "database": database,
                    "scheduler": scheduler}), status


@bp.route("/school")
@allow(Role.SCHOOL)
def school_home() -> Any:
    """The school's overview: roster size by year group and placements at risk."""
    school = current_user.school
    by_year = roster_by_year(db.session, school.id)
    at_risk = school_at_risk_count(db.session, school.id, london_date(utcnow()))
    return render_template("home/school_home.html", school=school, by_year=by_year,
                           total=sum(count for _, count in by_year), at_risk=at_risk)


@bp.route("/employer")
@allow(Role.EMPLOYER)
def employer_home() -> Any:
    """The employer's overview."""
    return render_template("home/employer_home.html", employer=current_user.employer,
                           pending_requests=pending_count(db.session, current_user.employer_id),
                           needs_near=len(open_for_employer(db.session, current_user.employer, london_date(utcnow()))))


@bp.route("/my-record")
@allow(Role.STUDENT)
def my_record() -> Any:
    """The student's own record of encounters and experiences."""
    student = current_user.student
    if student is None:
        abort(404)
    bookings = bookings_on_record(db.session, student.id)
    now = utcnow()
    upcoming = [b for b in bookings if b.ends_at > now and b.status != BookingStatus.COMPLETED.value]
    done = [b for b in bookings if b not in upcoming]
    notes = student_record_notes(db.session, student.id)
    return render_template("home/my_record.html", student=student, upcoming=upcoming, done=done,
                           reflections=notes.reflections, feedback=notes.feedback, logged=notes.logged,
                           printing=request.args.get("print") == "1")


@bp.route("/accessibility")
@public
def accessibility() -> Any:
    """The accessibility statement."""
    return render_template("home/accessibility.html")


@bp.route("/privacy")
@public
def privacy() -> Any:
    """How the portal uses personal data."""
    return render_template("home/privacy.html")


def outbox_page_enabled() -> bool:
    """The mail-catcher page exists only outside production."""
    return bool(current_app.config.get("OUTBOX_PAGE", current_app.config["ENV"] != "production"))


@bp.route("/outbox")
@public
def outbox() -> Any:
    """Development mail catcher: every email the portal has queued, newest first."""
    if not outbox_page_enabled():
        abort(404)
    page = paginate(
        select(OutboxMessage).order_by(OutboxMessage.id.desc()), per_page=20)
    return render_template("home/outbox.html", page=page)
