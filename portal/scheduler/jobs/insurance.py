"""Reminders before an employer's liability insurance expires."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from portal.accounts.recipients import Directory
from portal.core.dates import (
    london_date,
)
from portal.db import DbSession
from portal.organisations.models import Employer
from portal.scheduler.jobs.common import (
    INSURANCE_STEPS,
    Counts,
    email_link,
    link_context,
    send_mail,
    taken_keys,
)
from portal.scheduler.notices import claim

# --- insurance -------------------------------------------------------------------------------


def insurance_reminders(session: DbSession, now: dt.datetime) -> Counts:
    """Employers are reminded 30 and 7 days before their liability insurance expires (the latest due step only)."""
    today = london_date(now)
    rows = session.execute(
        select(Employer.id, Employer.name, Employer.insurance_expiry)
        .where(Employer.insurance_expiry >= today,
               Employer.insurance_expiry <= today + dt.timedelta(days=max(INSURANCE_STEPS)))
    ).all()
    if not rows:
        return {"insurance_reminders": 0}
    candidates = {}
    for employer_id, name, expiry in rows:
        step = next(days for days in INSURANCE_STEPS if today >= expiry - dt.timedelta(days=days))
        candidates[f"insurance:{employer_id}:{expiry.isoformat()}:{step}"] = (employer_id, name, expiry)
    done = taken_keys(session, candidates)
    directory = Directory.load(session, employer_ids={e for e, _, _ in candidates.values()})
    wanted = {key: value for key, value in candidates.items() if key not in done and directory.employer(value[0])}
    won = claim(session, [{"key": key, "kind": "insurance", "employer_id": employer_id}
                          for key, (employer_id, _, _) in wanted.items()])
    sent = 0
    with link_context():
        link = email_link("offers.profile_edit")
    for key in sorted(won):
        employer_id, name, expiry = wanted[key]
        for recipient in directory.employer(employer_id):
            send_mail(session, "insurance_expiring", recipient, employer_id=employer_id, name=name, expiry=expiry,
                   days=(expiry - today).days, link=link)
            sent += 1
    return {"insurance_reminders": len(won), "emails_queued": sent}
