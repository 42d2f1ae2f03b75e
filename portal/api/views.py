"""The /api/v1 endpoints: authenticate the bearer token, parse, call a service, answer JSON."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import Blueprint, jsonify, request

from portal.access import api_allow, api_user, public
from portal.api import schema, services
from portal.api.errors import ApiError, from_refusal, not_found
from portal.api.openapi import document
from portal.api.schema import dump, parse_body, parse_query
from portal.bookings.services import BookingRefused, book_student, decide, names_on_sessions
from portal.compliance.checklist import at_risk_ids
from portal.core.dates import london_date
from portal.core.vocab import Role
from portal.db import utcnow
from portal.extensions import csrf, db
from portal.matching.services import MatchRequest, match_student
from portal.offers.search import search_offers

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # bearer tokens only: no cookie is read, so there is no cross-site request to forge


@bp.errorhandler(ApiError)
def _api_error(error: ApiError) -> Any:
    """Every refusal is JSON {"code", "message", "details"}; nothing half-done is kept."""
    db.session.rollback()
    return error.response()


@bp.get("/openapi.json")
@public
def openapi() -> Any:
    """The OpenAPI 3.1 description of this API."""
    return jsonify(document())


@bp.get("/offers")
@api_allow(Role.SCHOOL, Role.HUB)
def offers() -> Any:
    """Search published offers with the page's filters; school staff measure from their school by default."""
    user = api_user()
    wanted = parse_query(schema.OfferSearch, request.args)
    origin = services.search_origin(wanted, user.school if user.role == Role.SCHOOL.value else None)
    query = services.offer_query(wanted, origin)
    found = search_offers(db.session, query, page=wanted.page, per_page=wanted.per_page)
    return jsonify(dump(schema.OfferPage.of(found, origin, query.radius_km)))


@bp.get("/students/<ref>/matches")
@api_allow(Role.SCHOOL)
def student_matches(ref: str) -> Any:
    """A student's ranked, explained matches (the school's own students only)."""
    user = api_user()
    wanted = parse_query(schema.MatchSearch, request.args)
    student = services.school_student(db.session, user, ref)
    if student is None:
        raise not_found("Your school has no student with that reference")
    outcome = match_student(db.session, student, MatchRequest(
        activity_types=wanted.types, date_from=wanted.date_from, date_to=wanted.date_to, radius_km=wanted.radius_km))
    services.record_needs_shown(db.session, user, [student], "api_matches")  # reasons name the needs
    db.session.commit()
    return jsonify(dump(schema.MatchList.of(outcome)))


@bp.post("/bookings")
@api_allow(Role.SCHOOL)
def create_booking() -> Any:
    """Request a place for one of the school's students on a session; 201, or 404/409/422 with the reason."""
    user = api_user()
    wanted = parse_body(schema.BookingRequest, request.get_data())
    student = services.school_student(db.session, user, wanted.student_ref)
    if student is None:
        raise ApiError(404, "not_found", "Your school has no student with that reference", {"student_ref": "Not found"})
    occurrence = services.bookable_session(db.session, wanted.offer_ref, wanted.session_start)
    if occurrence is None:
        raise ApiError(404, "not_found", "No open offer with that reference has a session starting then",
                       {"offer_ref": "No open offer with this reference has a session at session_start"})
    try:
        booking = book_student(db.session, user, student, occurrence, adult_name=wanted.supporting_adult_name)
    except BookingRefused as refusal:
        raise from_refusal(refusal) from None
    db.session.commit()
    return jsonify(dump(schema.SchoolBooking.of(booking, booking.id in _at_risk([booking])))), 201


@bp.get("/bookings")
@api_allow(Role.SCHOOL, Role.EMPLOYER)
def bookings() -> Any:
    """The school's bookings, or the employer's with only what an employer may see of each student."""
    user = api_user()
    wanted = parse_query(schema.BookingList, request.args)
    found, total = services.bookings_page(db.session, user, wanted.status, wanted.page, wanted.per_page)
    at_risk = _at_risk(found)
    items: list[schema.SchoolBooking] | list[schema.EmployerBooking]
    if user.role == Role.EMPLOYER.value:
        services.record_needs_shown(db.session, user, [b.student for b in found], "api_employer_bookings")
        db.session.commit()
        names = names_on_sessions(db.session, found)
        items = [schema.EmployerBooking.of(b, names[b.id], b.id in at_risk) for b in found]
    else:
        items = [schema.SchoolBooking.of(b, b.id in at_risk) for b in found]
    return jsonify(dump(schema.BookingPage.of(items, wanted.page, wanted.per_page, total)))


def _at_risk(found: Sequence[Any]) -> set[int]:
    """Which of the bookings are at risk today (London calendar)."""
    return at_risk_ids(db.session, [b.id for b in found], london_date(utcnow()))


@bp.post("/bookings/<int:booking_id>/decision")
@api_allow(Role.EMPLOYER)
def booking_decision(booking_id: int) -> Any:
    """The employer confirms or declines a requested booking (declining needs a reason)."""
    user = api_user()
    booking = services.owned_booking(db.session, user, booking_id)
    if booking is None:
        raise not_found("Your organisation has no booking with that id")
    wanted = parse_body(schema.DecisionRequest, request.get_data())
    try:
        decide(db.session, user, booking, wanted.accept, wanted.reason or "")
    except BookingRefused as refusal:
        raise from_refusal(refusal) from None
    services.record_needs_shown(db.session, user, [booking.student], "api_booking_decision")
    db.session.commit()
    name = names_on_sessions(db.session, [booking])[booking.id]
    return jsonify(dump(schema.EmployerBooking.of(booking, name, booking.id in _at_risk([booking]))))
