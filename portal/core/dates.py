"""Europe/London display, academic years and day counting across clock changes."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


def to_london(moment: dt.datetime) -> dt.datetime:
    """Convert an aware datetime to Europe/London local time."""
    return moment.astimezone(LONDON)


def london_date(moment: dt.datetime) -> dt.date:
    """Return the calendar date in Europe/London of an aware datetime."""
    return to_london(moment).date()


def local_to_utc(local: dt.datetime) -> dt.datetime:
    """Interpret a naive wall-clock time as Europe/London and return it in UTC."""
    if local.tzinfo is not None:
        return local.astimezone(dt.UTC)
    return local.replace(tzinfo=LONDON).astimezone(dt.UTC)


def start_of_london_day(day: dt.date) -> dt.datetime:
    """Return midnight at the start of a Europe/London calendar day, in UTC."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=LONDON).astimezone(dt.UTC)


def academic_year(day: dt.date) -> int:
    """Return the academic year (1 September to 31 August) a date falls in, named by its first year."""
    return day.year if day.month >= 9 else day.year - 1


def academic_year_bounds(year: int) -> tuple[dt.date, dt.date]:
    """Return the first and last day of academic year `year` (1 Sep year to 31 Aug year+1)."""
    return dt.date(year, 9, 1), dt.date(year + 1, 8, 31)


def academic_year_label(year: int) -> str:
    """Return '2026/27' for 2026."""
    return f"{year}/{str(year + 1)[-2:]}"


def format_date(value: dt.date | dt.datetime | None) -> str:
    """Format a date (or an aware datetime, in London time) as '5 March 2027'."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = london_date(value)
    return f"{value.day} {value:%B %Y}"


def format_datetime(value: dt.datetime | None) -> str:
    """Format an aware datetime in London time as '5 March 2027, 9:30am'."""
    if value is None:
        return ""
    local = to_london(value)
    hour = local.hour % 12 or 12
    return f"{local.day} {local:%B %Y}, {hour}:{local:%M}{'am' if local.hour < 12 else 'pm'}"
