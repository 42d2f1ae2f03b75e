"""One shape for every refusal a service gives: a stable code, a message for people, the form field at fault."""

from __future__ import annotations


class Refusal(ValueError):
    """A rule refused the action: `code` is stable for the API and tests, `message` is for people, `field` the form's."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        """Keep the machine code and the field beside the human message."""
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
