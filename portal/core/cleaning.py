"""One rule for text from outside (forms, query strings, JSON bodies, CSV cells): no NULs, controls or lone surrogates;
and the limits on a request's size (web address, body)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, TypeVar

from flask import current_app, request
from werkzeug.exceptions import BadRequest, RequestURITooLarge, UnprocessableEntity

V = TypeVar("V")

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


class UncleanText(BadRequest):
    """A 400 for a page's query string or body with text that can't be accepted."""

    name = "Invalid text"


class UncleanApiText(UnprocessableEntity):
    """A 422 for an API request's parameters or JSON body with text that can't be accepted: code `invalid_text`."""

    name = "Invalid text"


def _texts(value: Any) -> Iterator[str]:
    """Every string in a parsed JSON value, keys included (walked without recursion, however deep)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


def request_text_problem() -> str | None:
    """What is wrong with the request's query string or JSON body, or None (form fields are checked by their forms)."""
    for key, value in request.args.items(multi=True):
        problem = text_problem(key) or text_problem(value)
        if problem:
            return f"{problem} (in the web address)"
    if request.is_json:
        try:
            body = request.get_json(silent=True)
        except RecursionError:  # nested too deep to parse: the view's own parsing refuses it
            return None
        for text in _texts(body):
            problem = text_problem(text)
            if problem:
                return f"{problem} (in the JSON body)"
    return None


def accepts_large_files(view: V) -> V:
    """Mark a view whose uploads may be as large as IMPORT_MAX_BYTES (CSV imports) rather than MAX_CONTENT_LENGTH."""
    view.accepts_large_files = True  # type: ignore[attr-defined]
    return view


def raise_limit_for_large_files() -> None:
    """before_request hook, run before anything reads the body: a view marked accepts_large_files takes IMPORT_MAX_BYTES."""
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "accepts_large_files", False):
        request.max_content_length = current_app.config["IMPORT_MAX_BYTES"]


def refuse_long_urls() -> None:
    """before_request hook: a web address longer than MAX_URL_LENGTH is a 414 (JSON under /api) before anything reads it."""
    limit = current_app.config["MAX_URL_LENGTH"]
    if len(request.path) + len(request.query_string) > limit:
        raise RequestURITooLarge(f"The web address is longer than {limit} characters: send fewer or shorter "
                                 "query parameters.")


def refuse_unclean_requests() -> None:
    """before_request hook: a query string or JSON body with NULs, controls or lone surrogates is a 400, never stored."""
    problem = request_text_problem()
    if problem:
        raise UncleanApiText(problem) if request.path.startswith("/api/") else UncleanText(problem)
