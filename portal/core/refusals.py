"""One shape for every refusal a service gives: a stable code, a message for people, the form field at fault.

Views show a refusal with `show_on_form` (or run a service with `saved`), and the API maps any Refusal to
its JSON error, so a new feature's refusals reach the page and the API without new glue.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from portal.extensions import db


class Refusal(ValueError):
    """A rule refused the action: `code` is stable for the API and tests, `message` is for people, `field` the form's."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        """Keep the machine code and the field beside the human message."""
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    def by_field(self) -> list[tuple[str | None, str]]:
        """Each (form field, message) the refusal names; one, unless a subclass found several problems at once."""
        return [(self.field, self.message)]


class FieldRefusal(Refusal):
    """A refusal raised as (message, field), with a code fixed by the class: the common case in forms."""

    code_for_class = "invalid"

    def __init__(self, message: str, field: str | None = None, *, code: str | None = None) -> None:
        """The message first, as people read it; the class's code unless another is given."""
        super().__init__(code or self.code_for_class, message, field)


def show_on_form(form: Any, refusal: Refusal, fields: Mapping[str, str] | None = None) -> None:
    """Put each of the refusal's messages beside its field (renamed through `fields`), or at the top of the form."""
    for field_name, message in refusal.by_field():
        name = (fields or {}).get(field_name or "", field_name)
        field = getattr(form, name, None) if name else None
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, message]
        else:
            form.form_errors.append(message)


def saved(form: Any, action: Callable[[], Any], fields: Mapping[str, str] | None = None) -> tuple[bool, Any]:
    """Run the service for a form: commit and return (True, result); on a Refusal roll back, show it, (False, None)."""
    try:
        result = action()
    except Refusal as refusal:
        db.session.rollback()
        show_on_form(form, refusal, fields)
        return False, None
    db.session.commit()
    return True, result
