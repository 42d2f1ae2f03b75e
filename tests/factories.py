"""Factories: build only what a test needs, in a line or two."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from portal.accounts.models import User
from portal.accounts.passwords import hash_password
from portal.core.vocab import Role, SchoolType, SendStatus, VettingStatus
from portal.extensions import db
from portal.organisations.models import Employer, Hub, School, Student, StudentInterest, StudentNeed

_counter = itertools.count(1)
PASSWORD = "correct-horse-battery-staple-42"

POSTCODES = ["M13 9PL", "M1 3BN", "LS1 1UR", "B1 1BB", "SW1A 1AA", "NE1 7RU"]


def _n() -> int:
    return next(_counter)


def make_hub(**kw: Any) -> Hub:
    hub = Hub(name=kw.pop("name", f"Hub {_n()}"), **kw)
    db.session.add(hub)
    db.session.flush()
    return hub


def make_school(**kw: Any) -> School:
    n = _n()
    school = School(
        urn=kw.pop("urn", f"{800000 + n}"),
        name=kw.pop("name", f"School {n}"),
        school_type=kw.pop("school_type", SchoolType.MAINSTREAM.value),
        postcode=kw.pop("postcode", "M13 9PL"),
        **kw,
    )
    db.session.add(school)
    db.session.flush()
    return school


def make_employer(**kw: Any) -> Employer:
    n = _n()
    employer = Employer(
        ref=kw.pop("ref", f"employer-{n}"),
        name=kw.pop("name", f"Employer {n}"),
        sector=kw.pop("sector", "healthcare"),
        postcode=kw.pop("postcode", "M1 3BN"),
        vetting_status=kw.pop("vetting_status", VettingStatus.VETTED.value),
        **kw,
    )
    db.session.add(employer)
    db.session.flush()
    return employer


def make_student(school: School | None = None, **kw: Any) -> Student:
    n = _n()
    school = school or make_school()
    needs = kw.pop("needs", [])
    interests = kw.pop("interests", [])
    student = Student(
        school_id=school.id,
        student_ref=kw.pop("student_ref", f"S{n:05d}"),
        first_name=kw.pop("first_name", f"Student{n}"),
        last_name=kw.pop("last_name", f"Surname{n}"),
        year_group=kw.pop("year_group", 10),
        date_of_birth=kw.pop("date_of_birth", dt.date(2011, 3, 14)),
        send_status=kw.pop("send_status", SendStatus.NONE.value),
        disadvantaged=kw.pop("disadvantaged", False),
        **kw,
    )
    student.school = school
    student.needs = [StudentNeed(need=code) for code in needs]
    student.interests = [StudentInterest(sector=code) for code in interests]
    db.session.add(student)
    db.session.flush()
    return student


def make_user(role: Role | str = Role.SCHOOL, **kw: Any) -> User:
    """A user with a password; the organisation is created when not given."""
    role = Role(role)
    n = _n()
    password = kw.pop("password", PASSWORD)
    if role is Role.SCHOOL and "school_id" not in kw:
        kw["school_id"] = kw.pop("school", None).id if kw.get("school") else make_school().id
    if role is Role.EMPLOYER and "employer_id" not in kw:
        kw["employer_id"] = kw.pop("employer", None).id if kw.get("employer") else make_employer().id
    if role is Role.HUB and "hub_id" not in kw:
        kw["hub_id"] = kw.pop("hub", None).id if kw.get("hub") else make_hub().id
    if role is Role.STUDENT and "student_id" not in kw:
        kw["student_id"] = kw.pop("student", None).id if kw.get("student") else make_student().id
    kw.pop("school", None), kw.pop("employer", None), kw.pop("hub", None), kw.pop("student", None)
    user = User(
        email=kw.pop("email", f"user{n}@example.org"),
        name=kw.pop("name", f"User {n}"),
        role=role.value,
        password_hash=hash_password(password) if password else None,
        **kw,
    )
    db.session.add(user)
    db.session.flush()
    return user
