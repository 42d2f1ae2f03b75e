"""Follow-ups after a placement: the student's reflection and the employer's feedback, each with a staff flag."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Row, Select, or_, select

from portal.accounts.recipients import Directory
from portal.bookings.models import Booking
from portal.core.dates import (
    london_date,
)
from portal.core.vocab import (
    ReflectionStatus,
)
from portal.db import DbSession
from portal.organisations.models import School
from portal.reflections.models import EmployerFeedback, Reflection
from portal.reflections.services import is_feedback_overdue, is_reflection_overdue
from portal.scheduler.jobs.common import (
    COMPLETED,
    EMPLOYER_STEPS,
    STUDENT_STEPS,
    Counts,
    Mailbag,
    Wanted,
    booking_details,
    claim_wanted,
    email_link,
    follow_up_since,
    latest_step,
    link_context,
    student_address,
)
from portal.scheduler.notices import existing_keys, follow_up_key

# --- reflections and employer feedback -------------------------------------------------------


def _ended_completed(since: dt.datetime, now: dt.datetime) -> Select[Any]:
    """Completed bookings that ended inside the follow-up window."""
    return select(Booking.id).where(Booking.status == COMPLETED, Booking.ends_at >= since, Booking.ends_at <= now)


def _follow_up_tracks(session: DbSession, rows: Sequence[Row[Any]], now: dt.datetime, since: dt.datetime, kind: str,
                      steps: Sequence[tuple[int, str]], directory: Directory, *,
                      participants: Callable[[Row[Any]], list[str]],
                      flag_due: Callable[[Row[Any], int], bool]) -> tuple[list[Wanted], list[Wanted]]:
    """For each ended placement, the participant's latest due step and the staff flag; returns those this call claimed."""
    today = london_date(now)
    done = existing_keys(session, [kind], _ended_completed(since, now))
    participant_track: list[Wanted] = []
    flag_track: list[Wanted] = []
    for row in rows:
        days = (today - london_date(row.ends_at)).days
        step = latest_step(days, steps)
        key, flag = follow_up_key(kind, row.booking_id, step or ""), follow_up_key(kind, row.booking_id, "flag")
        if step and key not in done:
            participant_track.append(Wanted(key, kind, row, step, participants(row)))
        if flag_due(row, days) and flag not in done:
            flag_track.append(Wanted(flag, kind, row, "flag", directory.booking_staff(row.school_id, row.requested_by_id)))
    return claim_wanted(session, participant_track), claim_wanted(session, flag_track)


def reflection_prompts(session: DbSession, now: dt.datetime) -> Counts:
    """Prompt the student to reflect (end day, +2, +7 days: the latest due step) and flag to staff after the school's days."""
    today = london_date(now)
    since = follow_up_since(session, today)
    rows = session.execute(
        booking_details().add_columns(School.reflection_flag_days, Reflection.debriefed_at)
        .join(School, School.id == Booking.school_id)
        .outerjoin(Reflection, Reflection.booking_id == Booking.id)
        .where(Booking.status == COMPLETED, Booking.ends_at >= since, Booking.ends_at <= now,
               or_(Reflection.id.is_(None), Reflection.status != ReflectionStatus.SUBMITTED.value))
    ).all()
    directory = Directory.load(session, school_ids={row.school_id for row in rows})
    sent_student, sent_flags = _follow_up_tracks(
        session, rows, now, since, "reflection", STUDENT_STEPS, directory,
        participants=lambda row: [address] if (address := student_address(row)) else [],
        flag_due=lambda row, days: is_reflection_overdue(  # the rows hold no submitted reflection
            days, row.reflection_flag_days, meaningful=row.debriefed_at is not None))

    students = Mailbag("reflection_prompt")
    staff = Mailbag("reflections_not_written")
    with link_context():
        for wanted in sent_student:
            row = wanted.row
            students.add(wanted.recipients, school_id=row.school_id, row=row, reminder=wanted.step != "prompt",
                         link=email_link("reflections.reflection_edit", booking_id=row.booking_id))
        for wanted in sent_flags:
            row = wanted.row
            staff.add(wanted.recipients, school_id=row.school_id, row=row,
                      link=email_link("reflections.school_reflection", booking_id=row.booking_id))
    emails = students.send(session) + staff.send(session)
    return {
        "reflection_prompts": sum(w.step == "prompt" for w in sent_student),
        "reflection_reminders": sum(w.step != "prompt" for w in sent_student),
        "reflection_flags": len(sent_flags),
        "emails_queued": emails,
    }


def feedback_requests(session: DbSession, now: dt.datetime) -> Counts:
    """Ask the employer for feedback (end day, +2, +7 days: the latest due step) and flag to school staff after the school's days."""
    today = london_date(now)
    since = follow_up_since(session, today)
    rows = session.execute(
        booking_details().add_columns(School.reflection_flag_days)
        .join(School, School.id == Booking.school_id)
        .outerjoin(EmployerFeedback, EmployerFeedback.booking_id == Booking.id)
        .where(Booking.status == COMPLETED, Booking.ends_at >= since, Booking.ends_at <= now,
               EmployerFeedback.id.is_(None))
    ).all()
    directory = Directory.load(session, school_ids={row.school_id for row in rows},
                               employer_ids={row.employer_id for row in rows})
    sent_employer, sent_flags = _follow_up_tracks(
        session, rows, now, since, "feedback", EMPLOYER_STEPS, directory,
        participants=lambda row: directory.employer(row.employer_id),
        flag_due=lambda row, days: is_feedback_overdue(days, row.reflection_flag_days, given=False))

    employers = Mailbag("feedback_request")
    staff = Mailbag("feedback_not_given")
    with link_context():
        for wanted in sent_employer:
            row = wanted.row
            employers.add(wanted.recipients, employer_id=row.employer_id, row=row, reminder=wanted.step != "request",
                          link=email_link("reflections.employer_feedback", booking_id=row.booking_id))
        for wanted in sent_flags:
            row = wanted.row
            staff.add(wanted.recipients, school_id=row.school_id, row=row,
                      link=email_link("bookings.school_booking", booking_id=row.booking_id))
    emails = employers.send(session) + staff.send(session)
    return {
        "feedback_requests": sum(w.step == "request" for w in sent_employer),
        "feedback_reminders": sum(w.step != "request" for w in sent_employer),
        "feedback_flags": len(sent_flags),
        "emails_queued": emails,
    }
