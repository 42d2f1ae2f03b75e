"""One rule for text from outside (forms, query strings, JSON bodies, CSV cells): no NULs, controls or lone surrogates."""

from __future__ import annotations

import re

# C0 controls except tab, line feed and carriage return; DEL; C1 controls; UTF-16 surrogates (never valid alone).
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def text_problem(value: str) -> str | None:
    """Why the text can't be accepted, in words for the person who sent it, or None when it is clean."""
    found = _UNSAFE.search(value)
    if found is None:
        return None
    char = found.group()
    if char == "\x00":
        return "Remove the null character (NUL) from this text"
    if "\ud800" <= char <= "\udfff":
        return "This text has a broken character (a lone UTF-16 surrogate): type or paste it again"
    return f"Remove the control character U+{ord(char):04X} from this text"
