"""Compliance: reminders before an item is due, and one escalation when a placement is at risk."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app
from sqlalchemy import Select, select

from portal.accounts.recipients import Directory
from portal.bookings.models import Booking
from portal.compliance.checklist import Checklist, checklists
from portal.core.dates import (
    london_date,
    start_of_london_day,
)
from portal.core.vocab import (
    ItemStatus,
)
from portal.db import DbSession
from portal.scheduler.jobs.common import (
    ACTIVE,
    Counts,
    Mailbag,
    Wanted,
    claim_wanted,
    details_for,
    email_link,
    link_context,
    max_due_days,
)
from portal.scheduler.notices import existing_keys

# --- compliance: reminders before a due day, one escalation when at risk ----------------------


def compliance_filter(session: DbSession, today: dt.date, reminder_days: int) -> Select[Any]:
    """Active bookings not yet over whose first day is close enough for an item to be due soon or overdue."""
    horizon = today + dt.timedelta(days=max_due_days(session) + reminder_days + 1)
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
    details = details_for(session, {c.booking_id for _, c, _ in due_soon})
    directory = Directory.load(session, school_ids={c.school_id for _, c, _ in due_soon},
                               employer_ids={c.employer_id for _, c, _ in due_soon})
    wanted = []
    for key, checklist, item in due_soon:
        row = details[checklist.booking_id]
        recipients = (directory.employer(checklist.employer_id) if item.employer_acts
                      else directory.booking_staff(checklist.school_id, row.requested_by_id))
        wanted.append((Wanted(key, "compliance", row, item.kind.value, recipients), item))
    won = {w.key for w in claim_wanted(session, [w for w, _ in wanted])}

    employers = Mailbag("checks_due_employer")
    schools = Mailbag("checks_due_school")
    with link_context():
        for w, item in wanted:
            if w.key not in won:
                continue
            row = w.row
            if item.employer_acts:
                employers.add(w.recipients, employer_id=row.employer_id, row=row, item=item,
                              link=email_link("bookings.employer_booking", booking_id=row.booking_id))
            else:
                schools.add(w.recipients, school_id=row.school_id, row=row, item=item,
                            link=email_link("bookings.school_booking", booking_id=row.booking_id))
    emails = employers.send(session) + schools.send(session)
    return {"compliance_reminders": len(won), "emails_queued": emails}


def escalations(session: DbSession, now: dt.datetime, lists: dict[int, Checklist],
                done: set[str] | frozenset[str] = frozenset()) -> Counts:
    """Each booking that is at risk is escalated to the careers leader (or all staff) once, ever."""
    at_risk = [c for c in lists.values() if c.at_risk and f"escalation:{c.booking_id}" not in done]
    if not at_risk:
        return {"escalations": 0}
    details = details_for(session, {c.booking_id for c in at_risk})
    directory = Directory.load(session, school_ids={c.school_id for c in at_risk})
    wanted = [(Wanted(f"escalation:{c.booking_id}", "escalation", details[c.booking_id], "escalation",
                       directory.school_leads(c.school_id)), c) for c in at_risk]
    won = {w.key for w in claim_wanted(session, [w for w, _ in wanted])}
    mail = Mailbag("placements_at_risk")
    with link_context():
        for w, checklist in sorted(wanted, key=lambda pair: (pair[1].first_day, pair[1].booking_id)):
            if w.key not in won:
                continue
            row = w.row
            mail.add(w.recipients, school_id=row.school_id, row=row, risks=checklist.risks,
                     link=email_link("bookings.school_booking", booking_id=row.booking_id))
    return {"escalations": len(won), "emails_queued": mail.send(session)}
