"""Lock-out under parallel guesses: real simultaneous sign-in requests to a served portal, on PostgreSQL.

Each request runs in its own thread, connection and transaction, as under gunicorn's workers; SQLite
serialises every writer, so the race these tests guard against exists only on PostgreSQL.
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from portal.accounts.models import User
from portal.accounts.passwords import hash_password
from portal.extensions import db
from portal.organisations.models import School
from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(
    not PG_URL, reason="needs PostgreSQL: set PORTAL_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test")

PASSWORD = "correct horse battery staple 7"


@pytest.fixture
def served(app: Flask) -> Iterator[str]:
    """The portal on a free local port, its requests on their own connections (not the test's transaction)."""
    db.session.remove()
    db.session.configure(bind=None)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture
def account(app: Flask) -> Iterator[dict[str, Any]]:
    """A committed school account, removed afterwards."""
    with app.app_context(), Session(db.engine) as s, s.begin():
        school = School(urn="991991", name="Lock-out High", school_type="mainstream", postcode="M13 9PL")
        s.add(school)
        s.flush()
        user = User(email="parallel@example.org", role="school", school_id=school.id,
                    password_hash=hash_password(PASSWORD))
        s.add(user)
        s.flush()
        ids = {"user": user.id, "school": school.id, "email": user.email}
    yield ids
    with app.app_context(), Session(db.engine) as s, s.begin():
        s.execute(delete(User).where(User.id == ids["user"]))
        s.execute(delete(School).where(School.id == ids["school"]))


def _attempts(base: str, email: str, passwords: list[str]) -> list[int]:
    """POST every password to /sign-in at the same moment; the status codes, in order."""
    barrier = threading.Barrier(len(passwords))
    codes: list[int] = [0] * len(passwords)
    opener = urllib.request.build_opener(_NoRedirect)

    def attempt(index: int, password: str) -> None:
        body = urllib.parse.urlencode({"email": email, "password": password}).encode()
        barrier.wait()
        try:
            codes[index] = opener.open(f"{base}/sign-in", data=body, timeout=30).status
        except urllib.error.HTTPError as error:
            codes[index] = error.code

    threads = [threading.Thread(target=attempt, args=(i, p)) for i, p in enumerate(passwords)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return codes


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Report a 302 as it is, instead of following it."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        """Never follow."""
        return None


def _state(app: Flask, user_id: int) -> tuple[int, object]:
    """The account's failure count and lock, as committed."""
    with app.app_context(), Session(db.engine) as s:
        return s.execute(select(User.failed_sign_ins, User.locked_until).where(User.id == user_id)).one()._tuple()


def test_every_parallel_failure_is_counted(app, served, account):
    """Rule: N simultaneous wrong passwords count N (read-then-write counted 8 as 2)."""
    app.config["SIGN_IN_MAX_FAILURES"] = 100
    try:
        codes = _attempts(served, account["email"], ["wrong-guess-123"] * 8)
    finally:
        app.config["SIGN_IN_MAX_FAILURES"] = 5
    assert codes == [400] * 8
    assert _state(app, account["user"])[0] == 8


def test_parallel_guesses_lock_the_account_and_the_right_password_is_refused(app, served, account):
    """Rule: the account locks at the threshold under a burst, and then refuses even the right password."""
    codes = _attempts(served, account["email"], ["wrong-guess-123"] * 30 + [PASSWORD])
    assert codes.count(400) >= 30
    failures, locked_until = _state(app, account["user"])
    assert locked_until is not None
    assert _attempts(served, account["email"], [PASSWORD]) == [400]
