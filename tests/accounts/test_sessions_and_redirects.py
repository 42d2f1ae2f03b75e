"""Sessions end for real, throttles hold across addresses and workers, and redirects stay on this site."""

from __future__ import annotations

import uuid

import pytest
import redis

from portal import create_app
from portal.core.vocab import Role
from portal.extensions import db
from tests.conftest import make_test_config
from tests.factories import PASSWORD, make_user

HOSTILE_TARGETS = ["//evil.example/x", "https://evil.example/", "http://evil.example", "\\\\evil.example",
                   "/\\evil.example", "javascript:alert(1)", "/school\r\nSet-Cookie: x=1", "evil.example/x",
]


def _copy_cookies(source, target) -> None:
    """Give `target` every cookie `source` holds (a stolen or copied cookie jar)."""
    for cookie in source._cookies.values():
        target.set_cookie(cookie.key, cookie.value, domain=cookie.domain, path=cookie.path)


def test_a_cookie_copied_before_sign_out_is_worthless_afterwards(app, client):
    """Rule: sign-out ends the session everywhere, not only in the browser that signed out."""
    user = make_user(Role.SCHOOL)
    assert client.post("/sign-in", data={"email": user.email, "password": PASSWORD}).status_code == 302
    copy = app.test_client()
    _copy_cookies(client, copy)
    assert copy.get("/school").status_code == 200  # the copy works while the session is live
    client.post("/sign-out")
    assert copy.get("/school").status_code == 302
    refused = copy.post("/students/new", data={"first_name": "Copy", "last_name": "Cat"})
    assert refused.status_code == 302 and "/sign-in" in refused.headers["Location"]


def test_deactivating_an_account_ends_its_open_sessions(app, client):
    """Rule: an operator's `flask deactivate-user` signs the account out at once and it cannot sign in."""
    user = make_user(Role.SCHOOL)
    client.post("/sign-in", data={"email": user.email, "password": PASSWORD})
    assert client.get("/school").status_code == 200
    result = app.test_cli_runner().invoke(args=["deactivate-user", user.email])
    assert result.exit_code == 0, result.output
    assert client.get("/school").status_code == 302
    assert client.post("/sign-in", data={"email": user.email, "password": PASSWORD}).status_code == 400


def test_sign_in_follows_next_to_a_path_on_this_site(client):
    """Rule: a deep link from an email survives the sign-in page."""
    user = make_user(Role.SCHOOL)
    asked = client.get("/bookings")
    assert asked.status_code == 302 and "next=" in asked.headers["Location"]
    response = client.post("/sign-in?next=/bookings%3Fstatus%3Dconfirmed",
                           data={"email": user.email, "password": PASSWORD})
    assert response.headers["Location"] == "/bookings?status=confirmed"


@pytest.mark.parametrize("target", HOSTILE_TARGETS)
def test_sign_in_never_follows_next_to_another_site(client, target):
    """Rule: `next` naming another host, a scheme or a trick path goes to the role's home instead."""
    user = make_user(Role.SCHOOL)
    response = client.post("/sign-in", query_string={"next": target}, data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/school"


def test_a_next_with_a_nul_is_refused_by_the_input_layer(client):
    """A NUL in `next` never reaches a redirect: the request is refused as unclean text."""
    user = make_user(Role.SCHOOL)
    response = client.post("/sign-in", query_string={"next": "/school\x00"},
                           data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400 and "Location" not in response.headers


@pytest.mark.parametrize("referrer", ["https://evil.example/match", "http://evil.example", "//evil.example/x"])
def test_the_booking_form_never_sends_back_to_another_site(login, referrer):
    """Rule: an empty booking form returns to the page it came from only when that page is on this site."""
    client = login(make_user(Role.SCHOOL))
    response = client.post("/bookings/new", data={}, headers={"Referer": referrer})
    assert response.status_code == 302 and response.headers["Location"] == "/match"


def test_the_booking_form_returns_to_its_own_page_on_this_site(login):
    """The Referer of a page on this host is still followed (the staff member's own match page)."""
    client = login(make_user(Role.SCHOOL))
    response = client.post("/bookings/new", data={}, headers={"Referer": "http://localhost/match?year_group=10"})
    assert response.headers["Location"] == "/match?year_group=10"


def _throttled_app(database_url, instance_path, **extra):
    """The portal with sign-in throttling on at 3 attempts a minute."""
    return create_app(make_test_config(database_url, instance_path, RATELIMIT_ENABLED=True,
                                       SIGN_IN_RATE_LIMIT="3 per minute", **extra))


def test_sign_in_is_throttled_per_account_from_many_addresses(database_url, instance_path):
    """Rule: guesses at one account spread over many addresses (trusted proxy) are still throttled."""
    app = _throttled_app(database_url, instance_path, PROXY_FIX_X_FOR=1)
    client = app.test_client()
    codes = [client.post("/sign-in", data={"email": "target@example.org", "password": "guess"},
                         headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code for n in range(4)]
    assert codes == [400, 400, 400, 429]
    other = client.post("/sign-in", data={"email": "someone-else@example.org", "password": "guess"},
                        headers={"X-Forwarded-For": "203.0.113.99"})
    assert other.status_code == 400  # another account from a fresh address is not held back


def test_forwarded_addresses_are_ignored_unless_a_proxy_is_trusted(database_url, instance_path):
    """Rule: with no proxy configured, X-Forwarded-For can't buy an attacker fresh addresses."""
    app = _throttled_app(database_url, instance_path)
    client = app.test_client()
    codes = [client.post("/sign-in", data={"email": f"user{n}@example.org", "password": "guess"},
                         headers={"X-Forwarded-For": f"198.51.100.{n}"}).status_code for n in range(4)]
    assert codes[3] == 429


def test_trusted_proxy_gives_each_user_their_own_address(database_url, instance_path):
    """Rule: behind a trusted proxy the client's address comes from X-Forwarded-For, so users are not one address."""
    app = _throttled_app(database_url, instance_path, PROXY_FIX_X_FOR=1)
    client = app.test_client()
    codes = [client.post("/sign-in", data={"email": f"user{n}@example.org", "password": "guess"},
                         headers={"X-Forwarded-For": f"198.51.100.{n}"}).status_code for n in range(6)]
    assert 429 not in codes


def test_workers_sharing_redis_share_the_sign_in_count(database_url, instance_path):
    """Rule: with Redis storage (the documented multi-worker set-up) two workers count attempts together."""
    url = "redis://127.0.0.1:6379/0"
    prefix = f"portal-test-{uuid.uuid4().hex}"
    extra = {"RATELIMIT_STORAGE_URI": url, "RATELIMIT_KEY_PREFIX": prefix}
    workers = [_throttled_app(database_url, instance_path, **extra).test_client() for _ in range(2)]
    try:
        codes = [workers[n % 2].post("/sign-in", data={"email": "shared@example.org", "password": "guess"}).status_code
                 for n in range(4)]
    finally:
        connection = redis.Redis.from_url(url)
        for key in connection.scan_iter(f"*{prefix}*"):
            connection.delete(key)
    assert codes == [400, 400, 400, 429]


def test_a_session_stays_valid_until_signed_out(client):
    """Guard for the rules above: an ordinary session keeps working across requests."""
    user = make_user(Role.SCHOOL)
    client.post("/sign-in", data={"email": user.email, "password": PASSWORD})
    assert client.get("/school").status_code == 200
    db.session.refresh(user)
    assert client.get("/students").status_code == 200
