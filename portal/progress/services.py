"""Gatsby Benchmarks 5 and 6: who has met what, computed in a few grouped queries. Never commits.

Rules (PRODUCT.md, "Benchmark rules the product computes"):
- Academic years run 1 September to 31 August (Europe/London dates); year `Y` starts on 1 September of `Y`.
- A student's year group in a past academic year is their roster year group now minus the number of academic
  years between then and now (a student in Year 10 in 2026/27 was in Year 8 in 2024/25).
- BM5, per academic year from Year 7: met when the student has at least one meaningful encounter that year
  (two at a college).
- BM6 by 16: a workplace experience in Years 7 to 11; BM6 by 18: a further one in Years 12 to 13 (shown only
  for students in Years 12 and 13).
- Attended: a completed booking or an encounter logged as attended. Meaningful: attended and debriefed
  (reflection submitted or staff debrief recorded; for a logged encounter, debriefed = yes).
Only activity up to the end of the chosen academic year counts, so a past year's figures do not change later.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select

from portal.bookings.models import Booking
from portal.core.dates import academic_year, academic_year_bounds, start_of_london_day
from portal.core.vocab import (
    WORKPLACE_ACTIVITIES,
    BookingStatus,
    ReflectionStatus,
    SchoolType,
    SendStatus,
)
from portal.db import DbSession
from portal.offers.models import Offer, OfferSession
from portal.organisations.models import School, Student
from portal.reflections.models import (
    EncounterAttendance,
    EncounterLog,
    Reflection,
)

FIRST_YEAR_GROUP, LAST_YEAR_GROUP = 7, 13
BY_16_YEARS = range(7, 12)
BY_18_YEARS = range(12, 14)
GAP_THRESHOLD = 5.0  # percentage points behind "all others" that the pages highlight

MEASURES = {
    "bm5_attended": "BM5 this year: attended",
    "bm5_meaningful": "BM5 this year: meaningful",
    "bm6_16_attended": "BM6 by 16: attended",
    "bm6_16_meaningful": "BM6 by 16: meaningful",
    "bm6_18_attended": "BM6 by 18: attended",
    "bm6_18_meaningful": "BM6 by 18: meaningful",
}
EQUITY_GROUPS = {
    "sen_support": "SEN support",
    "ehcp": "EHCP",
    "disadvantaged": "Disadvantaged",
    "others": "All others",
}


@dataclass
class YearCounts:
    """Attended and meaningful activity of one student in one academic year."""

    encounters: int = 0
    meaningful_encounters: int = 0
    workplace: int = 0
    meaningful_workplace: int = 0


@dataclass
class StudentProgress:
    """One student's benchmark status in the chosen academic year, with the years that led to it."""

    id: int
    student_ref: str
    name: str
    year_group: int  # in the chosen academic year
    send_status: str
    disadvantaged: bool
    bm5_attended: bool
    bm5_meaningful: bool
    bm6_16_attended: bool
    bm6_16_meaningful: bool
    bm6_18_attended: bool | None  # None: not in Years 12-13
    bm6_18_meaningful: bool | None
    this_year: YearCounts
    # academic year -> (year group, BM5 attended, BM5 meaningful), from Year 7 to the chosen year
    bm5_history: dict[int, tuple[int, bool, bool]] = field(default_factory=dict)

    @property
    def equity_groups(self) -> list[str]:
        """The equity groups the student is counted in ("others" when none)."""
        groups = []
        if self.send_status == SendStatus.SEN_SUPPORT.value:
            groups.append("sen_support")
        if self.send_status == SendStatus.EHCP.value:
            groups.append("ehcp")
        if self.disadvantaged:
            groups.append("disadvantaged")
        return groups or ["others"]

    @property
    def nothing_this_year(self) -> bool:
        """No attended encounter or experience at all in the chosen year."""
        return self.this_year.encounters == 0

    def measure(self, name: str) -> bool | None:
        """A measure's value for this student (None when it does not apply)."""
        value: bool | None = getattr(self, name)
        return value


@dataclass
class Share:
    """How many of how many students meet a measure."""

    met: int = 0
    total: int = 0

    @property
    def percent(self) -> float | None:
        """The share in per cent, one decimal (None when nobody is counted)."""
        return round(100.0 * self.met / self.total, 1) if self.total else None

    def as_dict(self) -> dict[str, Any]:
        """Plain form for JSON."""
        return {"met": self.met, "total": self.total, "percent": self.percent}


@dataclass
class SchoolProgress:
    """A school's figures for one academic year: per student, by year group and by equity group."""

    school_id: int
    academic_year: int
    college: bool
    students: list[StudentProgress]
    overall: dict[str, Share]
    by_year: dict[int, dict[str, Share]]
    by_group: dict[str, dict[str, Share]]

    def gap(self, group: str, measure: str) -> float | None:
        """Percentage points the group is ahead (+) or behind (-) all others on a measure."""
        mine, others = self.by_group[group][measure].percent, self.by_group["others"][measure].percent
        if mine is None or others is None or group == "others":
            return None
        return round(mine - others, 1)

    def gap_highlighted(self, group: str, measure: str) -> bool:
        """Whether the group is far enough behind all others to be highlighted."""
        gap = self.gap(group, measure)
        return gap is not None and gap <= -GAP_THRESHOLD

    def students_behind(self, measure: str, *, group: str | None = None, year_group: int | None = None,
                        met: bool | None = None) -> list[StudentProgress]:
        """The students behind a figure: those counted in it, optionally only those who met it or did not."""
        chosen = []
        for student in self.students:
            value = student.measure(measure)
            if value is None:
                continue
            if group is not None and group not in student.equity_groups:
                continue
            if year_group is not None and student.year_group != year_group:
                continue
            if met is not None and value != met:
                continue
            chosen.append(student)
        return chosen

    @property
    def nothing_this_year(self) -> list[StudentProgress]:
        """Students with no attended encounter or experience yet this academic year."""
        return [s for s in self.students if s.nothing_this_year]

    def totals_dict(self) -> dict[str, Any]:
        """School totals as plain data (the JSON the CLI prints and the page shows)."""
        return {
            "academic_year": self.academic_year,
            "students": len(self.students),
            "nothing_this_year": len(self.nothing_this_year),
            "overall": {m: s.as_dict() for m, s in self.overall.items()},
            "by_year_group": {str(y): {m: s.as_dict() for m, s in row.items()} for y, row in self.by_year.items()},
            "by_group": {g: {m: s.as_dict() for m, s in row.items()} for g, row in self.by_group.items()},
            "gaps": {g: {m: self.gap(g, m) for m in MEASURES} for g in EQUITY_GROUPS if g != "others"},
        }


def student_row(student: StudentProgress) -> dict[str, Any]:
    """One student's figures as plain data (JSON and CSV)."""
    return {
        "student_ref": student.student_ref, "name": student.name, "year_group": student.year_group,
        "send_status": student.send_status, "disadvantaged": student.disadvantaged,
        **{m: student.measure(m) for m in MEASURES},
        "encounters_this_year": student.this_year.encounters,
        "meaningful_encounters_this_year": student.this_year.meaningful_encounters,
        "bm5_history": {str(y): {"year_group": yg, "attended": a, "meaningful": m}
                        for y, (yg, a, m) in sorted(student.bm5_history.items())},
    }


def year_group_in(current_year_group: int, current_academic_year: int, academic_year_wanted: int) -> int:
    """A student's year group in another academic year, from their year group now."""
    return current_year_group - (current_academic_year - academic_year_wanted)


def _year_case(column: Any, years: list[int], *, instants: bool) -> Any:
    """SQL CASE giving the academic year a date (or a UTC instant, by London days) falls in; NULL outside `years`."""
    whens = []
    for year in sorted(years, reverse=True):
        first, last = academic_year_bounds(year)
        if instants:
            start, end = start_of_london_day(first), start_of_london_day(last + dt.timedelta(days=1))
            whens.append((and_(column >= start, column < end), literal(year)))
        else:
            whens.append((and_(column >= first, column <= last), literal(year)))
    return case(*whens, else_=None)


def compute_school_progress(session: DbSession, school: School, year: int, *, today: dt.date) -> SchoolProgress:
    """Every on-roll student's BM5/BM6 status in academic year `year`, and the school's shares.

    Three queries: the roster, completed bookings grouped by student, year and kind, and logged encounters
    grouped the same way. Year groups are read from today's roster (see the module docstring).
    """
    now_year = academic_year(today)
    college = school.school_type == SchoolType.COLLEGE.value
    need = 2 if college else 1
    years = list(range(year - (LAST_YEAR_GROUP - FIRST_YEAR_GROUP), year + 1))

    roster = session.execute(
        select(Student.id, Student.student_ref, Student.first_name, Student.last_name, Student.year_group,
               Student.send_status, Student.disadvantaged)
        .where(Student.school_id == school.id, Student.left_on.is_(None))
        .order_by(Student.year_group, Student.last_name, Student.first_name, Student.id)
    ).all()

    counts: dict[int, dict[int, YearCounts]] = defaultdict(lambda: defaultdict(YearCounts))

    workplace_codes = sorted(a.value for a in WORKPLACE_ACTIVITIES)
    booking_year = _year_case(Booking.starts_at, years, instants=True)
    booking_workplace = case((Offer.activity_type.in_(workplace_codes), 1), else_=0)
    debriefed = or_(Reflection.status == ReflectionStatus.SUBMITTED.value, Reflection.debriefed_at.is_not(None))
    # Each kind of activity is labelled in a subquery and grouped outside it: PostgreSQL cannot match a GROUP BY
    # CASE with bound parameters to the same CASE in the select list.
    booked = (
        select(Booking.student_id.label("student_id"), booking_year.label("in_year"),
               booking_workplace.label("workplace"), case((debriefed, 1), else_=0).label("meaningful"))
        .join(OfferSession, OfferSession.id == Booking.session_id)
        .join(Offer, Offer.id == OfferSession.offer_id)
        .outerjoin(Reflection, Reflection.booking_id == Booking.id)
        .where(Booking.school_id == school.id, Booking.status == BookingStatus.COMPLETED.value)
        .subquery()
    )
    log_year = _year_case(EncounterLog.held_on, years, instants=False)
    log_workplace = case((EncounterLog.activity_type.in_(workplace_codes), 1), else_=0)
    logged = (
        select(EncounterAttendance.student_id.label("student_id"), log_year.label("in_year"),
               log_workplace.label("workplace"), case((EncounterAttendance.debriefed, 1), else_=0).label("meaningful"))
        .join(EncounterLog, EncounterLog.id == EncounterAttendance.log_id)
        .where(EncounterLog.school_id == school.id, EncounterAttendance.attended)
        .subquery()
    )
    grouped: list[Any] = []
    for source in (booked, logged):
        grouped += session.execute(
            select(source.c.student_id, source.c.in_year, source.c.workplace, func.count(), func.sum(source.c.meaningful))
            .where(source.c.in_year.is_not(None))
            .group_by(source.c.student_id, source.c.in_year, source.c.workplace)
        ).all()

    for student_id, in_year, workplace, attended, meaningful in grouped:
        tally = counts[student_id][int(in_year)]
        tally.encounters += attended
        meaningful = int(meaningful or 0)
        tally.meaningful_encounters += meaningful
        if workplace:
            tally.workplace += attended
            tally.meaningful_workplace += meaningful

    students = []
    for sid, ref, first, last, current_year_group, send_status, disadvantaged in roster:
        year_group = year_group_in(current_year_group, now_year, year)
        if not FIRST_YEAR_GROUP <= year_group <= LAST_YEAR_GROUP:
            continue
        mine = counts.get(sid, {})
        history = {}
        by16 = [False, False]
        by18 = [False, False]
        for past in years:
            past_year_group = year_group_in(current_year_group, now_year, past)
            if past_year_group < FIRST_YEAR_GROUP:
                continue
            tally = mine.get(past, YearCounts())
            history[past] = (past_year_group, tally.encounters >= need, tally.meaningful_encounters >= need)
            target = by16 if past_year_group in BY_16_YEARS else by18 if past_year_group in BY_18_YEARS else None
            if target is not None:
                target[0] = target[0] or tally.workplace > 0
                target[1] = target[1] or tally.meaningful_workplace > 0
        this_year = mine.get(year, YearCounts())
        sixth_form = year_group in BY_18_YEARS
        students.append(StudentProgress(
            id=sid, student_ref=ref, name=f"{first} {last}", year_group=year_group, send_status=send_status,
            disadvantaged=bool(disadvantaged),
            bm5_attended=this_year.encounters >= need, bm5_meaningful=this_year.meaningful_encounters >= need,
            bm6_16_attended=by16[0], bm6_16_meaningful=by16[1],
            bm6_18_attended=by18[0] if sixth_form else None, bm6_18_meaningful=by18[1] if sixth_form else None,
            this_year=this_year, bm5_history=history,
        ))

    overall = {m: Share() for m in MEASURES}
    by_year: dict[int, dict[str, Share]] = {}
    by_group = {g: {m: Share() for m in MEASURES} for g in EQUITY_GROUPS}
    for student in students:
        row = by_year.setdefault(student.year_group, {m: Share() for m in MEASURES})
        for measure in MEASURES:
            value = student.measure(measure)
            if value is None:
                continue
            shares = [overall[measure], row[measure]] + [by_group[g][measure] for g in student.equity_groups]
            for share in shares:
                share.total += 1
                share.met += int(value)
    return SchoolProgress(school_id=school.id, academic_year=year, college=college, students=students,
                          overall=overall, by_year=dict(sorted(by_year.items())), by_group=by_group)


@dataclass(frozen=True)
class Activity:
    """One attended encounter or experience of a student, as it counts towards the benchmarks."""

    day: dt.date
    academic_year: int
    year_group: int
    activity_type: str
    title: str
    employer: str
    workplace: bool
    meaningful: bool
    source: str  # "booking" or "logged"


def student_activities(session: DbSession, student: Student, *, today: dt.date) -> list[Activity]:
    """Every attended encounter and experience of the student, oldest first (two queries)."""
    from portal.core.dates import london_date
    from portal.organisations.models import Employer

    now_year = academic_year(today)
    workplace = {a.value for a in WORKPLACE_ACTIVITIES}
    found = []
    booked = session.execute(
        select(Booking.starts_at, Offer.activity_type, Offer.title, Employer.name, Reflection.status,
               Reflection.debriefed_at)
        .join(OfferSession, OfferSession.id == Booking.session_id)
        .join(Offer, Offer.id == OfferSession.offer_id)
        .join(Employer, Employer.id == Offer.employer_id)
        .outerjoin(Reflection, Reflection.booking_id == Booking.id)
        .where(Booking.student_id == student.id, Booking.status == BookingStatus.COMPLETED.value)
    ).all()
    for starts_at, activity, title, employer, status, debriefed_at in booked:
        day = london_date(starts_at)
        year = academic_year(day)
        found.append(Activity(day, year, year_group_in(student.year_group, now_year, year), activity, title, employer,
                              activity in workplace,
                              status == ReflectionStatus.SUBMITTED.value or debriefed_at is not None, "booking"))
    logged = session.execute(
        select(EncounterLog.held_on, EncounterLog.activity_type, EncounterLog.employer_name,
               EncounterAttendance.debriefed)
        .join(EncounterAttendance, EncounterAttendance.log_id == EncounterLog.id)
        .where(EncounterAttendance.student_id == student.id, EncounterAttendance.attended,
               EncounterLog.school_id == student.school_id)
    ).all()
    for day, activity, employer, debriefed in logged:
        year = academic_year(day)
        found.append(Activity(day, year, year_group_in(student.year_group, now_year, year), activity, "", employer,
                              activity in workplace, bool(debriefed), "logged"))
    return sorted(found, key=lambda a: (a.day, a.employer))
