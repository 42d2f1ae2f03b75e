"""What the API looks up for a request, always through the access policy's scoped queries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload, selectinload

from portal import access
from portal.accounts.models import User
from portal.api.errors import invalid
from portal.api.schema import DEFAULT_OFFER_RADIUS_KM, OfferSearch, Origin
from portal.bookings.models import Booking
from portal.core import audit
from portal.db import DbSession
from portal.geo.locate import PostcodeProblem, locate
from portal.offers.models import Offer, OfferSession
from portal.offers.search import OfferQuery
from portal.offers.services import visible_to_schools
from portal.organisations.models import School, Student


def search_origin(wanted: OfferSearch, school: School | None) -> Origin | None:
    """Where distances are measured from: lat/lon, a postcode, or the user's school (None: nowhere)."""
    origin = None
    if wanted.lat is not None and wanted.lon is not None:
        origin = Origin(latitude=wanted.lat, longitude=wanted.lon, source="coordinates")
    elif wanted.postcode:
        try:
            location = locate(wanted.postcode)
        except PostcodeProblem as problem:
            raise invalid({"postcode": str(problem)}) from None
        origin = Origin(latitude=location.latitude, longitude=location.longitude, source="postcode")
    elif school is not None and school.latitude is not None and school.longitude is not None:
        origin = Origin(latitude=school.latitude, longitude=school.longitude, source="school")
    if origin is None and wanted.radius_km is not None:
        raise invalid({"radius_km": "A radius needs a place to measure from: give lat and lon or postcode"})
    return origin


def offer_query(wanted: OfferSearch, origin: Origin | None) -> OfferQuery:
    """The search service's query for the API's filters, measured from the origin when there is one."""
    query = OfferQuery(activity_types=wanted.activity_type, delivery_modes=wanted.delivery_mode,
                       sectors=wanted.sector, year_group=wanted.year_group, features=wanted.feature,
                       date_from=wanted.date_from, date_to=wanted.date_to)
    if origin is None:
        return query
    return replace(query, origin=(origin.latitude, origin.longitude),
                   radius_km=wanted.radius_km or DEFAULT_OFFER_RADIUS_KM)


def school_student(session: DbSession, user: User, student_ref: str) -> Student | None:
    """The student of the user's own school with this reference (None for any other school's)."""
    return session.scalars(
        access.students_of(user).where(Student.student_ref == student_ref)
        .options(selectinload(Student.needs), selectinload(Student.interests), joinedload(Student.school))
    ).first()


def bookable_session(session: DbSession, offer_ref: str, starts_at: dt.datetime) -> OfferSession | None:
    """The session of a school-visible offer that starts at this instant (to the second)."""
    offer = session.scalars(select(Offer).where(Offer.offer_ref == offer_ref)).first()
    if offer is None or not visible_to_schools(offer):
        return None
    second = starts_at.replace(microsecond=0)
    return session.scalars(
        select(OfferSession).where(
            OfferSession.offer_id == offer.id,
            OfferSession.starts_at >= second,
            OfferSession.starts_at < second + dt.timedelta(seconds=1),
        )
    ).first()


def _with_details(query: Select[Any]) -> Select[Any]:
    """Load what a booking's JSON shows in a few queries, not one per booking."""
    return query.options(
        joinedload(Booking.student).joinedload(Student.school),
        joinedload(Booking.student).selectinload(Student.needs),
        joinedload(Booking.session).joinedload(OfferSession.offer).joinedload(Offer.employer),
    )


def bookings_page(session: DbSession, user: User, statuses: Sequence[str], page: int,
                  per_page: int) -> tuple[list[Booking], int]:
    """One page of the bookings the user may see (soonest session first) and how many there are in all."""
    query = access.bookings_of(user)
    if statuses:
        query = query.where(Booking.status.in_(list(statuses)))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    ordered = query.order_by(Booking.starts_at, Booking.id).offset((page - 1) * per_page).limit(per_page)
    return list(session.scalars(_with_details(ordered))), total


def owned_booking(session: DbSession, user: User, booking_id: int) -> Booking | None:
    """A booking the user's employer (or school) may act on; None when it is anyone else's."""
    booking = session.scalars(
        _with_details(select(Booking).where(Booking.id == booking_id))
    ).first()
    if booking is None:
        return None
    if not (access.can_manage_employer_booking(user, booking) or access.can_manage_school_booking(user, booking)):
        return None
    return booking


def record_needs_shown(session: DbSession, user: User, students: Sequence[Student], what: str) -> None:
    """Audit that the user was shown these students' access needs (special category data)."""
    for student in {s.id: s for s in students if s.needs}.values():
        audit.record(session, "viewed_special_category", "student", student.id, school_id=student.school_id,
                     detail=what, actor=user)
