"""Adjustment requests: who may ask and answer, one open question per student and session, what a yes makes
bookable (only that session, only for that student), reminders at 3 days and lapse at 5, and the answer rate."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from portal.adjustments import services
from portal.adjustments.models import AdjustmentRequest
from portal.bookings.services import BookingRefused, book_student
from portal.core.models import AuditEvent, OutboxMessage
from portal.core.vocab import Role
from portal.extensions import db
from portal.matching.services import MatchRequest, match_student
from tests.factories import (
    make_employer,
    make_hub,
    make_offer,
    make_school,
    make_student,
    make_user,
)

SCHOOL_AT = (53.4809, -2.2374)


@pytest.fixture
def hub():
    return make_hub()


@pytest.fixture
def school(hub):
    return make_school(latitude=SCHOOL_AT[0], longitude=SCHOOL_AT[1], min_notice_days=0, hub_id=hub.id)


@pytest.fixture
def staff(school):
    return make_user(Role.SCHOOL, school=school)


@pytest.fixture
def employer():
    return make_employer(insurance_expiry=dt.date.today() + dt.timedelta(days=400))


@pytest.fixture
def employer_user(employer):
    return make_user(Role.EMPLOYER, employer=employer)


@pytest.fixture
def student(school):
    return make_student(school, first_name="Isla", last_name="Quinton", needs=["quiet_space", "flexible_hours"],
                        send_status="ehcp")


@pytest.fixture
def near_miss(employer):
    """Everything Isla needs but flexible hours, with two sessions."""
    offer = make_offer(employer, features=["quiet_space"], sessions=2)
    return offer


def _emails(to: str) -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == to)))


def _ids(outcome) -> set[int]:
    return {m.offer.id for m in outcome.matches}


def test_asking_emails_the_employer_without_send_status_or_surname(staff, student, near_miss, employer_user):
    request = services.ask_for_student(db.session, staff, student, near_miss.sessions[0], ["flexible_hours"])
    assert request.needs == "flexible_hours" and request.year_group == 10 and request.is_pending
    [mail] = _emails(employer_user.email)
    assert "flexible or shorter hours" in mail.subject and "Year 10 student" in mail.body
    for secret in ("Quinton", "EHCP", "ehcp", "quiet", "2011"):
        assert secret not in mail.body and secret not in mail.subject
    assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "adjustment_requested",
                                                         AuditEvent.object_id == request.id))


def test_only_the_students_own_school_may_ask(student, near_miss):
    other_staff = make_user(Role.SCHOOL)
    with pytest.raises(services.AdjustmentRefused) as refused:
        services.ask_for_student(db.session, other_staff, student, near_miss.sessions[0], ["flexible_hours"])
    assert refused.value.code == "not_found"


def test_only_needs_the_student_has_and_the_offer_lacks_may_be_asked(staff, student, near_miss):
    for needs, code in ((["bsl_makaton"], "needs_unknown"), (["quiet_space"], "needs_supported"), ([], "no_needs")):
        with pytest.raises(services.AdjustmentRefused) as refused:
            services.ask_for_student(db.session, staff, student, near_miss.sessions[0], needs)
        assert refused.value.code == code


def test_a_second_open_request_for_the_same_student_and_session_is_refused(staff, student, near_miss):
    services.ask_for_student(db.session, staff, student, near_miss.sessions[0], ["flexible_hours"])
    with pytest.raises(services.AdjustmentRefused) as refused:
        services.ask_for_student(db.session, staff, student, near_miss.sessions[0], ["flexible_hours"])
    assert refused.value.code == "already_asked"
    assert db.session.scalar(select(AdjustmentRequest.id).where(AdjustmentRequest.student_id == student.id))


def test_a_yes_makes_that_session_a_match_for_that_student_only(staff, student, near_miss, employer_user, school):
    first, second = near_miss.sessions
    assert near_miss.id not in _ids(match_student(db.session, student, MatchRequest()))
    request = services.ask_for_student(db.session, staff, student, first, ["flexible_hours"])
    services.answer(db.session, employer_user, request, accept=True, note="We can start at 10am")
    outcome = match_student(db.session, student, MatchRequest())
    [match] = [m for m in outcome.matches if m.offer.id == near_miss.id]
    assert match.session.id == first.id
    assert "the employer agreed to provide flexible or shorter hours for this session" in match.reasons
    assert near_miss.id not in {m.offer.id for m in outcome.near_misses}
    twin = make_student(school, needs=["quiet_space", "flexible_hours"])
    assert near_miss.id not in _ids(match_student(db.session, twin, MatchRequest()))
    booking = book_student(db.session, staff, student, first)
    assert booking.session_id == first.id
    with pytest.raises(BookingRefused) as refused:
        book_student(db.session, staff, student, second)
    assert refused.value.code == "needs_unsupported"


def test_a_no_tells_the_school_and_changes_nothing(staff, student, near_miss, employer_user):
    request = services.ask_for_student(db.session, staff, student, near_miss.sessions[0], ["flexible_hours"])
    services.answer(db.session, employer_user, request, accept=False, note="Shifts are fixed")
    assert near_miss.id not in _ids(match_student(db.session, student, MatchRequest()))
    [mail] = _emails(staff.email)
    assert "cannot provide flexible or shorter hours" in mail.subject and "Shifts are fixed" in mail.body


def test_only_the_employer_asked_may_answer_and_only_once(staff, student, near_miss, employer_user):
    request = services.ask_for_student(db.session, staff, student, near_miss.sessions[0], ["flexible_hours"])
    with pytest.raises(services.AdjustmentRefused) as refused:
        services.answer(db.session, make_user(Role.EMPLOYER), request, accept=True)
    assert refused.value.code == "not_found"
    services.answer(db.session, employer_user, request, accept=False)
    with pytest.raises(services.AdjustmentRefused) as refused:
        services.answer(db.session, employer_user, request, accept=True)
    assert refused.value.code == "already_answered" and request.status == "declined"


def test_adding_to_the_offer_makes_it_fit_every_student_who_needs_it(staff, student, near_miss, employer_user,
                                                                     school):
    request = services.ask_for_student(db.session, staff, student, near_miss.sessions[0], ["flexible_hours"])
    services.answer(db.session, employer_user, request, accept=True, add_to_offer=True)
    db.session.refresh(near_miss)
    assert "flexible_hours" in near_miss.feature_codes
    twin = make_student(school, needs=["quiet_space", "flexible_hours"])
    assert near_miss.id in _ids(match_student(db.session, twin, MatchRequest()))


def test_reminder_at_three_days_and_lapse_at_five_tell_employer_then_school(staff, student, near_miss,
                                                                            employer_user):
    asked = dt.datetime.now(dt.UTC)
    request = services.ask_for_student(db.session, staff, student, near_miss.sessions[0], ["flexible_hours"],
                                       now=asked)
    assert services.remind_and_lapse(db.session, asked + dt.timedelta(days=2, hours=23)) == {
        "adjustment_reminders": 0, "adjustments_lapsed": 0}
    assert services.remind_and_lapse(db.session, asked + dt.timedelta(days=3)) == {
        "adjustment_reminders": 1, "adjustments_lapsed": 0}
    assert services.remind_and_lapse(db.session, asked + dt.timedelta(days=4)) == {
        "adjustment_reminders": 0, "adjustments_lapsed": 0}
    assert [m.subject.startswith("Reminder") for m in _emails(employer_user.email)] == [False, True]
    assert services.remind_and_lapse(db.session, asked + dt.timedelta(days=5)) == {
        "adjustment_reminders": 0, "adjustments_lapsed": 1}
    db.session.refresh(request)
    assert request.status == "expired"
    [mail] = _emails(staff.email)
    assert "No answer" in mail.subject
    with pytest.raises(services.AdjustmentRefused):
        services.answer(db.session, employer_user, request, accept=True)


def test_a_hub_yes_applies_to_the_hubs_students_of_that_year_group(hub, school, near_miss, employer_user):
    coordinator = make_user(Role.HUB, hub=hub)
    request = services.ask_for_hub(db.session, coordinator, near_miss.sessions[0], 10, ["flexible_hours"])
    services.answer(db.session, employer_user, request, accept=True)
    year10 = make_student(school, needs=["quiet_space", "flexible_hours"], year_group=10)
    year11 = make_student(school, needs=["quiet_space", "flexible_hours"], year_group=11)
    elsewhere = make_student(make_school(latitude=SCHOOL_AT[0], longitude=SCHOOL_AT[1], min_notice_days=0),
                             needs=["quiet_space", "flexible_hours"])
    assert near_miss.id in _ids(match_student(db.session, year10, MatchRequest()))
    assert near_miss.id not in _ids(match_student(db.session, year11, MatchRequest()))
    assert near_miss.id not in _ids(match_student(db.session, elsewhere, MatchRequest()))


def test_answer_rate_counts_answers_of_requests_past_waiting(hub, staff, student, near_miss, employer_user, employer):
    first = services.ask_for_student(db.session, staff, student, near_miss.sessions[0], ["flexible_hours"])
    services.ask_for_student(db.session, staff, student, near_miss.sessions[1], ["flexible_hours"])
    assert services.answer_rates(db.session, hub.id, [employer.id])[employer.id].sentence == "No requests yet"
    services.answer(db.session, employer_user, first, accept=True)
    rate = services.answer_rates(db.session, hub.id, [employer.id])[employer.id]
    assert (rate.asked, rate.answered, rate.accepted) == (1, 1, 1)
    assert rate.sentence == "Answered 1 of 1 (1 yes)"
    assert services.answer_rates(db.session, make_hub().id, [employer.id])[employer.id].asked == 0
