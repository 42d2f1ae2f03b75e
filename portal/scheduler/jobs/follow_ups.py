"""Follow-ups after a placement: the student's reflection and the employer's feedback, each with a staff flag."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True)
class FollowUp:
    """One follow-up family: whom it asks (and how often), whom it flags to, and what its emails and counts are called."""

    kind: str  # the sent-record key family: "reflection" or "feedback"
    steps: Sequence[tuple[int, str]]
    first_step: str  # the first ask ("prompt", "request"); later steps are reminders
    ask_template: str
    ask_endpoint: str
    flag_template: str
    flag_endpoint: str
    counted: str  # counts are f"{counted}s", the reminders and the flags

    def counts(self, asked: list[Wanted], flagged: list[Wanted], emails: int) -> Counts:
        """What one run did, under this family's names."""
        return {
            f"{self.counted}s": sum(w.step == self.first_step for w in asked),
            f"{self.kind}_reminders": sum(w.step != self.first_step for w in asked),
            f"{self.kind}_flags": len(flagged),
            "emails_queued": emails,
        }


REFLECTION = FollowUp("reflection", STUDENT_STEPS, "prompt", "reflection_prompt", "reflections.reflection_edit",
                      "reflections_not_written", "reflections.school_reflection", "reflection_prompt")
FEEDBACK = FollowUp("feedback", EMPLOYER_STEPS, "request", "feedback_request", "reflections.employer_feedback",
                    "feedback_not_given", "bookings.school_booking", "feedback_request")


def _follow_up(session: DbSession, now: dt.datetime, since: dt.datetime, family: FollowUp, rows: Sequence[Row[Any]],
               directory: Directory, participants: Callable[[Row[Any]], list[str]],
               flag_due: Callable[[Row[Any], int], bool], addressed: Callable[[Row[Any]], dict[str, int]]) -> Counts:
    """Claim each due ask and flag once, queue their emails (the ask to the participant, the flag to school staff)."""
    asked, flagged = _follow_up_tracks(session, rows, now, since, family.kind, family.steps, directory,
                                       participants=participants, flag_due=flag_due)
    asks, flags = Mailbag(family.ask_template), Mailbag(family.flag_template)
    with link_context():
        for wanted in asked:
            asks.add(wanted.recipients, **addressed(wanted.row), row=wanted.row, reminder=wanted.step != family.first_step,
                     link=email_link(family.ask_endpoint, booking_id=wanted.row.booking_id))
        for wanted in flagged:
            flags.add(wanted.recipients, school_id=wanted.row.school_id, row=wanted.row,
                      link=email_link(family.flag_endpoint, booking_id=wanted.row.booking_id))
    return family.counts(asked, flagged, asks.send(session) + flags.send(session))


def reflection_prompts(session: DbSession, now: dt.datetime) -> Counts:
    """Prompt the student to reflect (end day, +2, +7 days: the latest due step) and flag to staff after the school's days."""
    since = follow_up_since(session, london_date(now))
    rows = session.execute(
        booking_details().add_columns(School.reflection_flag_days, Reflection.debriefed_at)
        .join(School, School.id == Booking.school_id)
        .outerjoin(Reflection, Reflection.booking_id == Booking.id)
        .where(Booking.status == COMPLETED, Booking.ends_at >= since, Booking.ends_at <= now,
               or_(Reflection.id.is_(None), Reflection.status != ReflectionStatus.SUBMITTED.value))
    ).all()
    directory = Directory.load(session, school_ids={row.school_id for row in rows})
    return _follow_up(
        session, now, since, REFLECTION, rows, directory,
        participants=lambda row: [address] if (address := student_address(row)) else [],
        flag_due=lambda row, days: is_reflection_overdue(  # the rows hold no submitted reflection
            days, row.reflection_flag_days, meaningful=row.debriefed_at is not None),
        addressed=lambda row: {"school_id": row.school_id})


def feedback_requests(session: DbSession, now: dt.datetime) -> Counts:
    """Ask the employer for feedback (end day, +2, +7 days: the latest due step) and flag to school staff after the school's days."""
    since = follow_up_since(session, london_date(now))
    rows = session.execute(
        booking_details().add_columns(School.reflection_flag_days)
        .join(School, School.id == Booking.school_id)
        .outerjoin(EmployerFeedback, EmployerFeedback.booking_id == Booking.id)
        .where(Booking.status == COMPLETED, Booking.ends_at >= since, Booking.ends_at <= now,
               EmployerFeedback.id.is_(None))
    ).all()
    directory = Directory.load(session, school_ids={row.school_id for row in rows},
                               employer_ids={row.employer_id for row in rows})
    return _follow_up(
        session, now, since, FEEDBACK, rows, directory,
        participants=lambda row: directory.employer(row.employer_id),
        flag_due=lambda row, days: is_feedback_overdue(days, row.reflection_flag_days, given=False),
        addressed=lambda row: {"employer_id": row.employer_id})
