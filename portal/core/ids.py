"""Ids from outside (paths, query strings, forms) are whole numbers the database can store: 1 .. 2^31-1."""

from __future__ import annotations

from typing import Any, TypeVar

from werkzeug.routing import IntegerConverter

from portal.db import DbSession

T = TypeVar("T")

MAX_ID = 2**31 - 1  # the largest INTEGER PostgreSQL stores; a bigger id can't name a row


def is_storable_id(value: object) -> bool:
    """Whether the value is an int that could be the id of a stored row."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID


def get_stored(session: DbSession, model: type[T], object_id: object) -> T | None:
    """The row with that id, or None (without asking the database) when no row could have it."""
    return session.get(model, object_id) if is_storable_id(object_id) else None


def parse_id(text: str | None) -> int | None:
    """The id an ASCII-digit string names, or None when it is not one a row could have."""
    if not text or not text.isascii() or not text.isdigit() or len(text) > len(str(MAX_ID)):
        return None
    value = int(text)
    return value if is_storable_id(value) else None


class StorableIdConverter(IntegerConverter):
    """The `int` URL converter, bounded to storable ids so a route with a huge id is a 404 before its view runs."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002 - werkzeug's name
        """Default to min=1 and max=MAX_ID unless the rule asks for narrower bounds."""
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)
