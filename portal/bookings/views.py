"""Booking pages: schools book and follow their bookings, employers decide, both record attendance."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from portal import access
from portal.access import allow
from portal.bookings import confirmations, services
from portal.bookings.forms import (
    ActionForm,
    BookForm,
    CancelForm,
    DecisionForm,
    feature_answers,
    feature_field_name,
    school_confirmation_form,
)
from portal.bookings.models import Booking
from portal.compliance.checklist import (
    at_risk_among,
    at_risk_ids,
    bookings_by_id,
    checklists,
    still_to_happen,
)
from portal.core.dates import london_date
from portal.core.ids import parse_id
from portal.core.links import same_site_path
from portal.core.pagination import paginate
from portal.core.refusals import saved
from portal.core.templating import extend_navigation
from portal.core.vocab import BookingStatus, ConfirmationSource, Role
from portal.db import utcnow
from portal.extensions import db
from portal.offers.services import find_session, visible_to_schools
from portal.organisations.services import record_special_category_view

bp = Blueprint("bookings", __name__)
extend_navigation(Role.SCHOOL, "Bookings", "bookings.school_bookings")
extend_navigation(Role.EMPLOYER, "Bookings", "bookings.employer_bookings")



def _status_filter() -> str:
    """A valid ?status= code, or empty for all."""
    status = request.args.get("status", "")
    return status if status in {s.value for s in BookingStatus} else ""


def _today() -> Any:
    """Today in London: compliance deadlines count London calendar days."""
    return london_date(utcnow())


def _booking_list(owner: Any, order: Any, template: str, *, for_employer: bool = False) -> Any:
    """A page of the organisation's bookings, filtered by status or "at risk", each tagged when at risk."""
    status = _status_filter()
    risky_only = request.args.get("risk") == "1"
    query = select(Booking).where(owner)
    if risky_only:
        today = _today()
        query = query.where(Booking.id.in_(
            at_risk_among(db.session, select(Booking.id).where(owner, still_to_happen(today)), today)))
    elif status:
        query = query.where(Booking.status == status)
    page = paginate(services.with_details(query.order_by(*order)))
    at_risk = at_risk_ids(db.session, [b.id for b in page.items], _today())
    names = services.names_on_sessions(db.session, page.items) if for_employer else {}
    return render_template(template, page=page, status=status, risky_only=risky_only, at_risk=at_risk, names=names)


def _checklist(booking: Booking) -> Any:
    """The booking's compliance checklist as of today."""
    return checklists(db.session, bookings_by_id([booking.id]), _today())[booking.id]


def _booking_or_404(booking_id: int, permitted: Any) -> Booking:
    """A booking the user may see, with its details loaded."""
    return access.owned_or_404(services.find_booking(db.session, booking_id), permitted)


# --- school ----------------------------------------------------------------------------


@bp.route("/bookings/new", methods=["POST"])
@allow(Role.SCHOOL)
def book() -> Any:
    """Book the chosen students onto a session; each one is booked or refused with the reason."""
    form = BookForm()
    form.student_ids.choices = [(parse_id(v), v) for v in request.form.getlist("student_ids") if parse_id(v)]
    session_id = parse_id(str(form.session_id.data or ""))
    if not form.validate_on_submit() or session_id is None:
        flash("Choose at least one student to book.", "info")
        return redirect(same_site_path(request.referrer) or url_for("matching.match"))
    occurrence = find_session(db.session, session_id)
    if occurrence is None:
        abort(404)
    students = services.students_chosen(db.session, access.students_of(current_user), form.student_ids.data or [])
    if len(students) != len(set(form.student_ids.data or [])):
        abort(404)  # a student of another school: never reveal whether they exist
    adult_names = {student.id: request.form.get(f"adult_name-{student.id}", "") for student in students}
    outcome = services.book_students(db.session, current_user, students, occurrence, adult_names=adult_names)
    db.session.commit()
    return render_template("bookings/booked.html", outcome=outcome, occurrence=occurrence)


@bp.route("/offers/<int:offer_id>/sessions/<int:session_id>/book")
@allow(Role.SCHOOL)
def book_session(offer_id: int, session_id: int) -> Any:
    """Choose which of the school's students to book on one session of a published offer."""
    occurrence = find_session(db.session, session_id)
    if occurrence is None or occurrence.offer_id != offer_id or not visible_to_schools(occurrence.offer):
        abort(404)
    bookable = occurrence.starts_at > utcnow() and not occurrence.is_full
    students = services.students_to_book(db.session, access.students_of(current_user), occurrence) if bookable else []
    return render_template("bookings/book_session.html", occurrence=occurrence, offer=occurrence.offer,
                           students=students, bookable=bookable)


@bp.route("/bookings")
@allow(Role.SCHOOL)
def school_bookings() -> Any:
    """Every booking of the school's students, newest session first."""
    return _booking_list(Booking.school_id == current_user.school_id, (Booking.starts_at.desc(), Booking.id),
                         "bookings/school_list.html")


@bp.route("/bookings/<int:booking_id>")
@allow(Role.SCHOOL)
def school_booking(booking_id: int) -> Any:
    """One booking as the school sees it."""
    booking = _booking_or_404(booking_id, access.can_manage_school_booking)
    return render_template("bookings/school_detail.html", booking=booking, action=ActionForm(), cancel=CancelForm(),
                           checklist=_checklist(booking), started=booking.starts_at <= utcnow(),
                           upcoming=booking.is_upcoming(utcnow()))


@bp.route("/bookings/<int:booking_id>/cancel", methods=["GET", "POST"])
@allow(Role.SCHOOL)
def cancel(booking_id: int) -> Any:
    """Confirm, then cancel a booking (the place is freed)."""
    booking = _booking_or_404(booking_id, access.can_manage_school_booking)
    form = CancelForm()
    if form.validate_on_submit():
        try:
            services.cancel(db.session, current_user, booking, form.reason.data or "")
        except services.BookingRefused as refusal:
            db.session.rollback()
            flash(str(refusal), "info")
        else:
            db.session.commit()
            flash("The booking has been cancelled and the place freed.", "success")
        return redirect(url_for("bookings.school_booking", booking_id=booking.id))
    return render_template("bookings/cancel.html", booking=booking, form=form)


def _record_outcome(booking: Booking, kind: str, back: str) -> Any:
    """Mark a booking completed or not attended, guarded on its state."""
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        if kind == "completed":
            services.mark_completed(db.session, current_user, booking)
        else:
            services.mark_no_show(db.session, current_user, booking)
    except services.BookingRefused as refusal:
        db.session.rollback()
        flash(str(refusal), "info")
    else:
        db.session.commit()
        flash("Attendance recorded.", "success")
    return redirect(url_for(back, booking_id=booking.id))


@bp.route("/bookings/<int:booking_id>/complete", methods=["POST"])
@allow(Role.SCHOOL)
def complete(booking_id: int) -> Any:
    """The school records that the student attended."""
    return _record_outcome(_booking_or_404(booking_id, access.can_manage_school_booking), "completed", "bookings.school_booking")


@bp.route("/bookings/<int:booking_id>/no-show", methods=["POST"])
@allow(Role.SCHOOL)
def no_show(booking_id: int) -> Any:
    """The school records that the student did not attend."""
    return _record_outcome(_booking_or_404(booking_id, access.can_manage_school_booking), "no_show", "bookings.school_booking")


@bp.route("/bookings/<int:booking_id>/features", methods=["GET", "POST"])
@allow(Role.SCHOOL)
def confirm_features(booking_id: int) -> Any:
    """After the placement, staff say whether each feature the student needed was really there."""
    booking = _booking_or_404(booking_id, access.can_manage_school_booking)
    codes = confirmations.needed_features(booking)
    form = school_confirmation_form(codes, confirmations.answers_of(db.session, booking.id, ConfirmationSource.SCHOOL),
                                    prefill=request.method == "GET")
    if codes and booking.is_completed and form.validate_on_submit():
        done, missing = saved(form, lambda: confirmations.record(
            db.session, booking, feature_answers(form, codes), source=ConfirmationSource.SCHOOL, user=current_user,
            note=form.note.data or ""))
        if done:
            flash("Thank you: your answers have been saved." + (
                " The employer and your hub have been told what was not there." if missing else ""), "success")
            return redirect(url_for("bookings.school_booking", booking_id=booking.id))
    if codes and request.method == "GET":
        record_special_category_view(db.session, booking.student, "needs shown to confirm features")
        db.session.commit()
    return render_template("bookings/confirm_features.html", booking=booking, form=form, field_name=feature_field_name,
                           student_answers=confirmations.answers_of(db.session, booking.id, ConfirmationSource.STUDENT))


# --- employer --------------------------------------------------------------------------


@bp.route("/employer/bookings")
@allow(Role.EMPLOYER)
def employer_bookings() -> Any:
    """Bookings on the employer's sessions, requests first."""
    return _booking_list(Booking.employer_id == current_user.employer_id,
                         ((Booking.status != BookingStatus.REQUESTED.value), Booking.starts_at, Booking.id),
                         "bookings/employer_list.html", for_employer=True)


@bp.route("/employer/bookings/<int:booking_id>", methods=["GET", "POST"])
@allow(Role.EMPLOYER)
def employer_booking(booking_id: int) -> Any:
    """One booking as the employer sees it (first name, year, school and adjustments only), and the decision."""
    booking = _booking_or_404(booking_id, access.can_manage_employer_booking)
    if booking.student.need_codes and request.method == "GET":
        record_special_category_view(db.session, booking.student, "adjustments shown to the employer")
        db.session.commit()
    form = DecisionForm()
    if form.validate_on_submit():
        try:
            services.decide(db.session, current_user, booking, form.decision.data == "confirm", form.reason.data or "")
        except services.BookingRefused as refusal:
            db.session.rollback()
            (form.reason.errors if refusal.code == "reason_required" else form.form_errors).append(str(refusal))
        else:
            db.session.commit()
            flash("Booking confirmed." if booking.status == BookingStatus.CONFIRMED.value else "Booking declined.", "success")
            return redirect(url_for("bookings.employer_booking", booking_id=booking.id))
    page = render_template("bookings/employer_detail.html", booking=booking, form=form, action=ActionForm(),
                           student_name=services.names_on_sessions(db.session, [booking])[booking.id],
                           checklist=_checklist(booking), started=booking.starts_at <= utcnow(),
                           upcoming=booking.is_upcoming(utcnow()))
    return page, (400 if form.errors else 200)


@bp.route("/employer/bookings/<int:booking_id>/no-show", methods=["POST"])
@allow(Role.EMPLOYER)
def employer_no_show(booking_id: int) -> Any:
    """The employer records that the student did not attend."""
    return _record_outcome(_booking_or_404(booking_id, access.can_manage_employer_booking), "no_show", "bookings.employer_booking")
