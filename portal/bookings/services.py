"""Booking rules: who may be booked where, places taken atomically, and the lifecycle.

Capacity is guarded by one conditional UPDATE (booked = booked + 1 WHERE booked < capacity), so
no interleaving of requests can over-book a session on SQLite or PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from portal.accounts.models import User
from portal.accounts.recipients import employer_staff_emails
from portal.adjustments.services import grants_for
from portal.bookings.models import Booking
from portal.core import audit
from portal.core.batches import chunked
from portal.core.dates import london_date
from portal.core.ids import is_storable_id
from portal.core.links import absolute_url
from portal.core.notify import notify
from portal.core.refusals import Refusal
from portal.core.vocab import (
    ACTIVE_BOOKING_STATUSES,
    AccessFeature,
    BookingStatus,
    OfferStatus,
)
from portal.db import DbSession, utcnow
from portal.offers.models import Offer, OfferSession
from portal.organisations.models import Student

MAX_DAYS_AHEAD = 2 * 365


class BookingRefused(Refusal):
    """A booking or a change to one is not allowed; `code` is stable for the API, the message is for people."""


def eligibility_problems(student: Student, offer: Offer, occurrence: OfferSession, now: dt.datetime,
                         min_notice_days: int = 1, agreed: frozenset[str] = frozenset()) -> list[BookingRefused]:
    """Every hard rule the student, offer and session break (empty when the booking may be made); `agreed` are the
    needs the employer said yes to for this session."""
    problems = []
    if offer.status != OfferStatus.PUBLISHED.value or not offer.employer.is_vetted:
        problems.append(BookingRefused("not_available", "This offer is not open for booking"))
    earliest = london_date(now) + dt.timedelta(days=min_notice_days)
    start_day = london_date(occurrence.starts_at)
    if occurrence.starts_at <= now:
        problems.append(BookingRefused("in_past", "This session has already started"))
    elif start_day < earliest:
        problems.append(BookingRefused("too_soon", f"Sessions can be booked from {earliest:%-d %B %Y} onwards"))
    elif start_day > london_date(now) + dt.timedelta(days=MAX_DAYS_AHEAD):
        problems.append(BookingRefused("too_far_ahead", "Sessions can be booked up to two years ahead"))
    if student.year_group not in offer.year_group_numbers:
        problems.append(BookingRefused("year_group", f"Not open to Year {student.year_group}"))
    unsupported = sorted(set(student.need_codes) - set(offer.feature_codes) - agreed)
    if unsupported:
        labels = ", ".join(AccessFeature(code).label.lower() for code in unsupported)
        problems.append(BookingRefused("needs_unsupported", f"The offer does not support: {labels}"))
    if student.left_on is not None:
        problems.append(BookingRefused("left", "The student has left the school"))
    return problems


def take_place(session: DbSession, session_id: int) -> bool:
    """Atomically take one place on a session; False when it is full."""
    result = session.execute(
        update(OfferSession)
        .where(OfferSession.id == session_id, OfferSession.booked < OfferSession.capacity)
        .values(booked=OfferSession.booked + 1)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def take_adult_place(session: DbSession, session_id: int) -> bool:
    """Atomically take one supporting adult's place on a session (against its offer's limit); False when none is left."""
    limit = select(Offer.supporting_adults_max).where(Offer.id == OfferSession.offer_id).scalar_subquery()
    result = session.execute(
        update(OfferSession)
        .where(OfferSession.id == session_id, OfferSession.adults_booked < limit)
        .values(adults_booked=OfferSession.adults_booked + 1)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def release_place(session: DbSession, session_id: int, *, with_adult: bool = False) -> None:
    """Give a place back to a session (and the supporting adult's, when the booking had one)."""
    session.execute(
        update(OfferSession)
        .where(OfferSession.id == session_id, OfferSession.booked > 0)
        .values(booked=OfferSession.booked - 1)
        .execution_options(synchronize_session=False)
    )
    if with_adult:
        session.execute(
            update(OfferSession)
            .where(OfferSession.id == session_id, OfferSession.adults_booked > 0)
            .values(adults_booked=OfferSession.adults_booked - 1)
            .execution_options(synchronize_session=False)
        )


def overlapping_booking(session: DbSession, student_id: int, starts_at: dt.datetime, ends_at: dt.datetime) -> Booking | None:
    """A booking of the student that holds a place and overlaps the given times."""
    return session.scalars(
        select(Booking).where(
            Booking.student_id == student_id,
            Booking.status.in_([s.value for s in ACTIVE_BOOKING_STATUSES]),
            and_(Booking.starts_at < ends_at, Booking.ends_at > starts_at),
        )
    ).first()


ADULT_NAME_MAX = 120


def _supporting_adult(student: Student, offer: Offer, adult_name: str | None) -> str | None:
    """The name of the adult who attends with the student, when the student needs one; refused when missing."""
    if not student.needs_supporting_adult:
        return None
    if offer.supporting_adults_max < 1:
        raise BookingRefused("no_supporting_adult", f"{student.first_name} must attend with a supporting adult, "
                             "and this offer cannot take one", field="adult_name")
    name = " ".join((adult_name or "").split())
    if not name:
        raise BookingRefused("adult_name_required", f"Enter the name of the supporting adult who will attend with "
                             f"{student.first_name}", field="adult_name")
    if len(name) > ADULT_NAME_MAX:
        raise BookingRefused("adult_name_too_long", f"The supporting adult's name must be {ADULT_NAME_MAX} characters "
                             "or fewer", field="adult_name")
    return name


def book_student(session: DbSession, staff: User, student: Student, occurrence: OfferSession,
                 now: dt.datetime | None = None, adult_name: str | None = None) -> Booking:
    """Request a place for a student of the staff member's school (and one for the supporting adult the student
    must attend with, named by `adult_name`); raises BookingRefused."""
    now = now or utcnow()
    if student.school_id != staff.school_id:
        raise BookingRefused("not_found", "No such student")
    session.scalars(select(Student.id).where(Student.id == student.id).with_for_update()).first()  # one booking at a time per student
    offer = occurrence.offer
    agreed = grants_for(session, student).needs_for(occurrence.id)
    problems = eligibility_problems(student, offer, occurrence, now, student.school.min_notice_days, agreed)
    if problems:
        raise problems[0]
    adult = _supporting_adult(student, offer, adult_name)
    clash = overlapping_booking(session, student.id, occurrence.starts_at, occurrence.ends_at)
    if clash is not None:
        same = clash.session_id == occurrence.id
        raise BookingRefused("duplicate" if same else "overlap",
                             f"{student.first_name} is already booked on this session" if same else
                             f"{student.first_name} already has a booking at that time")
    # A student cancelled or declined on this session before keeps the same row (one per pair).
    booking = session.scalars(
        select(Booking).where(Booking.student_id == student.id, Booking.session_id == occurrence.id)
    ).first()
    savepoint = session.begin_nested()
    try:
        if not take_place(session, occurrence.id):
            raise BookingRefused("session_full", "This session is full")
        if adult is not None and not take_adult_place(session, occurrence.id):
            raise BookingRefused("adult_places_full", "There is no place left on this session for a supporting adult")
        if booking is None:
            booking = Booking(student_id=student.id, session_id=occurrence.id, school_id=student.school_id,
                              employer_id=offer.employer_id)
            session.add(booking)
        booking.starts_at, booking.ends_at = occurrence.starts_at, occurrence.ends_at
        booking.status, booking.requested_by_id, booking.requested_at = BookingStatus.REQUESTED.value, staff.id, now
        booking.decided_by_id = booking.decided_at = booking.decline_reason = None
        booking.closed_at = booking.close_reason = None
        booking.supporting_adult_name = adult
        booking.supporting_adult_role = student.supporting_adult if adult is not None else None
        savepoint.commit()
    except BookingRefused:
        savepoint.rollback()
        raise
    except IntegrityError:
        if savepoint.is_active:
            savepoint.rollback()
        raise BookingRefused("duplicate", f"{student.first_name} is already booked on this session") from None
    audit.record(session, "booking_requested", "booking", booking.id, school_id=student.school_id, actor=staff)
    for email in employer_staff_emails(session, offer.employer_id):
        notify(session, "booking_requested", email, employer_id=offer.employer_id, student=student, offer=offer, booking=booking,
               occurrence=occurrence, link=absolute_url("bookings.employer_booking", booking_id=booking.id))
    return booking


@dataclass
class GroupOutcome:
    """Who was booked and who was refused (with the reason) when booking several students."""

    booked: list[Booking]
    refused: list[tuple[Student, BookingRefused]]


def students_to_book(session: DbSession, scope: Select[Any], occurrence: OfferSession) -> list[Student]:
    """Students on roll within `scope` whose year group the session's offer takes, by name."""
    return list(session.scalars(
        scope.where(Student.left_on.is_(None), Student.year_group.in_(occurrence.offer.year_group_numbers))
        .order_by(Student.last_name, Student.first_name, Student.id)
    ))


def book_students(session: DbSession, staff: User, students: Iterable[Student], occurrence: OfferSession,
                  now: dt.datetime | None = None, adult_names: Mapping[int, str] | None = None) -> GroupOutcome:
    """Book several students onto one session, each on its own (with the supporting adults named per student id);
    the rest go on when one is refused."""
    outcome = GroupOutcome([], [])
    for student in students:
        try:
            outcome.booked.append(book_student(session, staff, student, occurrence, now,
                                               (adult_names or {}).get(student.id)))
        except BookingRefused as refusal:
            outcome.refused.append((student, refusal))
    return outcome


def _require(booking: Booking, allowed: set[BookingStatus], action: str) -> None:
    """Guard a transition on the booking's current state (a repeat is refused, not repeated)."""
    if booking.status_enum not in allowed:
        raise BookingRefused("wrong_state", f"This booking is {booking.status_enum.label.lower()}, so it cannot be {action}")


def _notify_school(session: DbSession, booking: Booking, template: str, **context: Any) -> None:
    """Email the member of staff who asked for the booking."""
    if booking.requested_by is not None:
        notify(session, template, booking.requested_by.email, school_id=booking.school_id, booking=booking,
               link=absolute_url("bookings.school_booking", booking_id=booking.id), **context)


def decide(session: DbSession, employer_user: User, booking: Booking, accept: bool, reason: str = "",
           now: dt.datetime | None = None) -> None:
    """The employer confirms or declines a requested booking; declining frees the place."""
    now = now or utcnow()
    if booking.employer_id != employer_user.employer_id:
        raise BookingRefused("not_found", "No such booking")
    _require(booking, {BookingStatus.REQUESTED}, "confirmed or declined")
    if not accept and not reason.strip():
        raise BookingRefused("reason_required", "Say why you are declining, so the school can find another place")
    booking.status = (BookingStatus.CONFIRMED if accept else BookingStatus.DECLINED).value
    booking.decided_by_id, booking.decided_at = employer_user.id, now
    if not accept:
        booking.decline_reason = reason.strip()
        release_place(session, booking.session_id, with_adult=booking.supporting_adult_name is not None)
    audit.record(session, f"booking_{booking.status}", "booking", booking.id, school_id=booking.school_id, actor=employer_user)
    offer = booking.session.offer
    _notify_school(session, booking, "booking_decided", offer=offer, accepted=accept)


def cancel(session: DbSession, user: User, booking: Booking, reason: str = "", now: dt.datetime | None = None) -> None:
    """The school cancels a requested or confirmed booking before it starts; the place is freed."""
    now = now or utcnow()
    if booking.school_id != user.school_id:
        raise BookingRefused("not_found", "No such booking")
    _require(booking, {BookingStatus.REQUESTED, BookingStatus.CONFIRMED}, "cancelled")
    if not booking.is_upcoming(now):
        raise BookingRefused("already_started", "This session has already started, so the booking cannot be cancelled")
    booking.status = BookingStatus.CANCELLED.value
    booking.closed_at, booking.close_reason = now, reason.strip() or None
    release_place(session, booking.session_id, with_adult=booking.supporting_adult_name is not None)
    audit.record(session, "booking_cancelled", "booking", booking.id, school_id=booking.school_id, actor=user)
    offer = booking.session.offer
    for email in employer_staff_emails(session, booking.employer_id):
        notify(session, "booking_cancelled", email, employer_id=booking.employer_id, booking=booking, offer=offer)


def _may_record_outcome(user: User, booking: Booking) -> bool:
    """The booking's school or employer may record whether the student attended."""
    return user.school_id == booking.school_id or (user.employer_id is not None and user.employer_id == booking.employer_id)


def mark_completed(session: DbSession, user: User | None, booking: Booking, now: dt.datetime | None = None) -> None:
    """A confirmed booking is completed once its session has ended (user None: the scheduler)."""
    now = now or utcnow()
    if user is not None and not _may_record_outcome(user, booking):
        raise BookingRefused("not_found", "No such booking")
    _require(booking, {BookingStatus.CONFIRMED}, "marked completed")
    if booking.ends_at > now:
        raise BookingRefused("not_ended", "The session has not ended yet")
    booking.status, booking.closed_at = BookingStatus.COMPLETED.value, now
    audit.record(session, "booking_completed", "booking", booking.id, school_id=booking.school_id, actor=user)


def mark_no_show(session: DbSession, user: User, booking: Booking, now: dt.datetime | None = None) -> None:
    """The school or the employer records that a confirmed student did not attend."""
    now = now or utcnow()
    if not _may_record_outcome(user, booking):
        raise BookingRefused("not_found", "No such booking")
    _require(booking, {BookingStatus.CONFIRMED, BookingStatus.COMPLETED}, "marked as did not attend")
    if booking.starts_at > now:
        raise BookingRefused("not_started", "The session has not started yet")
    booking.status, booking.closed_at = BookingStatus.NO_SHOW.value, now
    audit.record(session, "booking_no_show", "booking", booking.id, school_id=booking.school_id, actor=user)


def bookings_on_record(session: DbSession, student_id: int) -> list[Booking]:
    """The student's requested, confirmed and completed bookings, soonest first, with offer and employer loaded."""
    return list(session.scalars(
        select(Booking).where(Booking.student_id == student_id,
                              Booking.status.in_([BookingStatus.REQUESTED.value, BookingStatus.CONFIRMED.value,
                                                  BookingStatus.COMPLETED.value]))
        .options(joinedload(Booking.session).joinedload(OfferSession.offer).joinedload(Offer.employer))
        .order_by(Booking.starts_at)
    ))


def with_details(query: Select[Any]) -> Select[Any]:
    """Load what booking pages and lists show (student, needs, school, session, offer, employer) in a few queries."""
    return query.options(
        joinedload(Booking.student).selectinload(Student.needs),
        joinedload(Booking.student).joinedload(Student.school),
        joinedload(Booking.session).joinedload(OfferSession.offer).joinedload(Offer.employer),
    )


def find_booking(session: DbSession, booking_id: int) -> Booking | None:
    """One booking with its details loaded, or None (also for an id no row could have)."""
    if not is_storable_id(booking_id):
        return None
    return session.scalars(with_details(select(Booking).where(Booking.id == booking_id))).first()


def students_chosen(session: DbSession, scope: Select[Any], ids: Iterable[int]) -> list[Student]:
    """The students within `scope` (the user's students) among the ids, with their needs loaded."""
    return list(session.scalars(scope.where(Student.id.in_(list(ids))).options(selectinload(Student.needs))))


def find_completed_booking(session: DbSession, booking_id: int) -> Booking | None:
    """One completed booking with its details loaded, or None."""
    booking = find_booking(session, booking_id)
    return booking if booking is not None and booking.is_completed else None


def names_on_sessions(session: DbSession, bookings: Sequence[Booking]) -> dict[int, str]:
    """The name an employer sees for each booking: the first name, numbered by booking order ("Grace (1)",
    "Grace (2)") only where students booked on one session share it; never more personal data."""
    session_ids = sorted({booking.session_id for booking in bookings})
    same_name: dict[tuple[int, str], list[tuple[int, str]]] = defaultdict(list)
    for chunk in chunked(session_ids):
        for booking_id, session_id, first_name in session.execute(
            select(Booking.id, Booking.session_id, Student.first_name).join(Student, Student.id == Booking.student_id)
            .where(Booking.session_id.in_(chunk)).order_by(Booking.id)
        ):
            same_name[(session_id, first_name.casefold())].append((booking_id, first_name))
    names = {
        booking_id: first_name if len(members) == 1 else f"{first_name} ({number})"
        for members in same_name.values()
        for number, (booking_id, first_name) in enumerate(members, start=1)
    }
    return {booking.id: names[booking.id] for booking in bookings}

