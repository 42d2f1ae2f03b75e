"""Page discovery and the id resolver, at unit level (no browser): a newly added route is picked up
by the browser tests, and a URL argument nobody taught the resolver fails instead of being skipped."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Blueprint, Flask

from portal import create_app
from portal.access import allow, public
from portal.core.vocab import Role
from tests.browser.discovery import (
    ANONYMOUS,
    ROLES,
    PageRoute,
    reachable_pages,
    resolve_path,
    rule_arguments,
    undeclared_views,
)
from tests.conftest import make_test_config


def _app(folder: Path) -> Flask:
    """A separate app instance (its database file is never opened)."""
    return create_app(make_test_config(f"sqlite:///{folder / 'unused.db'}", folder))


def _rules(app: Flask, role: str) -> dict[str, PageRoute]:
    return {page.rule: page for page in reachable_pages(app, role)}


def test_a_newly_added_route_is_discovered_for_the_roles_it_allows(tmp_path: Path) -> None:
    app = _app(tmp_path)
    before = {role: set(_rules(app, role)) for role in ROLES}
    throwaway = Blueprint("throwaway", __name__)

    @throwaway.route("/throwaway/open")
    @public
    def open_page() -> str:
        return "<h1>Open</h1>"

    @throwaway.route("/throwaway/schools/<int:school_id>/review")
    @allow(Role.HUB, Role.SCHOOL)
    def review(school_id: int) -> str:
        return f"<h1>Review {school_id}</h1>"

    @throwaway.route("/throwaway/action", methods=["POST"])
    @public
    def action() -> str:
        return "done"

    app.register_blueprint(throwaway)

    for role in ROLES:
        found = _rules(app, role)
        new = set(found) - before[role]
        assert "/throwaway/open" in new, f"the new public route is not discovered for {role}"
        assert found["/throwaway/open"].endpoint == "throwaway.open_page"
        assert "/throwaway/action" not in found, "a POST-only route is not a page"
        reviewable = role in (Role.HUB.value, Role.SCHOOL.value)
        assert ("/throwaway/schools/<int:school_id>/review" in new) is reviewable, role
    review_page = _rules(app, Role.HUB.value)["/throwaway/schools/<int:school_id>/review"]
    assert review_page.arguments == ("school_id",)
    assert not review_page.json


def test_an_unknown_url_argument_fails_and_says_to_teach_the_resolver(tmp_path: Path) -> None:
    app = _app(tmp_path)
    page = PageRoute("throwaway.widget", "/widgets/<int:widget_id>", ("widget_id",), json=False)
    with pytest.raises(pytest.fail.Exception, match=r"<widget_id>.*Teach it.*RESOLVERS"):
        resolve_path(app, page, Role.SCHOOL.value, None)


def test_every_view_declares_who_may_open_it(tmp_path: Path) -> None:
    assert undeclared_views(_app(tmp_path)) == []


def test_discovery_sorts_pages_by_role_and_treats_healthz_as_json(tmp_path: Path) -> None:
    app = _app(tmp_path)
    anonymous = _rules(app, ANONYMOUS)
    assert anonymous["/healthz"].json
    assert not anonymous["/sign-in"].json
    assert "/students/<int:student_id>" not in anonymous
    assert "/students/<int:student_id>" in _rules(app, Role.SCHOOL.value)
    assert "/students/<int:student_id>" not in _rules(app, Role.EMPLOYER.value)
    assert "static" not in {page.endpoint for role in ROLES for page in reachable_pages(app, role)}


def test_url_arguments_are_read_in_the_order_they_appear() -> None:
    assert rule_arguments("/offers/<int:offer_id>/sessions/<int:session_id>/edit") == ("offer_id", "session_id")
    assert rule_arguments("/welcome/<token>") == ("token",)
    assert rule_arguments("/x/<string(length=2):code>") == ("code",)
