"""Employer profile, offers, sessions and supervisors; offer search for schools and hubs; hub imports."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import case, select
from sqlalchemy.orm import selectinload

import portal.offers.imports  # noqa: F401 (registers the employers and offers importers)
from portal import access
from portal.access import allow
from portal.bookings import confirmations
from portal.core import import_jobs
from portal.core.cleaning import accepts_large_files
from portal.core.dates import format_datetime, london_date, to_london
from portal.core.models import ImportJob
from portal.core.pagination import page_number, paginate
from portal.core.refusals import Refusal, saved
from portal.core.templating import extend_navigation
from portal.core.vocab import DeliveryMode, ImportJobStatus, OfferStatus, Role
from portal.db import utcnow
from portal.extensions import db
from portal.geo.locate import PostcodeProblem, locate
from portal.offers import services
from portal.offers.forms import (
    ImportForm,
    OfferForm,
    ProfileForm,
    SearchForm,
    SessionForm,
    SupervisorForm,
)
from portal.offers.models import Offer, OfferSession, Supervisor
from portal.offers.search import OfferQuery, search_offers
from portal.organisations.forms import ConfirmForm

bp = Blueprint("offers", __name__)
PER_PAGE = 20

extend_navigation(Role.EMPLOYER, "Offers", "offers.employer_offers")
extend_navigation(Role.EMPLOYER, "Supervisors", "offers.supervisors")
extend_navigation(Role.EMPLOYER, "Profile", "offers.profile")
extend_navigation(Role.SCHOOL, "Find offers", "offers.search")
extend_navigation(Role.HUB, "Find offers", "offers.search")
extend_navigation(Role.HUB, "Import", "offers.hub_import")



def _saved(form: Any, action: Callable[[], Any], message: str, target: Callable[[Any], str],
           fields: dict[str, str] | None = None) -> Any:
    """Run a service call for a valid form: commit, flash and redirect; or roll back and show the error (None)."""
    ok, result = saved(form, action, fields)
    if not ok:
        return None
    flash(message, "success")
    return redirect(target(result))


def _rendered(template: str, form: Any, **context: Any) -> Any:
    """Render a form page: 400 when the form has errors."""
    return render_template(template, form=form, **context), (400 if form.errors else 200)


def _own_offer(offer_id: int) -> Offer:
    """An offer of the signed-in employer, or 404 (another employer's offer is not revealed)."""
    return access.get_owned_or_404(Offer, offer_id, access.can_manage_offer)


def _own_session(offer: Offer, session_id: int) -> OfferSession:
    """A session of the given (already owned) offer, or 404."""
    occurrence = db.session.get(OfferSession, session_id)
    if occurrence is None or occurrence.offer_id != offer.id:
        abort(404)
    return occurrence


def _own_supervisor(supervisor_id: int) -> Supervisor:
    """A supervisor of the signed-in employer, or 404."""
    return access.get_owned_or_404(
        Supervisor, supervisor_id, lambda user, supervisor: access.can_manage_employer(user, supervisor.employer_id)
    )


# --- employer profile -------------------------------------------------------------------


@bp.route("/employer/profile")
@allow(Role.EMPLOYER)
def profile() -> Any:
    """The employer's profile, with a warning when the insurance has expired or expires soon."""
    employer = current_user.employer
    insurance = services.insurance_state(employer, london_date(utcnow()))
    return render_template("offers/profile.html", employer=employer, insurance=insurance,
                           tally=confirmations.tallies_by_employer(db.session, [employer.id])[employer.id],
                           reports=confirmations.missing_reports(db.session, employer_id=employer.id))


@bp.route("/employer/profile/edit", methods=["GET", "POST"])
@allow(Role.EMPLOYER)
def profile_edit() -> Any:
    """Change the employer's profile."""
    employer = current_user.employer
    if request.method == "GET":
        form = ProfileForm(data={
            "sector": employer.sector, "address": employer.address, "postcode": employer.postcode,
            "safeguarding_lead_name": employer.safeguarding_lead_name,
            "safeguarding_lead_email": employer.safeguarding_lead_email,
            "safeguarding_lead_phone": employer.safeguarding_lead_phone,
            "insurer": employer.insurer, "insurance_expiry": employer.insurance_expiry,
            "disability_confident": employer.disability_confident,
            "autism_trained_staff": "yes" if employer.autism_trained_staff else "no",
        })
    else:
        form = ProfileForm()
    if form.validate_on_submit():
        details = services.ProfileDetails(
            sector=form.sector.data, address=form.address.data, postcode=form.postcode.data or "",
            safeguarding_lead_name=form.safeguarding_lead_name.data,
            safeguarding_lead_email=form.safeguarding_lead_email.data,
            safeguarding_lead_phone=form.safeguarding_lead_phone.data, insurer=form.insurer.data,
            insurance_expiry=form.insurance_expiry.data, disability_confident=form.disability_confident.data,
            autism_trained_staff=form.autism_trained_staff.data == "yes",
        )
        done = _saved(form, lambda: services.update_profile(db.session, employer, details),
                      "Your profile has been saved.", lambda _: url_for("offers.profile"))
        if done:
            return done
    return _rendered("offers/profile_form.html", form)


# --- offers (employer) ------------------------------------------------------------------


@bp.route("/employer/offers")
@allow(Role.EMPLOYER)
def employer_offers() -> Any:
    """The employer's offers: live ones first, then drafts, paused and archived."""
    order = case({s.value: i for i, s in enumerate(OfferStatus)}, value=Offer.status)
    query = (
        select(Offer).where(Offer.employer_id == current_user.employer_id)
        .order_by(order, Offer.updated_at.desc(), Offer.id.desc())
        .options(selectinload(Offer.sessions))
    )
    page = paginate(query, per_page=PER_PAGE)
    insurance = services.insurance_state(current_user.employer, london_date(utcnow()))
    return render_template("offers/employer_offers.html", page=page, now=utcnow(), insurance=insurance)


def _offer_form(offer: Offer | None) -> OfferForm:
    """The offer form, filled from the offer on GET."""
    if request.method != "GET" or offer is None:
        return OfferForm()
    data: dict[str, Any] = {
        "title": offer.title, "description": offer.description, "activity_type": offer.activity_type,
        "delivery_mode": offer.delivery_mode, "location": "employer" if offer.uses_employer_location else "other",
        "postcode": offer.postcode, "sectors": offer.sector_codes, "year_groups": offer.year_group_numbers,
        "learning_outcomes": offer.learning_outcomes, "preparation": offer.preparation,
        "travel_notes": offer.travel_notes, "features": offer.feature_codes, "criteria": offer.criterion_codes,
        "supporting_adults_max": offer.supporting_adults_max,
    }
    data.update({f"note_{code}": note for code, note in offer.feature_notes.items()})
    return OfferForm(data=data)


def _offer_details(form: OfferForm) -> services.OfferDetails:
    """Turn a valid offer form into the service's details."""
    return services.OfferDetails(
        title=form.title.data, description=form.description.data, activity_type=form.activity_type.data,
        delivery_mode=form.delivery_mode.data, use_employer_location=form.location.data != "other",
        postcode=form.postcode.data or None, sectors=form.sectors.data or [], year_groups=form.year_groups.data or [],
        learning_outcomes=form.learning_outcomes.data or "", preparation=form.preparation.data or "",
        travel_notes=form.travel_notes.data or "", features=form.feature_notes(), criteria=form.criteria.data or [],
        supporting_adults_max=form.supporting_adults_max.data or 0,
    )


@bp.route("/employer/offers/new", methods=["GET", "POST"])
@allow(Role.EMPLOYER)
def offer_new() -> Any:
    """Describe a new offer (saved as a draft)."""
    form = _offer_form(None)
    if form.validate_on_submit():
        done = _saved(form, lambda: services.create_offer(db.session, current_user.employer, _offer_details(form)),
                      "Your offer is saved as a draft. Add a session, then publish it.",
                      lambda offer: url_for("offers.offer_detail", offer_id=offer.id))
        if done:
            return done
    return _rendered("offers/offer_form.html", form, offer=None, employer=current_user.employer)


@bp.route("/employer/offers/<int:offer_id>")
@allow(Role.EMPLOYER)
def offer_detail(offer_id: int) -> Any:
    """One of the employer's offers: details, sessions, and what it needs before publishing."""
    offer = _own_offer(offer_id)
    now = utcnow()
    problems = services.publish_problems(offer, now) if offer.status != OfferStatus.PUBLISHED.value else []
    return render_template("offers/offer_detail.html", offer=offer, now=now, problems=problems,
                           confirm=ConfirmForm(), transitions=services.TRANSITIONS[OfferStatus(offer.status)],
                           tally=confirmations.tallies_by_offer(db.session, [offer.id])[offer.id],
                           reports=confirmations.missing_reports(db.session, employer_id=offer.employer_id,
                                                                 offer_id=offer.id))


@bp.route("/employer/offers/<int:offer_id>/edit", methods=["GET", "POST"])
@allow(Role.EMPLOYER)
def offer_edit(offer_id: int) -> Any:
    """Change an offer's details."""
    offer = _own_offer(offer_id)
    if offer.status == OfferStatus.ARCHIVED.value:
        flash("This offer is archived and can no longer be changed.", "info")
        return redirect(url_for("offers.offer_detail", offer_id=offer.id))
    form = _offer_form(offer)
    if form.validate_on_submit():
        done = _saved(form, lambda: services.update_offer(db.session, offer, _offer_details(form)),
                      "The offer has been saved.", lambda _: url_for("offers.offer_detail", offer_id=offer.id))
        if done:
            return done
    return _rendered("offers/offer_form.html", form, offer=offer, employer=offer.employer)


@bp.route("/employer/offers/<int:offer_id>/status", methods=["POST"])
@allow(Role.EMPLOYER)
def offer_status(offer_id: int) -> Any:
    """Publish, pause or resume an offer (archiving has its own confirmation page)."""
    offer = _own_offer(offer_id)
    form = ConfirmForm()
    try:
        target = OfferStatus(request.form.get("status", ""))
    except ValueError:
        abort(400)
    if not form.validate_on_submit() or target is OfferStatus.ARCHIVED:
        abort(400)
    try:
        changed = services.change_status(db.session, offer, target)
    except services.PublishRefused as refused:
        db.session.rollback()
        flash("The offer cannot be published yet: " + " ".join(refused.problems), "info")
    except services.OfferError as error:
        db.session.rollback()
        flash(str(error), "info")
    else:
        db.session.commit()
        flash(f"The offer is now {target.label.lower()}." if changed
              else f"The offer was already {target.label.lower()}.", "success")
    return redirect(url_for("offers.offer_detail", offer_id=offer.id))


@bp.route("/employer/offers/<int:offer_id>/archive", methods=["GET", "POST"])
@allow(Role.EMPLOYER)
def offer_archive(offer_id: int) -> Any:
    """Ask for confirmation, then archive the offer (it leaves search for good)."""
    offer = _own_offer(offer_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            changed = services.change_status(db.session, offer, OfferStatus.ARCHIVED)
        except services.OfferError as error:
            db.session.rollback()
            flash(str(error), "info")
        else:
            db.session.commit()
            flash("The offer has been archived." if changed else "The offer was already archived.", "success")
        return redirect(url_for("offers.offer_detail", offer_id=offer.id))
    return render_template(
        "offers/confirm.html", form=form, title=f"Archive {offer.title}",
        heading=f"Are you sure you want to archive ‘{offer.title}’?",
        body="Schools will no longer find it and it cannot be published again. Its sessions stay in your records.",
        button="Archive offer", cancel=url_for("offers.offer_detail", offer_id=offer.id),
    )


# --- sessions ---------------------------------------------------------------------------


def _session_form(offer: Offer, occurrence: OfferSession | None) -> SessionForm:
    """The session form with the employer's supervisors as choices, filled from the session on GET."""
    if request.method == "GET" and occurrence is not None:
        start, end = to_london(occurrence.starts_at), to_london(occurrence.ends_at)
        form = SessionForm(data={
            "start_date": start.date(), "start_time": start.time(),
            "end_date": end.date() if end.date() != start.date() else None, "end_time": end.time(),
            "capacity": occurrence.capacity, "supervisors": [s.id for s in occurrence.supervisors],
        })
    else:
        form = SessionForm()
    supervisors = db.session.scalars(
        select(Supervisor).where(Supervisor.employer_id == offer.employer_id).order_by(Supervisor.name)
    ).all()
    form.supervisors.choices = [(s.id, f"{s.name}, {s.role}" if s.role else s.name) for s in supervisors]
    return form


# Service errors name the session's times; the form holds them in these fields.
SESSION_FIELDS = {"starts_at": "start_date", "ends_at": "end_time"}


def _session_details(form: SessionForm) -> services.SessionDetails:
    """Turn a valid session form into the service's details."""
    return services.SessionDetails(starts_at=form.starts_at(), ends_at=form.ends_at(),
                                   capacity=form.capacity.data, supervisor_ids=form.supervisors.data or [])


@bp.route("/employer/offers/<int:offer_id>/sessions/new", methods=["GET", "POST"])
@allow(Role.EMPLOYER)
def session_new(offer_id: int) -> Any:
    """Add a dated session to an offer."""
    offer = _own_offer(offer_id)
    form = _session_form(offer, None)
    if form.validate_on_submit():
        done = _saved(form, lambda: services.add_session(db.session, offer, _session_details(form)),
                      "The session has been added.", lambda _: url_for("offers.offer_detail", offer_id=offer.id),
                      SESSION_FIELDS)
        if done:
            return done
    return _rendered("offers/session_form.html", form, offer=offer, occurrence=None)


@bp.route("/employer/offers/<int:offer_id>/sessions/<int:session_id>/edit", methods=["GET", "POST"])
@allow(Role.EMPLOYER)
def session_edit(offer_id: int, session_id: int) -> Any:
    """Change a session that has not started."""
    offer = _own_offer(offer_id)
    occurrence = _own_session(offer, session_id)
    form = _session_form(offer, occurrence)
    if form.validate_on_submit():
        done = _saved(form, lambda: services.update_session(db.session, occurrence, _session_details(form)),
                      "The session has been saved.", lambda _: url_for("offers.offer_detail", offer_id=offer.id),
                      SESSION_FIELDS)
        if done:
            return done
    return _rendered("offers/session_form.html", form, offer=offer, occurrence=occurrence)


@bp.route("/employer/offers/<int:offer_id>/sessions/<int:session_id>/remove", methods=["GET", "POST"])
@allow(Role.EMPLOYER)
def session_remove(offer_id: int, session_id: int) -> Any:
    """Ask for confirmation, then remove a future session."""
    offer = _own_offer(offer_id)
    occurrence = _own_session(offer, session_id)
    form = ConfirmForm()
    back = url_for("offers.offer_detail", offer_id=offer.id)
    if form.validate_on_submit():
        try:
            services.remove_session(db.session, occurrence)
        except services.OfferError as error:
            db.session.rollback()
            flash(str(error), "info")
        else:
            db.session.commit()
            flash("The session has been removed.", "success")
        return redirect(back)
    return render_template(
        "offers/confirm.html", form=form, title="Remove a session",
        heading=f"Are you sure you want to remove the session on {format_datetime(occurrence.starts_at)}?",
        body=f"It is a session of ‘{offer.title}’.", button="Remove session", cancel=back,
    )


# --- supervisors ------------------------------------------------------------------------


@bp.route("/employer/supervisors")
@allow(Role.EMPLOYER)
def supervisors() -> Any:
    """The employer's supervisors."""
    query = select(Supervisor).where(Supervisor.employer_id == current_user.employer_id).order_by(Supervisor.name, Supervisor.id)
    page = paginate(query, per_page=50)
    return render_template("offers/supervisors.html", page=page)


def _supervisor_details(form: SupervisorForm) -> services.SupervisorDetails:
    """Turn a valid supervisor form into the service's details."""
    return services.SupervisorDetails(name=form.name.data, role=form.role.data or "", email=form.email.data or None)


@bp.route("/employer/supervisors/new", methods=["GET", "POST"])
@allow(Role.EMPLOYER)
def supervisor_new() -> Any:
    """Add a supervisor."""
    form = SupervisorForm()
    if form.validate_on_submit():
        services.add_supervisor(db.session, current_user.employer, _supervisor_details(form))
        db.session.commit()
        flash(f"{form.name.data} has been added.", "success")
        return redirect(url_for("offers.supervisors"))
    return _rendered("offers/supervisor_form.html", form, supervisor=None)


@bp.route("/employer/supervisors/<int:supervisor_id>/edit", methods=["GET", "POST"])
@allow(Role.EMPLOYER)
def supervisor_edit(supervisor_id: int) -> Any:
    """Change a supervisor's details."""
    supervisor = _own_supervisor(supervisor_id)
    form = SupervisorForm(obj=supervisor) if request.method == "GET" else SupervisorForm()
    if form.validate_on_submit():
        services.update_supervisor(db.session, supervisor, _supervisor_details(form))
        db.session.commit()
        flash(f"{supervisor.name}'s details have been saved.", "success")
        return redirect(url_for("offers.supervisors"))
    return _rendered("offers/supervisor_form.html", form, supervisor=supervisor)


@bp.route("/employer/supervisors/<int:supervisor_id>/remove", methods=["GET", "POST"])
@allow(Role.EMPLOYER)
def supervisor_remove(supervisor_id: int) -> Any:
    """Ask for confirmation, then remove a supervisor (and from the sessions they supervise)."""
    supervisor = _own_supervisor(supervisor_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        name = supervisor.name
        services.remove_supervisor(db.session, supervisor)
        db.session.commit()
        flash(f"{name} has been removed.", "success")
        return redirect(url_for("offers.supervisors"))
    return render_template(
        "offers/confirm.html", form=form, title=f"Remove {supervisor.name}",
        heading=f"Are you sure you want to remove {supervisor.name}?",
        body="They will also be taken off every session they supervise.", button="Remove supervisor",
        cancel=url_for("offers.supervisors"),
    )


# --- search (schools and hubs) ----------------------------------------------------------


@bp.route("/offers")
@allow(Role.SCHOOL, Role.HUB)
def search() -> Any:
    """Find published offers by filters, dates and distance (a GET form that works without JavaScript)."""
    form = SearchForm(request.args)
    school = current_user.school if current_user.role == Role.SCHOOL.value else None
    valid = form.validate()
    origin: tuple[float, float] | None = None
    origin_label = None
    if valid and form.postcode.data:
        try:
            location = locate(form.postcode.data)
        except PostcodeProblem as problem:
            form.postcode.errors = [*form.postcode.errors, str(problem)]
            valid = False
        else:
            origin, origin_label = location.point, location.postcode
    elif valid and school is not None and school.latitude is not None:
        origin, origin_label = (school.latitude, school.longitude), school.name
    page = None
    if valid:
        query = OfferQuery(
            activity_types=form.activity_type.data or [], delivery_modes=form.delivery_mode.data or [],
            sectors=form.sector.data or [], year_group=int(form.year_group.data) if form.year_group.data else None,
            features=form.feature.data or [], date_from=form.date_from.data, date_to=form.date_to.data,
            origin=origin, radius_km=form.radius_km() if origin else None,
        )
        page = search_offers(db.session, query, page=page_number(), per_page=PER_PAGE)
    args = {key: request.args.getlist(key) for key in request.args if key != "page"}
    return render_template(
        "offers/search.html", form=form, page=page, args=args, origin_label=origin_label,
        radius_km=form.radius_km() if origin else None, school=school,
    ), (400 if form.errors else 200)


@bp.route("/offers/<int:offer_id>")
@allow(Role.SCHOOL, Role.HUB)
def offer_view(offer_id: int) -> Any:
    """A published offer as schools and hubs see it."""
    offer = db.session.get(Offer, offer_id)
    if offer is None or not services.visible_to_schools(offer):
        abort(404)
    now = utcnow()
    distance = None
    school = current_user.school if current_user.role == Role.SCHOOL.value else None
    if school is not None and school.latitude is not None and school.longitude is not None \
            and offer.latitude is not None and offer.longitude is not None:
        from portal.geo import distance_km

        distance = distance_km((school.latitude, school.longitude), (offer.latitude, offer.longitude))
    return render_template("offers/offer_view.html", offer=offer, now=now, distance=distance, school=school,
                           virtual=offer.delivery_mode == DeliveryMode.VIRTUAL.value,
                           tally=confirmations.tallies_by_offer(db.session, [offer.id])[offer.id],
                           employer_tally=confirmations.tallies_by_employer(db.session, [offer.employer_id])[offer.employer_id])


# --- imports (hubs) ---------------------------------------------------------------------


@bp.route("/hub/import", methods=["GET", "POST"])
@accepts_large_files
@allow(Role.HUB)
def hub_import() -> Any:
    """Upload employers.csv or offers.csv: saved and imported (or only checked) in the background."""
    form = ImportForm()
    if form.validate_on_submit():
        try:
            upload = import_jobs.save_upload(form.file.data)
        except Refusal as refusal:
            form.file.errors = [*form.file.errors, refusal.message]
        else:
            kind = "employers" if form.kind.data == "employers" else "offers"
            job = import_jobs.create_job(db.session, kind, current_user, upload, hub_id=current_user.hub_id,
                                         dry_run=bool(form.dry_run.data))
            db.session.commit()
            import_jobs.start(job)
            return redirect(url_for("offers.hub_import_job", job_id=job.id), 303)
    return render_template("offers/import.html", form=form, errors=[], error_count=0,
                           report=None), (400 if form.errors else 200)


@bp.route("/hub/import/<int:job_id>")
@allow(Role.HUB)
def hub_import_job(job_id: int) -> Any:
    """The hub import's progress, then every bad row, or what it imported (or would have)."""
    job = access.get_owned_or_404(ImportJob, job_id, access.can_see_import_job)
    if job.status == ImportJobStatus.FAILED.value:
        errors, error_count = import_jobs.failed_errors(job)
        return render_template("offers/import.html", form=ImportForm(), errors=errors, error_count=error_count,
                               report=None)
    if job.status != ImportJobStatus.SUCCEEDED.value:
        return import_jobs.progress_page(job, f"Importing {job.kind}", url_for("offers.hub_import_job_json", job_id=job.id))
    return render_template("offers/import.html", form=ImportForm(), errors=[], error_count=0, report=job.report)


@bp.route("/hub/import/<int:job_id>.json")
@allow(Role.HUB)
def hub_import_job_json(job_id: int) -> Any:
    """The hub import's progress as JSON, for the page's script."""
    job = access.get_owned_or_404(ImportJob, job_id, access.can_see_import_job)
    return jsonify(import_jobs.job_progress(job))
