"""API test harness: a small world of two schools and two employers, tokens, and a client that checks
every response against the OpenAPI document."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask.testing import FlaskClient

from portal.accounts.tokens import issue_api_token
from portal.api.openapi import document
from portal.core.vocab import Role
from portal.extensions import db
from tests.api.schema_check import resolve, validate
from tests.factories import (
    make_employer,
    make_offer,
    make_school,
    make_session,
    make_student,
    make_user,
)

PREFIX = "/api/v1"
# Manchester University (M13 9PL) and the factory offers' default position, about 1.6 km north.
SCHOOL_POINT = (53.4668, -2.2339)
STOCKPORT = (53.4084, -2.1493)  # about 9 km south-east of the school


def token_for(user: Any, name: str = "test") -> str:
    """A new raw API token of the user."""
    return issue_api_token(db.session, user, name)[1]


def _template(path: str) -> str:
    """The document's path template a request path belongs to (fails when none does)."""
    relative = path.split("?", 1)[0].removeprefix(PREFIX)
    for template in document()["paths"]:
        pattern = "^" + re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, relative):
            return template
    raise AssertionError(f"{path} is not in the OpenAPI document")


def response_schema(template: str, method: str, status: int) -> dict[str, Any]:
    """The JSON schema the document gives for this operation's status (or its default response)."""
    doc = document()
    responses = doc["paths"][template][method.lower()]["responses"]
    answer = responses.get(str(status)) or responses.get("default")
    assert answer is not None, f"{method} {template} does not document status {status}"
    if "$ref" in answer:
        answer = resolve(doc, answer["$ref"])
    return answer["content"]["application/json"]["schema"]


@dataclass
class Api:
    """Calls /api/v1 with a bearer token and checks each answer against the OpenAPI document."""

    client: FlaskClient
    checked: list[str] = field(default_factory=list)

    def call(self, method: str, path: str, token: str | None = None, *, body: Any = None, raw: bytes | None = None,
             query: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> Any:
        """Send the request; assert JSON, never 500, and a body matching the document; return the response."""
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        response = self.client.open(PREFIX + path, method=method, headers=sent, data=data, query_string=query,
                                    content_type="application/json" if data is not None else None)
        assert response.status_code != 500, response.get_data(as_text=True)
        assert response.mimetype == "application/json", response.get_data(as_text=True)[:300]
        validate(response.get_json(), response_schema(_template(path), method, response.status_code), document())
        self.checked.append(f"{method} {path} {response.status_code}")
        return response

    def get(self, path: str, token: str | None = None, **kw: Any) -> Any:
        """GET."""
        return self.call("GET", path, token, **kw)

    def post(self, path: str, token: str | None = None, **kw: Any) -> Any:
        """POST."""
        return self.call("POST", path, token, **kw)


@pytest.fixture
def api(client: FlaskClient) -> Api:
    """The checking API client."""
    return Api(client)


@dataclass
class World:
    """Two schools, two employers, a hub; staff of each with tokens; an offer near school A."""

    school: Any
    other_school: Any
    employer: Any
    other_employer: Any
    staff: Any
    other_staff: Any
    employer_staff: Any
    other_employer_staff: Any
    hub_user: Any
    student: Any
    offer: Any
    occurrence: Any
    tokens: dict[str, str]

    def session_start(self, occurrence: Any = None) -> str:
        """A session's start as the API writes it."""
        from portal.core.dates import to_london

        return to_london((occurrence or self.occurrence).starts_at).isoformat(timespec="seconds")


def insured_employer(**kw: Any) -> Any:
    """A vetted, insured employer."""
    return make_employer(insurance_expiry=dt.date.today() + dt.timedelta(days=365), **kw)


@pytest.fixture
def world() -> World:
    """Build the world; tokens by name: staff, other_staff, employer, other_employer, hub."""
    school = make_school(name="Ardwick Academy", latitude=SCHOOL_POINT[0], longitude=SCHOOL_POINT[1])
    other_school = make_school(name="Other High", latitude=SCHOOL_POINT[0], longitude=SCHOOL_POINT[1])
    employer, other_employer = insured_employer(name="Northern Care"), insured_employer(name="Elsewhere Ltd")
    users = {
        "staff": make_user(Role.SCHOOL, school_id=school.id),
        "other_staff": make_user(Role.SCHOOL, school_id=other_school.id),
        "employer": make_user(Role.EMPLOYER, employer_id=employer.id),
        "other_employer": make_user(Role.EMPLOYER, employer_id=other_employer.id),
        "hub": make_user(Role.HUB),
    }
    student = make_student(school, student_ref="A100", first_name="Priya", last_name="Sharma-Quinlan",
                           upn="A123456789012", email="priya.sq@example.org", date_of_birth=dt.date(2010, 5, 17),
                           send_status="ehcp", disadvantaged=True, needs=["step_free_access"],
                           interests=["healthcare"], year_group=10)
    offer = make_offer(employer, offer_ref="OF-CARE1", title="Hospital ward visit", sessions=0,
                       features=["step_free_access", "quiet_space"], year_groups=[10, 11])
    occurrence = make_session(offer, starts_in_days=14, capacity=3)
    tokens = {name: token_for(user) for name, user in users.items()}
    return World(school, other_school, employer, other_employer, users["staff"], users["other_staff"],
                 users["employer"], users["other_employer"], users["hub"], student, offer, occurrence, tokens)


def book(api: Api, world: World, student: Any = None, occurrence: Any = None, token: str | None = None) -> Any:
    """POST a booking for the student (world's by default) on the session (world's by default)."""
    occurrence = occurrence or world.occurrence
    return api.post("/bookings", token or world.tokens["staff"], body={
        "student_ref": (student or world.student).student_ref,
        "offer_ref": occurrence.offer.offer_ref,
        "session_start": world.session_start(occurrence),
    })


