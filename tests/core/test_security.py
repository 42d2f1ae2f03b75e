"""Security defaults: CSRF, cookies, headers, secrets, the outbox page and error responses."""

from __future__ import annotations

from pathlib import Path

import pytest

from portal import create_app
from portal.config import ConfigError
from tests.conftest import make_test_config


def test_every_response_carries_the_security_headers(client):
    headers = client.get("/").headers
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert headers["X-Frame-Options"] == "DENY"


def test_forms_refuse_a_post_without_a_csrf_token(database_url, instance_path):
    guarded = create_app(make_test_config(database_url, instance_path, WTF_CSRF_ENABLED=True))
    response = guarded.test_client().post("/sign-in", data={"email": "a@example.org", "password": "b"})
    assert response.status_code == 400


def test_session_cookie_is_secure_httponly_and_lax_in_production(database_url, instance_path):
    production = create_app(make_test_config(database_url, instance_path, ENV="production"))
    assert production.config["SESSION_COOKIE_SECURE"] is True
    assert production.config["SESSION_COOKIE_HTTPONLY"] is True
    assert production.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert "Strict-Transport-Security" in production.test_client().get("/").headers


def test_production_without_a_secret_key_refuses_to_start(database_url, instance_path):
    with pytest.raises(ConfigError, match="PORTAL_SECRET_KEY"):
        create_app(make_test_config(database_url, instance_path, ENV="production", SECRET_KEY=None))


def test_development_generates_and_keeps_a_secret_in_the_instance_folder(tmp_path, monkeypatch, database_url):
    from flask import Flask

    from portal.config import load_config

    monkeypatch.setenv("PORTAL_DATABASE_URL", database_url)
    monkeypatch.delenv("PORTAL_SECRET_KEY", raising=False)
    first, second = Flask("a", instance_path=str(tmp_path)), Flask("b", instance_path=str(tmp_path))
    load_config(first, None)
    load_config(second, None)
    key_file = Path(tmp_path) / "secret_key"
    assert key_file.read_text() == first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert len(first.config["SECRET_KEY"]) >= 64
    assert key_file.stat().st_mode & 0o077 == 0  # readable by its owner only


def test_configuration_comes_from_prefixed_environment(monkeypatch, database_url):
    monkeypatch.setenv("PORTAL_DATABASE_URL", database_url)
    monkeypatch.setenv("PORTAL_SECRET_KEY", "from-the-environment")
    monkeypatch.setenv("PORTAL_PAGE_SIZE", "40")
    app = create_app()
    assert app.config["SECRET_KEY"] == "from-the-environment"
    assert app.config["PAGE_SIZE"] == 40


def test_outbox_page_does_not_exist_in_production(database_url, instance_path):
    production = create_app(make_test_config(database_url, instance_path, ENV="production"))
    assert production.test_client().get("/outbox").status_code == 404


def test_unknown_page_is_a_friendly_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)
