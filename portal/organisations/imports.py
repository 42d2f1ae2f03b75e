"""Import schools from our own CSV or the national register's all-establishments extract."""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO

from sqlalchemy import func, select

from portal.accounts.models import User
from portal.core.batches import chunked
from portal.core.csvimport import (
    Cells,
    ImportReport,
    RowError,
    guard_errors,
    open_text,
    read_csv,
)
from portal.core.vocab import Role, SchoolType
from portal.db import DbSession
from portal.geo import Location
from portal.geo.locate import LocationCache, place
from portal.organisations.models import Hub, School

OWN_COLUMNS = ("urn", "name", "school_type", "postcode")
GIAS_COLUMNS = (
    "URN", "EstablishmentName", "TypeOfEstablishment (code)", "EstablishmentStatus (name)",
    "PhaseOfEducation (name)", "Postcode",
)
GIAS_SPECIAL = {7, 8, 10, 12, 33, 36, 44}
GIAS_ALTERNATIVE_PROVISION = {14, 38, 42, 43}
GIAS_COLLEGE = {18, 31}
GIAS_SECONDARY_PHASES = {"secondary", "16 plus", "all-through", "middle deemed secondary"}


@dataclass
class SchoolRecord:
    """A validated school row."""

    line: int
    urn: str
    name: str
    school_type: str
    postcode: str
    hub: str | None
    careers_leader_email: str | None


def gias_school_type(type_code: int, phase: str) -> SchoolType | None:
    """Map a register establishment type code and phase to our school type (None: not in scope)."""
    if type_code in GIAS_SPECIAL:
        return SchoolType.SPECIAL
    if type_code in GIAS_ALTERNATIVE_PROVISION:
        return SchoolType.ALTERNATIVE_PROVISION
    if type_code in GIAS_COLLEGE:
        return SchoolType.COLLEGE
    if phase.strip().lower() in GIAS_SECONDARY_PHASES:
        return SchoolType.MAINSTREAM
    return None


def _urn(cells: Cells, column: str) -> str:
    """A URN: 6 to 8 digits."""
    value = cells.text(column, max_length=8)
    if value and not (value.isdigit() and 6 <= len(value) <= 8):
        cells.fail(column, f"{value!r} is not a URN (6 to 8 digits)")
    return value


def _parse_own(rows: object, default_hub: str | None, report: ImportReport, errors: list[RowError]) -> list[SchoolRecord]:
    """Validate rows in the portal's own format."""
    records = []
    for line, row in rows:  # type: ignore[attr-defined]
        cells = Cells(line, row, errors)
        urn = _urn(cells, "urn")
        name = cells.text("name")
        school_type = cells.code("school_type", SchoolType)
        postcode = cells.postcode("postcode")
        email = cells.email("careers_leader_email")
        hub = row.get("hub", "") or default_hub
        if cells.ok and school_type and postcode:
            records.append(SchoolRecord(line, urn, name, school_type.value, postcode, hub, email))
    return records


def _parse_gias(rows: object, default_hub: str | None, report: ImportReport, errors: list[RowError]) -> list[SchoolRecord]:
    """Validate rows of the national register's extract, skipping closed and out-of-phase ones."""
    records = []
    for line, row in rows:  # type: ignore[attr-defined]
        cells = Cells(line, row, errors)
        if row["EstablishmentStatus (name)"].strip().lower() == "closed":
            report.skipped["closed"] += 1
            continue
        code = cells.integer("TypeOfEstablishment (code)", minimum=1)
        if code is None:
            continue
        school_type = gias_school_type(code, row["PhaseOfEducation (name)"])
        if school_type is None:
            report.skipped["not secondary or post-16"] += 1
            continue
        urn = _urn(cells, "URN")
        name = cells.text("EstablishmentName")
        postcode = cells.postcode("Postcode")
        if cells.ok and postcode:
            records.append(SchoolRecord(line, urn, name, school_type.value, postcode, default_hub, None))
    return records


def _check_duplicates(records: list[SchoolRecord], column: str, errors: list[RowError]) -> None:
    """The same URN twice in one file is an error on the later line."""
    first_line: dict[str, int] = {}
    for record in records:
        if record.urn in first_line:
            errors.append(RowError(record.line, column, f"URN {record.urn} is also on line {first_line[record.urn]}"))
        else:
            first_line[record.urn] = record.line


def _locate_all(records: list[SchoolRecord], column: str, errors: list[RowError]) -> dict[str, Location]:
    """Geocode each distinct postcode once; an unknown postcode district is a row error."""
    places = LocationCache()
    found: dict[str, Location] = {}
    for record in records:
        location = places.get(record.postcode)
        if isinstance(location, str):
            errors.append(RowError(record.line, column, f"{record.postcode}: {location}"))
        else:
            found[record.postcode] = location
    return found


def import_schools(
    session: DbSession, source: IO[bytes] | IO[str] | str | bytes, *,
    hub_name: str | None = None, inviter: User | None = None, dry_run: bool = False,
) -> ImportReport:
    """Validate every row, then create or update schools by URN; raises ImportFailed, writing nothing."""
    from portal.accounts.services import invite_user

    report = ImportReport(dry_run=dry_run)
    errors: list[RowError] = []
    stream = open_text(source)
    probe = stream.readline()
    stream.seek(0)
    is_gias = "EstablishmentName" in probe
    header, rows = read_csv(stream, GIAS_COLUMNS if is_gias else OWN_COLUMNS)
    parse = _parse_gias if is_gias else _parse_own
    records = parse(rows, hub_name, report, errors)
    _check_duplicates(records, "URN" if is_gias else "urn", errors)
    locations = _locate_all(records, "Postcode" if is_gias else "postcode", errors)

    existing: dict[str, School] = {}
    for chunk in chunked([r.urn for r in records]):
        existing.update((s.urn, s) for s in session.scalars(select(School).where(School.urn.in_(chunk))))
    emails = sorted({r.careers_leader_email for r in records if r.careers_leader_email})
    users: dict[str, User] = {}
    for chunk in chunked(emails):
        users.update((u.email.lower(), u) for u in session.scalars(select(User).where(func.lower(User.email).in_(chunk))))
    for record in records:
        user = users.get(record.careers_leader_email or "")
        school = existing.get(record.urn)
        if user is not None and (user.role != Role.SCHOOL.value or school is None or user.school_id != school.id):
            errors.append(RowError(record.line, "careers_leader_email", "this email already has an account elsewhere"))
    guard_errors(errors)

    hubs: dict[str, Hub] = {}
    for hub_label in sorted({r.hub for r in records if r.hub}):
        hub = session.scalars(select(Hub).where(Hub.name == hub_label)).first()
        if hub is None:
            hub = Hub(name=hub_label)
            session.add(hub)
            report.notes.append(f"created hub {hub_label}")
        hubs[hub_label] = hub
    session.flush()

    for record in records:
        hub_id = hubs[record.hub].id if record.hub else None
        school = existing.get(record.urn)
        if school is None:
            school = School(urn=record.urn, name=record.name, school_type=record.school_type,
                            postcode=record.postcode, hub_id=hub_id)
            place(school, locations[record.postcode])
            session.add(school)
            existing[record.urn] = school
            report.created += 1
        else:
            changed = (school.name, school.school_type, school.postcode, school.hub_id) != (
                record.name, record.school_type, record.postcode, hub_id if record.hub else school.hub_id)
            changed = changed or school.latitude is None
            school.name, school.school_type, school.postcode = record.name, record.school_type, record.postcode
            place(school, locations[record.postcode])
            if record.hub:
                school.hub_id = hub_id
            if changed:
                report.updated += 1
            else:
                report.unchanged += 1
    session.flush()

    for record in records:
        email = record.careers_leader_email
        if email and email not in users:
            school = existing[record.urn]
            invited, _ = invite_user(session, email=email, name="", role=Role.SCHOOL, inviter=inviter,
                                     school_id=school.id)
            users[email] = invited
            report.notes.append(f"invited {email} to {school.name}")
    return report

