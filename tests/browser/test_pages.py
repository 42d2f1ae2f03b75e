"""Every page each role can reach, discovered from app.url_map, opened in Chromium and checked."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable

import pytest
from flask import Flask

from portal import create_app
from tests.browser.checks import check_page, describe
from tests.browser.conftest import PortalServer, Tab
from tests.browser.discovery import ROLES, PageRoute, reachable_pages, resolve_path
from tests.conftest import make_test_config

pytestmark = pytest.mark.browser


@functools.cache
def discovery_app() -> Flask:
    """An app built at collection time, only to read its routes (its in-memory database is never opened)."""
    return create_app(make_test_config("sqlite://", None))


def role_pages() -> list[tuple[str, PageRoute]]:
    """(role, page) for every role, anonymous included, and every page it can reach."""
    app = discovery_app()
    return [(role, page) for role in ROLES for page in reachable_pages(app, role)]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "role_page" in metafunc.fixturenames:
        metafunc.parametrize(
            "role_page", [pytest.param(pair, id=f"{pair[0]}:{pair[1].test_id}") for pair in role_pages()]
        )


def test_page_passes_every_check(
    role_page: tuple[str, PageRoute], portal_server: PortalServer, open_tab: Callable[..., Tab],
) -> None:
    role, page_route = role_page
    assert page_route.endpoint in portal_server.app.view_functions
    path = resolve_path(portal_server.app, page_route, role, portal_server.email_for(role))
    tab = open_tab(role)

    if page_route.json:  # not a page: it answers JSON (API routes with the role's bearer token)
        answer = tab.page.request.get(path, headers=portal_server.api_headers(role))
        content_type = answer.headers.get("content-type", "")
        assert answer.status == 200, f"{path} as {role} answered {answer.status}: {answer.text()[:300]}"
        assert content_type.startswith("application/json"), f"{path} is not JSON: {content_type}"
        assert isinstance(json.loads(answer.text()), dict | list)
        return

    if page_route.download:  # a CSV export or a stored PDF: fetched with the role's session, not rendered
        answer = tab.page.request.get(path)
        assert answer.status == 200, f"{path} as {role} answered {answer.status}"
        assert "attachment" in answer.headers.get("content-disposition", "")
        if path.endswith(".csv"):
            assert answer.headers.get("content-type", "").startswith("text/csv"), f"{path} is not CSV"
            assert answer.text().count("\n") >= 1
        else:
            assert answer.headers.get("content-type", "").startswith("application/pdf"), f"{path} is not a PDF"
            assert answer.body().startswith(b"%PDF-")
        return

    response = tab.page.goto(path)
    assert response is not None, f"no response for {path}"
    content_type = response.headers.get("content-type", "")
    assert response.status == 200, f"{path} as {role} answered {response.status} at {tab.page.url}"
    assert content_type.startswith("text/html"), f"{path} is not an HTML page: {content_type}"
    problems = check_page(tab.page, tab.monitor)
    assert not problems, describe(tab.page, problems)
