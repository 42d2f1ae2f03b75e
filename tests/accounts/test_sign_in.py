"""Signing in and out: one message for every failure, lock-out, throttling, fresh sessions."""

from __future__ import annotations

import datetime as dt

import time_machine

from portal import create_app
from portal.core.vocab import Role
from portal.extensions import db
from tests.conftest import make_test_config
from tests.factories import PASSWORD, make_user


def _sign_in(client, email, password):
    return client.post("/sign-in", data={"email": email, "password": password})


def test_correct_credentials_sign_in_and_land_on_the_roles_home(client):
    user = make_user(Role.SCHOOL, email="leader@school.example")
    response = _sign_in(client, "Leader@School.example", PASSWORD)
    assert response.status_code == 302 and response.headers["Location"].endswith("/school")
    db.session.refresh(user)
    assert user.last_sign_in_at is not None


def test_unknown_email_and_wrong_password_get_the_same_message(client):
    make_user(email="known@example.org")
    unknown = _sign_in(client, "nobody@example.org", PASSWORD).get_data(as_text=True)
    wrong = _sign_in(client, "known@example.org", "wrong-password-123").get_data(as_text=True)
    message = "Enter a correct email address and password"
    assert message in unknown and message in wrong


def test_account_locks_after_repeated_failures_even_for_the_right_password(client, app):
    user = make_user(email="target@example.org")
    for _ in range(app.config["SIGN_IN_MAX_FAILURES"]):
        assert _sign_in(client, user.email, "wrong-password-123").status_code == 400
    assert _sign_in(client, user.email, PASSWORD).status_code == 400  # locked
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=app.config["SIGN_IN_LOCK_MINUTES"] + 1)
    with time_machine.travel(later):
        assert _sign_in(client, user.email, PASSWORD).status_code == 302


def test_sign_in_is_throttled_per_address(database_url, instance_path):
    throttled = create_app(make_test_config(
        database_url, instance_path, RATELIMIT_ENABLED=True, SIGN_IN_RATE_LIMIT="3 per minute",
    ))
    client = throttled.test_client()
    codes = [client.post("/sign-in", data={"email": "x@example.org", "password": "y"}).status_code for _ in range(4)]
    assert codes[:3] == [400, 400, 400]
    assert codes[3] == 429


def test_sign_in_starts_a_fresh_session(client):
    user = make_user()
    with client.session_transaction() as flask_session:
        flask_session["planted"] = "by an attacker"
    _sign_in(client, user.email, PASSWORD)
    with client.session_transaction() as flask_session:
        assert "planted" not in flask_session
        assert flask_session["_user_id"] == user.get_id()


def test_sign_out_ends_the_session(client, login):
    login(make_user(Role.SCHOOL))
    assert client.get("/school").status_code == 200
    client.post("/sign-out")
    assert client.get("/school").status_code == 302


def test_a_deactivated_account_cannot_sign_in_or_keep_its_session(client, login):
    user = make_user(Role.SCHOOL)
    login(user)
    user.is_active = False
    db.session.flush()
    assert client.get("/school").status_code == 302
    assert _sign_in(client, user.email, PASSWORD).status_code == 400
