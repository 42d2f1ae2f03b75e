"""Benchmark progress pages for school staff: the dashboard, drill-down to students, CSV export."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user

from portal import access
from portal.access import allow
from portal.core import audit
from portal.core.dates import academic_year, academic_year_label, london_date
from portal.core.templating import extend_navigation
from portal.core.vocab import Role
from portal.db import utcnow
from portal.extensions import db
from portal.organisations.services import find_student
from portal.progress import charts, hub
from portal.progress.exports import progress_csv
from portal.progress.services import (
    EQUITY_GROUPS,
    MEASURES,
    SchoolProgress,
    compute_school_progress,
    student_activities,
)

bp = Blueprint("progress", __name__)
extend_navigation(Role.SCHOOL, "Benchmarks", "progress.school_progress")
extend_navigation(Role.HUB, "Benchmarks", "progress.hub_progress")


def _today() -> Any:
    """Today in London."""
    return london_date(utcnow())


def _progress() -> SchoolProgress:
    """The signed-in staff member's school's figures for ?year= (this academic year by default)."""
    school = current_user.school
    if school is None:
        abort(404)
    today = _today()
    year = request.args.get("year", type=int) or academic_year(today)
    if not academic_year(today) - 10 <= year <= academic_year(today):
        abort(404)
    return compute_school_progress(db.session, school, year, today=today)


@bp.route("/school/progress")
@allow(Role.SCHOOL)
def school_progress() -> Any:
    """Shares meeting BM5 and BM6 by year group and equity group, with gaps and a chart."""
    progress = _progress()
    chart_measure = request.args.get("chart", "bm5_meaningful")
    if chart_measure not in MEASURES:
        chart_measure = "bm5_meaningful"
    audit.record(db.session, "viewed_special_category", "school", progress.school_id, school_id=progress.school_id,
                 detail="benchmark equity figures")
    db.session.commit()
    this_year = academic_year(_today())
    return render_template(
        "progress/dashboard.html", progress=progress, measures=MEASURES, groups=EQUITY_GROUPS,
        chart=charts.group_bars(progress, chart_measure), chart_measure=chart_measure,
        year_label=academic_year_label(progress.academic_year),
        years=[(y, academic_year_label(y)) for y in range(this_year, this_year - 4, -1)],
    )


@bp.route("/school/progress/students")
@allow(Role.SCHOOL)
def progress_students() -> Any:
    """The students behind a figure (?measure=&group=&year_group=&met=), or those with nothing yet this year."""
    progress = _progress()
    measure = request.args.get("measure", "")
    group = request.args.get("group") or None
    year_group = request.args.get("year_group", type=int)
    met_arg = request.args.get("met", "")
    met = {"yes": True, "no": False}.get(met_arg)
    if request.args.get("nothing") == "1":
        students, title = progress.nothing_this_year, "Students with nothing yet this year"
    elif measure in MEASURES and (group is None or group in EQUITY_GROUPS):
        students = progress.students_behind(measure, group=group, year_group=year_group, met=met)
        parts = [MEASURES[measure]]
        if year_group:
            parts.append(f"Year {year_group}")
        if group:
            parts.append(EQUITY_GROUPS[group])
        if met is not None:
            parts.append("met" if met else "not met")
        title = ", ".join(parts)
    elif not measure and group is None:
        students, title = progress.students, "Every student"
    else:
        abort(404)
    audit.record(db.session, "viewed_special_category", "school", progress.school_id, school_id=progress.school_id,
                 detail="benchmark student list")
    db.session.commit()
    return render_template("progress/students.html", progress=progress, students=students, title=title,
                           measures=MEASURES, year_label=academic_year_label(progress.academic_year))


@bp.route("/school/progress.csv")
@allow(Role.SCHOOL)
def progress_export() -> Any:
    """The per-student table as CSV (cells neutralised against spreadsheet formulas)."""
    progress = _progress()
    audit.record(db.session, "exported_special_category", "school", progress.school_id, school_id=progress.school_id,
                 detail="benchmark progress CSV")
    db.session.commit()
    name = f"benchmarks-{academic_year_label(progress.academic_year).replace('/', '-')}.csv"
    return Response(progress_csv(progress), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# --- hub -------------------------------------------------------------------------------


@bp.route("/hub/progress")
@allow(Role.HUB)
def hub_progress() -> Any:
    """Each school's shares meeting BM5 and BM6, and access needs against nearby supply."""
    today = _today()
    this_year = academic_year(today)
    year = request.args.get("year", type=int) or this_year
    if not this_year - 10 <= year <= this_year:
        abort(404)
    schools = hub.hub_school_progress(db.session, current_user.hub_id, year, today=today)
    gaps = hub.need_gaps(db.session, current_user.hub_id, utcnow())
    return render_template("progress/hub.html", schools=schools, gaps=gaps, measures=MEASURES,
                           year=year, year_label=academic_year_label(year), horizon_days=hub.GAP_HORIZON_DAYS,
                           years=[(y, academic_year_label(y)) for y in range(this_year, this_year - 4, -1)])


@bp.route("/school/progress/students/<int:student_id>")
@allow(Role.SCHOOL)
def progress_student(student_id: int) -> Any:
    """One student's status with every encounter and experience that counts, year by year."""
    student = access.owned_or_404(find_student(db.session, student_id), access.can_manage_school_student)
    progress = _progress()
    status = next((s for s in progress.students if s.id == student.id), None)
    activities = student_activities(db.session, student, today=_today())
    return render_template("progress/student.html", student=student, status=status, activities=activities,
                           measures=MEASURES, progress=progress,
                           year_label=academic_year_label(progress.academic_year))
