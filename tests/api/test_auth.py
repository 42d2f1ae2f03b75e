"""Bearer tokens: who gets in, who is refused and how, and that the API never uses cookies or CSRF."""

from __future__ import annotations

import pytest

from portal.accounts.models import ApiToken
from portal.accounts.tokens import revoke_api_token
from portal.core.vocab import Role
from portal.extensions import db
from tests.api.conftest import token_for
from tests.conftest import sign_in_as
from tests.factories import make_user


def test_no_token_is_401_json_with_a_bearer_challenge(api):
    response = api.get("/bookings")
    assert response.status_code == 401
    assert response.get_json()["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "pp_something", "Bearer pp_not-a-token",
                                    "Bearer not-even-the-prefix"])
def test_a_malformed_or_unknown_token_is_401(api, world, header):
    response = api.get("/bookings", headers={"Authorization": header})
    assert response.status_code == 401 and response.get_json()["code"] == "unauthorized"


def test_a_revoked_token_is_401(api, world):
    raw = world.tokens["staff"]
    assert api.get("/bookings", raw).status_code == 200
    token = db.session.scalars(db.select(ApiToken).where(ApiToken.user_id == world.staff.id)).one()
    assert revoke_api_token(db.session, world.staff, token.id)
    db.session.flush()
    response = api.get("/bookings", raw)
    assert response.status_code == 401 and response.get_json()["code"] == "unauthorized"


def test_a_deactivated_account_token_is_401(api, world):
    world.staff.is_active = False
    db.session.flush()
    assert api.get("/bookings", world.tokens["staff"]).status_code == 401


def test_a_student_token_is_401(api, world):
    student_user = make_user(Role.STUDENT, student_id=world.student.id)
    assert api.get("/bookings", token_for(student_user)).status_code == 401


def test_a_signed_in_session_cookie_is_not_enough(api, client, world):
    """API requests are authenticated by the bearer token only: cookies are never read."""
    sign_in_as(client, world.staff)
    assert api.get("/bookings").status_code == 401


@pytest.mark.parametrize(("who", "method", "path"), [
    ("employer", "GET", "/offers"),
    ("hub", "GET", "/bookings"),
    ("hub", "POST", "/bookings"),
    ("employer", "POST", "/bookings"),
    ("employer", "GET", "/students/A100/matches"),
    ("staff", "POST", "/bookings/1/decision"),
])
def test_a_wrong_role_is_403_json(api, world, who, method, path):
    response = api.call(method, path, world.tokens[who], body={})
    assert response.status_code == 403
    assert response.get_json()["code"] == "forbidden"


def test_using_a_token_records_when_it_was_last_used(api, world):
    token = db.session.scalars(db.select(ApiToken).where(ApiToken.user_id == world.staff.id)).one()
    assert token.last_used_at is None
    api.get("/bookings", world.tokens["staff"])
    db.session.refresh(token)
    assert token.last_used_at is not None


def test_only_a_digest_of_the_token_is_stored(world):
    raw = world.tokens["staff"]
    stored = db.session.scalars(db.select(ApiToken).where(ApiToken.user_id == world.staff.id)).one()
    assert raw not in (stored.token_hash, stored.prefix) and len(stored.token_hash) == 64


def test_posts_need_no_csrf_token_even_when_csrf_is_on(app):
    """The blueprint is exempt from CSRF: a POST reaches the token check (401), not a CSRF refusal (400)."""
    from portal import create_app
    from tests.conftest import make_test_config

    strict = create_app(make_test_config(app.config["DATABASE_URL"], app.instance_path, WTF_CSRF_ENABLED=True))
    try:
        response = strict.test_client().post("/api/v1/bookings", json={}, headers={"Authorization": "Bearer pp_x"})
        assert response.status_code == 401 and response.get_json()["code"] == "unauthorized"
        page = strict.test_client().post("/sign-in", data={})
        assert page.status_code == 400  # CSRF is still on for the pages
    finally:
        with strict.app_context():
            db.engine.dispose()


def test_api_responses_set_no_cookie(api, world):
    response = api.get("/bookings", world.tokens["staff"])
    assert "Set-Cookie" not in response.headers
