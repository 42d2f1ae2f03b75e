"""A school's "not there" flags the offer once, even when the same answer is sent eight times at the same moment
(a double-clicked button, two members of staff): one conditional upsert per answer, proven with real threads."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.bookings import confirmations
from portal.bookings.models import Booking, FeatureConfirmation
from portal.core.models import AuditEvent, OutboxMessage
from portal.core.vocab import ConfirmationSource
from portal.extensions import db
from portal.offers.models import Offer, OfferFeature, OfferSession, OfferYearGroup
from portal.organisations.models import Employer, School, Student, StudentNeed
from tests.concurrency import RACERS, race


def _world(engine) -> dict[str, int]:
    """Committed: a school and its staff, an employer and its staff, a student's completed placement."""
    with Session(engine) as s, s.begin():
        school = School(urn="990996", name="Confirm Race High", school_type="special", postcode="M13 9PL")
        employer = Employer(ref="confirm-race", name="Confirm Race Ltd", sector="healthcare", postcode="M1 3BN",
                            vetting_status="vetted")
        s.add_all([school, employer])
        s.flush()
        staff = User(email="confirm-race-school@example.org", role="school", school_id=school.id, password_hash="x")
        boss = User(email="confirm-race-employer@example.org", role="employer", employer_id=employer.id,
                    password_hash="x")
        offer = Offer(offer_ref="OF-CONFIRM-RACE", employer_id=employer.id, title="Race", activity_type="work_experience",
                      delivery_mode="on_site", status="published", uses_employer_location=False,
                      latitude=53.48, longitude=-2.24)
        offer.year_groups = [OfferYearGroup(year_group=10)]
        offer.features = [OfferFeature(feature="quiet_space")]
        student = Student(school_id=school.id, student_ref="CR1", first_name="Rae", last_name="Test", year_group=10,
                          date_of_birth=dt.date(2011, 1, 1))
        student.needs = [StudentNeed(need="quiet_space")]
        s.add_all([staff, boss, offer, student])
        s.flush()
        start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=7)
        occurrence = OfferSession(offer_id=offer.id, starts_at=start, ends_at=start + dt.timedelta(hours=4), capacity=5)
        s.add(occurrence)
        s.flush()
        booking = Booking(student_id=student.id, session_id=occurrence.id, school_id=school.id,
                          employer_id=employer.id, starts_at=occurrence.starts_at, ends_at=occurrence.ends_at,
                          status="completed")
        s.add(booking)
        s.flush()
        return {"school": school.id, "employer": employer.id, "staff": staff.id, "boss": boss.id, "offer": offer.id,
                "student": student.id, "booking": booking.id}


def _clean(engine, ids: dict[str, int]) -> None:
    """Remove everything the test committed."""
    with Session(engine) as s, s.begin():
        s.execute(delete(AuditEvent).where(AuditEvent.actor_id == ids["staff"]))
        s.execute(delete(OutboxMessage).where(OutboxMessage.recipient.like("confirm-race-%")))
        s.execute(delete(Booking).where(Booking.id == ids["booking"]))
        s.execute(delete(Student).where(Student.id == ids["student"]))
        s.execute(delete(Offer).where(Offer.id == ids["offer"]))
        s.execute(delete(User).where(User.id.in_([ids["staff"], ids["boss"]])))
        s.execute(delete(School).where(School.id == ids["school"]))
        s.execute(delete(Employer).where(Employer.id == ids["employer"]))


def test_eight_simultaneous_not_there_answers_flag_the_offer_once(app):
    engine = db.engine
    ids = _world(engine)

    def answer(s: Session, _index: int) -> None:
        staff = s.get(User, ids["staff"])
        booking = s.get(Booking, ids["booking"])
        _ = (booking.student.need_codes, booking.session.offer_id)
        confirmations.record(s, booking, {"quiet_space": False}, source=ConfirmationSource.SCHOOL, user=staff)

    try:
        with app.app_context():
            outcomes = race(app, engine, answer)
        with Session(engine) as s:
            rows = s.scalars(select(FeatureConfirmation).where(FeatureConfirmation.booking_id == ids["booking"])).all()
            emails = s.scalars(select(OutboxMessage.recipient).where(
                OutboxMessage.recipient == "confirm-race-employer@example.org")).all()
        assert outcomes == {"done": RACERS}
        assert [(row.feature, row.present) for row in rows] == [("quiet_space", False)]
        assert emails == ["confirm-race-employer@example.org"]
    finally:
        _clean(engine, ids)
