"""Browser harness: the portal served on a free localhost port against its own freshly migrated and
seeded database, Debian's Chromium driven by Playwright, one signed-in state per demo role, and a
screenshot plus the page's HTML under test-artifacts/browser/ when a test fails.

pytest-socket: the addopts (--allow-hosts=127.0.0.1,localhost,::1 --allow-unix-socket) are enough.
With --allow-hosts set, pytest-socket guards only socket.connect() (to those hosts) and does not
block socket creation, so the server thread can bind, listen and accept on 127.0.0.1; Playwright
talks to its driver over subprocess pipes and Chromium is a separate process, so neither is
affected. No enable_socket marker is needed.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy import select
from werkzeug.serving import WSGIRequestHandler, make_server

from portal import create_app
from portal.accounts.models import User
from portal.core.vocab import Role
from portal.demo import DEMO_PASSWORD, seed_demo
from portal.extensions import db
from portal.organisations.models import Student
from tests.browser.checks import WIDE, PageMonitor
from tests.browser.discovery import ANONYMOUS
from tests.conftest import make_test_config

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
ARTIFACTS = Path("test-artifacts") / "browser"
TIMEOUT_MS = 10_000


# --- failure artifacts ---------------------------------------------------------------------------


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    """Keep each phase's report on the item (item.rep_setup, rep_call, rep_teardown) for fixtures."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def _artifact_dir(request: pytest.FixtureRequest) -> Path:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid.removeprefix("tests/browser/")).strip("_")
    return request.config.rootpath / ARTIFACTS / name[:150]


# --- the database override -------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def session() -> None:
    """Replace the harness's per-test transaction for browser tests.

    The root `session` fixture re-binds the shared db.session factory to a connection of the harness
    database; the live server thread would then serve from that connection. Browser tests use their
    own server's database instead, and nothing is rolled back.
    """
    return None


# --- the live portal -------------------------------------------------------------------------------


@dataclass
class PortalServer:
    """The running portal: its app (for the database and url_map), base URL and demo sign-ins."""

    app: Flask
    url: str
    logins: dict[str, str]  # role -> demo email

    def email_for(self, role: str) -> str | None:
        return None if role == ANONYMOUS else self.logins[role]


class _QuietHandler(WSGIRequestHandler):
    """Do not log every request (errors are still logged)."""

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        return None


def _fill_lists(school_email: str) -> None:
    """Give the lists that start empty one entry each, so their pages are checked with a table in them:
    an audit event (staff viewed a student's needs) and a pending invitation (team, outbox)."""
    from portal.accounts.services import invite_user
    from portal.core import audit

    leader = db.session.scalars(select(User).where(User.email == school_email)).one()
    student = db.session.scalars(select(Student).where(Student.school_id == leader.school_id).order_by(Student.id)).first()
    assert student is not None, "the demo school has no students"
    audit.record(db.session, "viewed_special_category", "student", student.id, school_id=student.school_id,
                 detail="send_and_needs", actor=leader)
    invite_user(db.session, email="new.colleague@northgate.example", name="Chris Lowe", role=Role.SCHOOL,
                inviter=leader, school_id=leader.school_id)


@pytest.fixture(scope="session")
def portal_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PortalServer]:
    """The portal on a free 127.0.0.1 port, on a fresh migrated SQLite database with the demo data."""
    from flask_migrate import upgrade

    folder = tmp_path_factory.mktemp("browser-portal")
    app = create_app(make_test_config(
        f"sqlite:///{folder / 'portal-browser.db'}", folder, WTF_CSRF_ENABLED=True, ENV="testing",
    ))
    with app.app_context():
        upgrade()
        demo = seed_demo(db.session)
        db.session.commit()
        logins: dict[str, str] = {}
        for _label, email in demo:  # the first demo account of each role
            user = db.session.scalars(select(User).where(User.email == email)).one()
            logins.setdefault(user.role, email)
        _fill_lists(logins[Role.SCHOOL.value])
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    url = f"http://127.0.0.1:{server.server_port}"
    app.config["BASE_URL"] = url
    thread = threading.Thread(target=server.serve_forever, name="portal-browser-server", daemon=True)
    thread.start()
    try:
        yield PortalServer(app, url, logins)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.engine.dispose()


# --- the browser -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, with nothing that reaches for the network."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"The browser tests need Debian's chromium at {CHROMIUM}: run `make browser-deps` "
                    "(or `sudo apt-get install chromium`).", pytrace=False)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def signed_in_state(browser: Browser, portal_server: PortalServer) -> Callable[[str], Any]:
    """state(role): cookies of a session signed in through the sign-in form as the role's demo user."""
    cache: dict[str, Any] = {}

    def state(role: str) -> Any:
        if role == ANONYMOUS:
            return None
        if role not in cache:
            context = browser.new_context(base_url=portal_server.url)
            try:
                page = context.new_page()
                page.goto("/sign-in")
                page.get_by_label("Email address", exact=True).fill(portal_server.logins[role])
                page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
                page.get_by_role("button", name="Sign in").click()
                page.wait_for_load_state()
                assert "/sign-in" not in page.url, f"signing in as the demo {role} failed: still on {page.url}"
                cache[role] = context.storage_state()
            finally:
                context.close()
        return cache[role]

    return state


@dataclass
class Tab:
    """A page in its own browser context, with its monitor."""

    page: Page
    monitor: PageMonitor


@pytest.fixture
def open_tab(
    browser: Browser, portal_server: PortalServer, signed_in_state: Callable[[str], Any],
    request: pytest.FixtureRequest,
) -> Iterator[Callable[..., Tab]]:
    """open_tab(role) -> a fresh context (signed in as the role, or anonymous) and page at 1280px.

    When the test fails, each page's screenshot and HTML are saved under test-artifacts/browser/<test>/.
    """
    tabs: list[Tab] = []

    def open_as(role: str = ANONYMOUS) -> Tab:
        context = browser.new_context(
            base_url=portal_server.url, storage_state=signed_in_state(role), viewport=WIDE,
            locale="en-GB", timezone_id="Europe/London",
        )
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        tab = Tab(page, PageMonitor(page))
        tabs.append(tab)
        return tab

    yield open_as

    report = getattr(request.node, "rep_call", None)
    failed = report is not None and report.failed
    for index, tab in enumerate(tabs):
        try:
            if failed and not tab.page.is_closed():
                folder = _artifact_dir(request)
                folder.mkdir(parents=True, exist_ok=True)
                tab.page.screenshot(path=str(folder / f"screenshot-{index}.png"), full_page=True)
                (folder / f"page-{index}.html").write_text(tab.page.content(), encoding="utf-8")
                (folder / f"problems-{index}.txt").write_text(
                    f"{tab.page.url}\n" + "\n".join(tab.monitor.problems) + "\n", encoding="utf-8")
        finally:
            tab.page.context.close()
