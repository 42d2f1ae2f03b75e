"""Realistic, idempotent demo data: a Greater Manchester hub, four schools, fifteen employers, 200 students."""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import select

from portal.accounts.models import User
from portal.accounts.passwords import hash_password
from portal.core.vocab import AccessFeature, Role, SchoolType, Sector, SendStatus, VettingStatus
from portal.db import DbSession, utcnow
from portal.organisations.models import Employer, Hub, School, Student
from portal.organisations.services import StudentDetails, apply_details

DEMO_PASSWORD = "demo-portal-2026"  # noqa: S105 - printed for the demo; never used outside seed-demo
HUB_NAME = "Greater Manchester Careers Hub"

# (urn, name, type, postcode, students, share SEN support, share EHCP, share disadvantaged)
SCHOOLS = [
    ("990101", "Northgate Academy", SchoolType.MAINSTREAM, "M13 9PL", 120, 0.13, 0.03, 0.28),
    ("990102", "Irwell Valley Special School", SchoolType.SPECIAL, "M6 6AP", 30, 0.05, 0.95, 0.45),
    ("990103", "Beacon Pupil Referral Unit", SchoolType.ALTERNATIVE_PROVISION, "M8 8EP", 15, 0.40, 0.20, 0.60),
    ("990104", "Ardwick Sixth Form College", SchoolType.COLLEGE, "M12 6BH", 35, 0.10, 0.04, 0.25),
]

# (ref, name, sector, postcode, vetted)
EMPLOYERS = [
    ("mrfh-nhs", "Manchester Royal Infirmary", Sector.HEALTHCARE, "M13 9WL", True),
    ("bbc-north", "MediaCity Studios", Sector.CREATIVE_MEDIA, "M50 2EQ", True),
    ("kier-build", "Northern Build Partners", Sector.CONSTRUCTION_TRADES, "M4 6BF", True),
    ("auto-trader", "Quay Street Digital", Sector.COMPUTING_TECHNOLOGY, "M3 3HF", True),
    ("gm-fire", "Greater Manchester Fire and Rescue", Sector.EMERGENCY_UNIFORMED, "M1 3BN", True),
    ("bruntwood-law", "Spinningfields Legal LLP", Sector.LAW_LEGAL, "M3 3EB", True),
    ("co-op-bank", "Co-operative Finance", Sector.BUSINESS_FINANCE, "M60 0AG", True),
    ("midland-hotel", "The Midland Hotel", Sector.HOSPITALITY_FOOD, "M60 2DS", True),
    ("chester-zoo", "Northern Animal Rescue", Sector.ANIMAL_CARE, "M16 0RA", True),
    ("trafford-eng", "Trafford Precision Engineering", Sector.ENGINEERING_MAINTENANCE, "M17 1AB", True),
    ("arndale-retail", "Arndale Retail Group", Sector.RETAIL_SALES, "M4 3AQ", True),
    ("uom-labs", "Oxford Road Research Labs", Sector.SCIENCE_RESEARCH, "M13 9PL", True),
    ("metrolink-ops", "Metrolink Operations", Sector.TRANSPORT, "M15 4PR", True),
    ("salford-care", "Salford Community Care", Sector.SOCIAL_CARE, "M6 5FX", True),
    ("etihad-sport", "Eastlands Sports Trust", Sector.SPORTS_LEISURE, "M11 3FF", False),
]

FIRST_NAMES = ["Amelia", "Olivia", "Isla", "Ava", "Mia", "Ivy", "Lily", "Isabella", "Freya", "Sophia", "Grace", "Amira", "Aisha", "Zainab", "Maryam", "Chloe", "Ruby", "Evie", "Poppy", "Ella", "Noah", "Muhammad", "Oliver", "George", "Leo", "Arthur", "Oscar", "Harry", "Jack", "Charlie", "Jacob", "Ibrahim", "Yusuf", "Kai", "Finley", "Theo", "Archie", "Ethan", "Reuben", "Kofi", "Tomasz", "Jakub", "Priya", "Dev", "Harvey", "Leah", "Niamh", "Callum"]
LAST_NAMES = ["Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas", "Johnson", "Roberts", "Robinson", "Thompson", "Wright", "Walker", "White", "Edwards", "Hughes", "Green", "Hall", "Khan", "Ahmed", "Hussain", "Ali", "Begum", "Patel", "Kowalski", "Nowak", "Okafor", "Mensah", "Clarke", "Murphy", "Kelly", "Lewis", "Jackson", "Wood", "Harris", "Martin", "Cooper", "Ward", "Turner", "Hill", "Moore"]

# Adjustments students with SEND most often need, weighted.
COMMON_NEEDS = [
    AccessFeature.QUIET_SPACE, AccessFeature.EASY_READ_MATERIALS, AccessFeature.SUPPORTING_ADULT_WELCOME,
    AccessFeature.AUTISM_AWARE_STAFF, AccessFeature.FLEXIBLE_HOURS, AccessFeature.SENSORY_FRIENDLY,
    AccessFeature.STEP_FREE_ACCESS, AccessFeature.ACCESSIBLE_TOILET, AccessFeature.NEAR_PUBLIC_TRANSPORT,
]


def _upsert_user(session: DbSession, email: str, name: str, role: Role, **links: int | None) -> User:
    """Create or refresh a demo account with the demo password."""
    user = session.scalars(select(User).where(User.email == email)).first()
    if user is None:
        user = User(email=email, role=role.value)
        session.add(user)
    user.name = name
    user.password_hash = hash_password(DEMO_PASSWORD)
    user.failed_sign_ins = 0
    user.locked_until = None
    for key, value in links.items():
        setattr(user, key, value)
    return user


def _year_groups(school_type: SchoolType) -> list[int]:
    """Year groups a kind of school teaches."""
    return [12, 13] if school_type is SchoolType.COLLEGE else [7, 8, 9, 10, 11]


def _birth_date(rng: random.Random, year_group: int, today: dt.date) -> dt.date:
    """A date of birth that fits the year group in the current academic year."""
    from portal.core.dates import academic_year

    start_year = academic_year(today) - (year_group + 4) - 1  # Year 7 in 2026/27: born Sep 2014 - Aug 2015
    return dt.date(start_year, 9, 1) + dt.timedelta(days=rng.randrange(365))


def _student_details(rng: random.Random, school_type: SchoolType, index: int, shares: tuple[float, float, float],
                     today: dt.date) -> StudentDetails:
    """One plausible student."""
    sen_support, ehcp, disadvantaged = shares
    roll = rng.random()
    send = SendStatus.EHCP if roll < ehcp else SendStatus.SEN_SUPPORT if roll < ehcp + sen_support else SendStatus.NONE
    needs: list[str] = []
    if send is not SendStatus.NONE:
        count = rng.choice([1, 1, 2, 2, 3]) if send is SendStatus.EHCP else rng.choice([0, 1, 1, 2])
        needs = sorted({rng.choice(COMMON_NEEDS).value for _ in range(count)})
    year = rng.choice(_year_groups(school_type))
    return StudentDetails(
        student_ref=f"S{index:04d}",
        first_name=rng.choice(FIRST_NAMES),
        last_name=rng.choice(LAST_NAMES),
        year_group=year,
        date_of_birth=_birth_date(rng, year, today),
        send_status=send.value,
        disadvantaged=rng.random() < disadvantaged,
        upn=f"{rng.choice('ABCDEFGHJKLMNPRSTUVWXYZ')}{rng.randrange(10**11, 10**12):011d}{rng.randrange(10)}",
        tutor_group=f"{year}{rng.choice('ABCD')}",
        needs=needs,
        interests=sorted({rng.choice(list(Sector)).value for _ in range(rng.choice([0, 1, 2, 2, 3]))}),
    )


def seed_demo(session: DbSession, today: dt.date | None = None) -> list[tuple[str, str]]:
    """Create or refresh the demo world; returns (role label, email) for each demo sign-in."""
    today = today or utcnow().date()
    rng = random.Random(20261123)  # noqa: S311 - reproducible demo data, not security
    hub = session.scalars(select(Hub).where(Hub.name == HUB_NAME)).first()
    if hub is None:
        hub = Hub(name=HUB_NAME)
        session.add(hub)
        session.flush()

    schools: dict[str, School] = {}
    for urn, name, school_type, postcode, count, sen, ehcp, dis in SCHOOLS:
        school = session.scalars(select(School).where(School.urn == urn)).first()
        if school is None:
            school = School(urn=urn)
            session.add(school)
        school.name, school.school_type, school.postcode, school.hub_id = name, school_type.value, postcode, hub.id
        session.flush()
        schools[urn] = school
        existing = {s.student_ref: s for s in session.scalars(select(Student).where(Student.school_id == school.id))}
        for index in range(1, count + 1):
            details = _student_details(rng, school_type, index, (sen, ehcp, dis), today)
            student = existing.get(details.student_ref)
            if student is None:
                student = Student(school_id=school.id)
                student.school = school
                session.add(student)
            apply_details(student, details)
    session.flush()

    employers: dict[str, Employer] = {}
    for ref, name, sector, postcode, vetted in EMPLOYERS:
        employer = session.scalars(select(Employer).where(Employer.ref == ref)).first()
        if employer is None:
            employer = Employer(ref=ref)
            session.add(employer)
        employer.name, employer.sector, employer.postcode = name, sector.value, postcode
        employer.vetting_status = (VettingStatus.VETTED if vetted else VettingStatus.PENDING).value
        employer.vetted_at = employer.vetted_at or (utcnow() if vetted else None)
        employers[ref] = employer
    session.flush()

    mainstream, special = schools["990101"], schools["990102"]
    demo_student = session.scalars(
        select(Student).where(Student.school_id == mainstream.id, Student.year_group == 10)
        .order_by(Student.student_ref)
    ).first()
    logins = [
        ("Careers leader (Northgate Academy)", _upsert_user(session, "careers.leader@northgate.example", "Sam Okafor", Role.SCHOOL, school_id=mainstream.id)),
        ("SENCO (Irwell Valley Special School)", _upsert_user(session, "senco@irwellvalley.example", "Priya Shah", Role.SCHOOL, school_id=special.id)),
        ("Employer (Manchester Royal Infirmary)", _upsert_user(session, "placements@mri.example", "Jo Walsh", Role.EMPLOYER, employer_id=employers["mrfh-nhs"].id)),
        ("Employer (Northern Build Partners)", _upsert_user(session, "outreach@northernbuild.example", "Dan Hughes", Role.EMPLOYER, employer_id=employers["kier-build"].id)),
        ("Hub coordinator", _upsert_user(session, "coordinator@gmhub.example", "Alex Morgan", Role.HUB, hub_id=hub.id)),
    ]
    if demo_student is not None:
        demo_student.email = "student@northgate.example"
        logins.append((f"Student ({demo_student.first_name}, Year 10)",
                       _upsert_user(session, "student@northgate.example", demo_student.first_name, Role.STUDENT, student_id=demo_student.id)))
    session.flush()
    return [(label, user.email) for label, user in logins]
