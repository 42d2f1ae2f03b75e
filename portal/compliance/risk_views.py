"""Risk assessment pages: employers upload or attest per offer, schools review, both download."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("risk", __name__)
