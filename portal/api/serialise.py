"""Objects to JSON: what each kind of reader may see, and times as ISO 8601 in UK time with their offset."""

from __future__ import annotations

import datetime as dt
from typing import Any

from portal.bookings.models import Booking
from portal.core.dates import to_london
from portal.core.vocab import AccessFeature
from portal.matching.services import Match, MatchOutcome
from portal.offers.models import OfferSession
from portal.offers.search import SearchPage, SearchResult


def iso(moment: dt.datetime | None) -> str | None:
    """An aware datetime as ISO 8601 in Europe/London with its offset, to the second."""
    return to_london(moment).isoformat(timespec="seconds") if moment is not None else None


def km(distance: float | None) -> float | None:
    """A distance rounded to 10 metres."""
    return round(distance, 2) if distance is not None else None


def session_json(occurrence: OfferSession) -> dict[str, Any]:
    """A session's times and places."""
    return {
        "start": iso(occurrence.starts_at),
        "end": iso(occurrence.ends_at),
        "capacity": occurrence.capacity,
        "free_places": max(0, occurrence.capacity - occurrence.booked),
    }


def offer_json(result: SearchResult) -> dict[str, Any]:
    """An offer found by a search, with its sessions in the window."""
    offer = result.offer
    return {
        "offer_ref": offer.offer_ref,
        "title": offer.title,
        "employer_name": offer.employer.name,
        "activity_type": offer.activity_type,
        "delivery_mode": offer.delivery_mode,
        "sectors": offer.sector_codes,
        "year_groups": offer.year_group_numbers,
        "send_features": offer.feature_codes,
        "distance_km": km(result.distance_km),
        "sessions": [session_json(s) for s in result.sessions],
    }


def page_json(items: list[dict[str, Any]], page: int, per_page: int, total: int) -> dict[str, Any]:
    """A page of items with the numbers a client needs to fetch the rest."""
    return {"items": items, "page": page, "per_page": per_page, "total": total,
            "pages": max(1, -(-total // per_page))}


def offers_json(found: SearchPage, origin: dict[str, Any] | None, radius_km: float | None) -> dict[str, Any]:
    """A page of offer search results, with where distances were measured from."""
    body = page_json([offer_json(r) for r in found.items], found.page, found.per_page, found.total)
    body.update(origin=origin, radius_km=radius_km)
    return body


def match_json(match: Match) -> dict[str, Any]:
    """One ranked match: which session, how far, the score and the reasons in words."""
    return {
        "offer_ref": match.offer.offer_ref,
        "offer_title": match.offer.title,
        "session_start": iso(match.session.starts_at),
        "session_end": iso(match.session.ends_at),
        "free_places": match.free_places,
        "distance_km": km(match.distance_km),
        "score": match.score,
        "reasons": list(match.reasons),
    }


def matches_json(outcome: MatchOutcome) -> dict[str, Any]:
    """A student's ranked matches, one suggestion outside their interests, and why when there are none."""
    return {
        "student_ref": outcome.student.student_ref,
        "matches": [match_json(m) for m in outcome.matches],
        "something_different": match_json(outcome.something_different) if outcome.something_different else None,
        "explanations": list(outcome.explanations),
    }


def _booking_common(booking: Booking, at_risk: bool) -> dict[str, Any]:
    """What school and employer both see of a booking."""
    offer = booking.session.offer
    return {
        "id": booking.id,
        "status": booking.status,
        "offer_ref": offer.offer_ref,
        "offer_title": offer.title,
        "employer_name": offer.employer.name,
        "session_start": iso(booking.starts_at),
        "session_end": iso(booking.ends_at),
        "requested_at": iso(booking.requested_at),
        "decided_at": iso(booking.decided_at),
        "decline_reason": booking.decline_reason,
        "at_risk": at_risk,
    }


def school_booking_json(booking: Booking, at_risk: bool = False) -> dict[str, Any]:
    """A booking as the student's school sees it: the student's reference and names."""
    student = booking.student
    return {
        **_booking_common(booking, at_risk),
        "student": {
            "student_ref": student.student_ref,
            "first_name": student.first_name,
            "last_name": student.last_name,
            "year_group": student.year_group,
        },
    }


def employer_booking_json(booking: Booking, at_risk: bool = False) -> dict[str, Any]:
    """A booking as the employer sees it: first name, year group, school and the adjustments, nothing more.

    Never SEND status, disadvantage, date of birth, last name, UPN or contact details (data minimisation).
    """
    student = booking.student
    return {
        **_booking_common(booking, at_risk),
        "student": {
            "first_name": student.first_name,
            "year_group": student.year_group,
            "school_name": student.school.name,
            "access_needs": [{"code": code, "label": AccessFeature(code).label} for code in student.need_codes],
        },
    }
