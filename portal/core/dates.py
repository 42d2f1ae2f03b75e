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


# Bank holidays in England and Wales (gov.uk), for booking warnings.
BANK_HOLIDAYS_ENGLAND_WALES = frozenset(dt.date.fromisoformat(d) for d in (
    "2026-01-01", "2026-04-03", "2026-04-06", "2026-05-04", "2026-05-25", "2026-08-31", "2026-12-25", "2026-12-28",
    "2027-01-01", "2027-03-26", "2027-03-29", "2027-05-03", "2027-05-31", "2027-08-30", "2027-12-27", "2027-12-28",
    "2028-01-03", "2028-04-14", "2028-04-17", "2028-05-01", "2028-05-29", "2028-08-28", "2028-12-25", "2028-12-26",
))


def day_warning(moment: dt.datetime) -> str | None:
    """'Saturday' / 'a bank holiday' when a session falls on a day schools are usually closed."""
    day = london_date(moment)
    if day in BANK_HOLIDAYS_ENGLAND_WALES:
        return "This is a bank holiday"
    if day.weekday() >= 5:
        return f"This is a {day:%A}"
    return None
