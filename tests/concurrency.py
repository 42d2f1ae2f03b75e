"""Real parallel requests for the tests of claimed and counted things: threads released together, each with its own
connection and transaction (SQLite file, and PostgreSQL when PORTAL_TEST_DATABASE_URL is set)."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Executable, delete, or_
from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.bookings.models import Booking
from portal.core.models import AuditEvent, OutboxMessage
from portal.core.refusals import Refusal
from portal.offers.models import Offer, OfferFeature, OfferSession, OfferYearGroup
from portal.organisations.models import Employer, School, Student, StudentNeed

RACERS = 8


def race(app: Any, engine: Any, act: Callable[[Session, int], None], racers: int = RACERS) -> Counter[str]:
    """Run `act` in `racers` threads released together, each committing its own transaction; count the outcomes
    ("done", or the code of the Refusal it raised)."""
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    barrier = threading.Barrier(racers)

    def run(index: int) -> None:
        with app.test_request_context(), Session(engine, expire_on_commit=False) as s:
            barrier.wait()
            try:
                act(s, index)
                s.commit()
                result = "done"
            except Refusal as refusal:
                s.rollback()
                result = refusal.code
        with lock:
            outcomes[result] += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


def committed_world(engine: Any, tag: str, urn: str, *, school_type: str = "mainstream", features: Sequence[str] = (),
                    needs: Sequence[str] = (), starts_in: dt.timedelta = dt.timedelta(days=10),
                    booking_status: str | None = None) -> dict[str, int]:
    """Committed, for a race: a school and its staff ({tag}-school@…), a vetted employer and its staff
    ({tag}-employer@…), a published Year 10 offer with the features and one session starting `starts_in` from now,
    a Year 10 student with the needs, and (with a status) the student's booking on the session."""
    with Session(engine) as s, s.begin():
        school = School(urn=urn, name=f"{tag} High", school_type=school_type, postcode="M13 9PL")
        employer = Employer(ref=tag, name=f"{tag} Ltd", sector="healthcare", postcode="M1 3BN", vetting_status="vetted")
        s.add_all([school, employer])
        s.flush()
        staff = User(email=f"{tag}-school@example.org", role="school", school_id=school.id, password_hash="x")
        boss = User(email=f"{tag}-employer@example.org", role="employer", employer_id=employer.id, password_hash="x")
        offer = Offer(offer_ref=f"OF-{tag.upper()}", employer_id=employer.id, title="Race",
                      activity_type="workplace_visit", delivery_mode="on_site", status="published",
                      uses_employer_location=False, latitude=53.48, longitude=-2.24)
        offer.year_groups = [OfferYearGroup(year_group=10)]
        offer.features = [OfferFeature(feature=code) for code in features]
        student = Student(school_id=school.id, student_ref=f"{urn}-1", first_name="Rae", last_name="Test",
                          year_group=10, date_of_birth=dt.date(2011, 1, 1))
        student.needs = [StudentNeed(need=code) for code in needs]
        s.add_all([staff, boss, offer, student])
        s.flush()
        start = dt.datetime.now(dt.UTC).replace(microsecond=0) + starts_in
        occurrence = OfferSession(offer_id=offer.id, starts_at=start, ends_at=start + dt.timedelta(hours=4), capacity=5)
        s.add(occurrence)
        s.flush()
        ids = {"school": school.id, "employer": employer.id, "staff": staff.id, "boss": boss.id, "offer": offer.id,
               "student": student.id, "session": occurrence.id}
        if booking_status is not None:
            booking = Booking(student_id=student.id, session_id=occurrence.id, school_id=school.id,
                              employer_id=employer.id, starts_at=occurrence.starts_at, ends_at=occurrence.ends_at,
                              status=booking_status, requested_by_id=staff.id)
            s.add(booking)
            s.flush()
            ids["booking"] = booking.id
        return ids


def remove_world(engine: Any, tag: str, ids: dict[str, int], *first: Executable) -> None:
    """Delete what committed_world (and the race) wrote, after the `first` statements for rows that refer to it."""
    with Session(engine) as s, s.begin():
        for statement in first:
            s.execute(statement)
        s.execute(delete(AuditEvent).where(or_(AuditEvent.actor_id.in_([ids["staff"], ids["boss"]]),
                                               AuditEvent.school_id == ids["school"])))
        s.execute(delete(OutboxMessage).where(or_(OutboxMessage.recipient.like(f"{tag}-%"),
                                                  OutboxMessage.school_id == ids["school"])))
        s.execute(delete(Booking).where(Booking.student_id == ids["student"]))
        s.execute(delete(Student).where(Student.id == ids["student"]))
        s.execute(delete(Offer).where(Offer.id == ids["offer"]))
        s.execute(delete(User).where(User.id.in_([ids["staff"], ids["boss"]])))
        s.execute(delete(School).where(School.id == ids["school"]))
        s.execute(delete(Employer).where(Employer.id == ids["employer"]))
