"""Capacity under real concurrency: 50 simultaneous attempts for 5 places, exactly 5 succeed.

Runs against the database of this run (SQLite file, and PostgreSQL when PORTAL_TEST_DATABASE_URL
is set), with every attempt in its own connection and transaction, committed like a real request.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.bookings.models import Booking
from portal.bookings.services import BookingRefused, book_student
from portal.core.models import AuditEvent, OutboxMessage
from portal.extensions import db
from portal.offers.models import Offer, OfferSession, OfferYearGroup
from portal.organisations.models import Employer, School, Student

ATTEMPTS = 50
PLACES = 5


def _world(engine, *, adults_max: int = 0, supporting_adult: str | None = None,
           capacity: int = PLACES) -> dict[str, object]:
    """Committed data: one school with 50 students, one published offer with a 5-place session."""
    with Session(engine) as s, s.begin():
        school = School(urn="990999", name="Concurrency High", school_type="mainstream", postcode="M13 9PL",
                        latitude=53.48, longitude=-2.24)
        employer = Employer(ref="concurrency-ltd", name="Concurrency Ltd", sector="healthcare", postcode="M1 3BN",
                            vetting_status="vetted", insurance_expiry=dt.date.today() + dt.timedelta(days=400))
        s.add_all([school, employer])
        s.flush()
        staff = User(email="race-staff@example.org", role="school", school_id=school.id, password_hash="x")
        offer = Offer(offer_ref="OF-RACE", employer_id=employer.id, title="Race", activity_type="workplace_visit",
                      delivery_mode="on_site", latitude=53.48, longitude=-2.24, status="published",
                      uses_employer_location=False, supporting_adults_max=adults_max)
        offer.year_groups = [OfferYearGroup(year_group=10)]
        s.add_all([staff, offer])
        s.flush()
        start = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=10)
        occurrence = OfferSession(offer_id=offer.id, starts_at=start, ends_at=start + dt.timedelta(hours=4), capacity=capacity)
        students = [Student(school_id=school.id, student_ref=f"RACE{i:02d}", first_name=f"Racer{i}", last_name="Test",
                            year_group=10, date_of_birth=dt.date(2011, 1, 1), supporting_adult=supporting_adult)
                    for i in range(ATTEMPTS)]
        s.add(occurrence)
        s.add_all(students)
        s.flush()
        return {"school": school.id, "employer": employer.id, "staff": staff.id, "offer": offer.id,
                "session": occurrence.id, "students": [st.id for st in students]}


def _clean(engine, ids: dict[str, object]) -> None:
    """Remove everything the test committed."""
    with Session(engine) as s, s.begin():
        s.execute(delete(Booking).where(Booking.session_id == ids["session"]))
        s.execute(delete(AuditEvent).where(AuditEvent.school_id == ids["school"]))
        s.execute(delete(OutboxMessage).where(OutboxMessage.employer_id == ids["employer"]))
        s.execute(delete(Offer).where(Offer.id == ids["offer"]))
        s.execute(delete(User).where(User.id == ids["staff"]))
        s.execute(delete(Student).where(Student.school_id == ids["school"]))
        s.execute(delete(School).where(School.id == ids["school"]))
        s.execute(delete(Employer).where(Employer.id == ids["employer"]))


def _race(app, engine, ids: dict[str, object]) -> Counter[str]:
    """Every student of the world asks for the session at the same moment; the refusal codes, counted."""
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    barrier = threading.Barrier(ATTEMPTS)

    def attempt(student_id: int) -> None:
        with app.app_context(), Session(engine, expire_on_commit=False) as s:
            staff = s.get(User, ids["staff"])
            student = s.get(Student, student_id)
            occurrence = s.get(OfferSession, ids["session"])
            _ = (student.school, student.needs, occurrence.offer.employer, occurrence.offer.year_groups,
                 occurrence.offer.features)
            s.commit()  # end the loading transaction: on SQLite it holds the write lock
            barrier.wait()
            try:
                book_student(s, staff, student, occurrence, adult_name=f"Adult of {student.first_name}")
                s.commit()
                result = "booked"
            except BookingRefused as refusal:
                s.rollback()
                result = refusal.code
        with lock:
            outcomes[result] += 1

    threads = [threading.Thread(target=attempt, args=(sid,)) for sid in ids["students"]]  # type: ignore[attr-defined]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


def test_fifty_simultaneous_bookings_fill_five_places_exactly(app):
    engine = db.engine
    ids = _world(engine)
    try:
        outcomes = _race(app, engine, ids)
        with Session(engine) as s:
            booked = s.scalar(select(OfferSession.booked).where(OfferSession.id == ids["session"]))
            rows = s.scalars(select(Booking).where(Booking.session_id == ids["session"])).all()
        assert outcomes == Counter({"booked": PLACES, "session_full": ATTEMPTS - PLACES})
        assert booked == PLACES and len(rows) == PLACES
    finally:
        _clean(engine, ids)


def test_supporting_adults_places_are_counted_apart_and_never_over_the_offers_limit(app):
    """Fifty students who each must attend with a teaching assistant, 3 adult places and 50 student places: exactly
    3 are booked, the rest are refused for want of an adult place, and the student places taken are 3, not more."""
    engine = db.engine
    ids = _world(engine, adults_max=3, supporting_adult="teaching_assistant", capacity=ATTEMPTS)
    try:
        outcomes = _race(app, engine, ids)
        with Session(engine) as s:
            booked, adults = s.execute(select(OfferSession.booked, OfferSession.adults_booked)
                                       .where(OfferSession.id == ids["session"])).one()
            named = s.scalars(select(Booking.supporting_adult_name).where(Booking.session_id == ids["session"])).all()
        assert outcomes == Counter({"booked": 3, "adult_places_full": ATTEMPTS - 3})
        assert (booked, adults) == (3, 3)
        assert len(named) == 3 and all(name and name.startswith("Adult of Racer") for name in named)
    finally:
        _clean(engine, ids)
