"""A consent link is single-use under real concurrency: ten answers sent at the same moment, exactly one is recorded.

Runs on the database of this run (SQLite file, and PostgreSQL when PORTAL_TEST_DATABASE_URL is set), each
answer in its own connection and transaction, committed like a real request.
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
from collections import Counter

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.bookings.models import Booking
from portal.compliance.consent import LinkInvalid, consent_token, request_from_token, respond
from portal.compliance.models import ConsentRequest
from portal.core.models import AuditEvent, OutboxMessage
from portal.extensions import db
from portal.offers.models import Offer, OfferSession
from portal.organisations.models import Employer, School, Student

ANSWERS = 10


def _world(engine) -> dict[str, int]:
    """Committed: a school, its staff member, a student under 18 confirmed on a session, and a consent request."""
    with Session(engine) as s, s.begin():
        school = School(urn="990998", name="Consent Race High", school_type="mainstream", postcode="M13 9PL")
        employer = Employer(ref="consent-race", name="Consent Race Ltd", sector="healthcare", postcode="M1 3BN",
                            vetting_status="vetted")
        s.add_all([school, employer])
        s.flush()
        staff = User(email="consent-race@example.org", role="school", school_id=school.id, password_hash="x")
        offer = Offer(offer_ref="OF-CONSENT-RACE", employer_id=employer.id, title="Race", activity_type="workplace_visit",
                      delivery_mode="on_site", status="published", uses_employer_location=False)
        student = Student(school_id=school.id, student_ref="CR1", first_name="Rae", last_name="Test", year_group=10,
                          date_of_birth=dt.date(2011, 1, 1))
        s.add_all([staff, offer, student])
        s.flush()
        start = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=10)
        occurrence = OfferSession(offer_id=offer.id, starts_at=start, ends_at=start + dt.timedelta(hours=4), capacity=5)
        s.add(occurrence)
        s.flush()
        booking = Booking(student_id=student.id, session_id=occurrence.id, school_id=school.id, employer_id=employer.id,
                          starts_at=start, ends_at=occurrence.ends_at, status="confirmed", requested_by_id=staff.id)
        s.add(booking)
        s.flush()
        request = ConsentRequest(booking_id=booking.id, school_id=school.id, parent_email="parent@example.org",
                                 nonce=secrets.token_urlsafe(32), sent_by_id=staff.id,
                                 expires_at=start - dt.timedelta(hours=1))
        s.add(request)
        s.flush()
        return {"school": school.id, "employer": employer.id, "staff": staff.id, "offer": offer.id,
                "student": student.id, "request": request.id}


def _clean(engine, ids: dict[str, int]) -> None:
    """Remove everything the test committed."""
    with Session(engine) as s, s.begin():
        s.execute(delete(AuditEvent).where(AuditEvent.school_id == ids["school"]))
        s.execute(delete(OutboxMessage).where(OutboxMessage.school_id == ids["school"]))
        s.execute(delete(Student).where(Student.id == ids["student"]))  # cascades the booking and the request
        s.execute(delete(Offer).where(Offer.id == ids["offer"]))
        s.execute(delete(User).where(User.id == ids["staff"]))
        s.execute(delete(School).where(School.id == ids["school"]))
        s.execute(delete(Employer).where(Employer.id == ids["employer"]))


def test_ten_simultaneous_answers_to_one_link_record_exactly_one(app):
    engine = db.engine
    ids = _world(engine)
    with app.app_context(), Session(engine) as s:
        token = consent_token(s.get(ConsentRequest, ids["request"]))
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    barrier = threading.Barrier(ANSWERS)

    def answer(index: int) -> None:
        with app.test_request_context(), Session(engine, expire_on_commit=False) as s:
            request = request_from_token(s, token, dt.datetime.now(dt.UTC))
            _ = (request.booking.student, request.booking.session.offer.employer, request.sent_by)
            s.commit()  # end the loading transaction: on SQLite it holds the write lock
            barrier.wait()
            try:
                respond(s, request, consent=index % 2 == 0, name=f"Parent {index}")
                s.commit()
                result = "recorded"
            except LinkInvalid as refusal:
                s.rollback()
                result = refusal.reason
        with lock:
            outcomes[result] += 1

    threads = [threading.Thread(target=answer, args=(i,)) for i in range(ANSWERS)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        with Session(engine) as s:
            stored = s.get(ConsentRequest, ids["request"])
            audits = s.scalars(select(AuditEvent.action).where(AuditEvent.school_id == ids["school"])).all()
            emails = s.scalars(select(OutboxMessage.id).where(OutboxMessage.school_id == ids["school"])).all()
            assert stored is not None and stored.decision is not None and stored.responder_name
        assert outcomes == Counter({"recorded": 1, "used": ANSWERS - 1})
        assert len(audits) == 1 and audits[0].startswith("consent_")
        assert len(emails) == 1
    finally:
        _clean(engine, ids)
