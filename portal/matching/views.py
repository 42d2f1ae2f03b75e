"""The match page: choose students and criteria, see ranked and explained places, book them."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request
from flask_login import current_user

from portal import access
from portal.access import allow
from portal.bookings.forms import BookForm
from portal.core.dates import day_warning
from portal.core.ids import parse_id
from portal.core.templating import extend_navigation
from portal.core.vocab import Role
from portal.extensions import db
from portal.matching import services
from portal.matching.forms import MatchForm
from portal.organisations.services import record_special_category_view

bp = Blueprint("matching", __name__)
extend_navigation(Role.SCHOOL, "Find placements", "matching.match")


def _request_from(form: MatchForm) -> services.MatchRequest:
    """The service's request from a valid form."""
    return services.MatchRequest(
        activity_types=tuple(form.activity_types.data or ()), sectors=tuple(form.sectors.data or ()),
        date_from=form.date_from.data, date_to=form.date_to.data,
        radius_km=float(form.radius_km.data or services.DEFAULT_RADIUS_KM),
    )


@bp.route("/match")
@allow(Role.SCHOOL)
def match() -> Any:
    """Match one student, a year or tutor group, or a hand-picked list."""
    form = MatchForm(request.args)
    school = current_user.school
    picked = [i for i in (parse_id(v) for v in request.args.getlist("student_ids")) if i is not None]
    asked = any(k in request.args for k in ("student_id", "year_group", "tutor_group", "student_ids"))
    context: dict[str, Any] = {"form": form, "asked": asked, "picked": picked, "day_warning": day_warning,
                               "book_form": BookForm(), "school": school}
    if school.latitude is None:
        context["no_location"] = True
    if asked and form.validate():
        match_request = _request_from(form)
        if form.student_id.data:
            student_id = parse_id(str(form.student_id.data))
            if student_id is None:
                abort(404)
            student = services.student_to_match(db.session, access.students_of(current_user), student_id)
            if student is None:
                abort(404)
            context["outcome"] = services.match_student(db.session, student, match_request)
            if student.need_codes:  # the results name the student's needs
                record_special_category_view(db.session, student, "needs shown on the match page")
                db.session.commit()
        else:
            year = int(form.year_group.data) if form.year_group.data else None
            students = services.students_in_group(db.session, school, year_group=year,
                                                  tutor_group=form.tutor_group.data or None, student_ids=picked)
            context["group"] = students
            context["group_matches"] = services.match_group(db.session, school, students, match_request)
            for shown in {s for g in context["group_matches"] for s, why in g.misfits if why.startswith("needs")}:
                record_special_category_view(db.session, shown, "needs shown on the group match page")
            db.session.commit()
    return render_template("matching/match.html", **context), (400 if form.errors else 200)
