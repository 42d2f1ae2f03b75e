"""A consent link is single-use under real concurrency: ten answers sent at the same moment, exactly one is recorded.

Runs on the database of this run (SQLite file, and PostgreSQL when PORTAL_TEST_DATABASE_URL is set), each
answer in its own connection and transaction, committed like a real request.
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.bookings.models import Booking
from portal.compliance.consent import LinkInvalid, consent_token, request_from_token, respond
from portal.compliance.models import ConsentRequest
from portal.core.models import AuditEvent, OutboxMessage
from portal.extensions import db
from tests.concurrency import committed_world, remove_world

ANSWERS = 10


TAG = "consent-race"


def _world(engine) -> dict[str, int]:
    """Committed: a school, its staff member, a student under 18 confirmed on a session, and a consent request."""
    ids = committed_world(engine, TAG, "990998", booking_status="confirmed")
    with Session(engine) as s, s.begin():
        booking = s.get(Booking, ids["booking"])
        request = ConsentRequest(booking_id=booking.id, school_id=ids["school"], parent_email="parent@example.org",
                                 nonce=secrets.token_urlsafe(32), sent_by_id=ids["staff"],
                                 expires_at=booking.starts_at - dt.timedelta(hours=1))
        s.add(request)
        s.flush()
        ids["request"] = request.id
    return ids


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
        remove_world(engine, TAG, ids)
