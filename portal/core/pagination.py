"""The page a list view should show, and the page of rows it shows."""

from typing import Any

from flask import current_app, request
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select

from portal.extensions import db

# Far beyond any real list, and small enough that (page - 1) * per_page stays a 64-bit OFFSET.
MAX_PAGE = 1_000_000


def page_number() -> int:
    """The ?page= argument as a whole number from 1 to MAX_PAGE (anything else, however large, means page 1)."""
    text = request.args.get("page", "")
    if not text.isascii() or not text.isdigit() or len(text) > len(str(MAX_PAGE)):
        return 1
    page = int(text)
    return page if 1 <= page <= MAX_PAGE else 1


def paginate(query: Select[Any], per_page: int | None = None) -> Pagination:
    """The ?page= page of a query's rows: PAGE_SIZE rows unless a list asks for more; past the end is empty."""
    size = per_page or current_app.config["PAGE_SIZE"]
    return db.paginate(query, page=page_number(), per_page=size, error_out=False)
