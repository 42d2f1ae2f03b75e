"""The weekly digest for each school's careers leader."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, or_, select

from portal.accounts.recipients import Directory
from portal.bookings.models import Booking
from portal.compliance.checklist import checklists, still_to_happen
from portal.core.batches import chunked
from portal.core.dates import (
    academic_year,
    academic_year_bounds,
    london_date,
    start_of_london_day,
)
from portal.core.vocab import (
    ReflectionStatus,
)
from portal.db import DbSession
from portal.organisations.models import School
from portal.reflections.models import Reflection
from portal.scheduler.jobs.common import (
    ACTIVE,
    COMPLETED,
    DIGEST_MAX_LINES,
    DIGEST_UPCOMING_DAYS,
    Counts,
    booking_details,
    details_for,
    email_link,
    link_context,
    max_due_days,
    send_mail,
)
from portal.scheduler.models import Notice
from portal.scheduler.notices import claim

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
    for chunk in chunked(sorted(set(pending))):
        sections = _digest_sections(session, chunk, now)
        names = dict(session.execute(select(School.id, School.name).where(School.id.in_(chunk))).tuples().all())
        wanted = {s: f"digest:{s}:{monday.isoformat()}" for s in chunk if any(sections[s].values())}
        won = claim(session, [{"key": key, "kind": "digest", "school_id": s} for s, key in wanted.items()])
        with link_context():
            links = (email_link("bookings.school_bookings"), email_link("reflections.school_reflections"))
        for school_id, key in sorted(wanted.items()):
            if key not in won:
                continue
            for recipient in directory.school_leads(school_id):
                send_mail(session, "weekly_digest", recipient, school_id=school_id, school_name=names[school_id],
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
        booking_details().where(Booking.school_id.in_(school_ids), Booking.status.in_(ACTIVE), Booking.starts_at >= now,
                         Booking.starts_at < start_of_london_day(today + dt.timedelta(days=DIGEST_UPCOMING_DAYS + 1)))
        .order_by(Booking.starts_at, Booking.id)
    ).all()
    for row in upcoming:
        sections[row.school_id]["upcoming"].append(row)

    horizon = today + dt.timedelta(days=max_due_days(session) + 1)
    lists = checklists(session, select(Booking.id).where(
        Booking.school_id.in_(school_ids), still_to_happen(today), Booking.starts_at < start_of_london_day(horizon)),
        today)
    risky = sorted((c for c in lists.values() if c.at_risk), key=lambda c: (c.first_day, c.booking_id))
    details = details_for(session, {c.booking_id for c in risky})
    with link_context():
        for checklist in risky:
            row = details[checklist.booking_id]
            sections[row.school_id]["at_risk"].append(
                {"row": row, "risks": checklist.risks,
                 "link": email_link("bookings.school_booking", booking_id=row.booking_id)})

    year_start = start_of_london_day(academic_year_bounds(academic_year(today))[0])
    outstanding = session.execute(
        booking_details().add_columns(School.reflection_flag_days)
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
