"""Roster and organisation rules: adding students, vetting employers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, select

from portal.accounts.models import User
from portal.core import audit
from portal.core.ids import get_stored
from portal.core.refusals import FieldRefusal
from portal.core.vocab import VettingStatus
from portal.db import DbSession, utcnow
from portal.organisations.models import Employer, School, Student, StudentInterest, StudentNeed


class RosterError(FieldRefusal):
    """A roster rule was broken; the message is for the person, field names the form field."""

    code_for_class = "roster_refused"


@dataclass
class StudentDetails:
    """Everything the school records about a student."""

    student_ref: str
    first_name: str
    last_name: str
    year_group: int
    date_of_birth: dt.date
    send_status: str
    disadvantaged: bool
    upn: str | None = None
    tutor_group: str | None = None
    email: str | None = None
    needs: list[str] = field(default_factory=list)
    interests: list[str] = field(default_factory=list)
    supporting_adult: str | None = None  # a SupportingAdultRole code


def _check_unique_ref(session: DbSession, school: School, ref: str, student_id: int | None) -> None:
    """A student reference is unique within its school."""
    clash = session.scalars(
        select(Student.id).where(Student.school_id == school.id, Student.student_ref == ref)
    ).first()
    if clash is not None and clash != student_id:
        raise RosterError("Another student at your school already has this reference", "student_ref")


def apply_details(student: Student, details: StudentDetails) -> None:
    """Copy the details onto the student, replacing needs and interests as sets."""
    student.student_ref = details.student_ref
    student.first_name = details.first_name
    student.last_name = details.last_name
    student.year_group = details.year_group
    student.date_of_birth = details.date_of_birth
    student.send_status = details.send_status
    student.disadvantaged = details.disadvantaged
    student.upn = details.upn or None
    student.tutor_group = details.tutor_group or None
    student.email = details.email or None
    student.supporting_adult = details.supporting_adult or None
    wanted_needs = sorted(set(details.needs))
    if student.need_codes != wanted_needs:
        student.needs = [StudentNeed(need=code) for code in wanted_needs]
    wanted_interests = sorted(set(details.interests))
    if student.interest_codes != wanted_interests:
        student.interests = [StudentInterest(sector=code) for code in wanted_interests]


def add_student(session: DbSession, school: School, details: StudentDetails) -> Student:
    """Add a student to the school's roster."""
    _check_unique_ref(session, school, details.student_ref, None)
    student = Student(school_id=school.id)
    student.school = school
    apply_details(student, details)
    session.add(student)
    session.flush()
    audit.record(session, "student_created", "student", student.id, school_id=school.id)
    return student


def update_student(session: DbSession, student: Student, details: StudentDetails) -> None:
    """Change a student's details."""
    _check_unique_ref(session, student.school, details.student_ref, student.id)
    apply_details(student, details)
    audit.record(session, "student_updated", "student", student.id, school_id=student.school_id)


def record_special_category_view(session: DbSession, student: Student, what: str = "send_and_needs") -> None:
    """Audit a member of staff seeing a student's SEND status, needs or disadvantage."""
    audit.record(session, "viewed_special_category", "student", student.id,
                 school_id=student.school_id, detail=what)


def vet_employer(session: DbSession, coordinator: User, employer: Employer, status: VettingStatus) -> bool:
    """Set an employer's vetting status; returns False when it already had that status."""
    if employer.vetting_status == status.value:
        return False
    employer.vetting_status = status.value
    employer.vetted_at = utcnow() if status is VettingStatus.VETTED else None
    employer.vetted_by_id = coordinator.id
    audit.record(session, f"employer_{status.value}", "employer", employer.id, detail=employer.ref)
    return True


COMPLIANCE_SETTINGS = ("risk_assessment_due_days", "insurance_due_days", "dbs_due_days", "consent_due_days",
                       "briefing_due_days", "reflection_flag_days")


def update_compliance_settings(session: DbSession, staff: User, school: School, careers_leader_id: int | None,
                               days: dict[str, int]) -> None:
    """Set the school's deadlines and careers leader (who must be an active member of its staff)."""
    if careers_leader_id is not None:
        leader = session.get(User, careers_leader_id)
        if leader is None or leader.school_id != school.id or not leader.is_active:
            raise FieldRefusal("The careers leader must be a member of your school's staff", "careers_leader_id",
                           code="not_staff")
    school.careers_leader_id = careers_leader_id
    for name in COMPLIANCE_SETTINGS:
        setattr(school, name, int(days[name]))
    audit.record(session, "compliance_settings_changed", "school", school.id, school_id=school.id, actor=staff,
                 detail=", ".join(f"{name}={days[name]}" for name in COMPLIANCE_SETTINGS))


def roster_by_year(session: DbSession, school_id: int) -> list[tuple[int, int]]:
    """(year group, students on roll) for the school, youngest first."""
    rows = session.execute(
        select(Student.year_group, func.count())
        .where(Student.school_id == school_id, Student.left_on.is_(None))
        .group_by(Student.year_group).order_by(Student.year_group)
    ).all()
    return [(year, count) for year, count in rows]


def find_student(session: DbSession, student_id: int) -> Student | None:
    """One student by id, or None (also for an id no row could have)."""
    return get_stored(session, Student, student_id)


def _on_roll(school_id: int, year_group: int) -> Select[Any]:
    """The school's students on roll in one year group."""
    return select(Student).where(Student.school_id == school_id, Student.left_on.is_(None),
                                 Student.year_group == year_group)


def students_on_roll(session: DbSession, school_id: int, year_group: int) -> list[Student]:
    """The school's students on roll in one year group, by name."""
    return list(session.scalars(_on_roll(school_id, year_group).order_by(Student.last_name, Student.first_name,
                                                                           Student.id)))


def ids_on_roll(session: DbSession, school_id: int, year_group: int) -> list[int]:
    """The ids of the school's students on roll in one year group."""
    return list(session.scalars(_on_roll(school_id, year_group).with_only_columns(Student.id)))

