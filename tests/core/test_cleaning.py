"""The text rule: NULs, control characters and lone surrogates are refused; ordinary Unicode and line breaks pass."""

from __future__ import annotations

import pytest

from portal.core.batches import chunked
from portal.core.cleaning import text_problem


@pytest.mark.parametrize("text", ["Zoë O'Brien-Łukasiewicz", "two\nlines\r\n\ttabbed", "日本語 👩🏽‍🔧", ""])
def test_ordinary_text_is_clean(text: str) -> None:
    """Accented names, emoji, CJK and line breaks are not problems."""
    assert text_problem(text) is None


@pytest.mark.parametrize(
    ("text", "words"),
    [("Ann\x00", "null character"), ("Ann\x07", "U+0007"), ("A\x85nn", "U+0085"), ("\x7f", "U+007F"),
     ("Ann\ud800", "surrogate")],
)
def test_unsafe_characters_are_named(text: str, words: str) -> None:
    """Each kind of unsafe character is refused with words that say which."""
    problem = text_problem(text)
    assert problem is not None and words in problem


def test_chunked_keeps_order_and_size() -> None:
    """Slices are at most the size asked for and together give back every item in order."""
    batches = list(chunked(iter(range(7)), 3))
    assert batches == [[0, 1, 2], [3, 4, 5], [6]]
