"""Each booking's compliance checklist, computed for any number of bookings with six queries.

One function serves the booking page (one booking), the lists (a page of bookings: the "at risk"
tag) and the scheduler's sweeps (every upcoming booking), so they can never disagree. Deadlines
are London calendar days before the placement's first day, set per school.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, select

from portal.bookings.models import Booking
from portal.compliance.models import (
    ConsentRequest,
    DbsNote,
    RiskAssessment,
    RiskAssessmentCoverage,
    RiskAssessmentReview,
)
from portal.core.dates import format_date, london_date, start_of_london_day
from portal.core.vocab import (
    ACTIVE_BOOKING_STATUSES,
    AT_RISK_STATUSES,
    OPEN_ITEM_STATUSES,
    ComplianceKind,
    ConsentDecision,
    DbsDecision,
    ItemOwner,
    ItemStatus,
    RiskAssessmentKind,
)
from portal.db import DbSession
from portal.offers.models import Supervisor, session_supervisors
from portal.organisations.models import Employer, School, Student

DBS_AGE = 16  # the school decides on a DBS check for supervisors of under-16s
CONSENT_AGE = 18  # parents or carers consent for under-18s

SCHOOL, EMPLOYER = ItemOwner.SCHOOL, ItemOwner.EMPLOYER
_ACTIVE = {s.value for s in ACTIVE_BOOKING_STATUSES}


@dataclass(slots=True)
class Item:
    """One duty on one booking: where it stands, when it is due and who must act."""

    kind: ComplianceKind
    label: str
    status: ItemStatus
    due_on: dt.date | None
    detail: str
    owner: ItemOwner  # who must act and is reminded
    object_id: int | None = None  # the risk assessment (RISK_ASSESSMENT) or supervisor (DBS) it is about

    @property
    def at_risk(self) -> bool:
        """Overdue, or answered in a way that stops the placement (consent declined)."""
        return self.status in AT_RISK_STATUSES

    @property
    def is_open(self) -> bool:
        """Whether someone still has to act on it (to do or overdue)."""
        return self.status in OPEN_ITEM_STATUSES

    @property
    def is_done(self) -> bool:
        """Whether it is done."""
        return self.status == ItemStatus.DONE

    @property
    def is_needed(self) -> bool:
        """Whether the placement needs it at all."""
        return self.status != ItemStatus.NOT_NEEDED

    @property
    def employer_acts(self) -> bool:
        """Whether the employer is the one to act."""
        return self.owner == ItemOwner.EMPLOYER


@dataclass
class Checklist:
    """Every item of one booking; "at risk" only while the booking is active and not yet over."""

    booking_id: int
    school_id: int
    employer_id: int
    first_day: dt.date
    active: bool
    items: list[Item] = field(default_factory=list)

    @property
    def at_risk(self) -> bool:
        """Whether anything is overdue (or declined) on a booking that is still to happen."""
        return self.active and any(item.at_risk for item in self.items)

    @property
    def risks(self) -> list[Item]:
        """The items that make the booking at risk."""
        return [item for item in self.items if item.at_risk] if self.active else []


def age_on(born: dt.date, day: dt.date) -> int:
    """Age in whole years on a day."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


_days = functools.lru_cache(maxsize=128)(lambda n: dt.timedelta(days=n))
# Many bookings share a date (an insurance expiry, a session's assessment): format each once per process.
_date = functools.lru_cache(maxsize=8192)(format_date)


def due_status(done: bool, due_on: dt.date, today: dt.date) -> ItemStatus:
    """Done, or to do until the due day has passed (London calendar), then overdue."""
    if done:
        return ItemStatus.DONE
    return ItemStatus.OVERDUE if today > due_on else ItemStatus.TO_DO


def still_to_happen(today: dt.date) -> ColumnElement[bool]:
    """Bookings that can be at risk: requested or confirmed, and not over before today (Checklist.active in SQL)."""
    return and_(Booking.status.in_(_ACTIVE), Booking.ends_at >= start_of_london_day(today))


def bookings_by_id(ids: Collection[int]) -> Select[Any]:
    """A booking filter for a handful of known ids (a page of a list, one booking)."""
    return select(Booking.id).where(Booking.id.in_(list(ids)))


def checklists(session: DbSession, booking_filter: Select[Any], today: dt.date) -> dict[int, Checklist]:
    """The checklist of every booking the filter (a SELECT of booking ids) picks, by booking id."""
    bookings = session.execute(
        select(Booking.id, Booking.school_id, Booking.employer_id, Booking.session_id, Booking.starts_at,
               Booking.ends_at, Booking.status, Booking.briefed_at, Student.date_of_birth, Employer.insurance_expiry,
               School.risk_assessment_due_days, School.insurance_due_days, School.dbs_due_days,
               School.consent_due_days, School.briefing_due_days)
        .join(Student, Student.id == Booking.student_id)
        .join(Employer, Employer.id == Booking.employer_id)
        .join(School, School.id == Booking.school_id)
        .where(Booking.id.in_(booking_filter))
    ).all()
    if not bookings:
        return {}
    session_ids = select(Booking.session_id).where(Booking.id.in_(booking_filter))
    coverage = {row.session_id: row for row in session.execute(
        select(RiskAssessmentCoverage.session_id, RiskAssessment.id, RiskAssessment.kind, RiskAssessment.created_at)
        .join(RiskAssessment, RiskAssessment.id == RiskAssessmentCoverage.risk_assessment_id)
        .where(RiskAssessmentCoverage.session_id.in_(session_ids))
    )}
    reviewed = set(session.execute(
        select(RiskAssessmentReview.risk_assessment_id, RiskAssessmentReview.school_id)
        .where(RiskAssessmentReview.risk_assessment_id.in_(
            select(RiskAssessmentCoverage.risk_assessment_id).where(RiskAssessmentCoverage.session_id.in_(session_ids))))
    ).tuples())
    supervisors: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for session_id, supervisor_id, name in session.execute(
        select(session_supervisors.c.session_id, Supervisor.id, Supervisor.name)
        .join(Supervisor, Supervisor.id == session_supervisors.c.supervisor_id)
        .where(session_supervisors.c.session_id.in_(session_ids))
        .order_by(Supervisor.name, Supervisor.id)
    ).tuples():
        supervisors[session_id].append((supervisor_id, name))
    dbs = {(row.school_id, row.supervisor_id): row for row in session.execute(
        select(DbsNote.school_id, DbsNote.supervisor_id, DbsNote.decision, DbsNote.recorded_at)
        .where(DbsNote.supervisor_id.in_(
            select(session_supervisors.c.supervisor_id).where(session_supervisors.c.session_id.in_(session_ids))))
    )}
    consents: dict[int, list[Any]] = defaultdict(list)
    for row in session.execute(
        select(ConsentRequest.booking_id, ConsentRequest.decision, ConsentRequest.responded_at,
               ConsentRequest.responder_name, ConsentRequest.sent_at, ConsentRequest.expires_at,
               ConsentRequest.superseded_at, ConsentRequest.parent_email)
        .where(ConsentRequest.booking_id.in_(booking_filter))
        .order_by(ConsentRequest.booking_id, ConsentRequest.sent_at, ConsentRequest.id)
    ):
        consents[row.booking_id].append(row)

    result = {}
    days_of_session: dict[int, tuple[dt.date, dt.date]] = {}  # many bookings share a session: convert once
    for b in bookings:
        span = days_of_session.get(b.session_id)
        if span is None:
            span = days_of_session[b.session_id] = (london_date(b.starts_at), london_date(b.ends_at))
        first_day, last_day = span
        age = age_on(b.date_of_birth, first_day)
        active = b.status in _ACTIVE and last_day >= today
        checklist = Checklist(b.id, b.school_id, b.employer_id, first_day, active)
        items = checklist.items

        ra = coverage.get(b.session_id)
        ra_due = first_day - _days(b.risk_assessment_due_days)
        if ra is None:
            items.append(Item(ComplianceKind.RISK_ASSESSMENT, ComplianceKind.RISK_ASSESSMENT.label,
                              due_status(False, ra_due, today), ra_due, "Not received from the employer", EMPLOYER))
        else:
            done = (ra.id, b.school_id) in reviewed
            how = "attested" if ra.kind == RiskAssessmentKind.ATTESTATION.value else "uploaded"
            detail = (f"Employer {how} on {_date(ra.created_at)}; reviewed by the school" if done
                      else f"Employer {how} on {_date(ra.created_at)}; the school must review it")
            items.append(Item(ComplianceKind.RISK_ASSESSMENT, ComplianceKind.RISK_ASSESSMENT.label,
                              due_status(done, ra_due, today), ra_due, detail, SCHOOL, ra.id))

        ins_due = first_day - _days(b.insurance_due_days)
        expiry = b.insurance_expiry
        if expiry is None:
            detail = "The employer has not recorded an expiry date"
        elif expiry >= last_day:
            detail = f"Valid until {_date(expiry)}"
        else:
            detail = f"Expires {_date(expiry)}, before the placement ends"
        items.append(Item(ComplianceKind.INSURANCE, ComplianceKind.INSURANCE.label,
                          due_status(expiry is not None and expiry >= last_day, ins_due, today), ins_due, detail,
                          EMPLOYER))

        dbs_due = first_day - _days(b.dbs_due_days)
        if age >= DBS_AGE:
            items.append(Item(ComplianceKind.DBS, ComplianceKind.DBS.label, ItemStatus.NOT_NEEDED, None,
                              f"The student is {DBS_AGE} or over on the first day", SCHOOL))
        elif not supervisors[b.session_id]:
            items.append(Item(ComplianceKind.DBS, ComplianceKind.DBS.label, due_status(False, dbs_due, today),
                              dbs_due, "The employer has not named a supervisor for this session", EMPLOYER))
        for supervisor_id, name in supervisors[b.session_id] if age < DBS_AGE else []:
            note = dbs.get((b.school_id, supervisor_id))
            detail = (f"{DbsDecision(note.decision).label}, recorded {_date(note.recorded_at)}" if note
                      else "No decision recorded")
            items.append(Item(ComplianceKind.DBS, f"{ComplianceKind.DBS.label}: {name}",
                              due_status(note is not None, dbs_due, today), dbs_due, detail, SCHOOL, supervisor_id))

        consent_due = first_day - _days(b.consent_due_days)
        if age >= CONSENT_AGE:
            items.append(Item(ComplianceKind.CONSENT, ComplianceKind.CONSENT.label, ItemStatus.NOT_NEEDED, None,
                              f"The student is {CONSENT_AGE} or over on the first day", SCHOOL))
        else:
            items.append(_consent_item(consents.get(b.id, []), consent_due, today))

        briefing_due = first_day - _days(b.briefing_due_days)
        items.append(Item(ComplianceKind.BRIEFING, ComplianceKind.BRIEFING.label,
                          due_status(b.briefed_at is not None, briefing_due, today), briefing_due,
                          f"Briefed on {_date(b.briefed_at)}" if b.briefed_at else "Not yet briefed", SCHOOL))
        result[b.id] = checklist
    return result


def _consent_item(requests: list[Any], due_on: dt.date, today: dt.date) -> Item:
    """The consent item from the booking's requests, oldest first: the latest answer counts."""
    answered = [r for r in requests if r.decision is not None]
    label = ComplianceKind.CONSENT.label
    if answered:
        latest = max(answered, key=lambda r: r.responded_at)
        when = f"{latest.responder_name}, {_date(latest.responded_at)}"
        if latest.decision == ConsentDecision.CONSENTED.value:
            return Item(ComplianceKind.CONSENT, label, ItemStatus.DONE, due_on, f"Consent given by {when}", SCHOOL)
        return Item(ComplianceKind.CONSENT, label, ItemStatus.DECLINED, due_on, f"Consent declined by {when}", SCHOOL)
    pending = [r for r in requests if r.superseded_at is None]
    detail = f"Requested on {_date(pending[-1].sent_at)}, no answer yet" if pending else "Not yet requested"
    return Item(ComplianceKind.CONSENT, label, due_status(False, due_on, today), due_on, detail, SCHOOL)


def at_risk_among(session: DbSession, booking_filter: Select[Any], today: dt.date) -> set[int]:
    """Which of the bookings the filter picks are at risk today."""
    return {b for b, c in checklists(session, booking_filter, today).items() if c.at_risk}


def at_risk_ids(session: DbSession, booking_ids: Collection[int], today: dt.date) -> set[int]:
    """Which of the given bookings (a page of a list) are at risk today."""
    return at_risk_among(session, bookings_by_id(booking_ids), today) if booking_ids else set()


def school_at_risk_count(session: DbSession, school_id: int, today: dt.date) -> int:
    """How many of the school's placements still to happen are at risk today."""
    return len(at_risk_among(session, select(Booking.id).where(Booking.school_id == school_id,
                                                               still_to_happen(today)), today))
