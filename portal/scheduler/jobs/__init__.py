"""The scheduler's jobs: plain functions `job(session, now) -> counts` that never commit, one module per family.

Each job finds its candidates with a few set-based queries, claims a unique key per reminder
(portal.scheduler.notices.claim), and queues emails only for the keys it claimed, all in the
caller's one transaction. Days are London calendar days (portal.core.dates), so a deadline moves
with the calendar, not with 24-hour periods, across the clock changes.
"""

from __future__ import annotations

from portal.scheduler.jobs.adjustments import adjustment_follow_ups
from portal.scheduler.jobs.common import Counts, Job, latest_step, months_before
from portal.scheduler.jobs.completion import complete_ended_bookings
from portal.scheduler.jobs.compliance import (
    compliance_and_escalations,
    compliance_filter,
    compliance_reminders,
    escalations,
)
from portal.scheduler.jobs.delivery import deliver_outbox
from portal.scheduler.jobs.digest import weekly_digest
from portal.scheduler.jobs.follow_ups import feedback_requests, reflection_prompts
from portal.scheduler.jobs.insurance import insurance_reminders
from portal.scheduler.jobs.retention import purge_dbs_details, purge_leavers

__all__ = [
    "JOBS", "Counts", "adjustment_follow_ups", "Job", "complete_ended_bookings", "compliance_and_escalations", "compliance_filter",
    "compliance_reminders", "deliver_outbox", "escalations", "feedback_requests", "insurance_reminders",
    "latest_step", "months_before", "purge_dbs_details", "purge_leavers", "reflection_prompts", "weekly_digest",
]

# The order a tick runs them in: completion first, so a session that just ended is prompted at once.
JOBS: list[tuple[str, Job]] = [
    ("complete_ended_bookings", complete_ended_bookings),
    ("reflection_prompts", reflection_prompts),
    ("feedback_requests", feedback_requests),
    ("compliance_and_escalations", compliance_and_escalations),
    ("insurance_reminders", insurance_reminders),
    ("adjustment_follow_ups", adjustment_follow_ups),
    ("weekly_digest", weekly_digest),
    ("purge_dbs_details", purge_dbs_details),
    ("purge_leavers", purge_leavers),
    ("deliver_outbox", deliver_outbox),
]
