"""What the scheduler's jobs share: timings, links, the rows an email is about, claimed notices, mail."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask import current_app, has_request_context
from sqlalchemy import Row, Select, and_, func, select
from sqlalchemy.orm import aliased

from portal.accounts.models import User
from portal.bookings.models import Booking
from portal.core import audit
from portal.core.batches import chunked
from portal.core.dates import (
    format_date,
    start_of_london_day,
)
from portal.core.links import absolute_url
from portal.core.notify import notify
from portal.core.vocab import (
    ACTIVE_BOOKING_STATUSES,
    BookingStatus,
)
from portal.db import DbSession
from portal.offers.models import Offer, OfferSession
from portal.organisations.models import Employer, School, Student
from portal.scheduler.models import Notice
from portal.scheduler.notices import claim

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


def audit_rows(session: DbSession, action: str, object_type: str, rows: Iterable[Row[Any]], detail: str = "") -> None:
    """Add one audit row per (id, school_id) row, in bulk, by the system."""
    audit.record_many(session, action, object_type, ((row[0], row[1], detail) for row in rows))


@contextmanager
def link_context() -> Iterator[None]:
    """One request context for building many absolute links (rather than one per link)."""
    if has_request_context():
        yield
        return
    with current_app.test_request_context():
        yield


def email_link(endpoint: str, **values: Any) -> str:
    """An absolute link for an email."""
    return absolute_url(endpoint, **values)


def max_due_days(session: DbSession) -> int:
    """The longest compliance deadline any school has set (bounds the compliance sweep)."""
    row = session.execute(select(
        func.max(School.risk_assessment_due_days), func.max(School.insurance_due_days),
        func.max(School.dbs_due_days), func.max(School.consent_due_days), func.max(School.briefing_due_days),
    )).one()
    return max((v for v in row if v is not None), default=0)


def follow_up_since(session: DbSession, today: dt.date) -> dt.datetime:
    """Start of the window of ended placements still followed up (the longest flag delay plus a margin)."""
    flag_days = session.scalar(select(func.max(School.reflection_flag_days))) or 14
    return start_of_london_day(today - dt.timedelta(days=flag_days + FOLLOW_UP_MARGIN_DAYS))


def taken_keys(session: DbSession, keys: Iterable[str]) -> set[str]:
    """Which of the keys are already recorded."""
    taken: set[str] = set()
    for chunk in chunked(sorted(keys)):
        taken.update(session.scalars(select(Notice.key).where(Notice.key.in_(list(chunk)))))
    return taken



# --- mail and the rows it is about ---------------------------------------------------------


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
            send_mail(session, self.template, recipient, school_id=school_id, employer_id=employer_id,
                      items=self.items[recipient])
        return len(self.items)


def booking_details() -> Select[Any]:
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


def details_for(session: DbSession, booking_ids: Iterable[int]) -> dict[int, Row[Any]]:
    """Details of the given bookings, a thousand ids per query."""
    result: dict[int, Row[Any]] = {}
    for chunk in chunked(sorted(set(booking_ids))):
        for row in session.execute(booking_details().where(Booking.id.in_(chunk))):
            result[row.booking_id] = row
    return result


def student_address(row: Row[Any]) -> str | None:
    """The student's sign-in email, else the school's record of it."""
    return row.user_email or row.student_email or None


def placement(row: Row[Any]) -> str:
    """'Offer title with Employer on 5 March 2027'."""
    return f"{row.offer_title} with {row.employer_name} on {format_date(row.starts_at)}"


@dataclass
class Wanted:
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


def claim_wanted(session: DbSession, wanted: list[Wanted]) -> list[Wanted]:
    """Claim the keys of the notices that have someone to go to; return those this call won."""
    wanted = [w for w in wanted if w.recipients]
    won = claim(session, [w.notice() for w in wanted])
    return [w for w in wanted if w.key in won]




def send_mail(session: DbSession, template: str, recipient: str, *, school_id: int | None = None,
              employer_id: int | None = None, **context: Any) -> None:
    """Queue one templated email (every job sends through here)."""
    notify(session, template, recipient, school_id=school_id, employer_id=employer_id, **context)
