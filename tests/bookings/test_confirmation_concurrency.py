"""A school's "not there" flags the offer once, even when the same answer is sent eight times at the same moment
(a double-clicked button, two members of staff): one conditional upsert per answer, proven with real threads."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.bookings import confirmations
from portal.bookings.models import Booking, FeatureConfirmation
from portal.core.models import OutboxMessage
from portal.core.vocab import ConfirmationSource
from portal.extensions import db
from tests.concurrency import RACERS, committed_world, race, remove_world

TAG = "confirm-race"


def test_eight_simultaneous_not_there_answers_flag_the_offer_once(app):
    engine = db.engine
    ids = committed_world(engine, TAG, "990996", school_type="special", features=["quiet_space"], needs=["quiet_space"],
                          starts_in=-dt.timedelta(days=7), booking_status="completed")

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
        remove_world(engine, TAG, ids, delete(FeatureConfirmation).where(FeatureConfirmation.booking_id == ids["booking"]))
