"""Adjustment requests: employers reminded after 3 days without an answer, requests lapsed (and the asker told) at 5;
posted needs lapse (and the school is told) after their expiry day."""

from __future__ import annotations

import datetime as dt

from portal.adjustments.needs import lapse
from portal.adjustments.services import remind_and_lapse
from portal.db import DbSession
from portal.scheduler.jobs.common import Counts


def adjustment_follow_ups(session: DbSession, now: dt.datetime) -> Counts:
    """Remind and lapse unanswered requests, and lapse posted needs past their day; each is claimed by one
    conditional UPDATE, so no tick repeats another."""
    return {**remind_and_lapse(session, now), "needs_lapsed": lapse(session, now)}
