"""One open question per student and session, and one answer per request, under real concurrency: eight asks
(and then eight answers) sent at the same moment, each in its own connection and transaction, yield exactly one.

Runs on the database of this run (SQLite file, and PostgreSQL when PORTAL_TEST_DATABASE_URL is set).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, joinedload

from portal.accounts.models import User
from portal.adjustments import services
from portal.adjustments.models import AdjustmentRequest
from portal.core.models import AuditEvent
from portal.extensions import db
from portal.offers.models import Offer, OfferSession
from portal.organisations.models import Employer, School, Student
from tests.concurrency import RACERS, committed_world, race, remove_world

TAG = "adjust-race"


def _world(engine) -> dict[str, int]:
    """Committed: a school and its staff, an employer and its staff, a near miss lacking flexible hours, a student."""
    return committed_world(engine, TAG, "990997", school_type="special", features=["quiet_space"],
                           needs=["quiet_space", "flexible_hours"])


def _clean(engine, ids: dict[str, int]) -> None:
    """Remove everything the test committed."""
    remove_world(engine, TAG, ids, delete(AdjustmentRequest).where(AdjustmentRequest.offer_id == ids["offer"]))


def test_simultaneous_asks_make_one_request_and_simultaneous_answers_record_one(app):
    engine = db.engine
    ids = _world(engine)

    def ask(s: Session, _index: int) -> None:
        staff = s.get(User, ids["staff"])
        student = s.scalars(select(Student).where(Student.id == ids["student"])
                            .options(joinedload(Student.school))).one()
        occurrence = s.get(OfferSession, ids["session"])
        _ = (student.need_codes, occurrence.offer.employer, occurrence.offer.feature_codes,
             occurrence.offer.year_group_numbers)
        services.ask_for_student(s, staff, student, occurrence, ["flexible_hours"])

    def answer(s: Session, index: int) -> None:
        boss = s.get(User, ids["boss"])
        request = s.scalars(select(AdjustmentRequest).where(AdjustmentRequest.offer_id == ids["offer"])).one()
        services.answer(s, boss, request, accept=index % 2 == 0, note=f"answer {index}")

    try:
        with app.app_context():
            asked = race(app, engine, ask)
            answered = race(app, engine, answer)
        with Session(engine) as s:
            requests = s.scalars(select(AdjustmentRequest).where(AdjustmentRequest.offer_id == ids["offer"])).all()
            answers = s.scalars(select(AuditEvent.action).where(AuditEvent.actor_id == ids["boss"])).all()
        assert asked == Counter({"done": 1, "already_asked": RACERS - 1})
        assert answered == Counter({"done": 1, "already_answered": RACERS - 1})
        assert len(requests) == 1 and requests[0].status in ("accepted", "declined")
        assert len(answers) == 1
    finally:
        _clean(engine, ids)


def test_simultaneous_answers_to_a_posted_need_add_exactly_one_session(app):
    """Eight answers with a session at the same moment: one need answered, one session added, seven refused."""
    from portal.adjustments import needs
    from portal.adjustments.models import PostedNeed
    from portal.offers.services import SessionDetails

    engine = db.engine
    ids = _world(engine)
    with Session(engine) as s, s.begin():
        school = s.get(School, ids["school"])
        school.latitude, school.longitude = 53.48, -2.24
        employer = s.get(Employer, ids["employer"])
        employer.latitude, employer.longitude = 53.48, -2.24
        employer.insurance_expiry = dt.date.today() + dt.timedelta(days=400)
        today = dt.date.today()
        need = PostedNeed(school_id=school.id, year_group=10, places=3, date_from=today, need_counts={},
                          date_to=today + dt.timedelta(days=60), expires_on=today + dt.timedelta(days=30))
        s.add(need)
        s.flush()
        need_id = need.id

    def answer(s: Session, index: int) -> None:
        boss = s.get(User, ids["boss"])
        offer = s.get(Offer, ids["offer"])
        found = s.get(PostedNeed, need_id)
        start = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=20, hours=index)
        needs.answer(s, boss, found, offer, SessionDetails(start, start + dt.timedelta(hours=2), 3))

    try:
        with app.app_context():
            outcomes = race(app, engine, answer)
        with Session(engine) as s:
            sessions = s.scalars(select(OfferSession.id).where(OfferSession.offer_id == ids["offer"])).all()
            stored = s.get(PostedNeed, need_id)
            assert stored is not None and stored.status == "answered" and stored.answered_session_id in sessions
        assert outcomes == Counter({"done": 1, "already_answered": RACERS - 1})
        assert len(sessions) == 2  # the world's own session and the one answer
    finally:
        with Session(engine) as s, s.begin():
            s.execute(delete(PostedNeed).where(PostedNeed.id == need_id))
        _clean(engine, ids)
