"""The page a list view should show."""

from flask import request

# Far beyond any real list, and small enough that (page - 1) * per_page stays a 64-bit OFFSET.
MAX_PAGE = 1_000_000


def page_number() -> int:
    """The ?page= argument as a whole number from 1 to MAX_PAGE (anything else, however large, means page 1)."""
    text = request.args.get("page", "")
    if not text.isascii() or not text.isdigit() or len(text) > len(str(MAX_PAGE)):
        return 1
    page = int(text)
    return page if 1 <= page <= MAX_PAGE else 1
