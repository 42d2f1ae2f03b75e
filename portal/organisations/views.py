"""School roster, student record, employer home and hub lists."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, or_, select

from portal import access
from portal.access import allow
from portal.accounts.services import (
    active_school_staff,
    issue_student_sign_in,
    student_account,
    students_with_sign_in,
)
from portal.adjustments.services import answer_rates
from portal.bookings.confirmations import tallies_by_employer
from portal.core import import_jobs
from portal.core.cleaning import accepts_large_files
from portal.core.ids import parse_id
from portal.core.models import AuditEvent, ImportJob
from portal.core.pagination import paginate
from portal.core.refusals import Refusal, saved
from portal.core.templating import extend_navigation
from portal.core.vocab import ImportJobStatus, Role, VettingStatus
from portal.db import utcnow
from portal.extensions import db
from portal.organisations import services
from portal.organisations.forms import (
    ComplianceSettingsForm,
    ConfirmForm,
    LeaversForm,
    RosterUploadForm,
    StudentFilterForm,
    StudentForm,
    StudentSignInForm,
)
from portal.organisations.models import Employer, School, Student
from portal.organisations.roster_import import (
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    mark_left,
)

bp = Blueprint("organisations", __name__)

extend_navigation(Role.SCHOOL, "Students", "organisations.student_list", position=1)
extend_navigation(Role.HUB, "Schools", "organisations.hub_schools", position=0)
extend_navigation(Role.HUB, "Employers", "organisations.hub_employers", position=1)
ROSTER_COLUMNS = [(c, True) for c in REQUIRED_COLUMNS] + [(c, False) for c in OPTIONAL_COLUMNS]



def _details_from(form: StudentForm) -> services.StudentDetails:
    """Turn a valid student form into the service's details."""
    assert form.date_of_birth.data is not None  # noqa: S101 - InputRequired has passed
    return services.StudentDetails(
        student_ref=form.student_ref.data, first_name=form.first_name.data, last_name=form.last_name.data,
        year_group=form.year_group.data, date_of_birth=form.date_of_birth.data,
        send_status=form.send_status.data, disadvantaged=form.disadvantaged.data == "yes",
        upn=form.upn.data or None, tutor_group=form.tutor_group.data or None,
        email=form.email.data or None, needs=form.needs.data or [], interests=form.interests.data or [],
        supporting_adult=form.supporting_adult.data or None,
    )


def _own_student(student_id: int) -> Student:
    """A student of the signed-in staff member's school, or 404."""
    return access.get_owned_or_404(Student, student_id, access.can_manage_school_student)


# --- school ----------------------------------------------------------------------------


@bp.route("/school/settings/compliance", methods=["GET", "POST"])
@allow(Role.SCHOOL)
def compliance_settings() -> Any:
    """The school's compliance deadlines and the careers leader who gets escalations and the digest."""
    school = current_user.school
    form = ComplianceSettingsForm(obj=school if request.method == "GET" else None)
    staff = active_school_staff(db.session, school.id)
    form.careers_leader_id.choices = [(0, "Nobody: send to every member of staff")] + [
        (user.id, f"{user.name} ({user.email})" if user.name else user.email) for user in staff]
    if request.method == "GET":
        form.careers_leader_id.data = school.careers_leader_id or 0
    if form.validate_on_submit():
        ok, _ = saved(form, lambda: services.update_compliance_settings(
            db.session, current_user, school, form.careers_leader_id.data or None,
            {name: getattr(form, name).data for name in services.COMPLIANCE_SETTINGS}))
        if ok:
            flash("Compliance settings saved. Checklists use the new deadlines from now on.", "success")
            return redirect(url_for("organisations.compliance_settings"))
    return render_template("organisations/compliance_settings.html", form=form), (400 if form.errors else 200)


@bp.route("/students")
@allow(Role.SCHOOL)
def student_list() -> Any:
    """The roster, searchable and paginated."""
    form = StudentFilterForm(request.args)
    query = access.students_of(current_user).where(Student.left_on.is_(None))
    if form.validate():
        if form.q.data:
            like = f"%{form.q.data.lower()}%"
            query = query.where(or_(
                func.lower(Student.first_name + " " + Student.last_name).like(like),
                func.lower(Student.student_ref).like(like),
            ))
        if form.year_group.data:
            query = query.where(Student.year_group == int(form.year_group.data))
    page = paginate(query.order_by(Student.last_name, Student.first_name, Student.id))
    with_sign_in = students_with_sign_in(db.session, [s.id for s in page.items])
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("organisations/student_list.html", page=page, form=form, args=args,
                           with_sign_in=with_sign_in)


@bp.route("/students/new", methods=["GET", "POST"])
@allow(Role.SCHOOL)
def student_new() -> Any:
    """Add one student to the roster."""
    form = StudentForm()
    if form.validate_on_submit():
        ok, student = saved(form, lambda: services.add_student(db.session, current_user.school, _details_from(form)),
                            {"": "student_ref"})
        if ok:
            flash(f"{student.full_name} has been added.", "success")
            return redirect(url_for("organisations.student_detail", student_id=student.id))
    return render_template("organisations/student_form.html", form=form, student=None), (400 if form.errors else 200)


@bp.route("/students/<int:student_id>")
@allow(Role.SCHOOL)
def student_detail(student_id: int) -> Any:
    """A student's record as staff see it; viewing SEND data is audited."""
    student = _own_student(student_id)
    services.record_special_category_view(db.session, student)
    db.session.commit()
    account = student_account(db.session, student.id)
    return render_template("organisations/student_detail.html", student=student, account=account,
                           confirm=ConfirmForm())


@bp.route("/students/<int:student_id>/edit", methods=["GET", "POST"])
@allow(Role.SCHOOL)
def student_edit(student_id: int) -> Any:
    """Change a student's details."""
    student = _own_student(student_id)
    form = StudentForm(obj=student, data={
        "needs": student.need_codes, "interests": student.interest_codes,
        "disadvantaged": "yes" if student.disadvantaged else "no",
    } if request.method == "GET" else None)
    if form.validate_on_submit():
        ok, _ = saved(form, lambda: services.update_student(db.session, student, _details_from(form)),
                      {"": "student_ref"})
        if ok:
            flash("The student's details have been saved.", "success")
            return redirect(url_for("organisations.student_detail", student_id=student.id))
    elif request.method == "GET":
        services.record_special_category_view(db.session, student, "edit_form")
        db.session.commit()
    return render_template("organisations/student_form.html", form=form, student=student), (400 if form.errors else 200)


@bp.route("/students/<int:student_id>/sign-in", methods=["GET", "POST"])
@allow(Role.SCHOOL)
def student_sign_in(student_id: int) -> Any:
    """Give the student a one-time set-password link (shown once, and emailed)."""
    student = _own_student(student_id)
    form = StudentSignInForm(email=student.email)
    if form.validate_on_submit():
        ok, link = saved(form, lambda: issue_student_sign_in(db.session, current_user, student, form.email.data),
                         {"": "email"})
        if ok:
            return render_template("organisations/student_sign_in_done.html", student=student, link=link)
    return render_template("organisations/student_sign_in.html", form=form, student=student), (400 if form.errors else 200)


@bp.route("/students/import", methods=["GET", "POST"])
@accepts_large_files
@allow(Role.SCHOOL)
def roster_import() -> Any:
    """Upload the roster from the MIS: saved and imported in the background, then a progress page."""
    form = RosterUploadForm()
    if form.validate_on_submit():
        try:
            upload = import_jobs.save_upload(form.file.data)
        except Refusal as refusal:
            form.file.errors = [*form.file.errors, refusal.message]
        else:
            job = import_jobs.create_job(db.session, "roster", current_user, upload, school_id=current_user.school_id)
            db.session.commit()
            import_jobs.start(job)
            return redirect(url_for("organisations.roster_import_job", job_id=job.id), 303)
    return render_template("organisations/roster_import.html", form=form, columns=ROSTER_COLUMNS,
                           errors=None), (400 if form.errors else 200)


@bp.route("/students/import/<int:job_id>")
@allow(Role.SCHOOL)
def roster_import_job(job_id: int) -> Any:
    """The roster import's progress, then its errors by line and column, or the result and who is missing."""
    job = access.get_owned_or_404(ImportJob, job_id, access.can_see_import_job)
    if job.status == ImportJobStatus.FAILED.value:
        errors, error_count = import_jobs.failed_errors(job)
        return render_template("organisations/roster_import.html", form=RosterUploadForm(), columns=ROSTER_COLUMNS,
                               errors=errors, error_count=error_count)
    if job.status != ImportJobStatus.SUCCEEDED.value:
        return import_jobs.progress_page(job, "Importing your roster",
                                         url_for("organisations.roster_import_job_json", job_id=job.id))
    report = job.report or {}
    leavers = LeaversForm()
    leavers.student_ids.choices = [
        (s["id"], f"{s['last_name']}, {s['first_name']} ({s['student_ref']}, Year {s['year_group']})")
        for s in report.get("missing", [])
    ]
    return render_template("organisations/roster_import_done.html", report=report, leavers=leavers)


@bp.route("/students/import/<int:job_id>.json")
@allow(Role.SCHOOL)
def roster_import_job_json(job_id: int) -> Any:
    """The roster import's progress as JSON, for the page's script."""
    job = access.get_owned_or_404(ImportJob, job_id, access.can_see_import_job)
    return jsonify(import_jobs.job_progress(job))


@bp.route("/students/leavers", methods=["POST"])
@allow(Role.SCHOOL)
def roster_leavers() -> Any:
    """Mark students missing from an import as having left (kept for destinations, not deleted)."""
    form = LeaversForm()
    form.student_ids.choices = [(parse_id(v), v) for v in request.form.getlist("student_ids") if parse_id(v)]
    if not form.validate_on_submit():
        abort(400)
    count = mark_left(db.session, current_user.school, form.student_ids.data or [], utcnow().date())
    db.session.commit()
    flash(f"{count} student{'s' if count != 1 else ''} marked as left." if count else "Nobody was marked as left.", "success")
    return redirect(url_for("organisations.student_list"))


@bp.route("/audit")
@allow(Role.SCHOOL)
def audit_log() -> Any:
    """Who viewed or changed sensitive records of this school."""
    page = paginate(
        select(AuditEvent).where(AuditEvent.school_id == current_user.school_id)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()), per_page=50)
    return render_template("organisations/audit_log.html", page=page)


# --- hub -------------------------------------------------------------------------------


@bp.route("/hub/schools")
@allow(Role.HUB)
def hub_schools() -> Any:
    """Schools in the coordinator's hub."""
    page = paginate(access.schools_of(current_user).order_by(School.name), per_page=50)
    students: dict[int, int] = dict(db.session.execute(  # type: ignore[arg-type]
        select(Student.school_id, func.count())
        .where(Student.school_id.in_([school.id for school in page.items]), Student.left_on.is_(None))
        .group_by(Student.school_id)
    ).all())
    return render_template("organisations/hub_schools.html", page=page, students=students, hub=current_user.hub)


@bp.route("/hub/employers")
@allow(Role.HUB)
def hub_employers() -> Any:
    """Every employer, with vetting status, unvetted first."""
    status = request.args.get("status", "")
    query = select(Employer)
    if status in {s.value for s in VettingStatus}:
        query = query.where(Employer.vetting_status == status)
    query = query.order_by((Employer.vetting_status == VettingStatus.VETTED.value), Employer.name)
    page = paginate(query, per_page=50)
    ids = [employer.id for employer in page.items]
    return render_template("organisations/hub_employers.html", page=page, status=status, confirm=ConfirmForm(),
                           rates=answer_rates(db.session, current_user.hub_id, ids),
                           tallies=tallies_by_employer(db.session, ids))


@bp.route("/hub/employers/<int:employer_id>/vetting", methods=["POST"])
@allow(Role.HUB)
def hub_vet_employer(employer_id: int) -> Any:
    """Mark an employer as vetted or suspended."""
    form = ConfirmForm()
    employer = db.session.get(Employer, employer_id)
    if employer is None or not access.can_vet_employers(current_user):
        abort(404)
    try:
        status = VettingStatus.parse(request.form.get("status", ""))
    except ValueError:
        abort(400)
    if not form.validate_on_submit():
        abort(400)
    changed = services.vet_employer(db.session, current_user, employer, status)
    db.session.commit()
    flash(f"{employer.name} is now {status.label.lower()}." if changed else f"{employer.name} was already {status.label.lower()}.", "success")
    return redirect(url_for("organisations.hub_employers", status=request.args.get("status", "")))
