"""Import a school's roster from its MIS export; all-or-nothing, updates by student_ref, and
students missing from the file are reported (never deleted silently)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import IO

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.core import audit
from portal.core.csvimport import Cells, ImportReport, RowError, guard_errors, open_text, read_csv
from portal.core.vocab import YEAR_GROUPS, AccessFeature, Sector, SendStatus
from portal.db import DbSession
from portal.organisations.models import School, Student
from portal.organisations.services import StudentDetails, apply_details
from portal.organisations.upn import is_valid_upn

REQUIRED_COLUMNS = (
    "student_ref", "first_name", "last_name", "year_group", "date_of_birth", "send_status",
    "needs", "disadvantaged", "sector_interests",
)
OPTIONAL_COLUMNS = ("upn", "email", "tutor_group")
CENSUS_SEN_CODES = {"N": SendStatus.NONE, "K": SendStatus.SEN_SUPPORT, "E": SendStatus.EHCP}


@dataclass
class RosterReport(ImportReport):
    """The import's counts plus the students on roll who were not in the file."""

    missing: list[Student] = field(default_factory=list)


def _send_status(cells: Cells) -> str | None:
    """SEN provision as our code, accepting the school census letters N, K, E."""
    value = cells.row.get("send_status", "")
    census = CENSUS_SEN_CODES.get(value.upper())
    if census is not None:
        return census.value
    status = cells.code("send_status", SendStatus)
    return status.value if status else None


def _parse_row(cells: Cells) -> StudentDetails | None:
    """Validate one roster row."""
    ref = cells.text("student_ref", max_length=40)
    upn = cells.row.get("upn", "").upper() or None
    if upn and not is_valid_upn(upn):
        cells.fail("upn", f"{upn!r} is not a UPN (a letter and 12 digits; a temporary one ends in a letter)")
    first, last = cells.text("first_name", max_length=100), cells.text("last_name", max_length=100)
    year = cells.integer("year_group", minimum=min(YEAR_GROUPS), maximum=max(YEAR_GROUPS))
    born = cells.date("date_of_birth")
    send = _send_status(cells)
    needs = [n.value for n in cells.codes("needs", AccessFeature)]
    disadvantaged = cells.yes_no("disadvantaged")
    interests = [s.value for s in cells.codes("sector_interests", Sector)]
    email = cells.email("email")
    tutor_group = cells.text("tutor_group", required=False, max_length=20) or None
    if not cells.ok or year is None or born is None or send is None or disadvantaged is None:
        return None
    return StudentDetails(
        student_ref=ref, first_name=first, last_name=last, year_group=year, date_of_birth=born,
        send_status=send, disadvantaged=disadvantaged, upn=upn, tutor_group=tutor_group, email=email,
        needs=needs, interests=interests,
    )


def _same(student: Student, details: StudentDetails) -> bool:
    """Whether applying the details would change nothing."""
    return (
        student.first_name, student.last_name, student.year_group, student.date_of_birth,
        student.send_status, student.disadvantaged, student.upn, student.tutor_group, student.email,
        student.need_codes, student.interest_codes, student.left_on,
    ) == (
        details.first_name, details.last_name, details.year_group, details.date_of_birth,
        details.send_status, details.disadvantaged, details.upn, details.tutor_group, details.email,
        sorted(set(details.needs)), sorted(set(details.interests)), None,
    )


def import_students(
    session: DbSession, school: School, source: IO[bytes] | IO[str] | str | bytes, *, dry_run: bool = False,
) -> RosterReport:
    """Validate every row, then create or update the school's students; raises ImportFailed, writing nothing."""
    report = RosterReport(dry_run=dry_run)
    errors: list[RowError] = []
    header, rows = read_csv(open_text(source), REQUIRED_COLUMNS)
    absent = [column for column in OPTIONAL_COLUMNS if column not in header]
    parsed: list[tuple[int, StudentDetails]] = []
    seen: dict[str, int] = {}
    seen_upn: dict[str, int] = {}
    for line, row in rows:
        details = _parse_row(Cells(line, row, errors))
        if details is None:
            continue
        if details.student_ref in seen:
            errors.append(RowError(line, "student_ref", f"{details.student_ref} is also on line {seen[details.student_ref]}"))
            continue
        if details.upn and details.upn in seen_upn:
            errors.append(RowError(line, "upn", f"{details.upn} is also on line {seen_upn[details.upn]}"))
            continue
        seen[details.student_ref] = line
        if details.upn:
            seen_upn[details.upn] = line
        parsed.append((line, details))
    guard_errors(errors)

    existing = {
        s.student_ref: s for s in session.scalars(
            select(Student).where(Student.school_id == school.id)
            .options(selectinload(Student.needs), selectinload(Student.interests))
        )
    }
    for _, details in parsed:
        student = existing.get(details.student_ref)
        for column in absent:  # a column the file doesn't have keeps what the portal knows
            setattr(details, column, getattr(student, column) if student else None)
        if student is None:
            student = Student(school_id=school.id)
            student.school = school
            apply_details(student, details)
            session.add(student)
            report.created += 1
        elif _same(student, details):
            report.unchanged += 1
        else:
            apply_details(student, details)
            student.left_on = None
            report.updated += 1
    report.missing = sorted(
        (s for ref, s in existing.items() if ref not in seen and s.left_on is None),
        key=lambda s: (s.last_name, s.first_name),
    )
    session.flush()
    audit.record(session, "roster_imported", "school", school.id, school_id=school.id,
                 detail=f"{report.created} new, {report.updated} updated, {len(report.missing)} not in file")
    return report


def mark_left(session: DbSession, school: School, student_ids: list[int], on: object) -> int:
    """Mark the given students of this school as having left (records are kept for destinations)."""
    students = session.scalars(
        select(Student).where(Student.school_id == school.id, Student.id.in_(student_ids), Student.left_on.is_(None))
    ).all()
    for student in students:
        student.left_on = on  # type: ignore[assignment]
        audit.record(session, "student_left", "student", student.id, school_id=school.id)
    return len(students)
