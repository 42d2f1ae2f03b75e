"""API errors: one exception carrying the HTTP status, a stable code, a human message and field details."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from portal.bookings.services import BookingRefused

# BookingRefused codes that mean "the place can't be had right now" rather than "this request is wrong".
CONFLICT_CODES = frozenset({"session_full", "overlap", "duplicate", "wrong_state"})


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


def from_refusal(refusal: BookingRefused) -> ApiError:
    """Map a booking rule's refusal to its status: 409 for conflicts, 404 for not found, 422 otherwise."""
    if refusal.code in CONFLICT_CODES:
        status = 409
    elif refusal.code == "not_found":
        status = 404
    else:
        status = 422
    return ApiError(status, refusal.code, str(refusal))


def error_body(error: ApiError) -> dict[str, Any]:
    """The error as a plain dict (for tests and documentation examples)."""
    return {"code": error.code, "message": error.message, "details": error.details}
