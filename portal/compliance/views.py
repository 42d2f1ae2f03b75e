"""Compliance pages: DBS notes, parental consent (the school's request and the parent's link), briefing."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from portal import access
from portal.access import allow, public
from portal.bookings.services import find_booking
from portal.compliance import consent, dbs, services
from portal.compliance.forms import (
    BriefedForm,
    ConsentRequestForm,
    DbsNoteForm,
    PaperConsentForm,
    ParentConsentForm,
)
from portal.core.dates import london_date
from portal.core.pagination import paginate
from portal.core.refusals import saved, show_on_form
from portal.core.vocab import ACTIVE_BOOKING_STATUSES, Role
from portal.db import utcnow
from portal.extensions import db, limiter
from portal.offers.services import find_supervisor

if TYPE_CHECKING:
    from portal.bookings.models import Booking

bp = Blueprint("compliance", __name__)  # the school home page links the DBS list (the header is full)


def _parent_link_limit() -> str:
    """Per-address throttle on the parent's link: enough for a family, far too few to guess links."""
    return str(current_app.config.get("CONSENT_LINK_RATE_LIMIT", "30 per hour"))


def _saved(form: Any, action: Callable[[], object]) -> bool:
    """Run a service action for a submitted, valid form and commit; on a refusal roll back and show why."""
    return form.validate_on_submit() and saved(form, action)[0]


# --- DBS notes ------------------------------------------------------------------------------


@bp.route("/dbs")
@allow(Role.SCHOOL)
def dbs_notes() -> Any:
    """Supervisors of the school's upcoming placements with the school's DBS decision about each (audited)."""
    today = london_date(utcnow())
    page = paginate(dbs.supervisors_to_decide(current_user.school_id, today))
    ids = [supervisor.id for supervisor in page.items]
    bookings = dbs.supervisor_bookings(db.session, current_user.school_id, ids, today)
    notes = dbs.view_dbs_notes(db.session, current_user, ids)
    db.session.commit()  # the audit of the decisions shown
    return render_template("compliance/dbs_notes.html", page=page, bookings=bookings, notes=notes)


@bp.route("/dbs/supervisors/<int:supervisor_id>", methods=["GET", "POST"])
@allow(Role.SCHOOL)
def dbs_note(supervisor_id: int) -> Any:
    """One supervisor: the school's bookings with them, the school's DBS decision (audited) and the form."""
    supervisor = access.owned_or_404(find_supervisor(db.session, supervisor_id), access.can_record_dbs)
    form = DbsNoteForm()
    if _saved(form, lambda: dbs.record_dbs_note(db.session, current_user, supervisor, **form.service_arguments())):
        flash(f"DBS decision about {supervisor.name} recorded.", "success")
        return redirect(url_for("compliance.dbs_note", supervisor_id=supervisor.id))
    note = dbs.view_dbs_note(db.session, current_user, supervisor)
    if request.method == "GET" and note is not None:
        form.fill_from(note)
    bookings = dbs.school_bookings_with(db.session, current_user.school_id, supervisor)
    employer = dbs.employer_of(db.session, supervisor)
    db.session.commit()  # the audit of this view
    return render_template("compliance/dbs_note.html", supervisor=supervisor, employer=employer, note=note,
                           bookings=bookings, form=form), (400 if form.errors else 200)


# --- consent: the school's side ---------------------------------------------------------------


def _school_booking(booking_id: int) -> Booking:
    """A booking of the user's school; 404 otherwise."""
    return access.owned_or_404(find_booking(db.session, booking_id), access.can_manage_school_booking)


def _consent_page(booking: Booking, send_form: ConsentRequestForm, paper_form: PaperConsentForm) -> Any:
    """The consent page: history, and the forms while consent may still be asked."""
    now = utcnow()
    open_for_answers = booking.status_enum in ACTIVE_BOOKING_STATUSES and booking.starts_at > now
    status = 400 if send_form.errors or paper_form.errors else 200
    return render_template("compliance/consent.html", booking=booking, needed=consent.consent_needed(booking),
                           requests=consent.history(db.session, booking), open_for_answers=open_for_answers,
                           send_form=send_form, paper_form=paper_form, now=now,
                           form=paper_form if paper_form.errors else send_form), status


@bp.route("/bookings/<int:booking_id>/consent", methods=["GET", "POST"], endpoint="consent")
@allow(Role.SCHOOL)
def consent_view(booking_id: int) -> Any:
    """The booking's consent history, and sending a consent link to a parent or carer."""
    booking = _school_booking(booking_id)
    send_form = ConsentRequestForm()
    email = send_form.parent_email.data or ""
    if _saved(send_form, lambda: consent.send_consent_request(db.session, current_user, booking, email)):
        flash(f"Consent link sent to {email}.", "success")
        return redirect(url_for("compliance.consent", booking_id=booking.id))
    return _consent_page(booking, send_form, PaperConsentForm(formdata=None))


@bp.route("/bookings/<int:booking_id>/consent/paper", methods=["POST"])
@allow(Role.SCHOOL)
def paper_consent(booking_id: int) -> Any:
    """Record a consent form the school received on paper."""
    booking = _school_booking(booking_id)
    paper_form = PaperConsentForm()
    if _saved(paper_form, lambda: consent.record_paper_consent(
            db.session, current_user, booking, paper_form.responder_name.data or "", paper_form.decision.data or "")):
        flash("The paper consent form has been recorded.", "success")
        return redirect(url_for("compliance.consent", booking_id=booking.id))
    return _consent_page(booking, ConsentRequestForm(formdata=None), paper_form)


# --- consent: the parent's link -----------------------------------------------------------------


def _parent_page(body: str, status: int) -> Any:
    """A page of the parent's link: kept out of caches (its address is a personal link)."""
    response = make_response(body, status)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/consent/<token>", methods=["GET", "POST"])
@public
@limiter.limit(_parent_link_limit)
def parent_consent(token: str) -> Any:
    """A parent or carer reads what the placement is and consents or declines, with their name (no account)."""
    now = utcnow()
    try:
        consent_request = consent.request_from_token(db.session, token, now)
    except consent.LinkInvalid as invalid:
        return _link_invalid_page(invalid)
    booking = consent.booking_for_request(db.session, consent_request)
    form = ParentConsentForm()
    if form.validate_on_submit():
        try:
            consent.respond(db.session, consent_request, consent=form.answer.data == "consent",
                            name=form.responder_name.data or "", now=now)
        except consent.LinkInvalid as invalid:
            return _link_invalid_page(invalid)
        except services.ComplianceRefused as refusal:
            db.session.rollback()
            show_on_form(form, refusal)
        else:
            db.session.commit()
            return _parent_page(render_template(
                "compliance/parent_consent_done.html", booking=booking, consent_request=consent_request), 200)
    page = render_template("compliance/parent_consent.html", booking=booking, consent_request=consent_request,
                           form=form, supervisors=booking.session.supervisors)
    return _parent_page(page, 400 if form.errors else 200)


def _link_invalid_page(invalid: consent.LinkInvalid) -> Any:
    """Say which way a link cannot be used: 404 when it is not one of ours, 410 when it was and no longer works."""
    db.session.rollback()
    known = invalid.request
    page = render_template("compliance/parent_link_invalid.html", reason=invalid.reason, message=str(invalid),
                           school=known.booking.student.school if known is not None else None)
    return _parent_page(page, 404 if invalid.reason == "invalid" else 410)


# --- briefing ----------------------------------------------------------------------------------


@bp.route("/bookings/<int:booking_id>/briefed", methods=["POST"])
@allow(Role.SCHOOL)
def briefed(booking_id: int) -> Any:
    """Record that the student has been briefed for the placement."""
    booking = _school_booking(booking_id)
    if not BriefedForm().validate_on_submit():
        abort(400)
    try:
        recorded = services.mark_briefed(db.session, current_user, booking)
    except services.ComplianceRefused as refusal:
        db.session.rollback()
        flash(str(refusal), "info")
    else:
        db.session.commit()
        flash("Briefing recorded." if recorded else services.already_briefed_message(booking),
              "success" if recorded else "info")
    return redirect(url_for("bookings.school_booking", booking_id=booking.id))
