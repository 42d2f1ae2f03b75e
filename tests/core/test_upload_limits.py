"""Request size limits: CSV imports take IMPORT_MAX_BYTES, every other body MAX_CONTENT_LENGTH; over either is a 413."""

from __future__ import annotations

import io
import re

import pytest

from portal.core.vocab import Role
from tests.factories import make_hub, make_school, make_user

HEADER = "student_ref,upn,first_name,last_name,year_group,date_of_birth,send_status,needs,disadvantaged,sector_interests,email\n"
ROSTER = (HEADER + "".join(f"{1000 + n},,First{n},Last{n},10,2011-02-03,none,,no,,\n" for n in range(400))).encode()


@pytest.fixture
def small_limits(app):
    """A general limit below the roster's size and an import limit above it."""
    saved = app.config["MAX_CONTENT_LENGTH"], app.config["IMPORT_MAX_BYTES"]
    app.config["MAX_CONTENT_LENGTH"], app.config["IMPORT_MAX_BYTES"] = len(ROSTER) // 4, len(ROSTER) * 2
    yield
    app.config["MAX_CONTENT_LENGTH"], app.config["IMPORT_MAX_BYTES"] = saved


def _upload(client, path: str, data: bytes, **fields: str):
    return client.post(path, data={"file": (io.BytesIO(data), "roster.csv"), **fields}, content_type="multipart/form-data")


def test_a_roster_larger_than_the_general_limit_imports(client, login, small_limits):
    login(make_user(school_id=make_school().id))
    response = _upload(client, "/students/import", ROSTER)
    assert response.status_code == 303
    assert "400 new" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_a_roster_over_the_import_limit_is_refused_with_the_too_large_page(client, login, small_limits):
    login(make_user(school_id=make_school().id))
    response = _upload(client, "/students/import", ROSTER * 3)
    assert response.status_code == 413
    assert "The file is too large" in response.get_data(as_text=True)


def test_other_forms_keep_the_general_limit(client, login, small_limits):
    login(make_user(school_id=make_school().id))
    assert client.post("/students/new", data={"first_name": "x" * len(ROSTER)}).status_code == 413


def test_the_import_limit_is_raised_before_the_csrf_check_reads_the_body(app, client, login, small_limits):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        login(make_user(school_id=make_school().id))
        page = client.get("/students/import").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
            r'name="csrf_token" value="([^"]+)"', page)
        assert token is not None
        assert _upload(client, "/students/import", ROSTER, csrf_token=token.group(1)).status_code == 303
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_a_hub_offers_file_takes_the_import_limit_too(client, login, small_limits):
    login(make_user(Role.HUB, hub_id=make_hub().id))
    response = _upload(client, "/hub/import", b"employer_ref\n" + b"x" * len(ROSTER), kind="employers")
    assert response.status_code != 413  # read, checked and reported (as a bad file), not refused for its size
    assert _upload(client, "/hub/import", b"x" * (len(ROSTER) * 3), kind="employers").status_code == 413
