"""A student who must attend with a supporting adult matches only sessions of offers that accept one and still have
a place for one; when that rule alone leaves nothing, the reason says so (and is not said when it is false); the
booking names the adult and takes an adult place, not a student one, and gives it back when cancelled."""

from __future__ import annotations

import datetime as dt

import pytest

from portal.bookings.services import BookingRefused, book_student, cancel
from portal.core.vocab import MatchRule, Role
from portal.extensions import db
from portal.matching.services import MatchRequest, match_student
from tests.factories import (
    make_employer,
    make_offer,
    make_school,
    make_session,
    make_student,
    make_user,
)

SCHOOL_AT = (53.4809, -2.2374)


@pytest.fixture
def school():
    return make_school(latitude=SCHOOL_AT[0], longitude=SCHOOL_AT[1], min_notice_days=0)


@pytest.fixture
def staff(school):
    return make_user(Role.SCHOOL, school=school)


@pytest.fixture
def employer():
    return make_employer(insurance_expiry=dt.date.today() + dt.timedelta(days=400))


@pytest.fixture
def accompanied(school):
    return make_student(school, first_name="Noor", supporting_adult="job_coach")


def _offers(student) -> set[int]:
    return {m.offer.id for m in match_student(db.session, student, MatchRequest()).matches}


def test_only_offers_accepting_a_supporting_adult_match(accompanied, employer, school):
    alone_only = make_offer(employer)
    with_adult = make_offer(employer, supporting_adults_max=2)
    assert _offers(accompanied) == {with_adult.id}
    assert {alone_only.id, with_adult.id} <= _offers(make_student(school))
    [match] = match_student(db.session, accompanied, MatchRequest()).matches
    assert "room for the job coach to attend (2 supporting adult places left)" in match.reasons


def test_a_session_whose_adult_places_are_taken_does_not_match(accompanied, employer):
    offer = make_offer(employer, supporting_adults_max=1)
    offer.sessions[0].adults_booked = 1
    db.session.flush()
    outcome = match_student(db.session, accompanied, MatchRequest())
    assert outcome.matches == []
    assert outcome.blocked_by == [MatchRule.SUPPORTING_ADULT]
    assert any("place for the supporting adult Noor must attend with" in line for line in outcome.explanations)


def test_the_supporting_adult_reason_is_not_given_when_another_rule_blocks(accompanied, employer):
    make_offer(employer, supporting_adults_max=1, year_groups=[12])
    outcome = match_student(db.session, accompanied, MatchRequest())
    assert MatchRule.SUPPORTING_ADULT not in outcome.blocked_by and MatchRule.YEAR_GROUP in outcome.blocked_by


def test_booking_names_the_adult_and_counts_an_adult_place_apart(staff, accompanied, employer):
    offer = make_offer(employer, supporting_adults_max=1)
    occurrence = offer.sessions[0]
    with pytest.raises(BookingRefused) as refused:
        book_student(db.session, staff, accompanied, occurrence, adult_name="  ")
    assert refused.value.code == "adult_name_required" and refused.value.field == "adult_name"
    booking = book_student(db.session, staff, accompanied, occurrence, adult_name="Sam  Patel")
    db.session.refresh(occurrence)
    assert (booking.supporting_adult_name, booking.supporting_adult_role) == ("Sam Patel", "job_coach")
    assert (occurrence.booked, occurrence.adults_booked) == (1, 1)
    cancel(db.session, staff, booking)
    db.session.refresh(occurrence)
    assert (occurrence.booked, occurrence.adults_booked) == (0, 0)


def test_an_offer_without_adult_places_refuses_an_accompanied_student(staff, accompanied, employer):
    offer = make_offer(employer)
    with pytest.raises(BookingRefused) as refused:
        book_student(db.session, staff, accompanied, offer.sessions[0], adult_name="Sam Patel")
    assert refused.value.code == "no_supporting_adult"


def test_a_student_alone_takes_no_adult_place(staff, school, employer):
    offer = make_offer(employer, supporting_adults_max=1)
    booking = book_student(db.session, staff, make_student(school), offer.sessions[0], adult_name="Ignored")
    db.session.refresh(offer.sessions[0])
    assert booking.supporting_adult_name is None and offer.sessions[0].adults_booked == 0


def test_the_employer_sees_that_an_adult_will_attend_but_not_why(client, login, staff, accompanied, employer):
    offer = make_offer(employer, supporting_adults_max=1)
    booking = book_student(db.session, staff, accompanied, offer.sessions[0], adult_name="Sam Patel")
    login(make_user(Role.EMPLOYER, employer=employer))
    page = client.get(f"/employer/bookings/{booking.id}").get_data(as_text=True)
    assert "Job coach: Sam Patel will attend with Noor" in page
    make_session(make_offer(employer, supporting_adults_max=1, sessions=0), starts_in_days=30)  # not booked yet
    login(staff)
    form = client.get(f"/match?student_id={accompanied.id}").get_data(as_text=True)
    assert f'name="adult_name-{accompanied.id}"' in form
