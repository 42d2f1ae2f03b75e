"""Why nothing fits: every sentence matching says is true of the data, and turns false (and unsaid) when the
data changes; near misses are listed apart; an offer already done is not suggested again."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from portal.core.vocab import MatchRule
from portal.extensions import db
from portal.matching.services import MatchRequest, match_student
from tests.factories import (
    make_booking,
    make_employer,
    make_offer,
    make_school,
    make_session,
    make_student,
    make_user,
)

SCHOOL_AT = (53.4809, -2.2374)  # Manchester
NEAR = (53.4998, -2.2374)  # about 2.1 km north
OTHER_NEAR = (53.4900, -2.2374)  # about 1 km north
FAR = (53.8008, -1.5491)  # Leeds, about 58 km


@pytest.fixture
def school():
    return make_school(latitude=SCHOOL_AT[0], longitude=SCHOOL_AT[1], min_notice_days=0)


@pytest.fixture
def employer():
    return make_employer(insurance_expiry=dt.date.today() + dt.timedelta(days=400))


def _match(student, **kw):
    return match_student(db.session, student, MatchRequest(**kw))


def _said(outcome) -> str:
    return " | ".join(outcome.explanations)


# --- the rules other than needs -------------------------------------------------------------


def test_a_year_8_student_is_told_the_year_group_blocks_not_the_need(school, employer):
    """The issue's case: an offer 2.1 km away supports quiet space but takes Years 10-11 only."""
    make_offer(employer, location=NEAR, features=["quiet_space"], year_groups=[10, 11])
    outcome = _match(make_student(school, year_group=8, first_name="Ola", needs=["quiet_space"]))
    assert outcome.matches == [] and outcome.blocked_by == [MatchRule.YEAR_GROUP]
    assert _said(outcome) == ("No session within 15 km that Ola could otherwise book is open to Year 8; "
                              "there are sessions for other year groups")
    assert "quiet space" not in _said(outcome).lower() and outcome.unmet == []


def test_when_the_year_group_fits_the_missing_need_is_named_instead(school, employer):
    make_offer(employer, location=NEAR, year_groups=[8])  # open to Year 8, no quiet space
    outcome = _match(make_student(school, year_group=8, first_name="Ola", needs=["quiet_space"]))
    assert outcome.blocked_by == []
    assert [(u.need, u.nearest_km) for u in outcome.unmet] == [("quiet_space", None)]
    assert _said(outcome) == "No session within 15 km that Ola could otherwise book supports quiet space; none does anywhere yet"


def test_a_full_session_is_said_to_be_full_and_only_when_it_is(school, employer):
    offer = make_offer(employer, location=NEAR, sessions=0)
    full = make_session(offer, capacity=1, booked=1)
    outcome = _match(make_student(school, first_name="Ola"))
    assert outcome.blocked_by == [MatchRule.FULL]
    assert _said(outcome) == "Every session within 15 km that Ola could otherwise book is full"
    full.booked = 0
    db.session.flush()
    assert _match(make_student(school)).matches != []


def test_sessions_inside_the_schools_notice_are_said_to_start_too_soon(school, employer):
    school.min_notice_days = 30
    make_offer(employer, location=NEAR)  # its session is in 14 days
    outcome = _match(make_student(school, first_name="Ola"))
    assert outcome.blocked_by == [MatchRule.NOTICE]
    assert "starts too soon: your school asks for 30 days' notice" in _said(outcome)
    school.min_notice_days = 7
    db.session.flush()
    assert _match(make_student(school)).matches != []


def test_dates_that_exclude_every_session_are_named(school, employer):
    make_offer(employer, location=NEAR)  # in 14 days
    later = dt.date.today() + dt.timedelta(days=60)
    outcome = _match(make_student(school, first_name="Ola"), date_from=later, date_to=later + dt.timedelta(days=5))
    assert outcome.blocked_by == [MatchRule.DATES]
    assert "falls in the dates chosen; there are some at other dates" in _said(outcome)


def test_a_student_booked_at_those_times_is_told_so(school, employer):
    offer = make_offer(employer, location=NEAR)
    student = make_student(school, first_name="Ola")
    elsewhere = make_offer(make_employer(insurance_expiry=dt.date.today() + dt.timedelta(days=400)), location=FAR,
                           sessions=0)
    make_booking(student, elsewhere, status="confirmed", starts_at=offer.sessions[0].starts_at)
    outcome = _match(student)
    assert outcome.blocked_by == [MatchRule.BUSY]
    assert "Ola is already booked at the times of every session within 15 km" in _said(outcome)


def test_distance_is_named_with_the_nearest_open_session(school, employer):
    make_offer(employer, location=FAR)
    outcome = _match(make_student(school, first_name="Ola"))
    assert outcome.blocked_by == [MatchRule.DISTANCE]
    assert _said(outcome) in {f"No session within 15 km is open to Ola, whatever the needs; the nearest that is open "
                              f"is {km} km away" for km in (57, 58)}


def test_a_far_offer_for_another_year_group_is_not_called_the_nearest(school, employer):
    make_offer(employer, location=FAR, year_groups=[12])
    outcome = _match(make_student(school, year_group=10, first_name="Ola"))
    assert outcome.blocked_by == []
    assert _said(outcome) == "No session Ola could book is open yet, at any distance, whatever the needs"


# --- needs, one at a time and together ----------------------------------------------------------


def test_the_nearest_session_for_a_need_must_pass_every_other_rule(school, employer):
    make_offer(employer, location=NEAR)  # bookable, but no BSL
    make_offer(employer, location=FAR, features=["bsl_makaton"], year_groups=[12])  # BSL, but not Year 10
    outcome = _match(make_student(school, year_group=10, first_name="Ola", needs=["bsl_makaton"]))
    assert [(u.need, u.nearest_km) for u in outcome.unmet] == [("bsl_makaton", None)]
    assert "none does anywhere yet" in _said(outcome) and "km away" not in _said(outcome)


@pytest.fixture
def three_needs(school, employer):
    """A student who needs quiet space, flexible hours and step-free access, and offers that each lack one."""
    student = make_student(school, first_name="Isabella", needs=["quiet_space", "flexible_hours", "step_free_access"])
    make_offer(employer, title="Ward visit", location=NEAR, features=["quiet_space", "step_free_access"])
    make_offer(employer, title="Office day", location=OTHER_NEAR, features=["flexible_hours"])
    return student


def test_a_student_with_several_needs_hears_which_is_missing_and_what_comes_closest(three_needs):
    outcome = _match(three_needs)
    assert outcome.matches == [] and outcome.unmet == [] and outcome.blocked_by == []
    assert outcome.explanations[0] == ("Each of Isabella's needs is supported by a session within 15 km, but no one "
                                       "session supports them all")
    assert outcome.explanations[1] == "Closest to fitting: Ward visit (2.1 km away) has everything but flexible or shorter hours"
    assert [(m.offer.title, m.missing) for m in outcome.near_misses] == [
        ("Ward visit", ("flexible_hours",)), ("Office day", ("quiet_space", "step_free_access"))]


def test_when_one_need_is_met_nowhere_near_it_is_named_and_the_combination_sentence_is_not(school, employer):
    student = make_student(school, first_name="Isabella", needs=["quiet_space", "flexible_hours", "step_free_access"])
    make_offer(employer, title="Ward visit", location=NEAR, features=["quiet_space", "step_free_access"])
    outcome = _match(student)
    assert [(u.need, u.nearest_km) for u in outcome.unmet] == [("flexible_hours", None)]
    assert not any(line.startswith("Each of Isabella's needs") for line in outcome.explanations)
    assert "Closest to fitting: Ward visit (2.1 km away) has everything but flexible or shorter hours" in outcome.explanations


def test_no_all_but_one_session_is_said_only_when_there_is_none(school, employer):
    student = make_student(school, first_name="Isabella", needs=["quiet_space", "flexible_hours", "step_free_access"])
    make_offer(employer, location=NEAR, features=["quiet_space"])
    outcome = _match(student)
    assert "No session within 15 km that Isabella could otherwise book meets all but one of Isabella's needs" in outcome.explanations
    assert [(m.missing) for m in outcome.near_misses] == [("flexible_hours", "step_free_access")]


# --- what is suggested ----------------------------------------------------------------------------


def test_an_offer_the_student_has_done_is_not_suggested_again(school, employer):
    done = make_offer(employer, title="Done it", location=NEAR, sessions=2)
    fresh = make_offer(employer, title="New to them", location=OTHER_NEAR)
    student = make_student(school)
    make_booking(student, done, status="completed",
                 starts_at=dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=30))
    assert [m.offer.title for m in _match(student).matches] == [fresh.title]


def test_near_misses_are_shown_apart_and_cannot_be_booked(client, login, three_needs):
    login(make_user("school", school_id=three_needs.school_id))
    page = client.get(f"/match?student_id={three_needs.id}").get_data(as_text=True)
    near = page.split('id="near-misses"')[1]
    assert "Nearly fits: missing flexible or shorter hours" in near and "Ward visit" in near
    assert "Book Isabella" not in page


def test_match_json_gives_unmet_blocked_by_and_near_misses(app, three_needs):
    result = app.test_cli_runner().invoke(args=["match", "--school", three_needs.school.urn,
                                                "--student", three_needs.student_ref, "--json"])
    body = json.loads(result.output)
    assert body["matches"] == [] and body["unmet"] == [] and body["blocked_by"] == []
    assert [(m["distance_km"], m["missing"]) for m in body["near_misses"]] == [
        (2.1, ["flexible_hours"]), (1.01, ["quiet_space", "step_free_access"])]
    assert set(body["near_misses"][0]) == {"offer_ref", "session_start", "distance_km", "missing"}


def test_a_group_match_does_not_offer_a_student_an_offer_they_have_done(school, employer):
    from portal.matching.services import match_group

    offer = make_offer(employer, location=NEAR, sessions=2)
    done, fresh = make_student(school, last_name="Done"), make_student(school, last_name="Fresh")
    make_booking(done, offer, status="completed",
                 starts_at=dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=30))
    [result] = match_group(db.session, school, [done, fresh], MatchRequest())
    assert result.fits == [fresh]
    assert result.misfits == [(done, "already booked on or done this offer")]


def test_a_virtual_offer_counts_for_the_reasons_when_the_located_ones_leave_them_open(school, employer):
    """Flexible hours is offered only online: it is not called unmet, and the online offer is the closest to fitting."""
    make_offer(employer, location=NEAR, features=["step_free_access"], year_groups=[10])
    online = make_offer(employer, location=None, title="Online insight", features=["flexible_hours"], year_groups=[10])
    outcome = _match(make_student(school, year_group=10, first_name="Ola", needs=["quiet_space", "flexible_hours"]))
    assert outcome.matches == []
    assert [unmet.need for unmet in outcome.unmet] == ["quiet_space"]
    assert f"Closest to fitting: {online.title} (online) has everything but quiet space" in _said(outcome)
    db.session.delete(online)
    db.session.flush()
    without = _match(make_student(school, year_group=10, first_name="Ola", needs=["quiet_space", "flexible_hours"]))
    assert sorted(unmet.need for unmet in without.unmet) == ["flexible_hours", "quiet_space"]
    assert "Closest to fitting" not in _said(without)


def test_a_full_offer_nearer_neither_matches_nor_supports_a_need_a_bookable_one_farther_does(school, employer):
    """Whether an offer can be booked is asked only of the few a wide search needs: the nearest that can be wins."""
    full = make_offer(employer, location=OTHER_NEAR, features=["quiet_space"], year_groups=[10], sessions=0)
    make_session(full, capacity=1, booked=1)
    farther = make_offer(employer, location=NEAR, features=["quiet_space"], year_groups=[10])
    student = make_student(school, year_group=10, first_name="Ola", needs=["quiet_space"])
    assert [match.offer.id for match in _match(student).matches] == [farther.id]
    db.session.delete(farther)
    db.session.flush()
    make_offer(employer, location=NEAR, features=["step_free_access"], year_groups=[10])
    outcome = _match(student)
    assert outcome.matches == [] and [unmet.need for unmet in outcome.unmet] == ["quiet_space"]
    assert "could otherwise book supports quiet space" in _said(outcome)
