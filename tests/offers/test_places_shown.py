"""Session tables show the places still free, and say so when a session is full."""

from __future__ import annotations

import datetime as dt

from tests.factories import make_employer, make_offer, make_school, make_session, make_user


def _sessions_table(page: str) -> str:
    """The sessions table of an offer page."""
    return page.split("When (UK time)")[1].split("</table>")[0]


def test_a_school_sees_places_left_and_full(login):
    offer = make_offer(make_employer(insurance_expiry=dt.date.today() + dt.timedelta(days=400)), sessions=0)
    make_session(offer, starts_in_days=20, capacity=12, booked=12)
    make_session(offer, starts_in_days=30, capacity=12, booked=5)
    staff = make_user("school", school_id=make_school().id)
    table = _sessions_table(login(staff).get(f"/offers/{offer.id}").get_data(as_text=True))
    assert "0 of 12 left — full" in table
    assert "7 of 12 left" in table
    assert "7 of 12 left — full" not in table


def test_the_employer_sees_places_left_on_its_own_offer(login):
    employer = make_employer(insurance_expiry=dt.date.today() + dt.timedelta(days=400))
    offer = make_offer(employer, sessions=0)
    make_session(offer, starts_in_days=20, capacity=4, booked=4)
    table = _sessions_table(login(make_user("employer", employer_id=employer.id))
                            .get(f"/employer/offers/{offer.id}").get_data(as_text=True))
    assert "0 of 4 left — full" in table
