"""Split long lists into slices, so IN (...) lists and bulk inserts stay inside the database's parameter limits."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import TypeVar

T = TypeVar("T")

IN_LIST_SIZE = 1000  # ids per IN (...) list: well inside SQLite's and PostgreSQL's bound-parameter limits


def chunked(items: Iterable[T], size: int = IN_LIST_SIZE) -> Iterator[list[T]]:
    """Successive lists of at most `size` items, in order (works on any iterable, including generators)."""
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch
