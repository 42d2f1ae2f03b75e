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
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
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
from portal.db import utcnow
from portal.demo import DEMO_PASSWORD, seed_demo
from portal.extensions import db
from portal.organisations.models import Student, StudentNeed
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

    api_tokens: dict[str, str] = field(default_factory=dict)

    def email_for(self, role: str) -> str | None:
        return None if role == ANONYMOUS else self.logins[role]

    def api_headers(self, role: str) -> dict[str, str]:
        """An Authorization header with a live API token of the role's demo user (staff roles only)."""
        if role in (ANONYMOUS, Role.STUDENT.value):
            return {}
        if role not in self.api_tokens:
            from portal.accounts.tokens import issue_api_token

            with self.app.app_context():
                user = db.session.scalars(select(User).where(User.email == self.logins[role])).one()
                _, self.api_tokens[role] = issue_api_token(db.session, user, "Browser tests")
                db.session.commit()
        return {"Authorization": f"Bearer {self.api_tokens[role]}"}


class _QuietHandler(WSGIRequestHandler):
    """Do not log every request (errors are still logged)."""

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        return None


def _fill_lists(school_email: str, employer_email: str) -> None:
    """Give the lists that start empty one entry each, so their pages are checked with a table in them:
    an audit event (staff viewed a student's needs), a pending invitation (team, outbox) and a booking."""
    from portal.accounts.services import invite_user
    from portal.core import audit

    leader = db.session.scalars(select(User).where(User.email == school_email)).one()
    student = db.session.scalars(select(Student).where(Student.school_id == leader.school_id).order_by(Student.id)).first()
    assert student is not None, "the demo school has no students"
    audit.record(db.session, "viewed_special_category", "student", student.id, school_id=student.school_id,
                 detail="send_and_needs", actor=leader)
    invite_user(db.session, email="new.colleague@northgate.example", name="Chris Lowe", role=Role.SCHOOL,
                inviter=leader, school_id=leader.school_id)
    _book_a_place(leader, employer_email)
    _a_completed_placement(leader, employer_email)
    _an_uploaded_risk_assessment(employer_email)


def _an_uploaded_risk_assessment(employer_email: str) -> None:
    """An uploaded PDF risk assessment (through the service) covering the demo employer's booked sessions."""
    import io

    from werkzeug.datastructures import FileStorage

    from portal.bookings.models import Booking
    from portal.compliance.risk import add_upload
    from portal.compliance.uploads import store_pdf
    from portal.offers.models import OfferSession

    employer_user = db.session.scalars(select(User).where(User.email == employer_email)).one()
    booked = db.session.scalars(
        select(OfferSession).join(Booking, Booking.session_id == OfferSession.id)
        .where(Booking.employer_id == employer_user.employer_id, OfferSession.starts_at > utcnow())
        .order_by(OfferSession.starts_at)
    ).first()
    assert booked is not None, "the demo employer has no upcoming booked session"
    stored = store_pdf(FileStorage(io.BytesIO(b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n"), filename="site-risk-assessment.pdf"))
    add_upload(db.session, employer_user, booked.offer, stored, [booked.id])


def _a_completed_placement(leader: User, employer_email: str) -> None:
    """A placement of the demo student that ended last week, so the reflection and feedback pages open."""
    from portal.bookings.models import Booking
    from portal.offers.models import Offer, OfferSession

    employer_id = db.session.scalars(select(User.employer_id).where(User.email == employer_email)).one()
    student_id = db.session.scalars(select(User.student_id).where(User.role == Role.STUDENT.value)).first()
    student = db.session.get(Student, student_id)
    offer = db.session.scalars(select(Offer).where(Offer.employer_id == employer_id, Offer.status == "published")
                               .order_by(Offer.id)).first()
    assert student is not None and offer is not None and student.school_id == leader.school_id
    start = utcnow().replace(microsecond=0) - timedelta(days=7)
    past = OfferSession(offer_id=offer.id, starts_at=start, ends_at=start + timedelta(hours=6), capacity=5, booked=1)
    db.session.add(past)
    db.session.flush()
    db.session.add(Booking(student_id=student.id, session_id=past.id, school_id=student.school_id,
                           employer_id=employer_id, starts_at=past.starts_at, ends_at=past.ends_at,
                           status="completed", requested_by_id=leader.id, closed_at=past.ends_at))
    # A classmate who needed a feature the offer has, so the school's "was it there?" form has a question.
    needy = Student(school_id=student.school_id, student_ref="BROWSER-NEEDS", first_name="Nia", last_name="Okoro",
                    year_group=student.year_group, date_of_birth=student.date_of_birth)
    needy.needs = [StudentNeed(need=offer.feature_codes[0])]
    db.session.add(needy)
    db.session.flush()
    db.session.add(Booking(student_id=needy.id, session_id=past.id, school_id=student.school_id,
                           employer_id=employer_id, starts_at=past.starts_at, ends_at=past.ends_at,
                           status="completed", requested_by_id=leader.id, closed_at=past.ends_at))
    past.booked = 2


def _book_a_place(leader: User, employer_email: str) -> None:
    """One booking (through the bookings service) of a student of the demo school on a session of the
    demo employer, so the school's and the employer's booking pages have a booking to show."""
    from portal.bookings.services import BookingRefused, book_student
    from portal.offers.models import Offer, OfferSession

    employer_id = db.session.scalars(select(User.employer_id).where(User.email == employer_email)).one()
    sessions = db.session.scalars(
        select(OfferSession).join(Offer).where(Offer.employer_id == employer_id, OfferSession.starts_at > utcnow())
        .order_by(OfferSession.starts_at)
    ).all()
    students = db.session.scalars(
        select(Student).where(Student.school_id == leader.school_id).order_by(Student.id)
    ).all()
    for occurrence in sessions:
        for student in students:
            try:
                book_student(db.session, leader, student, occurrence)
            except BookingRefused:
                continue
            return
    raise AssertionError("no demo student of the school could be booked on the demo employer's sessions")


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
        _fill_lists(logins[Role.SCHOOL.value], logins[Role.EMPLOYER.value])
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
                with page.expect_navigation():
                    page.get_by_role("button", name="Sign in").click()
                assert "/sign-in" not in page.url, f"signing in as the demo {role} failed: still on {page.url}"
                cache[role] = context.storage_state()
            finally:
                context.close()
        return cache[role]

    return state


@dataclass
class Tab:
    """A browser page and the monitor listening to it for this test."""

    page: Page
    monitor: PageMonitor


@pytest.fixture(scope="session")
def shared_page(
    browser: Browser, portal_server: PortalServer, signed_in_state: Callable[[str], Any],
) -> Iterator[Callable[[str], Page]]:
    """shared_page(role) -> one long-lived page per role, signed in (or anonymous), reused by the page tests.

    Every test navigates it afresh; keeping the tab keeps its renderer process, so axe-core's 500 KB
    script is compiled once per role rather than once per page (a new tab costs about half a second).
    """
    pages: dict[str, Page] = {}

    def get(role: str) -> Page:
        if role not in pages or pages[role].is_closed():
            pages[role] = _new_page(browser, portal_server, signed_in_state(role))
        return pages[role]

    yield get
    for page in pages.values():
        page.context.close()


def _new_page(browser: Browser, server: PortalServer, storage_state: Any) -> Page:
    context = browser.new_context(
        base_url=server.url, storage_state=storage_state, viewport=WIDE, locale="en-GB", timezone_id="Europe/London",
    )
    context.set_default_timeout(TIMEOUT_MS)
    return context.new_page()


@pytest.fixture
def open_tab(
    browser: Browser, portal_server: PortalServer, signed_in_state: Callable[[str], Any],
    shared_page: Callable[[str], Page], request: pytest.FixtureRequest,
) -> Iterator[Callable[..., Tab]]:
    """open_tab(role, fresh=False) -> the role's page (signed in as the role, or anonymous) at 1280px.

    fresh=True gives a new browser context of its own, for journeys that sign in or register. When
    the test fails, each page's screenshot and HTML are saved under test-artifacts/browser/<test>/.
    """
    tabs: list[tuple[Tab, bool]] = []
    shutil.rmtree(_artifact_dir(request), ignore_errors=True)  # no stale artifacts from an earlier run

    def open_as(role: str = ANONYMOUS, fresh: bool = False) -> Tab:
        page = _new_page(browser, portal_server, signed_in_state(role)) if fresh else shared_page(role)
        if not fresh:
            page.set_viewport_size(WIDE)
        tab = Tab(page, PageMonitor(page))
        tabs.append((tab, fresh))
        return tab

    yield open_as

    report = getattr(request.node, "rep_call", None)
    failed = report is not None and report.failed
    for index, (tab, fresh) in enumerate(tabs):
        tab.monitor.stop()
        try:
            if failed and not tab.page.is_closed():
                folder = _artifact_dir(request)
                folder.mkdir(parents=True, exist_ok=True)
                tab.page.screenshot(path=str(folder / f"screenshot-{index}.png"), full_page=True)
                (folder / f"page-{index}.html").write_text(tab.page.content(), encoding="utf-8")
                (folder / f"problems-{index}.txt").write_text(
                    f"{tab.page.url}\n" + "\n".join(tab.monitor.problems) + "\n", encoding="utf-8")
        finally:
            if fresh or failed:  # a shared page that saw a failure is replaced for the next test
                tab.page.context.close()
