"""The scheduler's jobs: plain functions `job(session, now) -> counts` that never commit.

Each job finds its candidates with a few set-based queries, claims a unique key per reminder
(portal.scheduler.notices.claim), and queues emails only for the keys it claimed, all in the
caller's one transaction. Days are London calendar days (portal.core.dates), so a deadline moves
with the calendar, not with 24-hour periods, across the clock changes.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, has_request_context
from sqlalchemy import Row, Select, and_, delete, func, or_, select, update
from sqlalchemy.orm import aliased

from portal.accounts.models import User
from portal.bookings.models import Booking
from portal.compliance.checklist import Checklist, checklists, still_to_happen
from portal.compliance.models import DbsNote
from portal.core import audit
from portal.core.dates import (
    academic_year,
    academic_year_bounds,
    format_date,
    london_date,
    start_of_london_day,
)
from portal.core.links import absolute_url
from portal.core.notify import notify
from portal.core.outbox import deliver_pending, smtp_configured
from portal.core.vocab import (
    ACTIVE_BOOKING_STATUSES,
    BookingStatus,
    DbsDecision,
    ItemStatus,
    ReflectionStatus,
    Role,
)
from portal.db import DbSession, utcnow
from portal.offers.models import Offer, OfferSession
from portal.organisations.models import Employer, School, Student
from portal.reflections.models import EmployerFeedback, Reflection
from portal.reflections.services import is_feedback_overdue, is_reflection_overdue
from portal.scheduler.models import Notice
from portal.scheduler.notices import chunked, claim, existing_keys, follow_up_key

Counts = dict[str, int]
Job = Callable[[DbSession, dt.datetime], Counts]

COMPLETED = BookingStatus.COMPLETED.value
ACTIVE = [s.value for s in ACTIVE_BOOKING_STATUSES]
# Follow-up steps after a placement's last day (London calendar days), latest first: only the
# latest due step is sent, so a run after a missed day catches up without sending stale steps.
STUDENT_STEPS = ((7, "remind7"), (2, "remind2"), (0, "prompt"))
EMPLOYER_STEPS = ((7, "remind7"), (2, "remind2"), (0, "request"))
# How long after the flag day follow-ups are still looked for (bounds the sweep).
FOLLOW_UP_MARGIN_DAYS = 14
INSURANCE_STEPS = (7, 30)  # days before expiry
DIGEST_UPCOMING_DAYS = 14
DIGEST_MAX_LINES = 30
DBS_PURGE_MONTHS = 6
IN_CHUNK = 1000  # ids per IN (...) list


# --- small helpers ---------------------------------------------------------------------------


def latest_step(days: int, steps: Sequence[tuple[int, str]]) -> str | None:
    """The latest step due `days` calendar days after the end day (None before the end day)."""
    for threshold, name in steps:
        if days >= threshold:
            return name
    return None


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day of the month `months` calendar months earlier (the month's last day if shorter)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    next_month = dt.date(year + (month == 12), month % 12 + 1, 1)
    last_day = (next_month - dt.timedelta(days=1)).day
    return dt.date(year, month, min(day.day, last_day))


def _audit(session: DbSession, action: str, object_type: str, rows: Iterable[Row[Any]], detail: str = "") -> None:
    """Add one audit row per (id, school_id) row, in bulk, by the system."""
    audit.record_many(session, action, object_type, ((row[0], row[1], detail) for row in rows))


@contextmanager
def _links() -> Iterator[None]:
    """One request context for building many absolute links (rather than one per link)."""
    if has_request_context():
        yield
        return
    with current_app.test_request_context():
        yield


def _link(endpoint: str, **values: Any) -> str:
    """An absolute link for an email."""
    return absolute_url(endpoint, **values)


def _max_due_days(session: DbSession) -> int:
    """The longest compliance deadline any school has set (bounds the compliance sweep)."""
    row = session.execute(select(
        func.max(School.risk_assessment_due_days), func.max(School.insurance_due_days),
        func.max(School.dbs_due_days), func.max(School.consent_due_days), func.max(School.briefing_due_days),
    )).one()
    return max((v for v in row if v is not None), default=0)


def _follow_up_since(session: DbSession, today: dt.date) -> dt.datetime:
    """Start of the window of ended placements still followed up (the longest flag delay plus a margin)."""
    flag_days = session.scalar(select(func.max(School.reflection_flag_days))) or 14
    return start_of_london_day(today - dt.timedelta(days=flag_days + FOLLOW_UP_MARGIN_DAYS))


def _taken(session: DbSession, keys: Iterable[str]) -> set[str]:
    """Which of the keys are already recorded."""
    taken: set[str] = set()
    for chunk in chunked(sorted(keys), IN_CHUNK):
        taken.update(session.scalars(select(Notice.key).where(Notice.key.in_(list(chunk)))))
    return taken


def _in_chunks(ids: Iterable[int]) -> Iterator[list[int]]:
    """Sorted ids in IN-list sized chunks."""
    ordered = sorted(set(ids))
    for chunk in chunked(ordered, IN_CHUNK):
        yield list(chunk)


# --- who gets what ---------------------------------------------------------------------------


@dataclass
class Directory:
    """Active, signed-up staff of the schools and employers a job writes to, loaded in two queries."""

    school_staff: dict[int, dict[int, str]] = field(default_factory=lambda: defaultdict(dict))
    leaders: dict[int, int | None] = field(default_factory=dict)
    employer_staff: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))

    @classmethod
    def load(cls, session: DbSession, school_ids: Iterable[int] = (), employer_ids: Iterable[int] = ()) -> Directory:
        """Staff (and the careers leader) of the given schools and employers."""
        directory = cls()
        for chunk in _in_chunks(school_ids):
            for school_id, leader_id in session.execute(
                    select(School.id, School.careers_leader_id).where(School.id.in_(chunk))).tuples():
                directory.leaders[school_id] = leader_id
            for user_id, email, staff_school in session.execute(
                select(User.id, User.email, User.school_id)
                .where(User.school_id.in_(chunk), User.role == Role.SCHOOL.value, User.is_active,
                       User.password_hash.is_not(None)).order_by(User.email)
            ).tuples():
                if staff_school is not None:
                    directory.school_staff[staff_school][user_id] = email
        for chunk in _in_chunks(employer_ids):
            for email, staff_employer in session.execute(
                select(User.email, User.employer_id)
                .where(User.employer_id.in_(chunk), User.role == Role.EMPLOYER.value, User.is_active,
                       User.password_hash.is_not(None)).order_by(User.email)
            ).tuples():
                if staff_employer is not None:
                    directory.employer_staff[staff_employer].append(email)
        return directory

    def school_leads(self, school_id: int) -> list[str]:
        """The careers leader, or every member of staff when none is set (or the leader cannot sign in)."""
        staff = self.school_staff.get(school_id, {})
        leader = self.leaders.get(school_id)
        if leader is not None and leader in staff:
            return [staff[leader]]
        return list(staff.values())

    def booking_staff(self, school_id: int, requested_by_id: int | None) -> list[str]:
        """The member of staff who requested the booking, else the careers leader (or all staff)."""
        staff = self.school_staff.get(school_id, {})
        if requested_by_id is not None and requested_by_id in staff:
            return [staff[requested_by_id]]
        return self.school_leads(school_id)

    def employer(self, employer_id: int) -> list[str]:
        """The employer's active staff."""
        return list(self.employer_staff.get(employer_id, []))


class Mailbag:
    """Items for many recipients, queued as one email per recipient listing all of theirs (`items` in the template)."""

    def __init__(self, template: str) -> None:
        self.template = template
        self.items: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.scope: dict[str, tuple[int | None, int | None]] = {}

    def add(self, recipients: Iterable[str], *, school_id: int | None = None, employer_id: int | None = None,
            **item: Any) -> None:
        """Add an item to each recipient's email (an item already there is not repeated)."""
        for recipient in recipients:
            if item not in self.items[recipient]:
                self.items[recipient].append(item)
            self.scope.setdefault(recipient, (school_id, employer_id))

    def send(self, session: DbSession) -> int:
        """Queue the emails; returns how many."""
        for recipient in sorted(self.items):
            school_id, employer_id = self.scope[recipient]
            notify(session, self.template, recipient, school_id=school_id, employer_id=employer_id,
                   items=self.items[recipient])
        return len(self.items)


def _details() -> Select[Any]:
    """Booking rows with what an email says about them: student, offer, employer, session times."""
    student_user = aliased(User)
    return (
        select(Booking.id.label("booking_id"), Booking.school_id, Booking.employer_id, Booking.requested_by_id,
               Booking.starts_at, Booking.ends_at, Booking.status, Student.first_name, Student.last_name,
               Student.year_group, Student.email.label("student_email"),
               student_user.email.label("user_email"), Offer.title.label("offer_title"),
               Employer.name.label("employer_name"))
        .join(Student, Student.id == Booking.student_id)
        .join(OfferSession, OfferSession.id == Booking.session_id)
        .join(Offer, Offer.id == OfferSession.offer_id)
        .join(Employer, Employer.id == Booking.employer_id)
        .outerjoin(student_user, and_(student_user.student_id == Booking.student_id, student_user.is_active))
    )


def _details_for(session: DbSession, booking_ids: Iterable[int]) -> dict[int, Row[Any]]:
    """Details of the given bookings, a thousand ids per query."""
    result: dict[int, Row[Any]] = {}
    for chunk in _in_chunks(booking_ids):
        for row in session.execute(_details().where(Booking.id.in_(chunk))):
            result[row.booking_id] = row
    return result


def _student_address(row: Row[Any]) -> str | None:
    """The student's sign-in email, else the school's record of it."""
    return row.user_email or row.student_email or None


def _placement(row: Row[Any]) -> str:
    """'Offer title with Employer on 5 March 2027'."""
    return f"{row.offer_title} with {row.employer_name} on {format_date(row.starts_at)}"


# --- completion ------------------------------------------------------------------------------


def complete_ended_bookings(session: DbSession, now: dt.datetime) -> Counts:
    """Confirmed bookings whose session has ended become completed, in one UPDATE (no-shows are set by people)."""
    rows = session.execute(
        update(Booking)
        .where(Booking.status == BookingStatus.CONFIRMED.value, Booking.ends_at <= now)
        .values(status=COMPLETED, closed_at=now)
        .returning(Booking.id, Booking.school_id)
        .execution_options(synchronize_session=False)
    ).all()
    _audit(session, "booking_completed", "booking", rows, "completed by the scheduler when the session ended")
    return {"bookings_completed": len(rows)}


# --- reflections and employer feedback -------------------------------------------------------


@dataclass
class _Wanted:
    """A notice a job would like to send: its key, what it is about and to whom."""

    key: str
    kind: str
    row: Row[Any]
    step: str
    recipients: list[str]

    def notice(self) -> dict[str, Any]:
        """The Notice row that records it."""
        return {"key": self.key, "kind": self.kind, "booking_id": self.row.booking_id,
                "school_id": self.row.school_id, "employer_id": self.row.employer_id}


def _claim_wanted(session: DbSession, wanted: list[_Wanted]) -> list[_Wanted]:
    """Claim the keys of the notices that have someone to go to; return those this call won."""
    wanted = [w for w in wanted if w.recipients]
    won = claim(session, [w.notice() for w in wanted])
    return [w for w in wanted if w.key in won]


def _ended_completed(since: dt.datetime, now: dt.datetime) -> Select[Any]:
    """Completed bookings that ended inside the follow-up window."""
    return select(Booking.id).where(Booking.status == COMPLETED, Booking.ends_at >= since, Booking.ends_at <= now)


def _follow_up_tracks(session: DbSession, rows: Sequence[Row[Any]], now: dt.datetime, since: dt.datetime, kind: str,
                      steps: Sequence[tuple[int, str]], directory: Directory, *,
                      participants: Callable[[Row[Any]], list[str]],
                      flag_due: Callable[[Row[Any], int], bool]) -> tuple[list[_Wanted], list[_Wanted]]:
    """For each ended placement, the participant's latest due step and the staff flag; returns those this call claimed."""
    today = london_date(now)
    done = existing_keys(session, [kind], _ended_completed(since, now))
    participant_track: list[_Wanted] = []
    flag_track: list[_Wanted] = []
    for row in rows:
        days = (today - london_date(row.ends_at)).days
        step = latest_step(days, steps)
        key, flag = follow_up_key(kind, row.booking_id, step or ""), follow_up_key(kind, row.booking_id, "flag")
        if step and key not in done:
            participant_track.append(_Wanted(key, kind, row, step, participants(row)))
        if flag_due(row, days) and flag not in done:
            flag_track.append(_Wanted(flag, kind, row, "flag", directory.booking_staff(row.school_id, row.requested_by_id)))
    return _claim_wanted(session, participant_track), _claim_wanted(session, flag_track)


def reflection_prompts(session: DbSession, now: dt.datetime) -> Counts:
    """Prompt the student to reflect (end day, +2, +7 days: the latest due step) and flag to staff after the school's days."""
    today = london_date(now)
    since = _follow_up_since(session, today)
    rows = session.execute(
        _details().add_columns(School.reflection_flag_days, Reflection.debriefed_at)
        .join(School, School.id == Booking.school_id)
        .outerjoin(Reflection, Reflection.booking_id == Booking.id)
        .where(Booking.status == COMPLETED, Booking.ends_at >= since, Booking.ends_at <= now,
               or_(Reflection.id.is_(None), Reflection.status != ReflectionStatus.SUBMITTED.value))
    ).all()
    directory = Directory.load(session, school_ids={row.school_id for row in rows})
    sent_student, sent_flags = _follow_up_tracks(
        session, rows, now, since, "reflection", STUDENT_STEPS, directory,
        participants=lambda row: [address] if (address := _student_address(row)) else [],
        flag_due=lambda row, days: is_reflection_overdue(  # the rows hold no submitted reflection
            days, row.reflection_flag_days, meaningful=row.debriefed_at is not None))

    students = Mailbag("reflection_prompt")
    staff = Mailbag("reflections_not_written")
    with _links():
        for wanted in sent_student:
            row = wanted.row
            students.add(wanted.recipients, school_id=row.school_id, row=row, reminder=wanted.step != "prompt",
                         link=_link("reflections.reflection_edit", booking_id=row.booking_id))
        for wanted in sent_flags:
            row = wanted.row
            staff.add(wanted.recipients, school_id=row.school_id, row=row,
                      link=_link("reflections.school_reflection", booking_id=row.booking_id))
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
    since = _follow_up_since(session, today)
    rows = session.execute(
        _details().add_columns(School.reflection_flag_days)
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
    with _links():
        for wanted in sent_employer:
            row = wanted.row
            employers.add(wanted.recipients, employer_id=row.employer_id, row=row, reminder=wanted.step != "request",
                          link=_link("reflections.employer_feedback", booking_id=row.booking_id))
        for wanted in sent_flags:
            row = wanted.row
            staff.add(wanted.recipients, school_id=row.school_id, row=row,
                      link=_link("bookings.school_booking", booking_id=row.booking_id))
    emails = employers.send(session) + staff.send(session)
    return {
        "feedback_requests": sum(w.step == "request" for w in sent_employer),
        "feedback_reminders": sum(w.step != "request" for w in sent_employer),
        "feedback_flags": len(sent_flags),
        "emails_queued": emails,
    }


# --- compliance: reminders before a due day, one escalation when at risk ----------------------


def compliance_filter(session: DbSession, today: dt.date, reminder_days: int) -> Select[Any]:
    """Active bookings not yet over whose first day is close enough for an item to be due soon or overdue."""
    horizon = today + dt.timedelta(days=_max_due_days(session) + reminder_days + 1)
    return select(Booking.id).where(Booking.status.in_(ACTIVE), Booking.ends_at >= start_of_london_day(today),
                                    Booking.starts_at < start_of_london_day(horizon))


def compliance_and_escalations(session: DbSession, now: dt.datetime) -> Counts:
    """One checklist sweep of upcoming bookings: reminders for items due soon, one escalation per at-risk booking."""
    today = london_date(now)
    reminder_days = int(current_app.config["COMPLIANCE_REMINDER_DAYS"])
    booking_filter = compliance_filter(session, today, reminder_days)
    lists = checklists(session, booking_filter, today)
    done = existing_keys(session, ["compliance", "escalation"], booking_filter)
    counts = compliance_reminders(session, now, lists, done, reminder_days)
    for name, value in escalations(session, now, lists, done).items():
        counts[name] = counts.get(name, 0) + value
    return counts


def compliance_reminders(session: DbSession, now: dt.datetime, lists: dict[int, Checklist],
                         done: set[str] | frozenset[str] = frozenset(), reminder_days: int | None = None) -> Counts:
    """Remind whoever must act about each item still to do within `reminder_days` of its due day."""
    today = london_date(now)
    if reminder_days is None:
        reminder_days = int(current_app.config["COMPLIANCE_REMINDER_DAYS"])
    due_soon = []
    for checklist in lists.values():
        if not checklist.active:
            continue
        for item in checklist.items:
            key = f"compliance:{checklist.booking_id}:{item.kind.value}:{item.object_id or 0}"
            if (item.status == ItemStatus.TO_DO and item.due_on is not None
                    and item.due_on - dt.timedelta(days=reminder_days) <= today <= item.due_on and key not in done):
                due_soon.append((key, checklist, item))
    if not due_soon:
        return {"compliance_reminders": 0}
    details = _details_for(session, {c.booking_id for _, c, _ in due_soon})
    directory = Directory.load(session, school_ids={c.school_id for _, c, _ in due_soon},
                               employer_ids={c.employer_id for _, c, _ in due_soon})
    wanted = []
    for key, checklist, item in due_soon:
        row = details[checklist.booking_id]
        recipients = (directory.employer(checklist.employer_id) if item.owner == "employer"
                      else directory.booking_staff(checklist.school_id, row.requested_by_id))
        wanted.append((_Wanted(key, "compliance", row, item.kind.value, recipients), item))
    won = {w.key for w in _claim_wanted(session, [w for w, _ in wanted])}

    employers = Mailbag("checks_due_employer")
    schools = Mailbag("checks_due_school")
    with _links():
        for w, item in wanted:
            if w.key not in won:
                continue
            row = w.row
            if item.owner == "employer":
                employers.add(w.recipients, employer_id=row.employer_id, row=row, item=item,
                              link=_link("bookings.employer_booking", booking_id=row.booking_id))
            else:
                schools.add(w.recipients, school_id=row.school_id, row=row, item=item,
                            link=_link("bookings.school_booking", booking_id=row.booking_id))
    emails = employers.send(session) + schools.send(session)
    return {"compliance_reminders": len(won), "emails_queued": emails}


def escalations(session: DbSession, now: dt.datetime, lists: dict[int, Checklist],
                done: set[str] | frozenset[str] = frozenset()) -> Counts:
    """Each booking that is at risk is escalated to the careers leader (or all staff) once, ever."""
    at_risk = [c for c in lists.values() if c.at_risk and f"escalation:{c.booking_id}" not in done]
    if not at_risk:
        return {"escalations": 0}
    details = _details_for(session, {c.booking_id for c in at_risk})
    directory = Directory.load(session, school_ids={c.school_id for c in at_risk})
    wanted = [(_Wanted(f"escalation:{c.booking_id}", "escalation", details[c.booking_id], "escalation",
                       directory.school_leads(c.school_id)), c) for c in at_risk]
    won = {w.key for w in _claim_wanted(session, [w for w, _ in wanted])}
    mail = Mailbag("placements_at_risk")
    with _links():
        for w, checklist in sorted(wanted, key=lambda pair: (pair[1].first_day, pair[1].booking_id)):
            if w.key not in won:
                continue
            row = w.row
            mail.add(w.recipients, school_id=row.school_id, row=row, risks=checklist.risks,
                     link=_link("bookings.school_booking", booking_id=row.booking_id))
    return {"escalations": len(won), "emails_queued": mail.send(session)}


# --- insurance -------------------------------------------------------------------------------


def insurance_reminders(session: DbSession, now: dt.datetime) -> Counts:
    """Employers are reminded 30 and 7 days before their liability insurance expires (the latest due step only)."""
    today = london_date(now)
    rows = session.execute(
        select(Employer.id, Employer.name, Employer.insurance_expiry)
        .where(Employer.insurance_expiry >= today,
               Employer.insurance_expiry <= today + dt.timedelta(days=max(INSURANCE_STEPS)))
    ).all()
    if not rows:
        return {"insurance_reminders": 0}
    candidates = {}
    for employer_id, name, expiry in rows:
        step = next(days for days in INSURANCE_STEPS if today >= expiry - dt.timedelta(days=days))
        candidates[f"insurance:{employer_id}:{expiry.isoformat()}:{step}"] = (employer_id, name, expiry)
    done = _taken(session, candidates)
    directory = Directory.load(session, employer_ids={e for e, _, _ in candidates.values()})
    wanted = {key: value for key, value in candidates.items() if key not in done and directory.employer(value[0])}
    won = claim(session, [{"key": key, "kind": "insurance", "employer_id": employer_id}
                          for key, (employer_id, _, _) in wanted.items()])
    sent = 0
    with _links():
        link = _link("offers.profile_edit")
    for key in sorted(won):
        employer_id, name, expiry = wanted[key]
        for recipient in directory.employer(employer_id):
            notify(session, "insurance_expiring", recipient, employer_id=employer_id, name=name, expiry=expiry,
                   days=(expiry - today).days, link=link)
            sent += 1
    return {"insurance_reminders": len(won), "emails_queued": sent}


# --- weekly digest ---------------------------------------------------------------------------


def weekly_digest(session: DbSession, now: dt.datetime) -> Counts:
    """Once per London week (first run on or after Monday), each school's careers leader (or staff) gets a digest."""
    today = london_date(now)
    monday = today - dt.timedelta(days=today.weekday())
    school_ids = list(session.scalars(select(School.id)))
    directory = Directory.load(session, school_ids=school_ids)
    taken = set(session.scalars(select(Notice.key).where(Notice.kind == "digest",
                                                         Notice.key.like(f"digest:%:{monday.isoformat()}"))))
    pending = [s for s in school_ids
               if directory.school_leads(s) and f"digest:{s}:{monday.isoformat()}" not in taken]
    digests = emails = 0
    for chunk in _in_chunks(pending):
        sections = _digest_sections(session, chunk, now)
        names = dict(session.execute(select(School.id, School.name).where(School.id.in_(chunk))).tuples().all())
        wanted = {s: f"digest:{s}:{monday.isoformat()}" for s in chunk if any(sections[s].values())}
        won = claim(session, [{"key": key, "kind": "digest", "school_id": s} for s, key in wanted.items()])
        with _links():
            links = (_link("bookings.school_bookings"), _link("reflections.school_reflections"))
        for school_id, key in sorted(wanted.items()):
            if key not in won:
                continue
            for recipient in directory.school_leads(school_id):
                notify(session, "weekly_digest", recipient, school_id=school_id, school_name=names[school_id],
                       monday=monday, sections=sections[school_id], bookings_link=links[0], reflections_link=links[1],
                       upcoming_days=DIGEST_UPCOMING_DAYS, limit=DIGEST_MAX_LINES)
                emails += 1
            digests += 1
    return {"digests": digests, "emails_queued": emails}


def _digest_sections(session: DbSession, school_ids: list[int], now: dt.datetime) -> dict[int, dict[str, list[Any]]]:
    """Upcoming placements, what is at risk and reflections outstanding, per school, in four queries plus the checklist's six."""
    today = london_date(now)
    sections: dict[int, dict[str, list[Any]]] = {
        s: {"upcoming": [], "at_risk": [], "outstanding": [], "flagged": []} for s in school_ids}
    upcoming = session.execute(
        _details().where(Booking.school_id.in_(school_ids), Booking.status.in_(ACTIVE), Booking.starts_at >= now,
                         Booking.starts_at < start_of_london_day(today + dt.timedelta(days=DIGEST_UPCOMING_DAYS + 1)))
        .order_by(Booking.starts_at, Booking.id)
    ).all()
    for row in upcoming:
        sections[row.school_id]["upcoming"].append(row)

    horizon = today + dt.timedelta(days=_max_due_days(session) + 1)
    lists = checklists(session, select(Booking.id).where(
        Booking.school_id.in_(school_ids), still_to_happen(today), Booking.starts_at < start_of_london_day(horizon)),
        today)
    risky = sorted((c for c in lists.values() if c.at_risk), key=lambda c: (c.first_day, c.booking_id))
    details = _details_for(session, {c.booking_id for c in risky})
    with _links():
        for checklist in risky:
            row = details[checklist.booking_id]
            sections[row.school_id]["at_risk"].append(
                {"row": row, "risks": checklist.risks,
                 "link": _link("bookings.school_booking", booking_id=row.booking_id)})

    year_start = start_of_london_day(academic_year_bounds(academic_year(today))[0])
    outstanding = session.execute(
        _details().add_columns(School.reflection_flag_days)
        .join(School, School.id == Booking.school_id)
        .outerjoin(Reflection, Reflection.booking_id == Booking.id)
        .where(Booking.school_id.in_(school_ids), Booking.status == COMPLETED, Booking.ends_at >= year_start,
               Booking.ends_at <= now,
               or_(Reflection.id.is_(None),
                   and_(Reflection.status != ReflectionStatus.SUBMITTED.value, Reflection.debriefed_at.is_(None))))
        .order_by(Booking.ends_at, Booking.id)
    ).all()
    for row in outstanding:
        days = (today - london_date(row.ends_at)).days
        sections[row.school_id]["outstanding"].append(row)
        if days >= row.reflection_flag_days:
            sections[row.school_id]["flagged"].append(row)
    return sections


# --- DBS certificate details -----------------------------------------------------------------


def purge_dbs_details(session: DbSession, now: dt.datetime) -> Counts:
    """Certificate details of "checked" DBS notes are erased 6 calendar months after they were recorded; the decision and its date stay."""
    cutoff = start_of_london_day(months_before(london_date(now), DBS_PURGE_MONTHS))
    rows = session.execute(
        update(DbsNote)
        .where(DbsNote.decision == DbsDecision.CHECKED.value, DbsNote.details_purged_at.is_(None),
               DbsNote.recorded_at < cutoff)
        .values(level=None, issued_on=None, certificate_last4=None, update_service_checked=None,
                details_purged_at=now)
        .returning(DbsNote.id, DbsNote.school_id)
        .execution_options(synchronize_session=False)
    ).all()
    _audit(session, "dbs_details_purged", "dbs_note", rows, "certificate details purged after 6 months")
    return {"dbs_details_purged": len(rows)}


LEAVER_RETENTION_MONTHS = 36  # records kept while on roll plus 3 years (destinations), then removed


def purge_leavers(session: DbSession, now: dt.datetime) -> Counts:
    """Students who left more than 3 years ago are removed with everything about them (UK GDPR retention).

    One DELETE; the database's cascades remove their bookings, reflections, consent requests, sign-in and
    encounter attendance. The audit log keeps only the id and the school, never a name.
    """
    cutoff = months_before(london_date(now), LEAVER_RETENTION_MONTHS)
    rows = session.execute(
        delete(Student).where(Student.left_on.is_not(None), Student.left_on < cutoff)
        .returning(Student.id, Student.school_id)
        .execution_options(synchronize_session=False)
    ).all()
    _audit(session, "student_removed", "student", rows, "left more than 3 years ago (retention)")
    return {"leavers_removed": len(rows)}


# --- outbox ----------------------------------------------------------------------------------

DELIVERY_BATCH = 200
DELIVERY_BATCHES = 25


def deliver_outbox(session: DbSession, now: dt.datetime) -> Counts:
    """Deliver queued emails when SMTP is configured (retries use the real clock, not the simulated one)."""
    if not smtp_configured():
        return {"emails_delivered": 0, "emails_failed": 0}
    sent = failed = 0
    for _ in range(DELIVERY_BATCHES):
        result = deliver_pending(session, utcnow(), limit=DELIVERY_BATCH)
        sent, failed = sent + result["sent"], failed + result["failed"]
        if result["sent"] + result["failed"] < DELIVERY_BATCH:
            break
        session.flush()
    return {"emails_delivered": sent, "emails_failed": failed}


# The order a tick runs them in: completion first, so a session that just ended is prompted at once.
JOBS: list[tuple[str, Job]] = [
    ("complete_ended_bookings", complete_ended_bookings),
    ("reflection_prompts", reflection_prompts),
    ("feedback_requests", feedback_requests),
    ("compliance_and_escalations", compliance_and_escalations),
    ("insurance_reminders", insurance_reminders),
    ("weekly_digest", weekly_digest),
    ("purge_dbs_details", purge_dbs_details),
    ("purge_leavers", purge_leavers),
    ("deliver_outbox", deliver_outbox),
]
