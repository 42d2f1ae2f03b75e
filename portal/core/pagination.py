"""The page a list view should show."""

from flask import request


def page_number() -> int:
    """The ?page= argument as a whole number of at least 1 (anything else means page 1)."""
    return max(request.args.get("page", 1, type=int) or 1, 1)
