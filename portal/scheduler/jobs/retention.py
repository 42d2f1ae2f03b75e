"""Data retention: DBS certificate details and leavers' records are removed on time."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, update

from portal.compliance.models import DbsNote
from portal.core.dates import (
    london_date,
    start_of_london_day,
)
from portal.core.vocab import (
    DbsDecision,
)
from portal.db import DbSession
from portal.organisations.models import Student
from portal.scheduler.jobs.common import (
    DBS_PURGE_MONTHS,
    Counts,
    audit_rows,
    months_before,
)

# --- DBS certificate details -----------------------------------------------------------------


def purge_dbs_details(session: DbSession, now: dt.datetime) -> Counts:
    """Certificate details of "checked" DBS notes are erased 6 calendar months after they were recorded; the decision and its date stay."""
    cutoff = start_of_london_day(months_before(london_date(now), DBS_PURGE_MONTHS))
    rows = session.execute(
        update(DbsNote)
        .where(DbsNote.decision == DbsDecision.CHECKED.value, DbsNote.details_purged_at.is_(None),
               DbsNote.recorded_at < cutoff)
        .values(level=None, issued_on=None, certificate_last4=None, update_service_checked=None,
                details_purged_at=now)
        .returning(DbsNote.id, DbsNote.school_id)
        .execution_options(synchronize_session=False)
    ).all()
    audit_rows(session, "dbs_details_purged", "dbs_note", rows, "certificate details purged after 6 months")
    return {"dbs_details_purged": len(rows)}


LEAVER_RETENTION_MONTHS = 36  # records kept while on roll plus 3 years (destinations), then removed


def purge_leavers(session: DbSession, now: dt.datetime) -> Counts:
    """Students who left more than 3 years ago are removed with everything about them (UK GDPR retention).

    One DELETE; the database's cascades remove their bookings, reflections, consent requests, sign-in and
    encounter attendance. The audit log keeps only the id and the school, never a name.
    """
    cutoff = months_before(london_date(now), LEAVER_RETENTION_MONTHS)
    rows = session.execute(
        delete(Student).where(Student.left_on.is_not(None), Student.left_on < cutoff)
        .returning(Student.id, Student.school_id)
        .execution_options(synchronize_session=False)
    ).all()
    audit_rows(session, "student_removed", "student", rows, "left more than 3 years ago (retention)")
    return {"leavers_removed": len(rows)}
