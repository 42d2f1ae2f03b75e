"""Password hashing, the policy, changing and resetting passwords, and single-use links."""

from __future__ import annotations

import datetime as dt
import re

import time_machine
from sqlalchemy import select

from portal.accounts.models import UserToken
from portal.accounts.passwords import hash_password, password_problem, verify_password
from portal.core.models import OutboxMessage
from portal.core.vocab import Role
from portal.extensions import db
from tests.factories import PASSWORD, make_user

NEW_PASSWORD = "violet-harbour-kettle-19"


def _last_email(to: str) -> OutboxMessage:
    return db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.recipient == to).order_by(OutboxMessage.id.desc())
    ).first()


def _link_path(body: str) -> str:
    return re.search(r"http://portal\.test(/\S+)", body).group(1)


def test_passwords_are_hashed_with_argon2id():
    hashed = hash_password("a-long-enough-password")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "a-long-enough-password")
    assert not verify_password(hashed, "another-long-password")
    assert not verify_password(None, "anything-at-all-here")


def test_policy_needs_twelve_characters_and_refuses_common_ones_without_composition_rules():
    assert password_problem("shortpass") is not None
    assert password_problem("password1234") is not None
    assert password_problem("aaaaaaaaaaaaaaa") is not None
    assert password_problem("me@example.org", "me@example.org") is not None
    assert password_problem("all lower case words here") is None


def test_change_password_needs_the_current_one_and_ends_other_sessions(app, client, login):
    user = make_user(Role.SCHOOL)
    other_device = app.test_client()
    from tests.conftest import sign_in_as

    sign_in_as(other_device, user)
    login(user)
    wrong = client.post("/account/password", data={"current_password": "nope-nope-nope", "password": NEW_PASSWORD})
    assert "not right" in wrong.get_data(as_text=True)
    ok = client.post("/account/password", data={"current_password": PASSWORD, "password": NEW_PASSWORD})
    assert ok.status_code == 302
    assert client.get("/school").status_code == 200  # this session continues
    assert other_device.get("/school").status_code == 302  # the other one has ended


def test_reset_for_an_unknown_email_looks_the_same_and_sends_nothing(client):
    response = client.post("/password/forgot", data={"email": "ghost@example.org"})
    assert "Check your email" in response.get_data(as_text=True)
    assert _last_email("ghost@example.org") is None


def test_reset_link_works_once_and_is_stored_only_as_a_digest(client):
    user = make_user(email="forgetful@example.org")
    client.post("/password/forgot", data={"email": user.email})
    path = _link_path(_last_email(user.email).body)
    raw = path.rsplit("/", 1)[1]
    assert db.session.scalars(select(UserToken).where(UserToken.token_hash == raw)).first() is None
    assert client.post(path, data={"password": NEW_PASSWORD}).status_code == 302
    client.post("/sign-out")
    reused = client.post(path, data={"password": "another-good-password-1"})
    assert reused.status_code == 410
    assert "already been used" in reused.get_data(as_text=True)
    assert client.post("/sign-in", data={"email": user.email, "password": NEW_PASSWORD}).status_code == 302


def test_reset_link_expires_after_24_hours(client):
    user = make_user(email="slow@example.org")
    client.post("/password/forgot", data={"email": user.email})
    path = _link_path(_last_email(user.email).body)
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(hours=24, minutes=1)):
        response = client.get(path)
    assert response.status_code == 410
    assert "expired" in response.get_data(as_text=True)


def test_a_new_reset_request_retires_the_previous_link(client):
    user = make_user(email="twice@example.org")
    client.post("/password/forgot", data={"email": user.email})
    first = _link_path(_last_email(user.email).body)
    client.post("/password/forgot", data={"email": user.email})
    assert client.get(first).status_code == 410
