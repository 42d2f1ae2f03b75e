"""Encounters logged by staff (not booked through the portal), in the browser and from CSV. Never commits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO

from sqlalchemy import select

from portal.accounts.models import User
from portal.core.csvimport import Cells, ImportReport, RowError, guard_errors, open_text, read_csv
from portal.core.vocab import ActivityType
from portal.db import DbSession
from portal.organisations.models import School, Student
from portal.reflections.models import EncounterAttendance, EncounterLog

ENCOUNTER_COLUMNS = ("student_ref", "date", "activity_type", "employer_name", "attended", "debriefed")


@dataclass(frozen=True)
class Attendance:
    """One student's line on a logged encounter."""

    student_id: int
    attended: bool
    debriefed: bool


def _find_or_create_log(session: DbSession, school: School, held_on: dt.date, activity_type: str,
                        employer_name: str, user: User | None) -> EncounterLog:
    """The school's log of this encounter (same day, activity and employer), so repeating an import adds nothing."""
    log = session.scalars(select(EncounterLog).where(
        EncounterLog.school_id == school.id, EncounterLog.held_on == held_on,
        EncounterLog.activity_type == activity_type, EncounterLog.employer_name == employer_name)).first()
    if log is None:
        log = EncounterLog(school_id=school.id, held_on=held_on, activity_type=activity_type,
                           employer_name=employer_name, created_by_id=user.id if user else None)
        session.add(log)
        session.flush()
    return log


def _record(session: DbSession, log: EncounterLog, entries: Iterable[Attendance], report: ImportReport) -> None:
    """Add or update each student's line on the log (one query for the existing lines)."""
    entries = list(entries)
    existing = {a.student_id: a for a in session.scalars(select(EncounterAttendance).where(
        EncounterAttendance.log_id == log.id,
        EncounterAttendance.student_id.in_([e.student_id for e in entries])))}
    for entry in entries:
        line = existing.get(entry.student_id)
        if line is None:
            session.add(EncounterAttendance(log_id=log.id, student_id=entry.student_id, attended=entry.attended,
                                            debriefed=entry.debriefed))
            report.created += 1
        elif (line.attended, line.debriefed) == (entry.attended, entry.debriefed):
            report.unchanged += 1
        else:
            line.attended, line.debriefed = entry.attended, entry.debriefed
            report.updated += 1


def log_encounter(session: DbSession, school: School, user: User | None, *, held_on: dt.date,
                  activity_type: ActivityType, employer_name: str, student_ids: Iterable[int],
                  debriefed: bool) -> ImportReport:
    """Log one encounter for many students of the school at once (all attended; debriefed as given)."""
    ids = sorted(set(student_ids))
    own = set(session.scalars(select(Student.id).where(Student.school_id == school.id, Student.id.in_(ids))))
    if own != set(ids):
        raise ValueError("a student is not on this school's roll")
    report = ImportReport()
    log = _find_or_create_log(session, school, held_on, activity_type.value, employer_name, user)
    _record(session, log, [Attendance(i, True, debriefed) for i in ids], report)
    session.flush()
    return report


def import_encounters(session: DbSession, school: School, source: IO[bytes] | IO[str] | str | bytes,
                      *, today: dt.date, dry_run: bool = False, user: User | None = None) -> ImportReport:
    """Import logged encounters (student_ref,date,activity_type,employer_name,attended,debriefed): all or nothing.

    Rows with the same date, activity type and employer name are one encounter; importing a file twice changes nothing.
    """
    _, rows = read_csv(open_text(source), ENCOUNTER_COLUMNS)
    errors: list[RowError] = []
    refs = select(Student.student_ref, Student.id).where(Student.school_id == school.id)
    students: dict[str, int] = dict(session.execute(refs).tuples().all())
    groups: dict[tuple[dt.date, str, str], dict[int, Attendance]] = {}
    for line, row in rows:
        cells = Cells(line, row, errors)
        ref = cells.text("student_ref", max_length=40)
        held_on = cells.date("date")
        activity = cells.code("activity_type", ActivityType)
        employer_name = cells.text("employer_name")
        attended = cells.yes_no("attended")
        debriefed = cells.yes_no("debriefed")
        student_id = students.get(ref)
        if ref and student_id is None:
            cells.fail("student_ref", f"{ref!r} is not a student of this school")
        if held_on and held_on > today:
            cells.fail("date", f"{held_on.isoformat()} is in the future")
        if debriefed and attended is False:
            cells.fail("debriefed", "a student who did not attend cannot have been debriefed")
        if not cells.ok or student_id is None or held_on is None or activity is None or attended is None:
            continue
        group = groups.setdefault((held_on, activity.value, employer_name), {})
        if student_id in group:
            cells.fail("student_ref", f"{ref!r} is listed twice for this encounter")
            continue
        group[student_id] = Attendance(student_id, attended, bool(debriefed))
    guard_errors(errors)
    report = ImportReport(dry_run=dry_run)
    for (held_on, activity_code, employer_name), entries in groups.items():
        log = _find_or_create_log(session, school, held_on, activity_code, employer_name, user)
        _record(session, log, entries.values(), report)
    session.flush()
    report.notes.append(f"{len(groups)} encounter(s) in the file")
    return report
