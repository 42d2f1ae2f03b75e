"""Import a school's roster from its MIS export; all-or-nothing, updates by student_ref, and
students missing from the file are reported (never deleted silently)."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any, NamedTuple

from sqlalchemy import delete, insert, select, update

from portal.core import audit
from portal.core.batches import chunked
from portal.core.csvimport import (
    UNWATCHED,
    Cells,
    ImportFailed,
    ImportProgress,
    ImportReport,
    Progress,
    RowError,
    Source,
    guard_errors,
    open_text,
    read_csv,
)
from portal.core.import_jobs import register_importer
from portal.core.models import ImportJob
from portal.core.vocab import YEAR_GROUPS, AccessFeature, Sector, SendStatus
from portal.db import DbSession, utcnow
from portal.organisations.models import School, Student, StudentInterest, StudentNeed
from portal.organisations.upn import is_valid_upn

REQUIRED_COLUMNS = (
    "student_ref", "first_name", "last_name", "year_group", "date_of_birth", "send_status",
    "needs", "disadvantaged", "sector_interests",
)
OPTIONAL_COLUMNS = ("upn", "email", "tutor_group")
CENSUS_SEN_CODES = {"N": SendStatus.NONE, "K": SendStatus.SEN_SUPPORT, "E": SendStatus.EHCP}
WRITE_BATCH = 2000
READ_BATCH = 5000  # rows fetched at a time when reading the roll (the ORM would otherwise buffer all of them)


class MissingStudent(NamedTuple):
    """A student on roll who was not in the file: what the leavers question shows."""

    id: int
    student_ref: str
    first_name: str
    last_name: str
    year_group: int


@dataclass
class RosterReport(ImportReport):
    """The import's counts plus the students on roll who were not in the file."""

    missing: list[MissingStudent] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Plain form for JSON output, with the students not in the file."""
        return {**super().as_dict(), "missing": [student._asdict() for student in self.missing]}


# One validated row, kept as a compact tuple (100,000 of them must fit in well under 100 MB).
class _Row(NamedTuple):
    """The values of a roster row, in the students table's terms."""

    student_ref: str
    upn: str | None
    first_name: str
    last_name: str
    year_group: int
    date_of_birth: dt.date
    send_status: str
    disadvantaged: bool
    tutor_group: str | None
    email: str | None
    needs: tuple[str, ...]
    interests: tuple[str, ...]


STUDENT_COLUMNS = ("student_ref", "upn", "first_name", "last_name", "year_group", "date_of_birth", "send_status",
                   "disadvantaged", "tutor_group", "email")


def _send_status(cells: Cells) -> str | None:
    """SEN provision as our code, accepting the school census letters N, K, E."""
    value = cells.row.get("send_status", "")
    census = CENSUS_SEN_CODES.get(value.upper())
    if census is not None:
        return census.value
    status = cells.code("send_status", SendStatus)
    return status.value if status else None


def _parse_row(cells: Cells) -> _Row | None:
    """Validate one roster row."""
    ref = cells.text("student_ref", max_length=40)
    upn = cells.row.get("upn", "").upper() or None
    if upn and not is_valid_upn(upn):
        cells.fail("upn", f"{upn!r} is not a UPN (a letter and 12 digits; a temporary one ends in a letter)")
    first, last = cells.text("first_name", max_length=100), cells.text("last_name", max_length=100)
    year = cells.integer("year_group", minimum=min(YEAR_GROUPS), maximum=max(YEAR_GROUPS))
    born = cells.date("date_of_birth")
    send = _send_status(cells)
    needs = tuple(sorted(n.value for n in cells.codes("needs", AccessFeature)))
    disadvantaged = cells.yes_no("disadvantaged")
    interests = tuple(sorted(s.value for s in cells.codes("sector_interests", Sector)))
    email = cells.email("email")
    tutor_group = cells.text("tutor_group", required=False, max_length=20) or None
    if not cells.ok or year is None or born is None or send is None or disadvantaged is None:
        return None
    return _Row(ref, upn, first, last, year, born, send, disadvantaged, tutor_group, email, needs, interests)


def _read_rows(source: Source, on_row: Progress | None) -> tuple[list[str], list[tuple[int, _Row]]]:
    """Validate the file row by row; raises ImportFailed with every bad row (and duplicate reference or UPN)."""
    errors: list[RowError] = []
    header, rows = read_csv(open_text(source), REQUIRED_COLUMNS, on_row)
    absent = [column for column in OPTIONAL_COLUMNS if column not in header]
    parsed: list[tuple[int, _Row]] = []
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
    return absent, parsed


class _OnRoll(NamedTuple):
    """A student the school has: enough to match a row to them and tell whether the row changes anything."""

    id: int
    left_on: dt.date | None
    values_digest: bytes  # of their STUDENT_COLUMNS values
    codes_digest: bytes  # of their needs and interests
    kept: tuple[Any, ...]  # their values of the columns the file doesn't have


def _digest(values: tuple[Any, ...]) -> bytes:
    """A fingerprint of imported values (str, int, date, bool, None and tuples of them, whose repr is exact)."""
    return hashlib.blake2b(repr(values).encode(), digest_size=16).digest()


def _codes_by_student(session: DbSession, school: School, column: Any) -> Iterator[tuple[int, tuple[str, ...]]]:
    """(student_id, sorted codes) for the school's students who have any, in student_id order."""
    model = column.class_
    query = (select(model.student_id, column).join(Student, Student.id == model.student_id)
             .where(Student.school_id == school.id).order_by(model.student_id, column)
             .execution_options(yield_per=READ_BATCH))
    for student_id, rows in itertools.groupby(session.execute(query), key=lambda row: row[0]):
        yield student_id, tuple(row[1] for row in rows)


class _Merge:
    """Walks one (student_id, codes) stream alongside students read in id order."""

    def __init__(self, stream: Iterator[tuple[int, tuple[str, ...]]]) -> None:
        """Ready at the stream's first student."""
        self.stream = stream
        self.head = next(stream, None)

    def codes_of(self, student_id: int) -> tuple[str, ...]:
        """The student's codes (ids must be asked in increasing order)."""
        while self.head is not None and self.head[0] < student_id:
            self.head = next(self.stream, None)
        if self.head is not None and self.head[0] == student_id:
            return self.head[1]
        return ()


def _on_roll(session: DbSession, school: School, absent: list[str]) -> dict[str, _OnRoll]:
    """student_ref -> each student of the school, read in one streamed pass over students, needs and interests."""
    kept = [STUDENT_COLUMNS.index(column) for column in absent]
    needs = _Merge(_codes_by_student(session, school, StudentNeed.need))
    interests = _Merge(_codes_by_student(session, school, StudentInterest.sector))
    query = (select(Student.id, Student.left_on, *(getattr(Student, c) for c in STUDENT_COLUMNS))
             .where(Student.school_id == school.id).order_by(Student.id).execution_options(yield_per=READ_BATCH))
    found: dict[str, _OnRoll] = {}
    for row in session.execute(query):
        values: tuple[Any, ...] = tuple(row[2:])
        codes = (needs.codes_of(row[0]), interests.codes_of(row[0]))
        found[values[0]] = _OnRoll(row[0], row[1], _digest(values), _digest(codes), tuple(values[i] for i in kept))
    return found


def _missing(session: DbSession, ids: list[int]) -> list[MissingStudent]:
    """The students on roll who were not in the file, by name."""
    missing: list[MissingStudent] = []
    for chunk in chunked(ids):
        query = select(Student.id, Student.student_ref, Student.first_name, Student.last_name,
                       Student.year_group).where(Student.id.in_(chunk))
        missing += [MissingStudent(*row) for row in session.execute(query)]
    return sorted(missing, key=lambda s: (s.last_name, s.first_name))


def import_students(
    session: DbSession, school: School, source: Source, *, dry_run: bool = False,
    progress: ImportProgress = UNWATCHED, actor: Any = None,
) -> RosterReport:
    """Validate every row, then create or update the school's students; raises ImportFailed, writing nothing.

    Rows are validated as they stream in and kept as compact tuples; the students on roll are read
    in one streamed pass and kept as fingerprints; the rows that change anything are picked out (so
    `progress` hears how many will be written) and written with bulk statements.
    """
    report = RosterReport(dry_run=dry_run)
    absent, parsed = _read_rows(source, progress.checked)
    existing = _on_roll(session, school, absent)
    changes: list[tuple[_Row, _OnRoll | None]] = []
    for _, details in parsed:
        found = existing.pop(details.student_ref, None)
        if (found is not None and found.left_on is None and found.codes_digest == _digest((details.needs, details.interests))
                and found.values_digest == _digest(_values(details, found, absent))):
            report.unchanged += 1
        else:
            changes.append((details, found))
    progress.writing(len(changes))
    writer = _Writer(session, school.id, dry_run, progress)
    for details, found in changes:
        values = _values(details, found, absent)
        if found is None:
            writer.insert(dict(zip(STUDENT_COLUMNS, values, strict=True)), details.needs, details.interests)
        else:
            codes = (details.needs, details.interests)
            writer.update(found.id, dict(zip(STUDENT_COLUMNS, values, strict=True)),
                          None if found.codes_digest == _digest(codes) else codes)
    writer.finish()
    report.created, report.updated = writer.created, writer.updated
    report.missing = _missing(session, [student.id for student in existing.values() if student.left_on is None])
    audit.record(session, "roster_imported", "school", school.id, school_id=school.id, actor=actor,
                 detail=f"{report.created} new, {report.updated} updated, {len(report.missing)} not in file")
    session.flush()
    return report


def _values(details: _Row, found: _OnRoll | None, absent: list[str]) -> tuple[Any, ...]:
    """The student's STUDENT_COLUMNS values from the row; a column the file doesn't have keeps what the portal knows."""
    values = list(details[:len(STUDENT_COLUMNS)])
    for column, kept in zip(absent, found.kept if found else (None,) * len(absent), strict=True):
        values[STUDENT_COLUMNS.index(column)] = kept
    return tuple(values)


Codes = tuple[tuple[str, ...], tuple[str, ...]]  # (needs, interests)


class _Writer:
    """Bulk INSERTs and UPDATEs of students (and their code sets), sent a batch at a time so memory stays flat."""

    def __init__(self, session: DbSession, school_id: int, dry_run: bool, progress: ImportProgress) -> None:
        """Start with empty batches; a dry run only counts."""
        self.session, self.school_id, self.dry_run, self.progress = session, school_id, dry_run, progress
        self.sent = 0
        self.now = utcnow()
        self.inserts: list[dict[str, Any]] = []
        self.insert_codes: dict[str, Codes] = {}
        self.updates: list[dict[str, Any]] = []
        self.replaced: dict[int, Codes] = {}
        self.created = self.updated = 0

    def insert(self, values: dict[str, Any], needs: tuple[str, ...], interests: tuple[str, ...]) -> None:
        """Queue a new student."""
        self.created += 1
        if self.dry_run:
            return
        self.inserts.append({"school_id": self.school_id, "created_at": self.now, **values})
        self.insert_codes[values["student_ref"]] = (needs, interests)
        if len(self.inserts) >= WRITE_BATCH:
            self._send_inserts()

    def update(self, student_id: int, values: dict[str, Any], codes: Codes | None) -> None:
        """Queue a change to a student on roll (back on roll if they had left); codes None: unchanged."""
        self.updated += 1
        if self.dry_run:
            return
        self.updates.append({"id": student_id, "left_on": None, **values})
        if codes is not None:
            self.replaced[student_id] = codes
        if len(self.updates) >= WRITE_BATCH:
            self._send_updates()

    def finish(self) -> None:
        """Send what is still queued."""
        if self.inserts:
            self._send_inserts()
        if self.updates:
            self._send_updates()
        self.session.expire_all()

    def _send_inserts(self) -> None:
        """INSERT the queued students, then their codes."""
        result = self.session.execute(insert(Student).returning(Student.id, Student.student_ref), self.inserts)
        self._send_codes({row.id: self.insert_codes[row.student_ref] for row in result})
        self._sent(len(self.inserts))
        self.inserts, self.insert_codes = [], {}

    def _send_updates(self) -> None:
        """UPDATE the queued students by id, then replace the changed code sets."""
        self.session.execute(update(Student), self.updates)
        for model in (StudentNeed, StudentInterest):
            for chunk in chunked(sorted(self.replaced)):
                self.session.execute(delete(model).where(model.student_id.in_(chunk))
                                     .execution_options(synchronize_session=False))
        self._send_codes(self.replaced)
        self._sent(len(self.updates))
        self.updates, self.replaced = [], {}

    def _sent(self, rows: int) -> None:
        """Count rows sent and tell whoever watches."""
        self.sent += rows
        self.progress.written(self.sent)

    def _send_codes(self, codes: dict[int, Codes]) -> None:
        """INSERT need and interest rows for these students."""
        needs = [{"student_id": i, "need": code} for i, (wanted, _) in codes.items() for code in wanted]
        interests = [{"student_id": i, "sector": code} for i, (_, wanted) in codes.items() for code in wanted]
        if needs:
            self.session.execute(insert(StudentNeed), needs)
        if interests:
            self.session.execute(insert(StudentInterest), interests)


@register_importer("roster", writes="students")
def run_roster_job(session: DbSession, job: ImportJob, stream: IO[bytes], progress: ImportProgress) -> RosterReport:
    """A browser roster upload, run by a worker for the job's school, audited as its uploader."""
    from portal.accounts.models import User

    school = session.get(School, job.school_id)
    if school is None:
        raise ImportFailed([RowError(0, "(file)", "the school no longer exists")])
    owner = session.get(User, job.owner_id) if job.owner_id else None
    return import_students(session, school, stream, dry_run=job.dry_run, progress=progress, actor=owner)


def mark_left(session: DbSession, school: School, student_ids: list[int], on: object) -> int:
    """Mark the given students of this school as having left (records are kept for destinations)."""
    students = session.scalars(
        select(Student).where(Student.school_id == school.id, Student.id.in_(student_ids), Student.left_on.is_(None))
    ).all()
    for student in students:
        student.left_on = on  # type: ignore[assignment]
        audit.record(session, "student_left", "student", student.id, school_id=school.id)
    return len(students)
