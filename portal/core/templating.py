"""Template filters and globals: dates in London time, code labels, the main navigation."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, request, url_for
from flask_login import current_user

from portal.core import dates, vocab
from portal.core.vocab import Role


@dataclass(frozen=True)
class NavItem:
    """A link in the header navigation."""

    label: str
    url: str
    current: bool


# role -> (position, label, endpoint), filled by each feature's views; links without a position follow in added order
_NAVIGATION: dict[str, list[tuple[float, str, str]]] = {}


def extend_navigation(role: Role, label: str, endpoint: str, *, position: int | None = None) -> None:
    """Let a feature add a header link for a role; a position (0 first) puts it ahead of the links without one."""
    links = _NAVIGATION.setdefault(role.value, [])
    if any(existing == endpoint for _, _, existing in links):
        return
    links.append((float("inf") if position is None else position, label, endpoint))
    links.sort(key=lambda link: link[0])  # stable: links without a position keep the order they were added


def main_navigation() -> list[NavItem]:
    """Header links for the signed-in user's role, marking the current section."""
    if not current_user.is_authenticated:
        return []
    return [
        NavItem(label, url_for(endpoint), request.endpoint == endpoint)
        for _, label, endpoint in _NAVIGATION.get(current_user.role, [])
    ]


def code_label(code: str | None, vocabulary_name: str) -> str:
    """Label of a stored code in the named vocabulary (the code itself when unknown)."""
    if not code:
        return ""
    vocabulary = getattr(vocab, vocabulary_name)
    try:
        return str(vocabulary(code).label)
    except ValueError:
        return code


def code_in_sentence(code: str | None, vocabulary_name: str) -> str:
    """The label of a code as it reads inside a sentence ("step-free access", but "BSL or Makaton")."""
    if not code:
        return ""
    try:
        return str(getattr(vocab, vocabulary_name)(code).in_sentence)
    except ValueError:
        return code


def file_size(size: int) -> str:
    """A size in bytes for people to read, e.g. '5 MB' or '300 KB'."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.3g} MB"
    return f"{size / 1024:.3g} KB"


def register(app: Flask) -> None:
    """Install the filters and globals."""
    app.jinja_env.filters["date"] = dates.format_date
    app.jinja_env.filters["datetime"] = dates.format_datetime
    app.jinja_env.filters["label"] = code_label
    app.jinja_env.filters["in_sentence"] = code_in_sentence
    app.jinja_env.filters["file_size"] = file_size
    app.jinja_env.globals["main_navigation"] = main_navigation
    app.jinja_env.globals["vocab"] = vocab
    app.jinja_env.globals["academic_year_label"] = dates.academic_year_label
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
