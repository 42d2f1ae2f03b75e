"""An over-long web address is refused by the portal with a 414 (JSON with a stable code under /api), never a 500."""

from __future__ import annotations

import runpy
from pathlib import Path

from tests.factories import make_school, make_user

ROOT = Path(__file__).resolve().parents[2]


def test_a_long_api_url_is_a_json_414_with_a_stable_code(client, app):
    limit = app.config["MAX_URL_LENGTH"]
    response = client.get("/api/v1/offers?postcode=" + "M" * limit)
    assert response.status_code == 414
    body = response.get_json()
    assert body["code"] == "request_uri_too_long" and str(limit) in body["message"]


def test_a_url_just_inside_the_limit_is_answered_by_the_view(client, app):
    path = "/api/v1/offers?sector="
    response = client.get(path + "x" * (app.config["MAX_URL_LENGTH"] - len(path)))
    assert response.status_code == 401  # reached the API's own token check, not the length guard


def test_a_long_page_url_gets_the_portals_page(login, app):
    client = login(make_user("school", school_id=make_school().id))
    response = client.get("/students?q=" + "a" * app.config["MAX_URL_LENGTH"])
    assert response.status_code == 414
    assert "The web address is too long" in response.get_data(as_text=True)


def test_gunicorn_lets_the_portal_answer_long_urls(app):
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert settings["limit_request_line"] > app.config["MAX_URL_LENGTH"]
