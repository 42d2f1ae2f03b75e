"""Parental consent: signed, single-use, expiring links scoped to one booking, and paper forms.

A link carries the request's id and a random nonce, signed with the app's secret
(itsdangerous). It stops working when it is answered, when a newer link is sent for the booking,
when the booking is cancelled or has started, and when it expires. Answering is made single-use by
one conditional UPDATE, so two answers at the same moment cannot both be recorded.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_login import AnonymousUserMixin
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from portal.accounts.models import User
from portal.bookings.models import Booking
from portal.compliance.checklist import CONSENT_AGE, age_on
from portal.compliance.models import ConsentRequest
from portal.compliance.services import ComplianceRefused, require_active, require_school_booking
from portal.core import audit
from portal.core.dates import london_date
from portal.core.links import absolute_url
from portal.core.notify import notify
from portal.core.vocab import ConsentDecision
from portal.db import DbSession, utcnow
from portal.offers.models import Offer, OfferSession

SALT = "parental-consent"
NAME_MAX = 120

# Why a link cannot be used, and what the parent is told (the page adds: contact the school).
LINK_REASONS = {
    "invalid": "This link is not valid. Check that you copied the whole link from the email.",
    "expired": "This link has expired.",
    "used": "This link has already been used: an answer has been recorded.",
    "superseded": "The school has sent a newer link for this placement. Use the link in the latest email.",
    "cancelled": "This placement has been cancelled or has already started, so consent can no longer be given here.",
}


class LinkInvalid(Exception):  # noqa: N818 - it names what the link is, like itsdangerous's BadSignature
    """A consent link that cannot be used; `reason` is one of LINK_REASONS."""

    def __init__(self, reason: str, request: ConsentRequest | None = None) -> None:
        """Keep the reason code and, when known, the request it was for."""
        super().__init__(LINK_REASONS[reason])
        self.reason = reason
        self.request = request


def _serializer() -> URLSafeTimedSerializer:
    """The signer of consent links (its own salt: no other token of the app is accepted)."""
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def _link_lifetime() -> dt.timedelta:
    """How long a consent link lives at most (CONSENT_LINK_DAYS)."""
    return dt.timedelta(days=int(current_app.config["CONSENT_LINK_DAYS"]))


def consent_token(request: ConsentRequest) -> str:
    """The signed token of a request's link."""
    return _serializer().dumps({"r": request.id, "n": request.nonce})


def consent_link(request: ConsentRequest) -> str:
    """The absolute address of a request's link, for the email."""
    return absolute_url("compliance.parent_consent", token=consent_token(request))


def consent_needed(booking: Booking) -> bool:
    """Whether the student is under 18 on the placement's first day (London calendar)."""
    return age_on(booking.student.date_of_birth, london_date(booking.starts_at)) < CONSENT_AGE


def _require_askable(staff: User, booking: Booking, now: dt.datetime) -> None:
    """Consent may be asked or recorded: the staff's school, an active booking not started, an under-18."""
    require_school_booking(staff, booking)
    require_active(booking, "consent can no longer be asked")
    if not booking.is_upcoming(now):
        raise ComplianceRefused("already_started", "This placement has already started, so consent can no longer be asked")
    if not consent_needed(booking):
        raise ComplianceRefused(
            "not_needed", f"{booking.student.first_name} is {CONSENT_AGE} or over on the first day of the placement, "
                          "so parental consent is not needed")


def _supersede_pending(session: DbSession, booking: Booking, now: dt.datetime) -> None:
    """Stop every unanswered link of the booking from working."""
    session.execute(
        update(ConsentRequest)
        .where(ConsentRequest.booking_id == booking.id, ConsentRequest.responded_at.is_(None),
               ConsentRequest.superseded_at.is_(None))
        .values(superseded_at=now)
        .execution_options(synchronize_session="fetch")
    )


def send_consent_request(session: DbSession, staff: User, booking: Booking, parent_email: str,
                         now: dt.datetime | None = None) -> ConsentRequest:
    """Email a parent or carer a consent link for the booking; earlier unanswered links stop working."""
    now = now or utcnow()
    _require_askable(staff, booking, now)
    try:
        email = validate_email((parent_email or "").strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise ComplianceRefused("email", "Enter an email address in the correct format, like name@example.com",
                                "parent_email") from None
    _supersede_pending(session, booking, now)
    request = ConsentRequest(
        booking_id=booking.id, school_id=booking.school_id, parent_email=email, nonce=secrets.token_urlsafe(32),
        sent_by_id=staff.id, sent_at=now, expires_at=min(now + _link_lifetime(), booking.starts_at),
        superseded_at=None, decision=None, responder_name=None, responded_at=None)  # loaded, so updates sync them
    session.add(request)
    session.flush()
    offer, student = booking.session.offer, booking.student
    school = student.school.name
    notify(session, "consent_request", email, school_id=booking.school_id, school=school, student=student,
           offer=offer, booking=booking, link=consent_link(request), expires_at=request.expires_at)
    audit.record(session, "consent_requested", "consent_request", request.id, school_id=booking.school_id,
                 actor=staff, detail=f"booking {booking.id}")
    return request


def _clean_name(name: str) -> str:
    """The responder's name, required and at most NAME_MAX characters."""
    text = " ".join((name or "").split())
    if not text:
        raise ComplianceRefused("name_required", "Enter the full name of the parent or carer", "responder_name")
    if len(text) > NAME_MAX:
        raise ComplianceRefused("name_too_long", f"The name must be {NAME_MAX} characters or fewer", "responder_name")
    return text


def record_paper_consent(session: DbSession, staff: User, booking: Booking, responder_name: str,
                         decision: ConsentDecision | str, now: dt.datetime | None = None) -> ConsentRequest:
    """Record a paper consent form the school received; any unanswered link stops working."""
    now = now or utcnow()
    _require_askable(staff, booking, now)
    try:
        answer = ConsentDecision(decision)
    except ValueError:
        raise ComplianceRefused("decision", "Choose whether the parent or carer consented", "decision") from None
    name = _clean_name(responder_name)
    _supersede_pending(session, booking, now)
    request = ConsentRequest(
        booking_id=booking.id, school_id=booking.school_id, parent_email=None, nonce=secrets.token_urlsafe(32),
        sent_by_id=staff.id, sent_at=now, expires_at=now, decision=answer.value, responder_name=name,
        responded_at=now, superseded_at=None)
    session.add(request)
    session.flush()
    audit.record(session, "consent_recorded_on_paper", "consent_request", request.id, school_id=booking.school_id,
                 actor=staff, detail=f"booking {booking.id}: {answer.label.lower()} by {name}")
    return request


def _booking_cancelled(booking: Booking, now: dt.datetime) -> bool:
    """The booking no longer takes consent: not requested/confirmed, or already started."""
    return not booking.is_upcoming(now)


def request_from_token(session: DbSession, token: str, now: dt.datetime) -> ConsentRequest:
    """The request a link is for, if it may still be answered at `now`; raises LinkInvalid with the reason."""
    try:
        payload: Any
        payload, signed_at = _serializer().loads(token, return_timestamp=True)
    except BadData:  # a bad signature, a damaged token or one signed for something else
        raise LinkInvalid("invalid") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("r"), int) or not isinstance(payload.get("n"), str):
        raise LinkInvalid("invalid")
    request = session.get(ConsentRequest, payload["r"])
    if request is None or not hmac.compare_digest(request.nonce, payload["n"]):
        raise LinkInvalid("invalid")
    if request.responded_at is not None:
        raise LinkInvalid("used", request)
    if request.superseded_at is not None:
        raise LinkInvalid("superseded", request)
    if _booking_cancelled(request.booking, now):
        raise LinkInvalid("cancelled", request)
    if now - signed_at > _link_lifetime() or now >= request.expires_at:
        raise LinkInvalid("expired", request)
    return request


def respond(session: DbSession, request: ConsentRequest, *, consent: bool, name: str,
            now: dt.datetime | None = None) -> ConsentRequest:
    """Record the parent's answer once: a second answer, or one to a replaced link, raises LinkInvalid."""
    now = now or utcnow()
    responder = _clean_name(name)
    if _booking_cancelled(request.booking, now):
        raise LinkInvalid("cancelled", request)
    if now >= request.expires_at:
        raise LinkInvalid("expired", request)
    answer = ConsentDecision.CONSENTED if consent else ConsentDecision.DECLINED
    result = session.execute(
        update(ConsentRequest)
        .where(ConsentRequest.id == request.id, ConsentRequest.responded_at.is_(None),
               ConsentRequest.superseded_at.is_(None))
        .values(decision=answer.value, responder_name=responder, responded_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(request)
        raise LinkInvalid("superseded" if request.superseded_at and not request.responded_at else "used", request)
    for key, value in (("decision", answer.value), ("responder_name", responder), ("responded_at", now)):
        set_committed_value(request, key, value)
    booking = request.booking
    verdict = "consented" if consent else "declined"
    audit.record(session, f"consent_{verdict}", "consent_request", request.id, school_id=request.school_id,
                 actor=AnonymousUserMixin(), detail=f"booking {booking.id}: {verdict} by {responder}")
    _notify_staff(session, request, booking, verdict, responder)
    return request


def _notify_staff(session: DbSession, request: ConsentRequest, booking: Booking, verdict: str, responder: str) -> None:
    """Email the member of staff who sent the request (or who asked for the booking) with the answer."""
    staff = request.sent_by or booking.requested_by
    if staff is None:
        return
    student, offer = booking.student, booking.session.offer
    notify(session, "consent_answered", staff.email, school_id=booking.school_id, responder=responder,
           consented=verdict == "consented", student=student, offer=offer, booking=booking,
           link=absolute_url("bookings.school_booking", booking_id=booking.id))


def history(session: DbSession, booking: Booking) -> list[ConsentRequest]:
    """Every consent request of a booking, newest first."""
    return list(session.scalars(
        select(ConsentRequest).where(ConsentRequest.booking_id == booking.id)
        .order_by(ConsentRequest.sent_at.desc(), ConsentRequest.id.desc())
    ))


def booking_for_request(session: DbSession, consent_request: ConsentRequest) -> Booking:
    """The booking a consent link is about, with its session, offer and employer loaded for the parent's page."""
    booking = session.get(Booking, consent_request.booking_id, options=[
        joinedload(Booking.session).joinedload(OfferSession.offer).joinedload(Offer.employer)])
    assert booking is not None  # noqa: S101 - the request's booking is its foreign key: never missing
    return booking
