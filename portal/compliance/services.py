"""Compliance rules shared by DBS notes, consent and the student briefing; the briefing mark itself."""

from __future__ import annotations

import datetime as dt

from portal import access
from portal.accounts.models import User
from portal.bookings.models import Booking
from portal.core import audit
from portal.core.dates import format_date
from portal.core.refusals import Refusal
from portal.core.vocab import ACTIVE_BOOKING_STATUSES
from portal.db import DbSession, utcnow


class ComplianceRefused(Refusal):
    """A compliance action is not allowed; `code` is stable for code and tests, the message is for people.

    `field` names the form field at fault, when there is one.
    """


def require_school_booking(staff: User, booking: Booking) -> None:
    """The booking must belong to the staff member's school (otherwise it does not exist for them)."""
    if not access.can_manage_school_booking(staff, booking):
        raise ComplianceRefused("not_found", "No such booking")


def require_active(booking: Booking, action: str) -> None:
    """The booking must still be requested or confirmed."""
    if booking.status_enum not in ACTIVE_BOOKING_STATUSES:
        raise ComplianceRefused("wrong_state",
                                f"This booking is {booking.status_enum.label.lower()}, so {action}")


def mark_briefed(session: DbSession, staff: User, booking: Booking, now: dt.datetime | None = None) -> bool:
    """Record that the school has briefed the student; False (and nothing written) when already recorded."""
    now = now or utcnow()
    require_school_booking(staff, booking)
    require_active(booking, "the briefing cannot be recorded")
    if booking.briefed_at is not None:
        return False
    booking.briefed_at, booking.briefed_by_id = now, staff.id
    audit.record(session, "student_briefed", "booking", booking.id, school_id=booking.school_id, actor=staff)
    return True


def already_briefed_message(booking: Booking) -> str:
    """What a repeated briefing mark tells the user."""
    return f"The briefing was already recorded on {format_date(booking.briefed_at)}; nothing has changed."
