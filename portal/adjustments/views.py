"""Adjustment request pages: schools ask from a near miss, employers answer, schools and hubs follow them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from portal import access
from portal.access import allow
from portal.adjustments import needs, services
from portal.adjustments.forms import AnswerForm, AskForm, HubAskForm, NeedAnswerForm, NeedForm
from portal.core.dates import london_date
from portal.core.ids import parse_id
from portal.core.pagination import paginate
from portal.core.refusals import saved
from portal.core.templating import extend_navigation
from portal.core.vocab import AccessFeature, Role
from portal.db import utcnow
from portal.extensions import db
from portal.matching.services import student_to_match
from portal.offers.services import (
    SessionDetails,
    employer_offers_for,
    employer_supervisors,
    find_session,
    visible_to_schools,
)
from portal.organisations.forms import ConfirmForm

bp = Blueprint("adjustments", __name__)
extend_navigation(Role.EMPLOYER, "Requests", "adjustments.employer_requests")
extend_navigation(Role.EMPLOYER, "Needs near you", "adjustments.employer_needs")
extend_navigation(Role.SCHOOL, "Requests", "adjustments.school_requests")
extend_navigation(Role.HUB, "Needs", "adjustments.hub_needs")


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


# --- needs posted when nothing fits ---------------------------------------------------------------


def _need_details(form: NeedForm) -> needs.NeedDetails:
    """The service's details from a valid need form."""
    return needs.NeedDetails(year_group=form.year_group.data, places=form.places.data or 0,
                             date_from=form.date_from.data or dt.date.min, date_to=form.date_to.data or dt.date.min,
                             need_counts=form.need_counts(), sectors=form.sectors.data or [],
                             note=form.note.data or "")


def _post_need(form: NeedForm, school: Any, done_endpoint: str) -> Any:
    """Post the need from a valid form, or None to show the form again with what to fix."""
    ok, _ = saved(form, lambda: needs.post(db.session, current_user, school, _need_details(form)),
                  {"need_counts": "places"})
    if ok:
        flash("Your need has been posted to employers near the school. You will hear by email when one adds a "
              "session.", "success")
        return redirect(url_for(done_endpoint))
    return None


@bp.route("/school/needs")
@allow(Role.SCHOOL)
def school_needs() -> Any:
    """The school's posted needs and the sessions employers added for them."""
    return render_template("adjustments/needs_list.html", page=paginate(needs.for_school(current_user.school_id)),
                           endpoint="adjustments.school_needs", new_endpoint="adjustments.school_need_new",
                           action=ConfirmForm())


@bp.route("/school/needs/new", methods=["GET", "POST"])
@allow(Role.SCHOOL)
def school_need_new() -> Any:
    """Post what the school is looking for, for employers near it to answer."""
    form = NeedForm(year_group=request.args.get("year_group", type=int))
    del form.school_id
    if form.validate_on_submit():
        done = _post_need(form, current_user.school, "adjustments.school_needs")
        if done:
            return done
    return render_template("adjustments/need_form.html", form=form), (400 if form.errors or form.form_errors
                                                                     else 200)


@bp.route("/hub/needs")
@allow(Role.HUB)
def hub_needs() -> Any:
    """Needs posted by the hub's schools (and for them), open first."""
    return render_template("adjustments/needs_list.html", page=paginate(needs.for_hub(current_user.hub_id)),
                           endpoint="adjustments.hub_needs", new_endpoint="adjustments.hub_need_new",
                           action=ConfirmForm())


@bp.route("/hub/needs/new", methods=["GET", "POST"])
@allow(Role.HUB)
def hub_need_new() -> Any:
    """Post a need for one of the hub's schools."""
    form = NeedForm()
    schools = needs.schools_to_post_for(db.session, access.schools_of(current_user))
    form.school_id.choices = [(school.id, school.name) for school in schools]
    if form.validate_on_submit():
        school = next(s for s in schools if s.id == form.school_id.data)
        done = _post_need(form, school, "adjustments.hub_needs")
        if done:
            return done
    return render_template("adjustments/need_form.html", form=form), (400 if form.errors or form.form_errors
                                                                     else 200)


@bp.route("/needs/<int:need_id>/withdraw", methods=["POST"])
@allow(Role.SCHOOL, Role.HUB)
def need_withdraw(need_id: int) -> Any:
    """Withdraw an open need (the school's staff or its hub)."""
    need = access.owned_or_404(needs.find(db.session, need_id), needs.can_follow)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        needs.withdraw(db.session, current_user, need)
    except needs.NeedRefused as refusal:
        db.session.rollback()
        flash(refusal.message, "error")
    else:
        db.session.commit()
        flash("The need has been withdrawn.", "success")
    return redirect(url_for("adjustments.school_needs" if current_user.role == Role.SCHOOL.value
                            else "adjustments.hub_needs"))


@bp.route("/employer/needs")
@allow(Role.EMPLOYER)
def employer_needs() -> Any:
    """Open needs posted by schools near the employer."""
    found = needs.open_for_employer(db.session, current_user.employer, london_date(utcnow()))
    return render_template("adjustments/employer_needs.html", needs=found)


@bp.route("/employer/needs/<int:need_id>", methods=["GET", "POST"])
@allow(Role.EMPLOYER)
def employer_need(need_id: int) -> Any:
    """One posted need, and the form to answer it with a new session."""
    need = needs.find(db.session, need_id)
    if need is None or not needs.visible_to_employer(db.session, need, current_user.employer):
        abort(404)
    form = NeedAnswerForm()
    offers = employer_offers_for(db.session, current_user.employer_id)
    form.offer_id.choices = [(offer.id, offer.title) for offer in offers]
    form.supervisors.choices = [(s.id, s.name) for s in employer_supervisors(db.session, current_user.employer_id)]
    if need.is_open and form.validate_on_submit():
        offer = next(o for o in offers if o.id == form.offer_id.data)
        details = SessionDetails(starts_at=form.starts_at(), ends_at=form.ends_at(), capacity=form.capacity.data,
                                 supervisor_ids=form.supervisors.data or [])
        ok, _ = saved(form, lambda: needs.answer(db.session, current_user, need, offer, details),
                      {"starts_at": "start_date", "ends_at": "end_time", "capacity": "capacity"})
        if ok:
            flash(f"The session has been added to {offer.title} and {need.school.name} has been told.", "success")
            return redirect(url_for("adjustments.employer_need", need_id=need.id))
    return render_template("adjustments/employer_need.html", need=need, form=form, offers=offers), (
        400 if form.errors or form.form_errors else 200)
