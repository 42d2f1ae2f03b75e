"""Realistic, idempotent demo data: a Greater Manchester hub, four schools, fifteen employers, 200 students."""

from __future__ import annotations

import datetime as dt
import random

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import select

from portal.accounts.models import User
from portal.accounts.passwords import hash_password
from portal.bookings import confirmations
from portal.bookings.models import Booking
from portal.bookings.services import book_student, decide, mark_completed
from portal.compliance.consent import record_paper_consent
from portal.compliance.dbs import record_dbs_note
from portal.compliance.risk import add_attestation, review
from portal.compliance.services import mark_briefed
from portal.core.dates import local_to_utc, london_date
from portal.core.links import absolute_url
from portal.core.vocab import (
    AccessFeature,
    ActivityType,
    BookingStatus,
    ConfirmationSource,
    ConsentDecision,
    DbsDecision,
    DeliveryMode,
    DisabilityConfident,
    MeaningfulCriterion,
    OfferStatus,
    Role,
    SchoolType,
    Sector,
    SendStatus,
    VettingStatus,
)
from portal.db import DbSession, utcnow
from portal.extensions import db
from portal.geo.locate import locate, place
from portal.offers.models import Offer, OfferSession, Supervisor
from portal.offers.services import (
    OfferDetails,
    SessionDetails,
    SupervisorDetails,
    add_session,
    add_supervisor,
    change_status,
    create_offer,
    locate_employer,
    update_offer,
)
from portal.organisations.models import Employer, Hub, School, Student
from portal.organisations.services import StudentDetails, apply_details
from portal.reflections.services import ReflectionAnswers, give_feedback, save_reflection

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


# ref -> (address, safeguarding lead, Disability Confident level, staff trained in autism awareness,
#         supervisors as (name, job title))
EMPLOYER_PROFILES: dict[str, tuple[str, str, DisabilityConfident, bool, list[tuple[str, str]]]] = {
    "mrfh-nhs": ("Oxford Road, Manchester", "Dr Helen Price", DisabilityConfident.LEADER, True,
                 [("Grace Adeyemi", "Ward sister"), ("Tom Brennan", "Education facilitator")]),
    "bbc-north": ("Dock House, MediaCityUK, Salford", "Rachel Kaur", DisabilityConfident.EMPLOYER, True,
                  [("Owen Fletcher", "Studio manager")]),
    "kier-build": ("Ancoats Works, Manchester", "Gary Holt", DisabilityConfident.COMMITTED, False,
                   [("Mick Rafferty", "Site manager"), ("Sana Iqbal", "Graduate engineer")]),
    "auto-trader": ("1 Quay Street, Manchester", "Laura Chen", DisabilityConfident.EMPLOYER, True,
                    [("Ben Whitworth", "Software engineer")]),
    "gm-fire": ("Manchester Central Fire Station, London Road", "Station Manager Paul Reid",
                DisabilityConfident.LEADER, True, [("Kerry Lomax", "Community safety advocate")]),
    "bruntwood-law": ("3 Hardman Street, Spinningfields", "Anita Desai", DisabilityConfident.COMMITTED, False,
                      [("James Hale", "Trainee solicitor")]),
    "co-op-bank": ("1 Balloon Street, Manchester", "Chris Ogunleye", DisabilityConfident.LEADER, True,
                   [("Hannah Byrne", "Early careers lead")]),
    "midland-hotel": ("Peter Street, Manchester", "Marco Rossi", DisabilityConfident.COMMITTED, False,
                      [("Alice Moran", "Head chef"), ("Dean Foster", "Front of house manager")]),
    "chester-zoo": ("Hulme Hall Lane Stables, Old Trafford", "Jenny Marsh", DisabilityConfident.NONE, True,
                    [("Pete Lowe", "Senior animal keeper")]),
    "trafford-eng": ("Trafford Park Road, Trafford Park", "Steve Naylor", DisabilityConfident.EMPLOYER, False,
                     [("Lisa Grant", "Apprenticeship manager")]),
    "arndale-retail": ("Manchester Arndale, Market Street", "Fatima Noor", DisabilityConfident.COMMITTED, True,
                       [("Ryan Moss", "Store manager")]),
    "uom-labs": ("Oxford Road Research Labs, Manchester", "Prof. Ian Walsh", DisabilityConfident.EMPLOYER, True,
                 [("Dr Mei Lin", "Research technician")]),
    "metrolink-ops": ("Cornbrook Depot, Manchester", "Karen Doyle", DisabilityConfident.EMPLOYER, False,
                      [("Jordan Price", "Tram operations supervisor")]),
    "salford-care": ("Langworthy Road, Salford", "Beverley Shaw", DisabilityConfident.LEADER, True,
                     [("Amina Yusuf", "Care team leader")]),
    "etihad-sport": ("Etihad Campus, Manchester", "Lee Barnes", DisabilityConfident.COMMITTED, False,
                     [("Zoe Kirk", "Community coach")]),
}

# (employer ref, title, activity, mode, year groups, extra sectors, features {code: note}, description)
DEMO_OFFERS: list[tuple[str, str, ActivityType, DeliveryMode, list[int], list[Sector], dict[AccessFeature, str], str]] = [
    ("mrfh-nhs", "Hospital careers insight day", ActivityType.WORKPLACE_VISIT, DeliveryMode.ON_SITE, [10, 11, 12],
     [Sector.SOCIAL_CARE], {AccessFeature.STEP_FREE_ACCESS: "Lifts to every floor", AccessFeature.ACCESSIBLE_TOILET: "",
                            AccessFeature.QUIET_SPACE: "Chapel quiet room on the ground floor",
                            AccessFeature.NEAR_PUBLIC_TRANSPORT: "Bus stops outside on Oxford Road"},
     "Meet nurses, radiographers, porters and pharmacists, and try clinical skills in the simulation suite."),
    ("mrfh-nhs", "Talk: 350 jobs in the NHS", ActivityType.CAREERS_TALK, DeliveryMode.IN_SCHOOL, [7, 8, 9],
     [], {AccessFeature.EASY_READ_MATERIALS: "Picture cards of each job", AccessFeature.BSL_MAKATON: "Ask two weeks ahead"},
     "A lively assembly-style talk on the range of NHS careers, with time for questions."),
    ("bbc-north", "Behind the scenes at MediaCity", ActivityType.WORKPLACE_VISIT, DeliveryMode.ON_SITE, [9, 10, 11],
     [Sector.COMPUTING_TECHNOLOGY], {AccessFeature.STEP_FREE_ACCESS: "", AccessFeature.SENSORY_FRIENDLY: "Studio lights dimmed on request",
                                     AccessFeature.NEAR_PUBLIC_TRANSPORT: "MediaCityUK tram stop"},
     "Tour the studios, sit in a gallery during a live recording and make a two-minute news package."),
    ("bbc-north", "Virtual newsroom challenge", ActivityType.VIRTUAL_ENCOUNTER, DeliveryMode.VIRTUAL, [10, 11, 12, 13],
     [], {AccessFeature.REMOTE_OPTION: "", AccessFeature.FLEXIBLE_HOURS: "Join for part of the session"},
     "Work to a real deadline with our journalists over video call and pitch your story."),
    ("kier-build", "Site safety and trades taster", ActivityType.WORKPLACE_VISIT, DeliveryMode.ON_SITE, [10, 11],
     [Sector.ENGINEERING_MAINTENANCE], {AccessFeature.SUPPORTING_ADULT_WELCOME: "", AccessFeature.EASY_READ_MATERIALS: "Illustrated site induction"},
     "Put on the kit, walk a live site with our site manager and try bricklaying and surveying."),
    ("kier-build", "Mock interviews with construction managers", ActivityType.MOCK_INTERVIEW, DeliveryMode.IN_SCHOOL, [11, 12, 13],
     [], {AccessFeature.QUIET_SPACE: "", AccessFeature.FLEXIBLE_HOURS: ""},
     "Fifteen-minute interviews for apprenticeship roles, with written feedback for every student."),
    ("auto-trader", "Code a website in a day", ActivityType.WORK_EXPERIENCE, DeliveryMode.ON_SITE, [10, 11, 12],
     [], {AccessFeature.AUTISM_AWARE_STAFF: "", AccessFeature.QUIET_SPACE: "Quiet pod booked for the day",
          AccessFeature.STEP_FREE_ACCESS: "", AccessFeature.NEAR_PUBLIC_TRANSPORT: "Five minutes from Deansgate"},
     "Pair with a developer, build and publish a small website, and present it to the team."),
    ("gm-fire", "Fire station open day", ActivityType.WORKPLACE_VISIT, DeliveryMode.ON_SITE, [8, 9, 10],
     [Sector.GOVERNMENT], {AccessFeature.STEP_FREE_ACCESS: "", AccessFeature.ACCESSIBLE_TOILET: "",
                           AccessFeature.SENSORY_FRIENDLY: "Sirens and alarms only with warning"},
     "See the engines and kit, meet firefighters and control room staff, and learn about the recruitment tests."),
    ("gm-fire", "Community safety talk", ActivityType.CAREERS_TALK, DeliveryMode.IN_SCHOOL, [7, 8],
     [], {AccessFeature.BSL_MAKATON: "", AccessFeature.EASY_READ_MATERIALS: ""},
     "What firefighters really do, how to stay safe, and the many roles behind the front line."),
    ("bruntwood-law", "A day in a law firm", ActivityType.WORK_SHADOWING, DeliveryMode.ON_SITE, [12, 13],
     [Sector.BUSINESS_FINANCE], {AccessFeature.STEP_FREE_ACCESS: "", AccessFeature.NEAR_PUBLIC_TRANSPORT: ""},
     "Shadow a trainee solicitor, sit in on a client meeting and draft a short letter of advice."),
    ("co-op-bank", "Enterprise challenge: design a savings app", ActivityType.ENTERPRISE_CHALLENGE, DeliveryMode.IN_SCHOOL, [9, 10],
     [Sector.COMPUTING_TECHNOLOGY], {AccessFeature.SUPPORTING_ADULT_WELCOME: "", AccessFeature.EASY_READ_MATERIALS: "",
                                     AccessFeature.FLEXIBLE_HOURS: "Short sessions available"},
     "Teams design and pitch a savings app for young people to a panel of bank staff."),
    ("co-op-bank", "Speed networking with finance professionals", ActivityType.SPEED_NETWORKING, DeliveryMode.HYBRID, [11, 12, 13],
     [], {AccessFeature.REMOTE_OPTION: "Join online if travel is hard", AccessFeature.QUIET_SPACE: "", AccessFeature.STEP_FREE_ACCESS: ""},
     "Five-minute conversations with accountants, analysts, customer service and IT staff."),
    ("midland-hotel", "Kitchen and front of house experience", ActivityType.WORK_EXPERIENCE, DeliveryMode.ON_SITE, [10, 11],
     [], {AccessFeature.FLEXIBLE_HOURS: "Mornings only if needed", AccessFeature.SUPPORTING_ADULT_WELCOME: "",
          AccessFeature.NEAR_PUBLIC_TRANSPORT: "St Peter's Square tram stop"},
     "Work alongside our chefs and reception team during a real lunch service."),
    ("chester-zoo", "Animal care taster morning", ActivityType.WORKPLACE_VISIT, DeliveryMode.ON_SITE, [8, 9, 10],
     [Sector.ENVIRONMENT_LAND], {AccessFeature.SENSORY_FRIENDLY: "Calm, outdoor setting", AccessFeature.SUPPORTING_ADULT_WELCOME: "",
                                 AccessFeature.AUTISM_AWARE_STAFF: ""},
     "Help feed and clean the rescued animals and learn how keepers plan their care."),
    ("trafford-eng", "Engineering work experience week", ActivityType.WORK_EXPERIENCE, DeliveryMode.ON_SITE, [10, 12],
     [Sector.MANUFACTURING], {AccessFeature.STEP_FREE_ACCESS: "", AccessFeature.TRANSPORT_PROVIDED: "Minibus from Stretford Metrolink"},
     "A week in the workshop and design office: CAD, CNC machining and quality inspection."),
    ("trafford-eng", "Mentoring for future engineers", ActivityType.MENTORING, DeliveryMode.VIRTUAL, [11, 12, 13],
     [], {AccessFeature.REMOTE_OPTION: "", AccessFeature.FLEXIBLE_HOURS: ""},
     "Six fortnightly video calls with a young engineer, ending with a CV review."),
    ("arndale-retail", "Retail business safari", ActivityType.BUSINESS_SAFARI, DeliveryMode.ON_SITE, [9, 10],
     [Sector.MANAGERIAL], {AccessFeature.STEP_FREE_ACCESS: "", AccessFeature.ACCESSIBLE_TOILET: "",
                           AccessFeature.NEAR_PUBLIC_TRANSPORT: "Next to Shudehill interchange"},
     "Visit five shops behind the scenes and find out how stock, staff and sales are managed."),
    ("uom-labs", "Science research lab insight", ActivityType.WORKPLACE_VISIT, DeliveryMode.ON_SITE, [11, 12, 13],
     [Sector.HEALTHCARE], {AccessFeature.STEP_FREE_ACCESS: "", AccessFeature.QUIET_SPACE: "", AccessFeature.EASY_READ_MATERIALS: ""},
     "Run a real experiment with our technicians and hear how researchers got into science."),
    ("metrolink-ops", "Trams behind the scenes", ActivityType.WORKPLACE_VISIT, DeliveryMode.ON_SITE, [9, 10, 11],
     [Sector.ENGINEERING_MAINTENANCE], {AccessFeature.STEP_FREE_ACCESS: "", AccessFeature.NEAR_PUBLIC_TRANSPORT: "Cornbrook tram stop"},
     "Visit the depot and control room, and try the driver training simulator."),
    ("salford-care", "Care work shadowing", ActivityType.WORK_SHADOWING, DeliveryMode.ON_SITE, [12, 13],
     [Sector.HEALTHCARE], {AccessFeature.AUTISM_AWARE_STAFF: "", AccessFeature.SUPPORTING_ADULT_WELCOME: "",
                           AccessFeature.FLEXIBLE_HOURS: ""},
     "Shadow a care team leader visiting people at home and at our day centre."),
    ("etihad-sport", "Sports coaching taster", ActivityType.INSIGHT_DAY, DeliveryMode.IN_SCHOOL, [7, 8, 9],
     [], {AccessFeature.SENSORY_FRIENDLY: "", AccessFeature.SUPPORTING_ADULT_WELCOME: ""},
     "Our community coaches run a session in your sports hall and talk about careers in sport."),
]


def _complete_profile(employer: Employer, today: dt.date) -> None:
    """Give a demo employer a full profile: location, safeguarding lead, insurance, SEND confidence."""
    address, lead, confident, trained, _ = EMPLOYER_PROFILES[employer.ref]
    locate_employer(employer, employer.postcode)
    employer.address = address
    employer.safeguarding_lead_name = lead
    employer.safeguarding_lead_email = f"safeguarding@{employer.ref}.example"
    employer.safeguarding_lead_phone = "0161 496 0" + str(100 + sum(map(ord, employer.ref)) % 900)
    employer.insurer = "Northern Mutual Insurance"
    employer.insurance_expiry = today + dt.timedelta(days=300)
    employer.disability_confident = confident.value
    employer.autism_trained_staff = trained


def _demo_sessions(index: int, today: dt.date) -> list[SessionDetails]:
    """Two or three weekday sessions in the coming weeks, 9:30am to 3pm (or 1pm for talks)."""
    sessions = []
    for n in range(2 + index % 2):
        day = today + dt.timedelta(days=14 + 7 * n + 3 * (index % 5))
        while day.weekday() >= 5:
            day += dt.timedelta(days=1)
        start = local_to_utc(dt.datetime.combine(day, dt.time(9, 30)))
        end = local_to_utc(dt.datetime.combine(day, dt.time(15 if index % 3 else 13, 0)))
        sessions.append(SessionDetails(starts_at=start, ends_at=end, capacity=6 + 4 * (index % 4)))
    return sessions


def _seed_offers(session: DbSession, employers: dict[str, Employer], today: dt.date) -> None:
    """Supervisors and 1-3 published offers for each demo employer, each with future sessions."""
    now = utcnow()
    for ref, employer in employers.items():
        known = {s.name for s in session.scalars(select(Supervisor).where(Supervisor.employer_id == employer.id))}
        for name, role in EMPLOYER_PROFILES[ref][4]:
            if name not in known:
                add_supervisor(session, employer, SupervisorDetails(
                    name=name, role=role, email=f"{name.split()[-1].lower()}@{ref}.example"))
    session.flush()
    counts: dict[str, int] = {}
    for index, (ref, title, activity, mode, years, sectors, features, description) in enumerate(DEMO_OFFERS):
        employer = employers[ref]
        counts[ref] = counts.get(ref, 0) + 1
        details = OfferDetails(
            title=title, description=description, activity_type=activity.value, delivery_mode=mode.value,
            year_groups=years, sectors=[employer.sector, *[s.value for s in sectors]],
            learning_outcomes="What different jobs involve, the skills employers look for, and routes in.",
            preparation="Think of two questions to ask the people you meet.",
            travel_notes="" if mode is DeliveryMode.VIRTUAL else "Come to main reception and ask for the education team.",
            features={code.value: note for code, note in features.items()},
            criteria=[criterion.value for criterion in list(MeaningfulCriterion)[:index % (len(MeaningfulCriterion) + 1)]],
        )
        offer_ref = f"DEMO-{ref}-{counts[ref]}".upper()
        offer = session.scalars(select(Offer).where(Offer.offer_ref == offer_ref)).first()
        if offer is None:
            offer = create_offer(session, employer, details)
            offer.offer_ref = offer_ref
        elif offer.status != OfferStatus.ARCHIVED.value:
            update_offer(session, offer, details)
        if not any(s.starts_at > now for s in offer.sessions):
            supervisors = list(session.scalars(select(Supervisor.id).where(Supervisor.employer_id == employer.id)))
            for occurrence in _demo_sessions(index, today):
                if occurrence.starts_at > now:
                    occurrence.supervisor_ids = supervisors[:1]
                    add_session(session, offer, occurrence, now=now)
        if offer.status in (OfferStatus.DRAFT.value, OfferStatus.PAUSED.value):
            change_status(session, offer, OfferStatus.PUBLISHED, now=now)
    session.flush()


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
        upn=f"{rng.choice('ABCDEFGHJKLMNPRSTUVWXYZ')}{rng.randrange(10**11):011d}{rng.randrange(10)}",
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
        place(school, locate(postcode))
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
        _complete_profile(employer, today)
        employers[ref] = employer
    session.flush()
    _seed_offers(session, employers, today)

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
    leader = logins[0][1]
    mainstream.careers_leader_id = mainstream.careers_leader_id or leader.id
    employer_users = {"mrfh-nhs": logins[2][1], "kier-build": logins[3][1]}
    _seed_placements(session, mainstream, leader, employer_users, demo_student)
    _seed_confirmed_features(session, special, logins[1][1], logins[2][1], _weekday(today - dt.timedelta(days=38)))
    _seed_adjustment_request(session, special, logins[1][1], employers["mrfh-nhs"])
    _seed_posted_need(session, special, logins[1][1], today)
    return [(label, user.email) for label, user in logins]


def _demo_session(session: DbSession, offer: Offer, day: dt.date, capacity: int = 10) -> OfferSession:
    """A 9:30am-3pm session of a demo offer on a given day (past days allowed: demo history)."""
    start = local_to_utc(dt.datetime.combine(day, dt.time(9, 30)))
    occurrence = session.scalars(select(OfferSession).where(OfferSession.offer_id == offer.id,
                                                            OfferSession.starts_at == start)).first()
    if occurrence is None:
        occurrence = OfferSession(offer_id=offer.id, starts_at=start, capacity=capacity,
                                  ends_at=local_to_utc(dt.datetime.combine(day, dt.time(15, 0))))
        occurrence.supervisors = list(session.scalars(
            select(Supervisor).where(Supervisor.employer_id == offer.employer_id).limit(1)))
        session.add(occurrence)
        session.flush()
    return occurrence


def _weekday(day: dt.date) -> dt.date:
    """The day, or the Monday after when it falls at a weekend."""
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def _place(session: DbSession, student: Student, occurrence: OfferSession, status: BookingStatus,
           staff: User, employer_user: User) -> Booking:
    """A demo booking made as staff and the employer would, at the times they would have (three weeks ahead)."""
    asked_at = min(occurrence.starts_at - dt.timedelta(days=21), utcnow())
    booking = book_student(session, staff, student, occurrence, now=asked_at)
    if status is not BookingStatus.REQUESTED:
        decide(session, employer_user, booking, accept=True, now=asked_at + dt.timedelta(days=1))
    if status is BookingStatus.COMPLETED:
        mark_completed(session, staff, booking, now=occurrence.ends_at)
    return booking


def _seed_placements(session: DbSession, school: School, leader: User, employers: dict[str, User],
                     demo_student: Student | None) -> None:
    """Past placements with reflections and feedback, and upcoming ones in every compliance state (once).

    Every row is made by the services staff, employers and students use, so the demo keeps to the rules; only the
    past session is built directly (the service refuses sessions in the past, rightly).
    """
    if session.scalars(select(Booking.id).where(Booking.school_id == school.id).limit(1)).first() is not None:
        return
    today = london_date(utcnow())
    offers = {o.offer_ref: o for o in session.scalars(select(Offer).where(Offer.offer_ref.like("DEMO-%")))}
    hospital, site = offers["DEMO-MRFH-NHS-1"], offers["DEMO-KIER-BUILD-1"]
    nurse, builder = employers["mrfh-nhs"], employers["kier-build"]
    year10 = list(session.scalars(select(Student).where(Student.school_id == school.id, Student.year_group == 10)
                                  .order_by(Student.student_ref)))
    others = [s for s in year10 if demo_student is None or s.id != demo_student.id]

    past = _demo_session(session, hospital, _weekday(today - dt.timedelta(days=24)))
    past_group = ([demo_student] if demo_student else []) + others[:9]
    for index, student in enumerate(past_group):
        booking = _place(session, student, past, BookingStatus.COMPLETED, leader, nurse)
        if student is demo_student:
            continue  # the demo student still has a reflection to write
        if index % 3 != 2:
            save_reflection(session, booking, ReflectionAnswers(
                what_i_did="Followed a nurse on the ward round.", surprised="How many people work on one ward.",
                interest_before=2, interest_now=4, next_steps="Ask about the health and social care course."),
                easy_read=True, submit=True)
        if index % 2:
            give_feedback(session, booking, nurse, attended="full", punctuality="on_time", ratings={},
                          comment="Asked thoughtful questions and was kind to patients.", activity_comment=None)

    soon = _demo_session(session, site, _weekday(today + dt.timedelta(days=6)))  # inside every deadline
    for student in others[9:12]:
        _place(session, student, soon, BookingStatus.CONFIRMED, leader, builder)

    upcoming = [s for s in hospital.sessions if s.starts_at > utcnow()][0]
    prepared = [_place(session, student, upcoming, BookingStatus.CONFIRMED, leader, nurse) for student in others[12:15]]
    _place(session, others[15], upcoming, BookingStatus.REQUESTED, leader, nurse)
    assessment = add_attestation(session, nurse, hospital,
                                 "Our trust's risk assessment for visitors under 18 covers ward visits.", [upcoming.id])
    review(session, leader, assessment)
    for supervisor in upcoming.supervisors:
        record_dbs_note(session, leader, supervisor, decision=DbsDecision.NOT_REQUIRED.value,
                        reason="Students are supervised in a group and never alone with one adult.")
    record_paper_consent(session, leader, prepared[0], "Parent (paper form)", ConsentDecision.CONSENTED)
    mark_briefed(session, leader, prepared[0])
    session.flush()


def _seed_confirmed_features(session: DbSession, school: School, senco: User, employer_user: User,
                             day: dt.date) -> None:
    """An earlier hospital placement of two Year 10 students whose needs it supports; afterwards the SENCO said
    everything was there for the first, and that one feature was not there for the second (once)."""
    if session.scalars(select(Booking.id).where(Booking.school_id == school.id).limit(1)).first() is not None:
        return
    offer = session.scalars(select(Offer).where(Offer.offer_ref == "DEMO-MRFH-NHS-1")).one()
    students = session.scalars(select(Student).where(Student.school_id == school.id, Student.year_group == 10)
                               .order_by(Student.student_ref))
    needy = [s for s in students if s.need_codes and set(s.need_codes) <= set(offer.feature_codes)
             and s.supporting_adult is None][:2]
    if not needy:
        return
    staff = senco
    occurrence = _demo_session(session, offer, day, capacity=len(needy))
    for position, student in enumerate(needy):
        booking = _place(session, student, occurrence, BookingStatus.COMPLETED, staff, employer_user)
        answers = {code: not (position == 1 and index == 0) for index, code in enumerate(student.need_codes)}
        missing = [AccessFeature(code).label for code, there in answers.items() if not there]
        confirmations.record(session, booking, answers, source=ConfirmationSource.SCHOOL, user=staff,
                             note=f"{missing[0]}: not available on the day." if missing else "")


def _seed_adjustment_request(session: DbSession, school: School, senco: User, employer: Employer) -> None:
    """The SENCO's question to the hospital about a Year 11 student's near miss, waiting for an answer (once)."""
    from portal.adjustments.models import AdjustmentRequest
    from portal.adjustments.services import ask_for_student
    from portal.matching.services import MatchRequest, match_student

    if session.scalars(select(AdjustmentRequest.id).where(AdjustmentRequest.school_id == school.id)).first():
        return
    for student in session.scalars(select(Student).where(Student.school_id == school.id, Student.year_group == 11)
                                   .order_by(Student.student_ref)):
        if not student.need_codes:
            continue
        for miss in match_student(session, student, MatchRequest()).near_misses:
            if miss.offer.employer_id == employer.id:
                ask_for_student(session, senco, student, miss.session, list(miss.missing))
                session.flush()
                return


def _seed_posted_need(session: DbSession, school: School, senco: User, today: dt.date) -> None:
    """The SENCO's posted need for Year 9 work experience next term, open for employers near the school (once)."""
    from portal.adjustments.models import PostedNeed
    from portal.adjustments.needs import NeedDetails, post

    if session.scalars(select(PostedNeed.id).where(PostedNeed.school_id == school.id)).first():
        return
    start = today + dt.timedelta(days=21)
    post(session, senco, school, NeedDetails(
        year_group=9, places=4, date_from=start, date_to=start + dt.timedelta(days=60),
        need_counts={"quiet_space": 2, "sensory_friendly": 1}, sectors=[],
        note="A quiet room to step out to matters more than the kind of work."))
    session.flush()


@click.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Load realistic demo data (idempotent) and print the demo sign-ins."""
    logins = seed_demo(db.session)
    db.session.commit()
    click.echo(f"Demo data is ready. Sign in at {absolute_url('accounts.sign_in')} with:")
    for role, email in logins:
        click.echo(f"  {role:<34} {email}")
    click.echo(f"  password for every demo account:   {DEMO_PASSWORD}")


def register_commands(app: Flask) -> None:
    """Add `seed-demo`."""
    app.cli.add_command(seed_demo_command)
