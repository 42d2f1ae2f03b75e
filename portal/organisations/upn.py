"""The unique pupil number format: a letter, then 12 digits (a temporary UPN ends in a letter)."""

import re

UPN_PATTERN = r"^[A-Z]\d{11}[0-9A-Z]$"
_UPN = re.compile(UPN_PATTERN)


def is_valid_upn(text: str) -> bool:
    """Whether text is a well-formed UPN (capital letters expected)."""
    return bool(_UPN.match(text))
