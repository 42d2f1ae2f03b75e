"""API errors: one exception carrying the HTTP status, a stable code, a human message and field details."""

from __future__ import annotations

from flask import Response, jsonify

from portal.core.refusals import Refusal

# Refusal codes by the status they get. Conflicts (409): the place can't be had as things stand.
BOOKING_CONFLICTS = ("session_full", "adult_places_full", "overlap", "duplicate")
DECISION_CONFLICTS = ("wrong_state",)
CONFLICT_CODES = frozenset(BOOKING_CONFLICTS + DECISION_CONFLICTS)
# Rules that refuse the request itself (422); any other code but not_found (404) is a 422 as well.
BOOKING_REFUSALS = ("not_available", "in_past", "too_soon", "too_far_ahead", "year_group", "needs_unsupported", "left",
                    "no_supporting_adult", "adult_name_required", "adult_name_too_long")
DECISION_REFUSALS = ("reason_required",)


class ApiError(Exception):
    """An answer other than success: status, stable code, message and per-field details."""

    def __init__(self, status: int, code: str, message: str, details: dict[str, str] | None = None) -> None:
        """Keep what the JSON error body needs."""
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}

    def response(self) -> Response:
        """The JSON body {"code", "message", "details"} with the status."""
        response = jsonify({"code": self.code, "message": self.message, "details": self.details})
        response.status_code = self.status
        return response


def invalid(details: dict[str, str], message: str = "The request has invalid or missing values") -> ApiError:
    """A 422 listing each bad field or parameter with what is wrong with it."""
    return ApiError(422, "invalid_request", message, details)


def not_found(message: str) -> ApiError:
    """A 404 that does not say whether the object exists elsewhere (no leak across schools or employers)."""
    return ApiError(404, "not_found", message)


def from_refusal(refusal: Refusal) -> ApiError:
    """Map any service's refusal to its status: 409 for conflicts, 404 for not found, 422 otherwise."""
    if refusal.code in CONFLICT_CODES:
        status = 409
    elif refusal.code == "not_found":
        status = 404
    else:
        status = 422
    return ApiError(status, refusal.code, str(refusal))
