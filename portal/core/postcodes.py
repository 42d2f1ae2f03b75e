"""UK postcode validation and normalisation ("sw1a1aa" -> "SW1A 1AA")."""

from __future__ import annotations

import re

# Outward code: area (1-2 letters) + district (digit, digit+digit or digit+letter);
# inward code: sector digit + unit (two letters, never C I K M O V).
_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][ABD-HJLNP-UW-Z]{2})$")
_OUTWARD = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?$")
_SPECIAL = {"GIR0AA": "GIR 0AA"}


class InvalidPostcode(ValueError):
    """The text is not a well-formed UK postcode."""


def normalise_postcode(raw: str) -> str:
    """Return the postcode in capitals with one space before the inward code, or raise InvalidPostcode."""
    compact = re.sub(r"\s+", "", raw or "").upper()
    if compact in _SPECIAL:
        return _SPECIAL[compact]
    match = _POSTCODE.match(compact)
    if not match:
        raise InvalidPostcode(
            f"{raw.strip()!r} is not a valid UK postcode" if raw and raw.strip() else "Enter a postcode"
        )
    return f"{match.group(1)} {match.group(2)}"


def outward_code(postcode: str) -> str:
    """Return the outward code (postcode district) of a normalised postcode."""
    return postcode.split(" ", 1)[0]


def is_outward_code(text: str) -> bool:
    """Whether the text is a well-formed postcode district such as 'SW1A' or 'M1'."""
    return bool(_OUTWARD.match(text.strip().upper()))
