"""Confirmed features: after a placement the school (and the student) say whether each needed feature was there;
a school's "no" flags the offer to the employer and the hub; tallies count schools' answers; matching ranks
confirmed features above declared ones."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from portal.bookings import confirmations
from portal.bookings.models import FeatureConfirmation
from portal.core.models import OutboxMessage
from portal.core.vocab import ConfirmationSource, Role
from portal.extensions import db
from portal.matching.services import MatchRequest, match_student
from tests.factories import (
    make_booking,
    make_employer,
    make_hub,
    make_offer,
    make_school,
    make_student,
    make_user,
)

SCHOOL_AT = (53.4809, -2.2374)  # Manchester
NEAR = (53.4900, -2.2374)  # about 1 km north
A_BIT_FURTHER = (53.4990, -2.2374)  # about 2 km north
LAST_WEEK = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=7)


@pytest.fixture
def world():
    """A hub and its school with staff, an employer with staff, a student who needs a quiet space and step-free
    access, and that student's completed placement on an offer declaring both."""
    hub = make_hub()
    school = make_school(hub_id=hub.id, latitude=SCHOOL_AT[0], longitude=SCHOOL_AT[1])
    employer = make_employer(insurance_expiry=dt.date.today() + dt.timedelta(days=400))
    offer = make_offer(employer, title="Hospital day", features=["quiet_space", "step_free_access"], location=NEAR)
    student = make_student(school, first_name="Isabella", needs=["quiet_space", "step_free_access"])
    booking = make_booking(student, offer, status="completed", starts_at=LAST_WEEK)
    return {
        "hub": hub, "school": school, "employer": employer, "offer": offer, "student": student, "booking": booking,
        "staff": make_user(Role.SCHOOL, school_id=school.id),
        "boss": make_user(Role.EMPLOYER, employer_id=employer.id, email="boss@employer.example"),
        "coordinator": make_user(Role.HUB, hub_id=hub.id, email="coordinator@hub.example"),
    }


def _emails(template_word: str) -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.subject.contains(template_word))
                                   .order_by(OutboxMessage.recipient)))


def _post(client, login, world, **answers):
    login(world["staff"])
    data = {f"feature_{code}": value for code, value in answers.items() if code != "note"}
    data["note"] = answers.get("note", "")
    return client.post(f"/bookings/{world['booking'].id}/features", data=data)


def test_the_school_answers_each_need_and_a_no_tells_the_employer_and_the_hub(client, login, world):
    response = _post(client, login, world, quiet_space="no", step_free_access="yes", note="The quiet room was in use")
    assert response.status_code == 302
    rows = confirmations.answers_of(db.session, world["booking"].id, ConfirmationSource.SCHOOL)
    assert {code: row.present for code, row in rows.items()} == {"quiet_space": False, "step_free_access": True}
    sent = _emails("not there")
    assert [m.recipient for m in sent] == ["boss@employer.example", "coordinator@hub.example"]
    assert "quiet space" in sent[0].subject and "step-free" not in sent[0].subject
    assert "Isabella" not in sent[0].body and "Year 10" in sent[0].body  # the year group, never the name
    assert "The quiet room was in use" in sent[0].body


def test_all_yes_flags_nothing(client, login, world):
    _post(client, login, world, quiet_space="yes", step_free_access="yes")
    assert _emails("not there") == []


def test_saying_no_again_does_not_flag_twice(client, login, world):
    _post(client, login, world, quiet_space="no")
    _post(client, login, world, quiet_space="no")
    assert len(_emails("not there")) == 2  # one to the employer, one to the hub: once each


def test_an_answer_for_a_need_the_student_does_not_have_is_refused_and_writes_nothing(world):
    with pytest.raises(confirmations.ConfirmationRefused) as refused:
        confirmations.record(db.session, world["booking"], {"flexible_hours": False},
                             source=ConfirmationSource.SCHOOL, user=world["staff"])
    assert refused.value.code == "not_needed"
    assert db.session.scalars(select(FeatureConfirmation)).all() == []


def test_features_cannot_be_confirmed_before_the_student_attended(world):
    upcoming = make_booking(world["student"], world["offer"], status="confirmed",
                            starts_at=LAST_WEEK + dt.timedelta(days=21))
    with pytest.raises(confirmations.ConfirmationRefused) as refused:
        confirmations.record(db.session, upcoming, {"quiet_space": True}, source=ConfirmationSource.SCHOOL,
                             user=world["staff"])
    assert refused.value.code == "not_completed"


def test_the_form_asks_for_at_least_one_answer_and_saves_nothing_without(client, login, world):
    response = _post(client, login, world)
    assert response.status_code == 200
    assert "Answer at least one question" in response.get_data(as_text=True)
    assert db.session.scalars(select(FeatureConfirmation)).all() == []


def test_another_schools_staff_cannot_see_or_answer(client, login, world):
    outsider = make_user(Role.SCHOOL, school_id=make_school().id)
    login(outsider)
    assert client.get(f"/bookings/{world['booking'].id}/features").status_code == 404
    assert client.post(f"/bookings/{world['booking'].id}/features",
                       data={"feature_quiet_space": "no"}).status_code == 404
    assert db.session.scalars(select(FeatureConfirmation)).all() == []


def test_the_tally_counts_schools_answers_only_and_says_so_when_there_are_none(world):
    offer = world["offer"]
    assert confirmations.tallies_by_offer(db.session, [offer.id])[offer.id].sentence == \
        "No school has confirmed features yet"
    confirmations.record(db.session, world["booking"], {"quiet_space": False, "step_free_access": False},
                         source=ConfirmationSource.STUDENT, user=None)
    assert confirmations.tallies_by_offer(db.session, [offer.id])[offer.id].answered == 0  # the student's don't count
    confirmations.record(db.session, world["booking"], {"quiet_space": True, "step_free_access": False},
                         source=ConfirmationSource.SCHOOL, user=world["staff"])
    tally = confirmations.tallies_by_offer(db.session, [offer.id])[offer.id]
    assert (tally.sentence, tally.not_there) == ("Features confirmed by schools: 1 of 2", 1)
    other = make_offer(world["employer"])
    assert confirmations.tallies_by_employer(db.session, [world["employer"].id])[world["employer"].id].short == "1 of 2"
    assert confirmations.tallies_by_offer(db.session, [other.id])[other.id].short == "None yet"


def test_pages_show_the_tally_and_the_flag(client, login, world):
    _post(client, login, world, quiet_space="no", step_free_access="yes")
    offer_id = world["offer"].id
    school_view = client.get(f"/offers/{offer_id}").get_data(as_text=True)
    assert "Features confirmed by schools: 1 of 2" in school_view
    login(world["boss"])
    detail = client.get(f"/employer/offers/{offer_id}").get_data(as_text=True)
    assert "Features confirmed by schools: 1 of 2" in detail and "Quiet space" in detail
    assert "Isabella" not in detail
    profile = client.get("/employer/profile").get_data(as_text=True)
    assert "Features confirmed by schools: 1 of 2" in profile and "Hospital day" in profile
    login(world["coordinator"])
    hub_page = client.get("/hub/employers").get_data(as_text=True)
    assert "1 of 2" in hub_page and "1 not there" in hub_page


def test_the_student_answers_in_the_reflection_and_the_school_sees_it(client, login, world):
    login(make_user(Role.STUDENT, student_id=world["student"].id))
    page = client.get(f"/my-record/bookings/{world['booking'].id}/reflection").get_data(as_text=True)
    assert "Was there a quiet place you could go to?" in page
    client.post(f"/my-record/bookings/{world['booking'].id}/reflection",
                data={"what_i_did": "Helped on a ward", "action": "draft", "feature_quiet_space": "no",
                      "feature_step_free_access": "unsure"})
    said = confirmations.answers_of(db.session, world["booking"].id, ConfirmationSource.STUDENT)
    assert {code: row.present for code, row in said.items()} == {"quiet_space": False}
    assert _emails("not there") == []  # the student's answer informs the school; it flags nothing by itself
    login(world["staff"])
    page = client.get(f"/bookings/{world['booking'].id}/features").get_data(as_text=True)
    assert "Isabella said: no." in page


def test_matching_ranks_a_confirmed_feature_above_a_declared_one(world):
    school, employer = world["school"], world["employer"]
    make_offer(employer, title="Declared only", features=["quiet_space"], location=NEAR)
    confirmed = make_offer(employer, title="Confirmed", features=["quiet_space"], location=A_BIT_FURTHER)
    doubted = make_offer(employer, title="Doubted", features=["quiet_space"], location=A_BIT_FURTHER)
    someone = make_student(school, needs=["quiet_space"])
    for offer, answers in ((confirmed, [True, True, False]), (doubted, [True, False])):
        for days_ago, present in enumerate(answers, start=7):
            booking = make_booking(someone, offer, status="completed", starts_at=LAST_WEEK - dt.timedelta(days=days_ago))
            confirmations.record(db.session, booking, {"quiet_space": present}, source=ConfirmationSource.SCHOOL,
                                 user=world["staff"])
    student = make_student(school, needs=["quiet_space"])
    outcome = match_student(db.session, student, MatchRequest())
    titles = [m.offer.title for m in outcome.matches]
    # Confirmed (2 yes, 1 no) outranks the nearer Declared; Doubted (1 yes, 1 no) is not confirmed: ranked by distance
    assert titles.index("Confirmed") < titles.index("Declared only") < titles.index("Doubted")
    reasons = {m.offer.title: m.reasons for m in outcome.matches}
    assert "quiet space confirmed by schools" in reasons["Confirmed"]
    assert not any("confirmed by schools" in r for r in reasons["Declared only"] + reasons["Doubted"])
