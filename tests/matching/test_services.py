"""Each matching rule and ranking factor has a test that fails if it is broken."""

from __future__ import annotations

import datetime as dt

import pytest

from portal.bookings.models import Booking
from portal.core.vocab import Role
from portal.extensions import db
from portal.matching.services import MatchRequest, match_group, match_student
from portal.offers.models import OfferSession
from tests.factories import (
    make_employer,
    make_offer,
    make_school,
    make_session,
    make_student,
    make_user,
)

SCHOOL_AT = (53.4809, -2.2374)  # Manchester
NEAR = (53.4900, -2.2374)  # about 1 km north
FURTHER = (53.5400, -2.2374)  # about 6.6 km north
FAR = (53.8008, -1.5491)  # Leeds, about 58 km


@pytest.fixture
def school():
    return make_school(latitude=SCHOOL_AT[0], longitude=SCHOOL_AT[1])


@pytest.fixture
def employer():
    return make_employer(insurance_expiry=dt.date.today() + dt.timedelta(days=400))


def _titles(outcome):
    return [m.offer.title for m in outcome.matches]


def _match(student, limit=20, **kw):
    return match_student(db.session, student, MatchRequest(**kw), limit=limit)


def test_only_published_offers_of_vetted_employers_match(school, employer):
    student = make_student(school)
    make_offer(employer, title="Published", location=NEAR)
    make_offer(employer, title="Draft", location=NEAR, status="draft")
    make_offer(make_employer(vetting_status="pending"), title="Unvetted", location=NEAR)
    assert _titles(_match(student)) == ["Published"]


def test_year_group_must_be_eligible(school, employer):
    make_offer(employer, title="Sixth form only", location=NEAR, year_groups=[12, 13])
    assert _titles(_match(make_student(school, year_group=10))) == []
    assert _titles(_match(make_student(school, year_group=12))) == ["Sixth form only"]


def test_every_access_need_must_be_supported(school, employer):
    make_offer(employer, title="Quiet only", location=NEAR, features=["quiet_space"])
    make_offer(employer, title="Quiet and step-free", location=NEAR, features=["quiet_space", "step_free_access"])
    student = make_student(school, needs=["quiet_space", "step_free_access"])
    assert _titles(_match(student)) == ["Quiet and step-free"]


def test_distance_limit_applies_but_virtual_offers_ignore_it(school, employer):
    make_offer(employer, title="Near", location=NEAR)
    make_offer(employer, title="Leeds", location=FAR)
    make_offer(employer, title="Online", location=None)
    titles = _titles(_match(make_student(school), radius_km=15))
    assert "Near" in titles and "Online" in titles and "Leeds" not in titles
    assert "Leeds" in _titles(_match(make_student(school), radius_km=80))


def test_a_student_with_needs_is_matched_online_only_where_every_need_is_met_and_told_of_the_rest(school, employer):
    make_offer(employer, title="Online, quiet", location=None, features=["quiet_space"])
    make_offer(employer, title="Online", location=None, features=[])
    outcome = _match(make_student(school, needs=["quiet_space"]))
    assert _titles(outcome) == ["Online, quiet"]
    assert [(miss.offer.title, miss.missing) for miss in outcome.near_misses] == [("Online", ("quiet_space",))]


def test_sessions_must_be_in_the_window_in_the_future_and_have_a_free_place(school, employer):
    student = make_student(school)
    full = make_offer(employer, title="Full", location=NEAR, sessions=0)
    make_session(full, capacity=1, booked=1)
    make_offer(employer, title="Open", location=NEAR)
    assert _titles(_match(student)) == ["Open"]
    in_three_weeks = dt.date.today() + dt.timedelta(days=21)
    assert _titles(_match(student, date_from=in_three_weeks)) == []  # its only session is in two weeks


def test_a_student_already_booked_at_that_time_is_not_offered_it(school, employer):
    student = make_student(school)
    offer = make_offer(employer, title="Taken", location=NEAR)
    occurrence = offer.sessions[0]
    db.session.add(Booking(student_id=student.id, session_id=occurrence.id, school_id=school.id,
                           employer_id=employer.id, starts_at=occurrence.starts_at, ends_at=occurrence.ends_at))
    db.session.flush()
    assert _titles(_match(student)) == []


def test_nearer_ranks_higher_all_else_equal(school, employer):
    make_offer(employer, title="Further", location=FURTHER, activity_type="careers_talk")
    make_offer(employer, title="Nearer", location=NEAR, activity_type="careers_talk")
    assert _titles(_match(make_student(school))) == ["Nearer", "Further"]


def test_sector_interest_outranks_a_little_distance_and_is_explained(school, employer):
    make_offer(employer, title="Near retail", location=NEAR, sectors=["retail_sales"], activity_type="careers_talk")
    make_offer(employer, title="Healthcare", location=FURTHER, sectors=["healthcare"], activity_type="careers_talk")
    outcome = _match(make_student(school, interests=["healthcare"]))
    assert _titles(outcome)[0] == "Healthcare"
    assert "interested in healthcare" in " · ".join(outcome.matches[0].reasons)


def test_a_new_kind_of_experience_ranks_higher(school, employer):
    student = make_student(school)
    done = make_offer(employer, title="Done before", location=NEAR, activity_type="mock_interview")
    past = make_session(done, starts_in_days=-30)
    db.session.add(Booking(student_id=student.id, session_id=past.id, school_id=school.id, employer_id=employer.id,
                           starts_at=past.starts_at, ends_at=past.ends_at, status="completed"))
    make_offer(employer, title="New kind", location=NEAR, activity_type="mentoring")
    db.session.flush()
    outcome = _match(student)
    assert _titles(outcome)[0] == "New kind"
    assert any("new kind of experience" in r for r in outcome.matches[0].reasons)


def test_a_first_workplace_experience_ranks_higher(school, employer):
    make_offer(employer, title="Talk", location=NEAR, activity_type="careers_talk")
    make_offer(employer, title="Visit", location=NEAR, activity_type="workplace_visit")
    outcome = _match(make_student(school))
    assert _titles(outcome)[0] == "Visit"
    assert any("first workplace experience" in r for r in outcome.matches[0].reasons)


def test_reasons_name_distance_and_each_need(school, employer):
    make_offer(employer, title="Fits", location=NEAR, features=["step_free_access", "quiet_space"])
    outcome = _match(make_student(school, needs=["step_free_access", "quiet_space"]))
    reasons = " · ".join(outcome.matches[0].reasons)
    assert "1.0 km" in reasons and "step-free access ✓" in reasons and "quiet space ✓" in reasons


def test_one_good_match_outside_the_students_interests_is_shown(school, employer):
    make_offer(employer, title="Healthcare", location=NEAR, sectors=["healthcare"])
    make_offer(employer, title="Construction", location=FURTHER, sectors=["construction_trades"])
    outcome = _match(make_student(school, interests=["healthcare"]), limit=1)
    assert [m.offer.title for m in outcome.matches] == ["Healthcare"]
    assert outcome.something_different is not None
    assert outcome.something_different.offer.title == "Construction"


def test_something_different_is_never_an_offer_already_listed(school, employer):
    make_offer(employer, title="Construction", location=NEAR, sectors=["construction_trades"])
    outcome = _match(make_student(school, interests=["healthcare"]))
    assert [m.offer.title for m in outcome.matches] == ["Construction"]
    assert outcome.something_different is None  # the only offer is listed already: it is not shown twice


def test_when_nothing_fits_the_missing_need_and_nearest_distance_are_said(school, employer):
    make_offer(employer, title="BSL in Leeds", location=FAR, features=["bsl_makaton"])
    make_offer(employer, title="Near, no BSL", location=NEAR)
    outcome = _match(make_student(school, needs=["bsl_makaton"]), radius_km=15)
    assert outcome.matches == []
    (sentence,) = outcome.explanations
    assert sentence.startswith("No session within 15 km that ") and "could otherwise book supports BSL or Makaton" in sentence
    assert sentence.endswith(("the nearest that does is 58 km away", "the nearest that does is 57 km away"))
    assert [(u.need, round(u.nearest_km or 0)) for u in outcome.unmet] in ([("bsl_makaton", 58)], [("bsl_makaton", 57)])


def test_group_match_counts_fits_and_explains_misfits(school, employer):
    make_offer(employer, title="Year 10 visit", location=NEAR, year_groups=[10], features=["quiet_space"])
    fits = make_student(school, year_group=10, last_name="Fits")
    wrong_year = make_student(school, year_group=9, last_name="Younger")
    needs = make_student(school, year_group=10, needs=["bsl_makaton"], last_name="Signer")
    [result] = match_group(db.session, school, [fits, wrong_year, needs], MatchRequest())
    assert result.fits == [fits]
    reasons = {s.last_name: why for s, why in result.misfits}
    assert reasons == {"Younger": "not open to Year 9", "Signer": "needs BSL or Makaton"}


def test_scarce_places_go_first_to_no_experience_then_disadvantaged_then_ehcp(school, employer):
    offer = make_offer(employer, title="Scarce", location=NEAR, sessions=0)
    make_session(offer, capacity=1)
    plain = make_student(school, last_name="Aplain")
    ehcp = make_student(school, last_name="Behcp", send_status="ehcp")
    poor = make_student(school, last_name="Cdisadvantaged", disadvantaged=True)
    experienced = make_student(school, last_name="Dexperienced", disadvantaged=True)
    visit = make_offer(employer, title="Old visit", location=NEAR, activity_type="work_shadowing", sessions=0)
    past = make_session(visit, starts_in_days=-40)
    db.session.add(Booking(student_id=experienced.id, session_id=past.id, school_id=school.id, employer_id=employer.id,
                           starts_at=past.starts_at, ends_at=past.ends_at, status="completed"))
    db.session.flush()
    [result] = match_group(db.session, school, [plain, ehcp, poor, experienced], MatchRequest())
    assert [s.last_name for s in result.fits] == ["Cdisadvantaged", "Behcp", "Aplain", "Dexperienced"]
    assert result.free_places == 1


def test_match_page_books_a_student_end_to_end(client, login, school, employer):
    staff = make_user(Role.SCHOOL, school_id=school.id)
    student = make_student(school, first_name="Maya", needs=["quiet_space"])
    offer = make_offer(employer, title="Hospital visit", location=NEAR, features=["quiet_space"])
    login(staff)
    page = client.get(f"/match?student_id={student.id}").get_data(as_text=True)
    assert "Hospital visit" in page and "Book Maya" in page
    response = client.post("/bookings/new", data={"session_id": offer.sessions[0].id, "student_ids": [student.id]})
    assert "1 booking request sent" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(OfferSession, offer.sessions[0].id).booked == 1


def test_showing_a_students_needs_on_the_match_page_is_audited(client, login, school, employer):
    from sqlalchemy import select

    from portal.core.models import AuditEvent

    staff = make_user(Role.SCHOOL, school_id=school.id)
    student = make_student(school, needs=["quiet_space"])
    login(staff)
    client.get(f"/match?student_id={student.id}")
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.object_id == student.id)).all()
    assert [(e.action, e.actor_id) for e in events] == [("viewed_special_category", staff.id)]


def test_a_group_match_tells_namesakes_apart_by_tutor_group_and_reference(client, login, school, employer):
    make_offer(employer, title="Hospital visit", location=NEAR)
    make_student(school, first_name="Grace", last_name="Hopper", tutor_group="10B", student_ref="NA-101")
    make_student(school, first_name="Grace", last_name="Hopper", tutor_group="10C", student_ref="NA-102")
    login(make_user(Role.SCHOOL, school_id=school.id))
    page = client.get("/match?year_group=10").get_data(as_text=True)
    assert "Grace Hopper (Year 10, 10B, ref NA-101)" in page and "Grace Hopper (Year 10, 10C, ref NA-102)" in page


def test_matches_and_near_misses_from_one_search_equal_a_search_for_each(monkeypatch):
    """With needs, the matches come from the same widening search as the near misses; with a small candidate
    limit and offers at random places, they are the very offers a strict search of their own finds."""
    import random

    from portal.matching import services
    from portal.offers.search import located_within

    monkeypatch.setattr(services, "CANDIDATE_LIMIT", 4)
    rng = random.Random(3)
    origin = (53.4809, -2.2374)
    student = make_student(make_school(latitude=origin[0], longitude=origin[1]), needs=["quiet_space"], year_group=10)
    for _ in range(40):
        make_offer(location=(origin[0] + rng.uniform(-0.15, 0.15), origin[1] + rng.uniform(-0.25, 0.25)),
                   features=rng.sample(["quiet_space", "step_free_access", "flexible_hours"], rng.randint(0, 2)))
    now = dt.datetime.now(dt.UTC)
    request = MatchRequest(radius_km=15)
    strict = located_within(db.session, services.student_query(student, request, now), now, limit=4)
    outcome = match_student(db.session, student, request, now=now)
    assert len(strict) == 4
    assert {match.offer.id for match in outcome.matches} == {offer_id for _, offer_id in strict}
    assert outcome.near_misses and all(miss.missing == ("quiet_space",) for miss in outcome.near_misses)
