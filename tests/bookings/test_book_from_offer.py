"""An offer reached from Find offers leads a school to booking a student on a session with places."""

from __future__ import annotations

import datetime as dt

from tests.factories import (
    make_employer,
    make_offer,
    make_school,
    make_session,
    make_student,
    make_user,
)


def _offer_with(capacity: int, booked: int):
    offer = make_offer(make_employer(insurance_expiry=dt.date.today() + dt.timedelta(days=400)), sessions=0)
    return offer, make_session(offer, starts_in_days=20, capacity=capacity, booked=booked)


def test_a_session_with_places_offers_book_a_student(login):
    offer, occurrence = _offer_with(capacity=5, booked=1)
    staff = make_user("school", school_id=make_school().id)
    page = login(staff).get(f"/offers/{offer.id}").get_data(as_text=True)
    assert f'/offers/{offer.id}/sessions/{occurrence.id}/book"' in page
    assert "Book a student" in page


def test_a_full_session_offers_no_booking(login):
    offer, occurrence = _offer_with(capacity=3, booked=3)
    staff = make_user("school", school_id=make_school().id)
    page = login(staff).get(f"/offers/{offer.id}").get_data(as_text=True)
    assert f"/sessions/{occurrence.id}/book" not in page


def test_the_booking_page_lists_only_the_schools_students_in_the_offers_year_groups(login):
    offer, occurrence = _offer_with(capacity=5, booked=0)
    school = make_school()
    years = offer.year_group_numbers
    make_student(school, first_name="Inyear", year_group=years[0])
    make_student(school, first_name="Outyear", year_group=max(years) + 1 if max(years) < 13 else min(years) - 1)
    make_student(make_school(), first_name="Elsewhere", year_group=years[0])
    page = login(make_user("school", school_id=school.id)).get(
        f"/offers/{offer.id}/sessions/{occurrence.id}/book").get_data(as_text=True)
    assert "Inyear" in page
    assert "Outyear" not in page and "Elsewhere" not in page
    assert 'action="/bookings/new"' in page
    assert f'name="session_id" value="{occurrence.id}"' in page


def test_the_booking_page_refuses_a_session_of_another_offer(login):
    offer, _ = _offer_with(capacity=5, booked=0)
    _, other = _offer_with(capacity=5, booked=0)
    staff = make_user("school", school_id=make_school().id)
    assert login(staff).get(f"/offers/{offer.id}/sessions/{other.id}/book").status_code == 404
