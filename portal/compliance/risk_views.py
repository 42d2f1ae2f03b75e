"""Risk assessment pages: employers upload or attest per offer, schools review, both download."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, send_file, url_for
from flask_login import current_user

from portal import access
from portal.access import allow
from portal.compliance import risk, uploads
from portal.compliance.models import RiskAssessment
from portal.compliance.risk_forms import AttestationForm, ReviewForm, UploadForm
from portal.core.refusals import show_on_form
from portal.core.vocab import Role
from portal.db import utcnow
from portal.extensions import db
from portal.offers.models import Offer

bp = Blueprint("risk", __name__)


def _own_offer(offer_id: int) -> Offer:
    """An offer of the signed-in employer, or 404 (another employer's offer is not revealed)."""
    return access.get_owned_or_404(Offer, offer_id, access.can_manage_offer)


def _default_sessions(rows: list[risk.SessionCoverage]) -> list[int]:
    """Upcoming sessions no assessment covers yet; every upcoming session when all are covered."""
    uncovered = [row.occurrence.id for row in rows if row.assessment is None]
    return uncovered or [row.occurrence.id for row in rows]


def _page(offer: Offer, upload: UploadForm | None = None, attest: AttestationForm | None = None) -> Any:
    """The offer's risk assessment page; the submitted form (if any) keeps its answers and errors."""
    rows = risk.upcoming_sessions(db.session, offer)
    choices = [(row.occurrence.id, row.occurrence.when) for row in rows]
    defaults = _default_sessions(rows)
    forms: list[Any] = []
    for submitted, make in ((upload, lambda: UploadForm(formdata=None, prefix="upload")),
                            (attest, lambda: AttestationForm(formdata=None, prefix="attest"))):
        form = submitted if submitted is not None else make()
        form.sessions.choices = choices
        if submitted is None:
            form.sessions.data = defaults
        forms.append(form)
    upload_form, attest_form = forms
    failed = next((f for f in forms if f.errors), None)
    return render_template(
        "compliance/risk_offer.html", offer=offer, rows=rows, upload=upload_form, attest=attest_form,
        form=failed, assessments=risk.offer_assessments(db.session, offer), limit=uploads.limit_label(),
    ), (400 if failed is not None else 200)


def _submitted(form: UploadForm | AttestationForm, offer: Offer) -> bool:
    """Validate a posted form against the offer's upcoming sessions."""
    form.sessions.choices = [(row.occurrence.id, row.occurrence.when) for row in risk.upcoming_sessions(db.session, offer)]
    return form.validate_on_submit()


@bp.route("/employer/offers/<int:offer_id>/risk-assessment")
@allow(Role.EMPLOYER)
def offer_risk_assessment(offer_id: int) -> Any:
    """The offer's upcoming sessions with the assessment covering each, and the forms to add one."""
    return _page(_own_offer(offer_id))


@bp.route("/employer/offers/<int:offer_id>/risk-assessment/upload", methods=["POST"])
@allow(Role.EMPLOYER)
def upload(offer_id: int) -> Any:
    """Upload a PDF risk assessment for the chosen sessions."""
    offer = _own_offer(offer_id)
    form = UploadForm(prefix="upload")
    if _submitted(form, offer):
        try:
            stored = uploads.store_pdf(form.document.data)
        except uploads.UploadRejected as rejection:
            form.document.errors.append(str(rejection))
        else:
            try:
                risk.add_upload(db.session, current_user, offer, stored, form.sessions.data or [])
                db.session.commit()
            except risk.RiskAssessmentRefused as refusal:
                db.session.rollback()
                uploads.delete_stored(stored.stored_name)
                show_on_form(form, refusal, {"": "sessions"})
            except BaseException:
                db.session.rollback()
                uploads.delete_stored(stored.stored_name)
                raise
            else:
                flash("Risk assessment uploaded. Schools booked on these sessions have been asked to review it.",
                      "success")
                return redirect(url_for("risk.offer_risk_assessment", offer_id=offer.id))
    return _page(offer, upload=form)


@bp.route("/employer/offers/<int:offer_id>/risk-assessment/attest", methods=["POST"])
@allow(Role.EMPLOYER)
def attest(offer_id: int) -> Any:
    """Attest that the employer's own risk assessment covers the chosen sessions."""
    offer = _own_offer(offer_id)
    form = AttestationForm(prefix="attest")
    if _submitted(form, offer):
        try:
            risk.add_attestation(db.session, current_user, offer, form.statement.data or "", form.sessions.data or [])
        except risk.RiskAssessmentRefused as refusal:
            db.session.rollback()
            show_on_form(form, refusal, {"": "sessions"})
        else:
            db.session.commit()
            flash("Attestation saved. Schools booked on these sessions have been asked to review it.", "success")
            return redirect(url_for("risk.offer_risk_assessment", offer_id=offer.id))
    return _page(offer, attest=form)


def _assessment_or_404(assessment_id: int) -> RiskAssessment:
    """An assessment the user may see (its employer, or a school with a booking it covers); 404 otherwise."""
    return access.get_owned_or_404(RiskAssessment, assessment_id, access.can_view_risk_assessment)


@bp.route("/risk-assessments/<int:assessment_id>")
@allow(Role.SCHOOL, Role.EMPLOYER)
def assessment(assessment_id: int) -> Any:
    """One assessment: what it is, who gave it, the sessions it covers, and the school's review."""
    item = _assessment_or_404(assessment_id)
    is_school = access.is_role(current_user, Role.SCHOOL)
    review = risk.reviewed_by_school(db.session, item, current_user.school_id) if is_school else None
    return render_template("compliance/risk_assessment.html", assessment=item, is_school=is_school, review=review,
                           sessions=risk.covered_sessions(db.session, item), form=ReviewForm(), now=utcnow())


@bp.route("/risk-assessments/<int:assessment_id>/review", methods=["POST"])
@allow(Role.SCHOOL)
def review(assessment_id: int) -> Any:
    """School staff mark the assessment as reviewed for their school."""
    item = _assessment_or_404(assessment_id)
    if not ReviewForm().validate_on_submit():
        abort(400)
    if risk.review(db.session, current_user, item):
        db.session.commit()
        flash("Risk assessment marked as reviewed for your school.", "success")
    else:
        db.session.rollback()
        flash("Your school has already reviewed this risk assessment.", "info")
    return redirect(url_for("risk.assessment", assessment_id=item.id))


@bp.route("/risk-assessments/<int:assessment_id>/download")
@allow(Role.SCHOOL, Role.EMPLOYER)
def download(assessment_id: int) -> Any:
    """The uploaded PDF, always as an attachment, only to those who may see the assessment."""
    item = _assessment_or_404(assessment_id)
    if not item.is_upload or not item.stored_name:
        abort(404)
    try:
        handle = uploads.open_stored(item.stored_name)
    except (uploads.NotAStoredName, FileNotFoundError):
        abort(404)
    response = send_file(handle, mimetype="application/pdf", as_attachment=True,
                         download_name=uploads.display_name(item.original_name), etag=False, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response
