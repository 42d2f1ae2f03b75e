"""Import employers and offers (one row per session) from CSV: all-or-nothing, keyed by references.

Both imports validate every row first and report every problem with its line and column; only a
clean file is written, with set-based reads (references loaded in chunks) and bulk inserts and
updates, and each distinct postcode geocoded once. Re-importing a file updates what it describes
and never duplicates it: employers are keyed by employer_ref, offers by offer_ref, sessions by
(offer, start). Sessions already in the portal but missing from the file are kept.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from sqlalchemy import ColumnElement, delete, insert, select, update

from portal.core.batches import chunked
from portal.core.csvimport import (
    UNWATCHED,
    Cells,
    ImportProgress,
    ImportReport,
    RowError,
    Source,
    guard_errors,
    open_text,
    read_csv,
)
from portal.core.dates import local_to_utc, london_date
from portal.core.import_jobs import register_importer
from portal.core.models import ImportJob
from portal.core.vocab import (
    AccessFeature,
    ActivityType,
    DeliveryMode,
    MeaningfulCriterion,
    OfferStatus,
    Sector,
)
from portal.db import DbSession, utcnow
from portal.geo import Location
from portal.geo.locate import LocationCache
from portal.offers.models import (
    Offer,
    OfferCriterion,
    OfferFeature,
    OfferSector,
    OfferSession,
    OfferYearGroup,
    refresh_offer_masks,
)
from portal.offers.services import refresh_last_session
from portal.organisations.models import Employer

EMPLOYER_COLUMNS = ("employer_ref", "name", "sector", "postcode", "safeguarding_email", "insurance_expiry")
OFFER_COLUMNS = (
    "offer_ref", "employer_ref", "title", "activity_type", "delivery_mode", "postcode", "year_groups",
    "sectors", "send_features", "session_start", "session_end", "capacity",
)
WRITE_BATCH = 5000
_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,39}$")



def _ref(cells: Cells, column: str) -> str:
    """A reference: up to 40 letters, digits, dots, dashes, slashes or underscores."""
    value = cells.text(column, max_length=40)
    if value and not _REF.match(value):
        cells.fail(column, f"{value!r} is not a reference (letters, digits, '.', '-', '/' or '_', up to 40)")
    return value


def _located(cells: Cells, column: str, postcode: str | None, places: LocationCache) -> Location | None:
    """The location of a postcode cell; an unknown district is a row error."""
    if not postcode:
        return None
    found = places.get(postcode)
    if isinstance(found, str):
        cells.fail(column, f"{postcode}: {found}")
        return None
    return found


def _rows_by_key(session: DbSession, columns: Sequence[Any], key: Any, keys: Iterable[Any]) -> list[Any]:
    """Rows of the given columns whose key is among keys, read in chunks."""
    found: list[Any] = []
    for chunk in chunked(sorted(set(keys))):
        found += session.execute(select(*columns).where(key.in_(chunk))).all()
    return found


def _bulk(session: DbSession, statement: Any, rows: list[dict[str, Any]]) -> None:
    """Run a bulk INSERT or UPDATE-by-primary-key in batches."""
    for batch in chunked(rows, WRITE_BATCH):
        session.execute(statement, list(batch))


def _same_float(a: float | None, b: float | None) -> bool:
    """Coordinates equal to about 1 cm (the databases round differently)."""
    if a is None or b is None:
        return a is b
    return abs(a - b) < 1e-7


# --- employers --------------------------------------------------------------------------


@dataclass
class EmployerRecord:
    """A validated employers.csv row."""

    line: int
    ref: str
    name: str
    sector: str
    location: Location
    safeguarding_email: str | None
    insurance_expiry: dt.date | None


def _parse_employers(rows: Iterable[tuple[int, dict[str, str]]], errors: list[RowError]) -> list[EmployerRecord]:
    """Validate every employer row, geocoding each distinct postcode once."""
    places = LocationCache()
    records: list[EmployerRecord] = []
    first_line: dict[str, int] = {}
    for line, row in rows:
        cells = Cells(line, row, errors)
        ref = _ref(cells, "employer_ref")
        name = cells.text("name")
        sector = cells.code("sector", Sector)
        location = _located(cells, "postcode", cells.postcode("postcode"), places)
        email = cells.email("safeguarding_email")
        expiry = cells.date("insurance_expiry", required=False)
        if ref in first_line:
            cells.fail("employer_ref", f"employer {ref} is also on line {first_line[ref]}")
        elif ref:
            first_line[ref] = line
        if cells.ok and sector is not None and location is not None:
            records.append(EmployerRecord(line, ref, name, sector.value, location, email, expiry))
    return records


def import_employers(session: DbSession, source: Source, *, dry_run: bool = False,
                     progress: ImportProgress = UNWATCHED) -> ImportReport:
    """Create or update employers by employer_ref; raises ImportFailed (writing nothing) on any bad row."""
    report = ImportReport(dry_run=dry_run)
    errors: list[RowError] = []
    _, rows = read_csv(open_text(source), EMPLOYER_COLUMNS, progress.checked)
    records = _parse_employers(rows, errors)
    guard_errors(errors)

    columns = (Employer.id, Employer.ref, Employer.name, Employer.sector, Employer.postcode, Employer.latitude,
               Employer.longitude, Employer.location_approximate, Employer.safeguarding_lead_email,
               Employer.insurance_expiry)
    existing = {row.ref: row for row in _rows_by_key(session, columns, Employer.ref, (r.ref for r in records))}
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    moved: list[int] = []
    now = utcnow()
    for record in records:
        values = {
            "name": record.name, "sector": record.sector, "postcode": record.location.postcode,
            "latitude": record.location.latitude, "longitude": record.location.longitude,
            "location_approximate": record.location.approximate,
            "safeguarding_lead_email": record.safeguarding_email, "insurance_expiry": record.insurance_expiry,
        }
        current = existing.get(record.ref)
        if current is None:
            inserts.append({"ref": record.ref, "created_at": now, **values})
            continue
        place_changed = not (_same_float(current.latitude, record.location.latitude)
                             and _same_float(current.longitude, record.location.longitude))
        if place_changed or any(getattr(current, key) != value for key, value in values.items()
                                if key not in ("latitude", "longitude")):
            updates.append({"id": current.id, **values})
            if place_changed:
                moved.append(current.id)
        else:
            report.unchanged += 1
    report.created, report.updated = len(inserts), len(updates)
    if inserts:
        report.notes.append(f"{len(inserts)} new employer(s) must be vetted by a hub coordinator before schools see their offers")
    if dry_run:
        return report
    progress.writing(len(inserts) + len(updates))
    _bulk(session, insert(Employer), inserts)
    progress.written(len(inserts))
    _bulk(session, update(Employer), updates)
    _follow_employer_locations(session, moved)
    progress.written(len(inserts) + len(updates))
    session.expire_all()
    return report


def _follow_employer_locations(session: DbSession, employer_ids: list[int]) -> None:
    """Offers held at their employer's address take the employer's new position (set-based)."""
    def employers(column: Any) -> Any:
        return select(column).where(Employer.id == Offer.employer_id).scalar_subquery()

    for chunk in chunked(employer_ids):
        session.execute(
            update(Offer)
            .where(Offer.employer_id.in_(chunk), Offer.uses_employer_location.is_(True),
                   Offer.delivery_mode != DeliveryMode.VIRTUAL.value)
            .values(latitude=employers(Employer.latitude), longitude=employers(Employer.longitude),
                    location_approximate=employers(Employer.location_approximate))
            .execution_options(synchronize_session=False)
        )


# --- offers -----------------------------------------------------------------------------


@dataclass
class SessionRow:
    """One validated session row."""

    line: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int


@dataclass
class OfferRecord:
    """The shared fields of the rows of one offer_ref, and its sessions."""

    line: int
    ref: str
    shared: dict[str, Any]
    sessions: list[SessionRow] = field(default_factory=list)
    employer_id: int | None = None
    location: Location | None = None
    uses_employer_location: bool = False

    @property
    def lines(self) -> list[int]:
        """Every file line of this offer."""
        return [s.line for s in self.sessions]


SHARED_COLUMNS = ("employer_ref", "title", "activity_type", "delivery_mode", "postcode", "year_groups",
                  "sectors", "send_features", "meaningful_criteria")


def _parse_offer_row(cells: Cells) -> tuple[str, dict[str, Any], SessionRow | None]:
    """Validate one offers.csv row: (offer_ref, shared offer fields, the session)."""
    ref = _ref(cells, "offer_ref")
    mode = cells.code("delivery_mode", DeliveryMode)
    activity = cells.code("activity_type", ActivityType)
    postcode = cells.postcode("postcode", required=False)
    if mode is DeliveryMode.VIRTUAL and postcode:
        cells.fail("postcode", "must be empty for a virtual offer")
    years = cells.integers("year_groups", minimum=7, maximum=13)
    if not years and cells.row.get("year_groups", "") == "":
        cells.fail("year_groups", "is empty")
    sectors = cells.codes("sectors", Sector)
    if not cells.row.get("sectors", ""):
        cells.fail("sectors", "is empty")
    shared = {
        "employer_ref": _ref(cells, "employer_ref"),
        "title": cells.text("title"),
        "activity_type": activity.value if activity else None,
        "delivery_mode": mode.value if mode else None,
        "postcode": postcode,
        "year_groups": tuple(years),
        "sectors": tuple(sorted(s.value for s in sectors)),
        "send_features": tuple(sorted(f.value for f in cells.codes("send_features", AccessFeature))),
        # Optional column: when the file has none, an existing offer's criteria are left as they are.
        "meaningful_criteria": (tuple(sorted(c.value for c in cells.codes("meaningful_criteria", MeaningfulCriterion)))
                                if "meaningful_criteria" in cells.row else None),
    }
    start, end = cells.local_datetime("session_start"), cells.local_datetime("session_end")
    capacity = cells.integer("capacity", minimum=1)
    session_row = None
    if start is not None and end is not None:
        starts_at, ends_at = local_to_utc(start), local_to_utc(end)
        if ends_at <= starts_at:
            cells.fail("session_end", "the session ends before it starts" if ends_at < starts_at
                       else "the session ends when it starts")
        elif capacity is not None:
            session_row = SessionRow(cells.line, starts_at, ends_at, capacity)
    return ref, shared, session_row


def _parse_offers(rows: Iterable[tuple[int, dict[str, str]]], errors: list[RowError]) -> dict[str, OfferRecord]:
    """Validate rows and group them by offer_ref; the rows of one offer must agree on its fields."""
    records: dict[str, OfferRecord] = {}
    for line, row in rows:
        cells = Cells(line, row, errors)
        ref, shared, session_row = _parse_offer_row(cells)
        if not cells.ok or not ref or session_row is None:
            continue
        record = records.get(ref)
        if record is None:
            records[ref] = OfferRecord(line, ref, shared, [session_row])
            continue
        for column in SHARED_COLUMNS:
            if shared[column] != record.shared[column]:
                cells.fail(column, f"differs from line {record.line}, the first row of offer {ref}")
        clash = next((s for s in record.sessions if s.starts_at == session_row.starts_at), None)
        if clash is not None:
            cells.fail("session_start", f"offer {ref} already has a session starting then, on line {clash.line}")
        if cells.ok:
            record.sessions.append(session_row)
    return records


def _fail_rows(errors: list[RowError], record: OfferRecord, column: str, reason: str) -> None:
    """Report a problem of the whole offer on every one of its rows."""
    errors.extend(RowError(line, column, reason) for line in record.lines)


def _resolve(session: DbSession, records: dict[str, OfferRecord], errors: list[RowError]) -> tuple[dict[str, Any], dict[int, Any]]:
    """Check references against the database and place each offer; returns existing offers and employers."""
    employer_columns = (Employer.id, Employer.ref, Employer.postcode, Employer.latitude, Employer.longitude,
                        Employer.location_approximate, Employer.insurance_expiry)
    employers = {row.ref: row for row in _rows_by_key(
        session, employer_columns, Employer.ref, (r.shared["employer_ref"] for r in records.values()))}
    offer_columns = (Offer.id, Offer.offer_ref, Offer.employer_id, Offer.title, Offer.activity_type,
                     Offer.delivery_mode, Offer.uses_employer_location, Offer.postcode, Offer.latitude,
                     Offer.longitude, Offer.location_approximate, Offer.status)
    existing = {row.offer_ref: row for row in _rows_by_key(session, offer_columns, Offer.offer_ref, records)}
    places = LocationCache()
    for record in records.values():
        employer = employers.get(record.shared["employer_ref"])
        if employer is None:
            _fail_rows(errors, record, "employer_ref",
                       f"no employer has reference {record.shared['employer_ref']} (import employers first)")
            continue
        record.employer_id = employer.id
        current = existing.get(record.ref)
        if current is not None and current.employer_id != employer.id:
            _fail_rows(errors, record, "offer_ref", f"offer {record.ref} belongs to another employer")
        elif current is not None and current.status == OfferStatus.ARCHIVED.value:
            _fail_rows(errors, record, "offer_ref", f"offer {record.ref} is archived and can no longer change")
        if record.shared["delivery_mode"] == DeliveryMode.VIRTUAL.value:
            continue
        postcode = record.shared["postcode"]
        record.uses_employer_location = not postcode
        if postcode:
            found = places.get(postcode)
            if isinstance(found, str):
                _fail_rows(errors, record, "postcode", f"{postcode}: {found}")
            else:
                record.location = found
        elif employer.latitude is not None:
            record.location = Location(employer.postcode, employer.latitude, employer.longitude,
                                       employer.location_approximate, "employer")
        else:
            found = places.get(employer.postcode)
            if isinstance(found, str):
                _fail_rows(errors, record, "postcode",
                           f"is empty, and the employer's postcode {employer.postcode} cannot be placed: {found}")
            else:
                record.location = found
    return existing, {row.id: row for row in employers.values()}


def _publishable(record: OfferRecord, employer: Any, now: dt.datetime) -> bool:
    """The publishing rules: a future session, and insurance valid on every future session's days."""
    upcoming = [s for s in record.sessions if s.starts_at > now]
    expiry = employer.insurance_expiry
    return bool(upcoming) and expiry is not None and all(london_date(s.ends_at) <= expiry for s in upcoming)


def _offer_values(record: OfferRecord) -> dict[str, Any]:
    """The offer columns an import sets."""
    shared, location = record.shared, record.location
    return {
        "employer_id": record.employer_id,
        "title": shared["title"],
        "activity_type": shared["activity_type"],
        "delivery_mode": shared["delivery_mode"],
        "uses_employer_location": record.uses_employer_location,
        "postcode": None if record.uses_employer_location or location is None else location.postcode,
        "latitude": location.latitude if location else None,
        "longitude": location.longitude if location else None,
        "location_approximate": bool(location and location.approximate),
    }


def _children(session: DbSession, model: Any, column: Any, offer_ids: list[int]) -> dict[int, dict[Any, Any]]:
    """offer id -> {code: row} for a child table of offers."""
    found: dict[int, dict[Any, Any]] = {}
    for row in _rows_by_key(session, (model,), model.offer_id, offer_ids):
        item = row[0]
        found.setdefault(item.offer_id, {})[getattr(item, column)] = item
    return found


@dataclass
class _Plan:
    """What an offers import will write."""

    new_offers: list[dict[str, Any]] = field(default_factory=list)
    offer_updates: list[dict[str, Any]] = field(default_factory=list)
    replace_children: dict[int, OfferRecord] = field(default_factory=dict)
    notes_kept: dict[int, dict[str, str | None]] = field(default_factory=dict)
    new_sessions: list[dict[str, Any]] = field(default_factory=list)
    session_updates: list[dict[str, Any]] = field(default_factory=list)
    drafts: int = 0
    sessions_unchanged: int = 0


def _plan_existing(session: DbSession, records: dict[str, OfferRecord], existing: dict[str, Any],
                   report: ImportReport, plan: _Plan, errors: list[RowError]) -> None:
    """Compare offers already in the portal with the file: fields, code sets and sessions."""
    ids = [row.id for row in existing.values()]
    sectors = _children(session, OfferSector, "sector", ids)
    years = _children(session, OfferYearGroup, "year_group", ids)
    features = _children(session, OfferFeature, "feature", ids)
    criteria = _children(session, OfferCriterion, "criterion", ids)
    sessions: dict[int, dict[dt.datetime, Any]] = {}
    for row in _rows_by_key(session, (OfferSession.id, OfferSession.offer_id, OfferSession.starts_at,
                                      OfferSession.ends_at, OfferSession.capacity, OfferSession.booked),
                            OfferSession.offer_id, ids):
        sessions.setdefault(row.offer_id, {})[row.starts_at] = row
    for ref, current in existing.items():
        record = records[ref]
        values = _offer_values(record)
        changed = any(
            not _same_float(getattr(current, key), value) if key in ("latitude", "longitude")
            else getattr(current, key) != value
            for key, value in values.items()
        )
        if changed:
            plan.offer_updates.append({"id": current.id, **values})
        codes_changed = (
            tuple(sorted(sectors.get(current.id, {}))) != record.shared["sectors"]
            or tuple(sorted(years.get(current.id, {}))) != record.shared["year_groups"]
            or tuple(sorted(features.get(current.id, {}))) != record.shared["send_features"]
            or record.shared["meaningful_criteria"] not in (None, tuple(sorted(criteria.get(current.id, {}))))
        )
        if codes_changed:
            plan.replace_children[current.id] = record
            plan.notes_kept[current.id] = {code: f.note for code, f in features.get(current.id, {}).items()}
        sessions_changed = _plan_sessions(current.id, record, sessions.get(current.id, {}), plan, errors)
        if changed or codes_changed or sessions_changed:
            report.updated += 1
        else:
            report.unchanged += 1


def _plan_sessions(offer_id: int, record: OfferRecord, current: dict[dt.datetime, Any], plan: _Plan,
                   errors: list[RowError]) -> bool:
    """New sessions to insert and existing ones (same start) to update; True when anything changes."""
    changed = False
    for row in record.sessions:
        found = current.get(row.starts_at)
        if found is not None and row.capacity < found.booked:
            errors.append(RowError(row.line, "capacity", f"{found.booked} places of this session are already booked"))
        if found is None:
            plan.new_sessions.append({"offer_id": offer_id, "starts_at": row.starts_at, "ends_at": row.ends_at,
                                      "capacity": row.capacity})
            changed = True
        elif (found.ends_at, found.capacity) != (row.ends_at, row.capacity):
            plan.session_updates.append({"id": found.id, "ends_at": row.ends_at, "capacity": row.capacity})
            changed = True
        else:
            plan.sessions_unchanged += 1
    return changed


def import_offers(session: DbSession, source: Source, *, dry_run: bool = False, now: dt.datetime | None = None,
                  progress: ImportProgress = UNWATCHED) -> ImportReport:
    """Create or update offers and their sessions; raises ImportFailed (writing nothing) on any bad row.

    A new offer is published when it meets the publishing rules (a future session, and insurance
    valid on its days) and is otherwise left as a draft; existing offers keep their status.
    """
    now = now or utcnow()
    report = ImportReport(dry_run=dry_run)
    errors: list[RowError] = []
    _, rows = read_csv(open_text(source), OFFER_COLUMNS, progress.checked)
    records = _parse_offers(rows, errors)
    existing, employers = _resolve(session, records, errors)
    guard_errors(sorted(errors, key=lambda error: error.line))

    plan = _Plan()
    _plan_existing(session, records, existing, report, plan, errors)
    guard_errors(errors)
    for ref, record in records.items():
        if ref in existing:
            continue
        publish = _publishable(record, employers[record.employer_id or 0], now)
        plan.drafts += not publish
        plan.new_offers.append({
            "offer_ref": ref, **_offer_values(record),
            "status": (OfferStatus.PUBLISHED if publish else OfferStatus.DRAFT).value,
            "last_session_starts_at": max(s.starts_at for s in record.sessions),
            "published_at": now if publish else None, "created_at": now, "updated_at": now,
        })
    report.created = len(plan.new_offers)
    new_session_count = len(plan.new_sessions) + sum(len(records[o["offer_ref"]].sessions) for o in plan.new_offers)
    report.notes.append(f"sessions: {new_session_count} new, {len(plan.session_updates)} updated, "
                        f"{plan.sessions_unchanged} unchanged")
    if plan.drafts:
        report.notes.append(f"{plan.drafts} new offer(s) left as drafts: they need a future session and "
                            "the employer's insurance valid on its days before they can be published")
    if dry_run:
        return report
    progress.writing(report.created + report.updated)
    _write_offers(session, records, plan, progress)
    session.expire_all()
    return report


def _write_offers(session: DbSession, records: dict[str, OfferRecord], plan: _Plan, progress: ImportProgress) -> None:
    """Apply the plan with bulk statements; an offer counts as written once its row is."""
    new_ids: dict[str, int] = {}
    for batch in chunked(plan.new_offers, WRITE_BATCH):
        result = session.execute(insert(Offer).returning(Offer.id, Offer.offer_ref), list(batch))
        new_ids.update((row.offer_ref, row.id) for row in result)
        progress.written(len(new_ids))
    _bulk(session, update(Offer), plan.offer_updates)
    progress.written(len(new_ids) + len(plan.offer_updates))

    replaced = sorted(plan.replace_children)
    criteria_given = [offer_id for offer_id in replaced
                      if plan.replace_children[offer_id].shared["meaningful_criteria"] is not None]
    for model, offer_ids in ((OfferSector, replaced), (OfferYearGroup, replaced), (OfferFeature, replaced),
                             (OfferCriterion, criteria_given)):
        for chunk in chunked(offer_ids):
            condition: ColumnElement[bool] = model.offer_id.in_(chunk)
            session.execute(delete(model).where(condition).execution_options(synchronize_session=False))
    targets: list[tuple[int, OfferRecord, dict[str, str | None]]] = [
        (offer_id, records[ref], {}) for ref, offer_id in new_ids.items()
    ]
    targets += [(offer_id, record, plan.notes_kept.get(offer_id, {})) for offer_id, record in plan.replace_children.items()]
    sectors, years, features, criteria = [], [], [], []
    for offer_id, record, notes in targets:
        criteria += [{"offer_id": offer_id, "criterion": code} for code in record.shared["meaningful_criteria"] or ()]
        sectors += [{"offer_id": offer_id, "sector": code} for code in record.shared["sectors"]]
        years += [{"offer_id": offer_id, "year_group": year} for year in record.shared["year_groups"]]
        features += [{"offer_id": offer_id, "feature": code, "note": notes.get(code)}
                     for code in record.shared["send_features"]]
    _bulk(session, insert(OfferSector), sectors)
    _bulk(session, insert(OfferYearGroup), years)
    _bulk(session, insert(OfferFeature), features)
    _bulk(session, insert(OfferCriterion), criteria)
    refresh_offer_masks(session, [offer_id for offer_id, _, _ in targets])

    now = utcnow()
    new_sessions = plan.new_sessions + [
        {"offer_id": offer_id, "starts_at": row.starts_at, "ends_at": row.ends_at, "capacity": row.capacity}
        for ref, offer_id in new_ids.items() for row in records[ref].sessions
    ]
    _bulk(session, insert(OfferSession), [{**row, "created_at": now} for row in new_sessions])
    _bulk(session, update(OfferSession), plan.session_updates)
    refresh_last_session(session, [row["offer_id"] for row in plan.new_sessions])


@register_importer("employers", writes="employers")
def run_employers_job(session: DbSession, job: ImportJob, stream: IO[bytes], progress: ImportProgress) -> ImportReport:
    """A hub's browser upload of employers.csv, run by a worker."""
    return import_employers(session, stream, dry_run=job.dry_run, progress=progress)


@register_importer("offers", writes="offers")
def run_offers_job(session: DbSession, job: ImportJob, stream: IO[bytes], progress: ImportProgress) -> ImportReport:
    """A hub's browser upload of offers.csv, run by a worker."""
    return import_offers(session, stream, dry_run=job.dry_run, progress=progress)
