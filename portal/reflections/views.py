"""Reflection pages: students write them; school staff read them and record debriefs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from portal import access
from portal.access import allow
from portal.bookings import confirmations
from portal.bookings.confirmations import STUDENT_QUESTIONS
from portal.bookings.forms import (
    STUDENT_ANSWERS,
    feature_answers,
    feature_field_name,
    with_feature_questions,
)
from portal.bookings.services import find_completed_booking, names_on_sessions
from portal.core.dates import london_date
from portal.core.pagination import paginate
from portal.core.templating import extend_navigation
from portal.core.vocab import AccessFeature, ActivityType, ConfirmationSource, Role, Skill
from portal.db import utcnow
from portal.extensions import db
from portal.organisations.services import ids_on_roll, students_on_roll
from portal.reflections import encounters, services
from portal.reflections.forms import (
    DebriefForm,
    EasyReadReflectionForm,
    EncounterForm,
    FeedbackForm,
    FullReflectionForm,
    ReleaseForm,
)
from portal.reflections.models import (
    EmployerFeedback,
    EncounterAttendance,
    EncounterLog,
    Reflection,
)

if TYPE_CHECKING:
    from portal.bookings.models import Booking

bp = Blueprint("reflections", __name__)
extend_navigation(Role.SCHOOL, "Reflections", "reflections.school_reflections")
extend_navigation(Role.SCHOOL, "Encounters", "reflections.school_encounters")
extend_navigation(Role.EMPLOYER, "Feedback", "reflections.employer_feedback_list")


def _completed_booking_or_404(booking_id: int, permitted: Any) -> Booking:
    """A completed booking the user may see, with its offer and employer loaded; 404 otherwise."""
    return access.owned_or_404(find_completed_booking(db.session, booking_id), permitted)



# --- student ---------------------------------------------------------------------------


@bp.route("/my-record/bookings/<int:booking_id>/reflection", methods=["GET", "POST"])
@allow(Role.STUDENT)
def reflection_edit(booking_id: int) -> Any:
    """The student writes, saves and submits a reflection on a completed placement."""
    booking = _completed_booking_or_404(booking_id, access.is_students_own_booking)
    reflection = services.reflection_for(db.session, booking)
    if reflection is not None and reflection.debriefed:
        return render_template("reflections/locked.html", booking=booking, reflection=reflection)
    version = request.values.get("version")
    easy = version == "easy" if version in ("easy", "full") else bool(reflection and reflection.easy_read)
    codes = confirmations.needed_features(booking)
    form_class = with_feature_questions(EasyReadReflectionForm if easy else FullReflectionForm,
                                        {code: STUDENT_QUESTIONS[AccessFeature(code)] for code in codes}, STUDENT_ANSWERS)
    form: Any = form_class(obj=reflection if request.method == "GET" else None)
    if request.method == "GET":
        for code, row in confirmations.answers_of(db.session, booking.id, ConfirmationSource.STUDENT).items():
            getattr(form, feature_field_name(code)).data = "yes" if row.present else "no"
    if request.method == "GET" and reflection is not None:
        form.skills.data = reflection.skills
        for name in ("interest_before", "interest_now"):
            if hasattr(form, name):
                value = getattr(reflection, name)
                getattr(form, name).data = str(value) if value is not None else None
    form.submitting = request.form.get("action") == "submit"
    if form.validate_on_submit():
        services.save_reflection(db.session, booking, form.answers(), easy_read=easy, submit=form.submitting)
        confirmations.record(db.session, booking, feature_answers(form, codes), source=ConfirmationSource.STUDENT,
                             user=current_user)
        db.session.commit()
        if form.submitting:
            flash("Your reflection has been sent to your school.", "success")
        else:
            flash("Your reflection has been saved as a draft.", "success")
        return redirect(url_for("home.my_record"))
    return render_template("reflections/edit.html", form=form, booking=booking, reflection=reflection, easy=easy,
                           word_message=services.word_count_message)


# --- school staff ----------------------------------------------------------------------


@bp.route("/school/reflections")
@allow(Role.SCHOOL)
def school_reflections() -> Any:
    """Completed bookings of the school's students, with where each reflection and debrief is, a page at a time."""
    page = paginate(services.completed_bookings(school_id=current_user.school_id))
    ids = [b.id for b in page.items]
    return render_template("reflections/school_list.html", page=page, bookings=page.items,
                           reflections=services.reflections_of(db.session, ids),
                           overdue=services.overdue_among(db.session, ids, london_date(utcnow())))


@bp.route("/school/bookings/<int:booking_id>/reflection", methods=["GET", "POST"])
@allow(Role.SCHOOL)
def school_reflection(booking_id: int) -> Any:
    """Staff read a student's reflection and record a debrief (with a note, or held in person)."""
    booking = _completed_booking_or_404(booking_id, access.can_manage_school_booking)
    reflection = db.session.scalars(
        select(Reflection).where(Reflection.booking_id == booking.id).options(selectinload(Reflection.skill_rows))
    ).first()
    feedback = db.session.scalars(
        select(EmployerFeedback).where(EmployerFeedback.booking_id == booking.id)
        .options(selectinload(EmployerFeedback.skill_rows))
    ).first()
    form = DebriefForm(obj=reflection if request.method == "GET" else None)
    if form.validate_on_submit():
        services.record_debrief(db.session, booking, current_user, form.debrief_note.data, in_person=form.in_person.data)
        db.session.commit()
        flash("Debrief recorded.", "success")
        return redirect(url_for("reflections.school_reflection", booking_id=booking.id))
    return render_template("reflections/school_detail.html", booking=booking, reflection=reflection, form=form,
                           feedback=feedback, release_form=ReleaseForm(), labels=_feedback_labels())


@bp.route("/school/bookings/<int:booking_id>/feedback/release", methods=["POST"])
@allow(Role.SCHOOL)
def release_feedback(booking_id: int) -> Any:
    """Staff release the employer's comment to the student."""
    booking = _completed_booking_or_404(booking_id, access.can_manage_school_booking)
    feedback = services.feedback_for(db.session, booking)
    if feedback is None or not ReleaseForm().validate_on_submit():
        abort(400)
    services.release_feedback(db.session, feedback, current_user)
    db.session.commit()
    flash("The employer's comment is now on the student's record.", "success")
    return redirect(url_for("reflections.school_reflection", booking_id=booking.id))


def _feedback_labels() -> dict[str, Any]:
    """Labels of the feedback codes, for templates."""
    return {"attendance": services.ATTENDANCE, "punctuality": services.PUNCTUALITY, "rating": services.RATING_LABELS}


# --- employer --------------------------------------------------------------------------



@bp.route("/employer/feedback")
@allow(Role.EMPLOYER)
def employer_feedback_list() -> Any:
    """Completed bookings on the employer's sessions, with whether feedback has been given, a page at a time."""
    page = paginate(services.completed_bookings(employer_id=current_user.employer_id))
    return render_template("reflections/employer_list.html", page=page, bookings=page.items,
                           given=services.feedback_given(db.session, [b.id for b in page.items]),
                           names=names_on_sessions(db.session, page.items))


@bp.route("/employer/bookings/<int:booking_id>/feedback", methods=["GET", "POST"])
@allow(Role.EMPLOYER)
def employer_feedback(booking_id: int) -> Any:
    """The employer gives feedback on one student: only first name, year group and school are shown."""
    booking = _completed_booking_or_404(booking_id, access.can_manage_employer_booking)
    student_name = names_on_sessions(db.session, [booking])[booking.id]
    feedback = db.session.scalars(
        select(EmployerFeedback).where(EmployerFeedback.booking_id == booking.id)
        .options(selectinload(EmployerFeedback.skill_rows))
    ).first()
    if feedback is not None and feedback.released:
        return render_template("reflections/employer_feedback_done.html", booking=booking, feedback=feedback,
                               labels=_feedback_labels(), student_name=student_name)
    form = FeedbackForm(obj=feedback if request.method == "GET" else None)
    if request.method == "GET" and feedback is not None:
        for code, rating in feedback.ratings.items():
            getattr(form, f"skill_{code}").data = str(rating)
    if form.validate_on_submit():
        services.give_feedback(db.session, booking, current_user, attended=form.attended.data,
                               punctuality=form.punctuality.data, ratings=form.ratings(),
                               comment=form.comment.data, activity_comment=form.activity_comment.data)
        db.session.commit()
        flash(f"Thank you. Your feedback on {student_name} has been sent to the school.", "success")
        return redirect(url_for("reflections.employer_feedback_list"))
    return render_template("reflections/employer_feedback.html", booking=booking, form=form, skills=list(Skill),
                           student_name=student_name)


# --- encounters logged by staff ----------------------------------------------------------


@bp.route("/school/encounters")
@allow(Role.SCHOOL)
def school_encounters() -> Any:
    """Encounters the school has logged outside the portal, newest first, with how many took part."""
    rows = db.session.execute(
        select(EncounterLog, func.count(EncounterAttendance.student_id).filter(EncounterAttendance.attended),
               func.count(EncounterAttendance.student_id).filter(EncounterAttendance.debriefed))
        .outerjoin(EncounterAttendance, EncounterAttendance.log_id == EncounterLog.id)
        .where(EncounterLog.school_id == current_user.school_id)
        .group_by(EncounterLog.id)
        .order_by(EncounterLog.held_on.desc(), EncounterLog.id.desc())
        .limit(200)
    ).all()
    return render_template("reflections/encounter_list.html", rows=rows)


@bp.route("/school/encounters/new", methods=["GET", "POST"])
@allow(Role.SCHOOL)
def encounter_new() -> Any:
    """Log an encounter for a whole year group or for the students ticked (listed a year group at a time)."""
    today = london_date(utcnow())
    form = EncounterForm(today=today)
    listed_year = request.args.get("year", type=int)
    listed = students_on_roll(db.session, current_user.school_id, listed_year) if listed_year else []
    form.student_ids.choices = [(s.id, f"{s.full_name} ({s.tutor_group or 'Year ' + str(s.year_group)})")
                                for s in listed]
    if form.validate_on_submit():
        if form.who.data == "year":
            ids = ids_on_roll(db.session, current_user.school_id, int(form.year_group.data or 0))
        else:
            ids = list(form.student_ids.data or [])
        held_on = form.held_on.data
        if held_on is None:  # InputRequired has refused this already
            abort(400)
        if not ids:
            form.year_group.errors = ["No students on roll in this year group"]
        else:
            report = encounters.log_encounter(
                db.session, current_user.school, current_user, held_on=held_on,
                activity_type=ActivityType(form.activity_type.data), employer_name=form.employer_name.data,
                student_ids=ids, debriefed=form.debriefed.data)
            db.session.commit()
            flash(f"Encounter logged for {report.created + report.updated + report.unchanged} student(s).", "success")
            return redirect(url_for("reflections.school_encounters"))
    return render_template("reflections/encounter_new.html", form=form, listed_year=listed_year, listed=listed,
                           years=range(7, 14))
