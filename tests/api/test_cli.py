"""`flask --app portal create-token EMAIL`: prints a working token once; refuses students and strangers."""

from __future__ import annotations

from portal.accounts.models import ApiToken
from portal.core.vocab import Role
from portal.extensions import db
from tests.factories import make_user


def test_create_token_prints_a_token_that_works(app, api):
    user = make_user(Role.SCHOOL, email="lead@example.org")
    result = app.test_cli_runner().invoke(args=["create-token", "Lead@Example.org", "--name", "MIS sync"])
    assert result.exit_code == 0, result.output
    raw = result.stdout.strip().splitlines()[-1]
    assert raw.startswith("pp_")
    token = db.session.scalars(db.select(ApiToken).where(ApiToken.user_id == user.id)).one()
    assert token.name == "MIS sync" and token.token_hash != raw
    assert api.get("/bookings", raw).status_code == 200


def test_create_token_refuses_unknown_accounts_and_students(app):
    runner = app.test_cli_runner()
    unknown = runner.invoke(args=["create-token", "nobody@example.org"])
    assert unknown.exit_code != 0 and "No account has the email address" in unknown.output
    student = make_user(Role.STUDENT, email="kid@example.org")
    refused = runner.invoke(args=["create-token", student.email])
    assert refused.exit_code != 0 and "Students cannot have API tokens" in refused.output
    assert db.session.scalars(db.select(ApiToken).where(ApiToken.user_id == student.id)).first() is None
