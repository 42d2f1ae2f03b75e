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


# --- offers (issue 4) ----------------------------------------------------------------------

# Manchester city centre (Piccadilly Gardens): the default position of factory offers.
MANCHESTER = (53.4809, -2.2374)


def make_supervisor(employer: Employer | None = None, **kw: Any) -> Any:
    """A supervisor of the employer (created when not given)."""
    from portal.offers.models import Supervisor

    n = _n()
    employer = employer or make_employer()
    supervisor = Supervisor(employer_id=employer.id, name=kw.pop("name", f"Supervisor {n}"),
                            role=kw.pop("role", "Team leader"), email=kw.pop("email", f"supervisor{n}@example.org"), **kw)
    db.session.add(supervisor)
    db.session.flush()
    return supervisor


def make_session(offer: Any, *, starts_in_days: float = 14, hours: float = 6, capacity: int = 10,
                 starts_at: dt.datetime | None = None, **kw: Any) -> Any:
    """A session of the offer, by default two weeks from now, six hours long."""
    from portal.offers.models import OfferSession

    start = starts_at or (dt.datetime.now(dt.UTC) + dt.timedelta(days=starts_in_days)).replace(microsecond=0)
    from portal.offers.services import refresh_last_session

    occurrence = OfferSession(offer_id=offer.id, starts_at=start, ends_at=start + dt.timedelta(hours=hours),
                              capacity=capacity, **kw)
    db.session.add(occurrence)
    db.session.flush()
    refresh_last_session(db.session, [offer.id])
    db.session.refresh(offer)
    return occurrence


def make_offer(employer: Employer | None = None, **kw: Any) -> Any:
    """A published offer at the given position (Manchester by default) with one session in two weeks.

    sessions=0 makes none; location=None (or delivery_mode="virtual") makes a virtual offer.
    """
    from portal.offers.models import (
        Offer,
        OfferCriterion,
        OfferFeature,
        OfferSector,
        OfferYearGroup,
    )

    n = _n()
    employer = employer or make_employer(insurance_expiry=dt.date.today() + dt.timedelta(days=365))
    mode = kw.pop("delivery_mode", "on_site")
    location = kw.pop("location", None if mode == "virtual" else MANCHESTER)
    if location is None:
        mode = "virtual" if mode == "on_site" else mode
    sessions = kw.pop("sessions", 1)
    sectors, years, features = kw.pop("sectors", ["healthcare"]), kw.pop("year_groups", [10, 11]), kw.pop("features", [])
    criteria = kw.pop("criteria", [])
    offer = Offer(
        offer_ref=kw.pop("offer_ref", f"OF-TEST{n:05d}"),
        employer_id=employer.id,
        title=kw.pop("title", f"Offer {n}"),
        description=kw.pop("description", "What students will do."),
        activity_type=kw.pop("activity_type", "workplace_visit"),
        delivery_mode=mode,
        uses_employer_location=kw.pop("uses_employer_location", False),
        postcode=kw.pop("postcode", None),
        latitude=location[0] if location else None,
        longitude=location[1] if location else None,
        status=kw.pop("status", "published"),
        **kw,
    )
    offer.employer = employer
    offer.sectors = [OfferSector(sector=code) for code in sectors]
    offer.year_groups = [OfferYearGroup(year_group=y) for y in years]
    offer.features = [OfferFeature(feature=code) for code in features]
    offer.criteria = [OfferCriterion(criterion=code) for code in criteria]
    db.session.add(offer)
    db.session.flush()
    for index in range(sessions):
        make_session(offer, starts_in_days=14 + 7 * index)
    return offer


# --- reflections (issue 7) -----------------------------------------------------------------


def make_booking(student: Student, offer: Any | None = None, *, status: str = "completed",
                 starts_at: dt.datetime | None = None, **kw: Any) -> Any:
    """A booking of the student on a session of the offer (a new workplace visit by default), completed by default."""
    from portal.bookings.models import Booking

    offer = offer or make_offer(**kw)
    occurrence = make_session(offer, starts_at=starts_at) if starts_at else offer.sessions[0]
    booking = Booking(student_id=student.id, session_id=occurrence.id, school_id=student.school_id,
                      employer_id=offer.employer_id, starts_at=occurrence.starts_at, ends_at=occurrence.ends_at,
                      status=status)
    db.session.add(booking)
    db.session.flush()
    return booking


# --- compliance (issue 6) ------------------------------------------------------------------


def make_risk_assessment(offer: Any, sessions: list[Any] | None = None, *, kind: str = "attestation",
                         reviewed_by: Any | None = None, **kw: Any) -> Any:
    """A risk assessment of the offer covering the given sessions (all of them by default), optionally reviewed."""
    from portal.compliance.models import (
        RiskAssessment,
        RiskAssessmentCoverage,
        RiskAssessmentReview,
    )

    assessment = RiskAssessment(
        offer_id=offer.id, employer_id=offer.employer_id, kind=kind,
        attestation=kw.pop("attestation", "Our own assessment covers visits to this site." if kind == "attestation" else None),
        stored_name=kw.pop("stored_name", f"{_n():032x}.pdf" if kind == "upload" else None),
        original_name=kw.pop("original_name", "risk-assessment.pdf" if kind == "upload" else None), **kw)
    db.session.add(assessment)
    db.session.flush()
    for occurrence in sessions if sessions is not None else offer.sessions:
        db.session.merge(RiskAssessmentCoverage(session_id=occurrence.id, risk_assessment_id=assessment.id))
    if reviewed_by is not None:
        db.session.add(RiskAssessmentReview(risk_assessment_id=assessment.id, school_id=reviewed_by.school_id,
                                            reviewed_by_id=reviewed_by.id))
    db.session.flush()
    return assessment


def make_dbs_note(school: School, supervisor: Any, *, decision: str = "not_required", **kw: Any) -> Any:
    """The school's DBS decision about a supervisor ("not required" with a reason by default)."""
    from portal.compliance.models import DbsNote

    if decision == "checked":
        kw.setdefault("level", "enhanced")
        kw.setdefault("issued_on", dt.date(2025, 6, 1))
        kw.setdefault("certificate_last4", "1234")
        kw.setdefault("update_service_checked", True)
    else:
        kw.setdefault("reason", "Supervised in a group, never alone with the student")
    note = DbsNote(school_id=school.id, supervisor_id=supervisor.id, decision=decision, **kw)
    db.session.add(note)
    db.session.flush()
    return note


def make_consent(booking: Any, *, decision: str | None = "consented", **kw: Any) -> Any:
    """A consent request for the booking, answered (consented by default) or pending (decision=None)."""
    import secrets

    from portal.compliance.models import ConsentRequest

    now = dt.datetime.now(dt.UTC)
    request = ConsentRequest(
        booking_id=booking.id, school_id=booking.school_id, parent_email=kw.pop("parent_email", "parent@example.org"),
        nonce=secrets.token_urlsafe(24), expires_at=kw.pop("expires_at", now + dt.timedelta(days=14)),
        decision=decision, responder_name=kw.pop("responder_name", "Pat Parent" if decision else None),
        responded_at=kw.pop("responded_at", now if decision else None), **kw)
    db.session.add(request)
    db.session.flush()
    return request
