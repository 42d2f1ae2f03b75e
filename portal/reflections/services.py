"""Reflection rules: who may write one, word limits, drafts, submission and staff debriefs. Never commits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.orm import joinedload, selectinload

from portal.accounts.models import User
from portal.bookings.models import Booking
from portal.core.batches import chunked
from portal.core.dates import london_date
from portal.core.vocab import BookingStatus, ReflectionStatus, Skill
from portal.db import DbSession, utcnow
from portal.offers.models import Offer, OfferSession
from portal.organisations.models import School, Student
from portal.reflections.models import (
    EmployerFeedback,
    EncounterAttendance,
    EncounterLog,
    FeedbackSkill,
    Reflection,
    ReflectionSkill,
)

SHORT_SUMMARY_WORDS = 100
LONG_SUMMARY_WORDS = 250


class ReflectionLocked(Exception):
    """The reflection has been debriefed by staff, so the student can no longer change it."""


class NotReflectable(Exception):
    """Only a completed booking can be reflected on or debriefed."""


def word_count(text: str | None) -> int:
    """Words as the live count in portal.js counts them: runs of non-space characters."""
    return len((text or "").split())


def word_count_message(limit: int, text: str | None) -> str:
    """'You have N words remaining' or 'You have N words too many', as portal.js writes it."""
    remaining = limit - word_count(text)
    n = abs(remaining)
    noun = "word" if n == 1 else "words"
    return f"You have {n} {noun} remaining" if remaining >= 0 else f"You have {n} {noun} too many"


@dataclass
class ReflectionAnswers:
    """What the student wrote; None for questions the chosen version does not ask."""

    what_i_did: str | None = None
    skills: list[str] | None = None
    surprised: str | None = None
    interest_before: int | None = None
    interest_now: int | None = None
    next_steps: str | None = None
    summary_100: str | None = None
    summary_250: str | None = None


def reflection_for(session: DbSession, booking: Booking) -> Reflection | None:
    """The booking's reflection, if one has been started or a debrief recorded."""
    return session.scalars(select(Reflection).where(Reflection.booking_id == booking.id)).first()


def _get_or_create(session: DbSession, booking: Booking) -> Reflection:
    """The booking's reflection, creating an empty draft for a completed booking."""
    if booking.status != BookingStatus.COMPLETED.value:
        raise NotReflectable
    reflection = reflection_for(session, booking)
    if reflection is None:
        reflection = Reflection(booking_id=booking.id, student_id=booking.student_id, school_id=booking.school_id,
                                status=ReflectionStatus.DRAFT.value)
        session.add(reflection)
    return reflection


def save_reflection(session: DbSession, booking: Booking, answers: ReflectionAnswers, *,
                    easy_read: bool, submit: bool) -> Reflection:
    """Save the student's answers as a draft or submit them; refused once staff have debriefed.

    Word limits are checked by the form; they are checked again here so no path can store more.
    """
    reflection = _get_or_create(session, booking)
    if reflection.debriefed:
        raise ReflectionLocked
    if word_count(answers.summary_100) > SHORT_SUMMARY_WORDS or word_count(answers.summary_250) > LONG_SUMMARY_WORDS:
        raise ValueError("summary over its word limit")
    reflection.easy_read = easy_read
    for name in ("what_i_did", "surprised", "interest_before", "interest_now", "next_steps", "summary_100", "summary_250"):
        value = getattr(answers, name)
        if value is not None or not easy_read:  # the easy-read version leaves the questions it skips alone
            setattr(reflection, name, value or None)
    if answers.skills is not None:
        codes = sorted({Skill(code).value for code in answers.skills})
        reflection.skill_rows = [ReflectionSkill(skill=code) for code in codes]
    if submit and not reflection.submitted:
        reflection.status = ReflectionStatus.SUBMITTED.value
        reflection.submitted_at = utcnow()
    session.flush()
    return reflection


def record_debrief(session: DbSession, booking: Booking, staff: User, note: str | None, *, in_person: bool) -> Reflection:
    """Staff record a debrief: a note on the student's reflection, or a debrief held in person without one."""
    reflection = _get_or_create(session, booking)
    reflection.debrief_note = note or None
    reflection.debriefed_in_person = in_person or reflection.debriefed_in_person
    reflection.debriefed_at = utcnow()
    reflection.debriefed_by_id = staff.id
    session.flush()
    return reflection


# --- employer feedback ---------------------------------------------------------------------

RATING_LABELS = {1: "Not yet", 2: "Getting there", 3: "Well", 4: "Very well"}
ATTENDANCE = {"full": "Attended all of it", "part": "Attended part of it", "absent": "Did not attend"}
PUNCTUALITY = {"on_time": "On time", "late": "Late", "not_applicable": "Not applicable"}


class FeedbackLocked(Exception):
    """Staff have released the feedback to the student, so the employer can no longer change it."""


def feedback_for(session: DbSession, booking: Booking) -> EmployerFeedback | None:
    """The employer's feedback on the booking, if given."""
    return session.scalars(select(EmployerFeedback).where(EmployerFeedback.booking_id == booking.id)).first()


def give_feedback(session: DbSession, booking: Booking, employer_user: User, *, attended: str, punctuality: str,
                  ratings: dict[str, int], comment: str | None, activity_comment: str | None) -> EmployerFeedback:
    """Record or change the employer's feedback on a student of a completed booking (until it is released)."""
    if booking.status != BookingStatus.COMPLETED.value:
        raise NotReflectable
    if attended not in ATTENDANCE or punctuality not in PUNCTUALITY:
        raise ValueError("unknown attendance or punctuality code")
    feedback = feedback_for(session, booking)
    if feedback is None:
        feedback = EmployerFeedback(booking_id=booking.id, employer_id=booking.employer_id, school_id=booking.school_id)
        session.add(feedback)
    elif feedback.released:
        raise FeedbackLocked
    feedback.attended, feedback.punctuality = attended, punctuality
    feedback.comment, feedback.activity_comment = comment or None, activity_comment or None
    feedback.given_by_id = employer_user.id
    rows = []
    for code, rating in sorted(ratings.items()):
        if rating not in RATING_LABELS:
            raise ValueError("rating out of range")
        rows.append(FeedbackSkill(skill=Skill(code).value, rating=rating))
    feedback.skill_rows = rows
    feedback.given_at = utcnow()
    session.flush()
    return feedback


def release_feedback(session: DbSession, feedback: EmployerFeedback, staff: User) -> None:
    """Staff release the employer's comment to the student (once; later calls change nothing)."""
    if feedback.released:
        return
    feedback.released_to_student_at = utcnow()
    feedback.released_by_id = staff.id
    session.flush()


@dataclass(frozen=True)
class StudentRecordNotes:
    """What the student's own record shows beside its bookings: reflections, released feedback, logged encounters."""

    reflections: dict[int, Reflection]
    feedback: dict[int, EmployerFeedback]
    logged: list[tuple[EncounterLog, bool]]


def student_record_notes(session: DbSession, student_id: int) -> StudentRecordNotes:
    """The student's reflections by booking, feedback staff have released, and attended logged encounters."""
    reflections = {r.booking_id: r for r in session.scalars(
        select(Reflection).where(Reflection.student_id == student_id).options(selectinload(Reflection.skill_rows)))}
    # The employer's comment reaches the student only after staff have released it.
    feedback = {f.booking_id: f for f in session.scalars(
        select(EmployerFeedback).join(Booking, Booking.id == EmployerFeedback.booking_id)
        .where(Booking.student_id == student_id, EmployerFeedback.released_to_student_at.is_not(None)))}
    logged = [(log, bool(debriefed)) for log, debriefed in session.execute(
        select(EncounterLog, EncounterAttendance.debriefed)
        .join(EncounterAttendance, EncounterAttendance.log_id == EncounterLog.id)
        .where(EncounterAttendance.student_id == student_id, EncounterAttendance.attended)
        .order_by(EncounterLog.held_on))]
    return StudentRecordNotes(reflections, feedback, logged)


def is_reflection_overdue(days_since_end: int, flag_days: int, *, meaningful: bool) -> bool:
    """The rule: a completed placement's reflection is overdue once the school's flag days have passed without a
    submitted reflection or a debrief."""
    return days_since_end >= flag_days and not meaningful


def is_feedback_overdue(days_since_end: int, flag_days: int, *, given: bool) -> bool:
    """The rule: the employer's feedback is overdue once the school's flag days have passed without it."""
    return days_since_end >= flag_days and not given


@dataclass(frozen=True)
class Overdue:
    """Which bookings (by id) have their reflection, or their employer feedback, overdue."""

    reflection: set[int]
    feedback: set[int]


def overdue_among(session: DbSession, booking_ids: Sequence[int], today: dt.date) -> Overdue:
    """Apply the overdue rules to these completed bookings, in one query."""
    reflection: set[int] = set()
    feedback: set[int] = set()
    for chunk in chunked(booking_ids):
        rows = session.execute(
            select(Booking.id, Booking.ends_at, School.reflection_flag_days, Reflection.status,
                   Reflection.debriefed_at, EmployerFeedback.id.label("feedback_id"))
            .join(School, School.id == Booking.school_id)
            .outerjoin(Reflection, Reflection.booking_id == Booking.id)
            .outerjoin(EmployerFeedback, EmployerFeedback.booking_id == Booking.id)
            .where(Booking.id.in_(chunk), Booking.status == BookingStatus.COMPLETED.value)
        ).all()
        for row in rows:
            days = (today - london_date(row.ends_at)).days
            meaningful = row.status == ReflectionStatus.SUBMITTED.value or row.debriefed_at is not None
            if is_reflection_overdue(days, row.reflection_flag_days, meaningful=meaningful):
                reflection.add(row.id)
            if is_feedback_overdue(days, row.reflection_flag_days, given=row.feedback_id is not None):
                feedback.add(row.id)
    return Overdue(reflection, feedback)


def completed_bookings(*, school_id: int | None = None, employer_id: int | None = None) -> Select[tuple[Booking]]:
    """Completed bookings of a school or on an employer's sessions, newest first, with what their lists show."""
    query = select(Booking).where(Booking.status == BookingStatus.COMPLETED.value)
    if school_id is not None:
        query = query.where(Booking.school_id == school_id)
    if employer_id is not None:
        query = query.where(Booking.employer_id == employer_id)
    return query.options(
        joinedload(Booking.student).joinedload(Student.school),
        joinedload(Booking.session).joinedload(OfferSession.offer).joinedload(Offer.employer),
    ).order_by(Booking.starts_at.desc(), Booking.id)


def reflections_of(session: DbSession, booking_ids: Sequence[int]) -> dict[int, Reflection]:
    """The reflections of these bookings, by booking id."""
    return {r.booking_id: r for chunk in chunked(booking_ids)
            for r in session.scalars(select(Reflection).where(Reflection.booking_id.in_(chunk)))}


def feedback_given(session: DbSession, booking_ids: Sequence[int]) -> set[int]:
    """Which of these bookings have the employer's feedback."""
    return {b for chunk in chunked(booking_ids) for b in session.scalars(
        select(EmployerFeedback.booking_id).where(EmployerFeedback.booking_id.in_(chunk)))}
