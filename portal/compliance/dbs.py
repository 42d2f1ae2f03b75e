"""DBS notes: the school's decision about each supervisor, validated, upserted and audited on every view.

The school, not the employer, decides whether a supervisor of an under-16 needs a DBS check. Only the
last 4 characters of a certificate number are kept (never the whole number), and the certificate
details are purged by the scheduler 6 months after they were recorded.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from portal import access
from portal.accounts.models import User
from portal.bookings.models import Booking
from portal.compliance.checklist import DBS_AGE, age_on, still_to_happen
from portal.compliance.models import DbsNote
from portal.compliance.services import ComplianceRefused
from portal.core import audit
from portal.core.dates import london_date
from portal.core.vocab import INVOLVED_BOOKING_STATUSES, DbsDecision, DbsLevel
from portal.db import DbSession, utcnow
from portal.offers.models import OfferSession, Supervisor, session_supervisors
from portal.organisations.models import Employer, Student

REASON_MAX = 1000
LAST4 = re.compile(r"[A-Z0-9]{4}")
# The fields that belong to each decision: the others are cleared when the decision is recorded.
CHECKED_FIELDS = ("level", "issued_on", "certificate_last4", "update_service_checked")
NOT_REQUIRED_FIELDS = ("reason",)


class DbsNoteInvalid(ComplianceRefused):
    """The note cannot be recorded: `field` names the first field at fault, `problems` lists every one."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        """Keep every (field, message) pair; the first one is the exception's message."""
        field, message = problems[0]
        super().__init__("invalid", message, field)
        self.problems = problems

    def by_field(self) -> list[tuple[str | None, str]]:
        """Every field at fault, each with its message."""
        return list(self.problems)


def _problems(decision: str, reason: str, level: str | None, issued_on: dt.date | None, last4: str,
              update_service_checked: bool | None, today: dt.date) -> list[tuple[str, str]]:
    """Every (field, message) the submitted decision breaks (empty when it may be recorded)."""
    if decision not in {d.value for d in DbsDecision}:
        return [("decision", "Choose whether a DBS check is required")]
    problems = []
    if decision == DbsDecision.NOT_REQUIRED.value:
        if not reason:
            problems.append(("reason", "Say why a DBS check is not required"))
        elif len(reason) > REASON_MAX:
            problems.append(("reason", f"The reason must be {REASON_MAX} characters or fewer"))
        return problems
    if level not in {lv.value for lv in DbsLevel}:
        problems.append(("level", "Choose the level of the check"))
    if issued_on is None:
        problems.append(("issued_on", "Enter the date the certificate was issued"))
    elif issued_on > today:
        problems.append(("issued_on", "The issue date must be today or in the past"))
    if not last4:
        problems.append(("certificate_last4", "Enter the last 4 characters of the certificate number"))
    elif not LAST4.fullmatch(last4):
        problems.append(("certificate_last4",
                         "Enter only the last 4 characters of the certificate number: 4 letters or digits"))
    if update_service_checked is None:
        problems.append(("update_service_checked", "Say whether the Update Service was checked"))
    return problems


def record_dbs_note(session: DbSession, staff: User, supervisor: Supervisor, *, decision: str,
                    reason: str | None = None, level: str | None = None, issued_on: dt.date | None = None,
                    certificate_last4: str | None = None, update_service_checked: bool | None = None,
                    now: dt.datetime | None = None) -> DbsNote:
    """Record (or replace) the school's DBS decision about a supervisor; raises DbsNoteInvalid naming the field."""
    now = now or utcnow()
    if not access.can_record_dbs(staff, supervisor):
        raise ComplianceRefused("not_found", "No such supervisor")
    decision = (decision or "").strip().lower()
    reason_text = (reason or "").strip()
    last4 = re.sub(r"\s+", "", certificate_last4 or "").upper()
    problems = _problems(decision, reason_text, level, issued_on, last4, update_service_checked, london_date(now))
    if problems:
        raise DbsNoteInvalid(problems)
    checked = decision == DbsDecision.CHECKED.value
    values = {
        "decision": decision,
        "reason": None if checked else reason_text,
        "level": level if checked else None,
        "issued_on": issued_on if checked else None,
        "certificate_last4": last4 if checked else None,
        "update_service_checked": update_service_checked if checked else None,
        "recorded_by_id": staff.id,
        "recorded_at": now,
        "details_purged_at": None,
    }
    note = _note(session, staff.school_id, supervisor.id)
    if note is None:
        savepoint = session.begin_nested()
        try:
            note = DbsNote(school_id=staff.school_id, supervisor_id=supervisor.id, **values)
            session.add(note)
            savepoint.commit()
        except IntegrityError:  # a colleague recorded one at the same moment: update theirs
            if savepoint.is_active:
                savepoint.rollback()
            note = _note(session, staff.school_id, supervisor.id)
            if note is None:
                raise
    for name, value in values.items():
        setattr(note, name, value)
    session.flush()
    audit.record(session, "dbs_note_recorded", "dbs_note", note.id, school_id=note.school_id, actor=staff,
                 detail=f"supervisor {supervisor.id}: {DbsDecision(decision).label.lower()}")
    return note


def _note(session: DbSession, school_id: int | None, supervisor_id: int) -> DbsNote | None:
    """The school's note about a supervisor, if any (not audited: for writing only)."""
    return session.scalars(
        select(DbsNote).where(DbsNote.school_id == school_id, DbsNote.supervisor_id == supervisor_id)
    ).first()


def view_dbs_note(session: DbSession, viewer: User, supervisor: Supervisor) -> DbsNote | None:
    """The viewer's school's note about a supervisor, for display; each view is written to the audit log."""
    note = _note(session, viewer.school_id, supervisor.id)
    if note is not None:
        _audit_views(session, viewer, [note])
    return note


def view_dbs_notes(session: DbSession, viewer: User, supervisor_ids: Collection[int]) -> dict[int, DbsNote]:
    """The viewer's school's notes about several supervisors (a page of a list), by supervisor id; all audited.

    One query loads the notes and one statement adds an audit row per note shown.
    """
    if not supervisor_ids or viewer.school_id is None:
        return {}
    notes = session.scalars(
        select(DbsNote).where(DbsNote.school_id == viewer.school_id, DbsNote.supervisor_id.in_(list(supervisor_ids)))
    ).all()
    _audit_views(session, viewer, notes)
    return {note.supervisor_id: note for note in notes}


def _audit_views(session: DbSession, viewer: User, notes: Collection[DbsNote]) -> None:
    """Add one 'dbs_note_viewed' audit row per note, in one statement."""
    audit.record_many(session, "dbs_note_viewed", "dbs_note",
                      ((note.id, note.school_id, f"supervisor {note.supervisor_id}") for note in notes), actor=viewer)


# --- what the school's pages list ----------------------------------------------------------------


@dataclass
class SupervisorBookings:
    """A supervisor's part in the school's placements: the employer, the next first day, how many under 16."""

    employer_name: str
    upcoming: int = 0
    under_16: int = 0
    next_starts_at: dt.datetime | None = None


def _upcoming(school_id: int | None, today: dt.date) -> list[Any]:
    """Conditions of the school's active bookings that are not over yet."""
    return [Booking.school_id == school_id, still_to_happen(today)]


def supervisors_to_decide(school_id: int | None, today: dt.date) -> Select[Any]:
    """Supervisors of sessions the school's active, not yet finished bookings are on, by name."""
    involved = (select(session_supervisors.c.supervisor_id)
                .join(Booking, Booking.session_id == session_supervisors.c.session_id)
                .where(*_upcoming(school_id, today)))
    return select(Supervisor).where(Supervisor.id.in_(involved)).order_by(Supervisor.name, Supervisor.id)


def supervisor_bookings(session: DbSession, school_id: int | None, supervisor_ids: Collection[int],
                        today: dt.date) -> dict[int, SupervisorBookings]:
    """For a page of supervisors: their employer and the school's upcoming bookings with them (two queries)."""
    if not supervisor_ids:
        return {}
    ids = list(supervisor_ids)
    result = {sid: SupervisorBookings(name) for sid, name in session.execute(
        select(Supervisor.id, Employer.name).join(Employer, Employer.id == Supervisor.employer_id)
        .where(Supervisor.id.in_(ids))
    ).tuples()}
    for sid, starts_at, born in session.execute(
        select(session_supervisors.c.supervisor_id, Booking.starts_at, Student.date_of_birth)
        .join(Booking, Booking.session_id == session_supervisors.c.session_id)
        .join(Student, Student.id == Booking.student_id)
        .where(session_supervisors.c.supervisor_id.in_(ids), *_upcoming(school_id, today))
    ).tuples():
        entry = result[sid]
        entry.upcoming += 1
        entry.under_16 += age_on(born, london_date(starts_at)) < DBS_AGE
        if entry.next_starts_at is None or starts_at < entry.next_starts_at:
            entry.next_starts_at = starts_at
    return result


def school_bookings_with(session: DbSession, school_id: int | None, supervisor: Supervisor,
                         limit: int = 100) -> list[Booking]:
    """The school's bookings (from request to outcome) on sessions the supervisor supervises, latest first."""
    return list(session.scalars(
        select(Booking)
        .join(session_supervisors, session_supervisors.c.session_id == Booking.session_id)
        .where(session_supervisors.c.supervisor_id == supervisor.id, Booking.school_id == school_id,
               Booking.status.in_([s.value for s in INVOLVED_BOOKING_STATUSES]))
        .options(joinedload(Booking.student), joinedload(Booking.session).joinedload(OfferSession.offer))
        .order_by(Booking.starts_at.desc(), Booking.id)
        .limit(limit)
    ))


def employer_of(session: DbSession, supervisor: Supervisor) -> Employer | None:
    """The employer the supervisor works for."""
    return session.get(Employer, supervisor.employer_id)
