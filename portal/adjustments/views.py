"""Adjustment request pages: schools ask from a near miss, employers answer, schools and hubs follow them."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from portal import access
from portal.access import allow
from portal.adjustments import services
from portal.adjustments.forms import AnswerForm, AskForm, HubAskForm
from portal.core.ids import parse_id
from portal.core.pagination import paginate
from portal.core.refusals import saved
from portal.core.templating import extend_navigation
from portal.core.vocab import AccessFeature, Role
from portal.extensions import db
from portal.matching.services import student_to_match
from portal.offers.services import find_session, visible_to_schools

bp = Blueprint("adjustments", __name__)
extend_navigation(Role.EMPLOYER, "Requests", "adjustments.employer_requests")


def _arg_id(name: str) -> int:
    """A required id from the query string or form; 404 when missing or not an id."""
    value = parse_id(request.values.get(name, ""))
    if value is None:
        abort(404)
    return value


def _visible_session(session_id: int) -> Any:
    """A session of an offer schools may see, or 404."""
    occurrence = find_session(db.session, session_id)
    if occurrence is None or not visible_to_schools(occurrence.offer):
        abort(404)
    return occurrence


@bp.route("/school/students/<int:student_id>/sessions/<int:session_id>/adjustment", methods=["GET", "POST"])
@allow(Role.SCHOOL)
def ask(student_id: int, session_id: int) -> Any:
    """Ask the employer of a near miss to provide what the student needs and the session lacks."""
    student = student_to_match(db.session, access.students_of(current_user), student_id)
    if student is None:
        abort(404)
    occurrence = _visible_session(session_id)
    lacking = [code for code in student.need_codes if code not in occurrence.offer.feature_codes]
    form = AskForm()
    form.needs.choices = [(code, AccessFeature(code).label) for code in lacking]
    if request.method == "GET":
        form.needs.data = lacking
    if lacking and form.validate_on_submit():
        ok, _ = saved(form, lambda: services.ask_for_student(db.session, current_user, student, occurrence,
                                                             form.needs.data or []))
        if ok:
            flash(f"Asked {occurrence.offer.employer.name}. You will hear by email, and here, when they answer.",
                  "success")
            return redirect(url_for("adjustments.school_requests"))
    return render_template("adjustments/ask.html", form=form, student=student, occurrence=occurrence,
                           offer=occurrence.offer, lacking=lacking), (400 if form.errors or form.form_errors else 200)


@bp.route("/school/adjustments")
@allow(Role.SCHOOL)
def school_requests() -> Any:
    """The school's requests and their answers."""
    page = paginate(services.for_school(current_user.school_id))
    return render_template("adjustments/school_list.html", page=page)


@bp.route("/hub/adjustments", methods=["GET", "POST"])
@allow(Role.HUB)
def hub_requests() -> Any:
    """The hub's own requests (POST: ask one from the gap table), and their answers."""
    form = HubAskForm()
    if request.method == "POST":
        occurrence = _visible_session(_arg_id("session_id"))
        form.needs.choices = AccessFeature.choices()
        year_group = parse_id(form.year_group.data or "")
        if year_group is None or not 7 <= year_group <= 13:
            abort(404)
        if form.validate_on_submit():
            ok, _ = saved(form, lambda: services.ask_for_hub(db.session, current_user, occurrence, year_group,
                                                             form.needs.data or []))
            if ok:
                flash(f"Asked {occurrence.offer.employer.name}.", "success")
                return redirect(url_for("adjustments.hub_requests"))
        for message in [*form.form_errors, *form.needs.errors]:
            flash(message, "error")
        return redirect(url_for("adjustments.hub_requests"))
    page = paginate(services.for_hub(current_user.hub_id))
    return render_template("adjustments/hub_list.html", page=page)


@bp.route("/employer/adjustments")
@allow(Role.EMPLOYER)
def employer_requests() -> Any:
    """Requests to the employer: unanswered first."""
    page = paginate(services.for_employer(current_user.employer_id))
    return render_template("adjustments/employer_list.html", page=page)


@bp.route("/employer/adjustments/<int:request_id>", methods=["GET", "POST"])
@allow(Role.EMPLOYER)
def employer_request(request_id: int) -> Any:
    """One request: what is asked, for whom (year group and school only), and the answer."""
    adjustment = access.owned_or_404(services.find(db.session, request_id), access.can_answer_adjustment)
    form = AnswerForm()
    if adjustment.is_pending and form.validate_on_submit():
        ok, _ = saved(form, lambda: services.answer(db.session, current_user, adjustment, form.answer.data == "yes",
                                                     form.note.data or "", bool(form.add_to_offer.data)))
        if ok:
            flash("Answer sent to the " + ("school." if adjustment.school_id is not None else "hub."), "success")
            return redirect(url_for("adjustments.employer_request", request_id=adjustment.id))
    return render_template("adjustments/employer_detail.html", adjustment=adjustment, form=form), (
        400 if form.errors or form.form_errors else 200)
