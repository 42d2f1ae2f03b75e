"""Booking rules: capacity never exceeded, no overlaps or duplicates, eligibility, and guarded transitions."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from portal.bookings import services
from portal.bookings.services import BookingRefused
from portal.core.dates import local_to_utc, london_date
from portal.core.models import OutboxMessage
from portal.core.vocab import Role
from portal.extensions import db
from portal.offers.models import OfferSession
from tests.factories import (
    make_employer,
    make_offer,
    make_school,
    make_session,
    make_student,
    make_user,
)


@pytest.fixture
def setting():
    school = make_school(latitude=53.48, longitude=-2.24)
    staff = make_user(Role.SCHOOL, school_id=school.id)
    employer = make_employer(insurance_expiry=dt.date.today() + dt.timedelta(days=400))
    employer_staff = make_user(Role.EMPLOYER, employer_id=employer.id, email="host@employer.example")
    offer = make_offer(employer, features=["quiet_space"], year_groups=[10, 11])
    return {"school": school, "staff": staff, "employer": employer, "employer_staff": employer_staff,
            "offer": offer, "session": offer.sessions[0]}


def _book(setting, student, occurrence=None):
    return services.book_student(db.session, setting["staff"], student, occurrence or setting["session"])


def _places(occurrence):
    db.session.expire(occurrence)
    return db.session.get(OfferSession, occurrence.id).booked


def test_booking_takes_a_place_and_emails_the_employer(setting):
    booking = _book(setting, make_student(setting["school"]))
    assert booking.status == "requested"
    assert _places(setting["session"]) == 1
    mail = db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == "host@employer.example")).one()
    assert "Booking request" in mail.subject


def test_the_place_after_the_last_is_refused_as_full(setting):
    small = make_session(setting["offer"], starts_in_days=20, capacity=2)
    for _ in range(2):
        _book(setting, make_student(setting["school"]), small)
    with pytest.raises(BookingRefused) as refusal:
        _book(setting, make_student(setting["school"]), small)
    assert refusal.value.code == "session_full"
    assert _places(small) == 2


def test_the_database_itself_refuses_more_places_than_capacity(setting):
    from sqlalchemy import update
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.execute(update(OfferSession).where(OfferSession.id == setting["session"].id).values(booked=99))


def test_the_same_student_cannot_be_booked_twice_or_at_overlapping_times(setting):
    student = make_student(setting["school"])
    _book(setting, student)
    with pytest.raises(BookingRefused) as duplicate:
        _book(setting, student)
    assert duplicate.value.code == "duplicate"
    clash = make_session(make_offer(setting["employer"]), starts_at=setting["session"].starts_at + dt.timedelta(hours=1))
    with pytest.raises(BookingRefused) as overlap:
        _book(setting, student, clash)
    assert overlap.value.code == "overlap"


def test_a_cancelled_booking_frees_the_place_and_allows_rebooking(setting):
    student = make_student(setting["school"])
    booking = _book(setting, student)
    services.cancel(db.session, setting["staff"], booking)
    assert booking.status == "cancelled" and _places(setting["session"]) == 0
    assert _book(setting, student).status == "requested"


@pytest.mark.parametrize(
    ("student_kwargs", "code"),
    [({"year_group": 8}, "year_group"), ({"needs": ["bsl_makaton"]}, "needs_unsupported")],
)
def test_ineligible_students_are_refused(setting, student_kwargs, code):
    with pytest.raises(BookingRefused) as refusal:
        _book(setting, make_student(setting["school"], **student_kwargs))
    assert refusal.value.code == code


def test_sessions_are_bookable_from_tomorrow_and_up_to_two_years_ahead(setting):
    student = make_student(setting["school"])
    # Noon in London, so "later today" is still today whatever time the suite runs.
    noon = local_to_utc(dt.datetime.combine(london_date(dt.datetime.now(dt.UTC)) + dt.timedelta(days=1), dt.time(12)))
    later_today = make_session(setting["offer"], starts_at=noon + dt.timedelta(hours=3))
    with pytest.raises(BookingRefused) as too_soon:
        services.book_student(db.session, setting["staff"], student, later_today, now=noon)
    assert too_soon.value.code == "too_soon"
    far = make_session(setting["offer"], starts_in_days=2 * 365 + 3)
    with pytest.raises(BookingRefused) as too_far:
        _book(setting, student, far)
    assert too_far.value.code == "too_far_ahead"


def test_draft_offers_and_unvetted_employers_cannot_be_booked(setting):
    draft = make_offer(setting["employer"], status="draft")
    with pytest.raises(BookingRefused) as refusal:
        _book(setting, make_student(setting["school"]), draft.sessions[0])
    assert refusal.value.code == "not_available"


def test_staff_cannot_book_another_schools_student(setting):
    with pytest.raises(BookingRefused) as refusal:
        _book(setting, make_student(make_school()))
    assert refusal.value.code == "not_found"


def test_employer_confirms_and_a_repeat_decision_is_refused(setting):
    booking = _book(setting, make_student(setting["school"]))
    services.decide(db.session, setting["employer_staff"], booking, accept=True)
    assert booking.status == "confirmed"
    with pytest.raises(BookingRefused) as again:
        services.decide(db.session, setting["employer_staff"], booking, accept=False, reason="changed mind")
    assert again.value.code == "wrong_state"


def test_declining_needs_a_reason_and_frees_the_place(setting):
    booking = _book(setting, make_student(setting["school"]))
    with pytest.raises(BookingRefused) as no_reason:
        services.decide(db.session, setting["employer_staff"], booking, accept=False)
    assert no_reason.value.code == "reason_required"
    services.decide(db.session, setting["employer_staff"], booking, accept=False, reason="No supervisor that day")
    assert booking.status == "declined" and _places(setting["session"]) == 0
    assert db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == setting["staff"].email)).first()


def test_another_employer_cannot_decide(setting):
    booking = _book(setting, make_student(setting["school"]))
    stranger = make_user(Role.EMPLOYER)
    with pytest.raises(BookingRefused):
        services.decide(db.session, stranger, booking, accept=True)
    assert booking.status == "requested"


def test_declined_or_past_bookings_cannot_be_confirmed_or_cancelled(setting):
    booking = _book(setting, make_student(setting["school"]))
    services.decide(db.session, setting["employer_staff"], booking, accept=False, reason="Full team away")
    with pytest.raises(BookingRefused):
        services.cancel(db.session, setting["staff"], booking)
    other = _book(setting, make_student(setting["school"]))
    services.decide(db.session, setting["employer_staff"], other, accept=True)
    later = other.starts_at + dt.timedelta(hours=1)
    with pytest.raises(BookingRefused) as started:
        services.cancel(db.session, setting["staff"], other, now=later)
    assert started.value.code == "already_started"


def test_completion_only_after_the_session_and_no_show_by_either_side(setting):
    booking = _book(setting, make_student(setting["school"]))
    services.decide(db.session, setting["employer_staff"], booking, accept=True)
    with pytest.raises(BookingRefused) as early:
        services.mark_completed(db.session, setting["staff"], booking)
    assert early.value.code == "not_ended"
    after = booking.ends_at + dt.timedelta(minutes=1)
    services.mark_no_show(db.session, setting["employer_staff"], booking, now=after)
    assert booking.status == "no_show"
    second = _book(setting, make_student(setting["school"]))
    services.decide(db.session, setting["employer_staff"], second, accept=True)
    services.mark_completed(db.session, setting["staff"], second, now=after)
    assert second.status == "completed"


def test_employer_sees_only_first_name_year_school_and_adjustments_and_the_view_is_audited(client, login, setting):
    from portal.core.models import AuditEvent

    student = make_student(setting["school"], first_name="Zainab", last_name="Secretsurname", needs=["quiet_space"],
                           send_status="ehcp", disadvantaged=True, upn="K123456789012",
                           date_of_birth=dt.date(2011, 7, 23), email="zainab@private.example")
    booking = _book(setting, student)
    db.session.commit()
    login(setting["employer_staff"])
    page = client.get(f"/employer/bookings/{booking.id}").get_data(as_text=True)
    assert "Zainab" in page and "Year 10" in page and setting["school"].name in page and "Quiet space" in page
    for secret in ("Secretsurname", "K123456789012", "zainab@private.example", "23 July 2011", "2011-07-23",
                   "Education, health and care plan", "EHCP", "ehcp", "isadvantaged", "pupil premium"):
        assert secret not in page, secret
    listing = client.get("/employer/bookings").get_data(as_text=True)
    assert "Zainab" in listing and "Secretsurname" not in listing
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.object_id == student.id,
                                                       AuditEvent.actor_id == setting["employer_staff"].id)).first()
