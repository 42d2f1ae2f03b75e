"""Route x role: every route of the app, for every role and an anonymous visitor, gives the
outcome this table expects. A route missing from the table fails the suite, so nobody can add a
page without deciding who may see it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from flask import current_app

from portal.accounts.tokens import issue_api_token
from portal.adjustments.models import AdjustmentRequest, PostedNeed
from portal.bookings.models import Booking
from portal.core.models import ImportJob
from portal.core.vocab import Role
from portal.extensions import db
from tests.factories import (
    MANCHESTER,
    make_employer,
    make_hub,
    make_offer,
    make_risk_assessment,
    make_school,
    make_student,
    make_supervisor,
    make_user,
)

PUBLIC = "public"
S, E, ST, H = Role.SCHOOL, Role.EMPLOYER, Role.STUDENT, Role.HUB

# endpoint -> who may use it. Keep in step with the views: this is the access policy, written down.
EXPECTED: dict[str, Any] = {
    "home.start": PUBLIC,
    "home.healthz": PUBLIC,
    "home.accessibility": PUBLIC,
    "home.privacy": PUBLIC,
    "home.outbox": PUBLIC,  # development mail catcher; 404 in production (tested separately)
    "accounts.sign_in": PUBLIC,
    "accounts.register": PUBLIC,
    "accounts.register_school": PUBLIC,
    "accounts.register_employer": PUBLIC,
    "accounts.forgot_password": PUBLIC,
    "accounts.reset_password": PUBLIC,
    "accounts.welcome": PUBLIC,
    "accounts.sign_out": {S, E, ST, H},
    "accounts.account": {S, E, ST, H},
    "accounts.change_password": {S, E, ST, H},
    "accounts.team": {S, E, H},
    "accounts.invite": {S, E, H},
    "home.school_home": {S},
    "organisations.student_list": {S},
    "organisations.student_new": {S},
    "organisations.student_detail": {S},
    "organisations.student_edit": {S},
    "organisations.student_sign_in": {S},
    "organisations.audit_log": {S},
    "organisations.roster_import": {S},
    "organisations.roster_leavers": {S},
    "home.my_record": {ST},
    "home.employer_home": {E},
    "organisations.roster_import_job": {S},  # only the uploading school: others get 404 (tests/organisations)
    "organisations.roster_import_job_json": {S},
    "organisations.hub_schools": {H},
    "organisations.hub_employers": {H},
    "organisations.hub_vet_employer": {H},
    "accounts.api_tokens": {S, E, H},
    "accounts.revoke_api_token_view": {S, E, H},
    "matching.match": {S},
    "adjustments.ask": {S},
    "adjustments.school_requests": {S},
    "adjustments.hub_requests": {H},
    "adjustments.employer_requests": {E},
    "adjustments.employer_request": {E},
    "adjustments.school_needs": {S},
    "adjustments.school_need_new": {S},
    "adjustments.hub_needs": {H},
    "adjustments.hub_need_new": {H},
    "adjustments.need_withdraw": {S, H},
    "adjustments.employer_needs": {E},
    "adjustments.employer_need": {E},
    "bookings.book": {S},
    "bookings.book_session": {S},
    "bookings.school_bookings": {S},
    "bookings.school_booking": {S},
    "bookings.cancel": {S},
    "bookings.complete": {S},
    "bookings.no_show": {S},
    "bookings.employer_bookings": {E},
    "bookings.employer_booking": {E},
    "bookings.employer_no_show": {E},
    "offers.profile": {E},
    "offers.profile_edit": {E},
    "offers.employer_offers": {E},
    "offers.offer_new": {E},
    "offers.offer_detail": {E},
    "offers.offer_edit": {E},
    "offers.offer_status": {E},
    "offers.offer_archive": {E},
    "offers.session_new": {E},
    "offers.session_edit": {E},
    "offers.session_remove": {E},
    "offers.supervisors": {E},
    "offers.supervisor_new": {E},
    "offers.supervisor_edit": {E},
    "offers.supervisor_remove": {E},
    "offers.search": {S, H},
    "offers.offer_view": {S, H},
    "offers.hub_import": {H},
    "offers.hub_import_job": {H},  # only the uploading hub: others get 404 (tests/offers)
    "offers.hub_import_job_json": {H},
    # JSON API: bearer tokens, never cookies; refusals are 401/403 JSON, not a redirect to sign-in
    "api.openapi": PUBLIC,
    "api.offers": {S, H},
    "api.student_matches": {S},
    "api.create_booking": {S},
    "api.bookings": {S, E},
    "api.booking_decision": {E},
    "reflections.reflection_edit": {ST},
    "reflections.school_reflections": {S},
    "reflections.school_reflection": {S},
    "reflections.release_feedback": {S},  # 400 without feedback to release
    "reflections.employer_feedback_list": {E},
    "reflections.employer_feedback": {E},
    "reflections.school_encounters": {S},
    "reflections.encounter_new": {S},
    "progress.school_progress": {S},
    "progress.progress_students": {S},
    "progress.progress_export": {S},
    "progress.hub_progress": {H},
    "progress.progress_student": {S},
    "organisations.compliance_settings": {S},
    "risk.offer_risk_assessment": {E},
    "risk.upload": {E},  # 400 without a file
    "risk.attest": {E},  # 400 without a statement
    "risk.assessment": {S, E},
    "risk.review": {S},
    "risk.download": {S, E},
    "compliance.dbs_notes": {S},
    "compliance.dbs_note": {S},
    "compliance.consent": {S},
    "compliance.paper_consent": {S},  # 400 without a name
    "compliance.briefed": {S},
    "bookings.confirm_features": {S},
    "compliance.parent_consent": PUBLIC,  # no account: the signed link is the key (a made-up one is 404)
}


@pytest.fixture
def world() -> dict[str, Any]:
    """One school, employer, hub and student, each with a signed-in user; ids for URL arguments."""
    hub = make_hub()
    school = make_school(hub_id=hub.id)
    employer = make_employer()
    student = make_student(school)
    users = {
        S: make_user(Role.SCHOOL, school_id=school.id),
        E: make_user(Role.EMPLOYER, employer_id=employer.id),
        H: make_user(Role.HUB, hub_id=hub.id),
        ST: make_user(Role.STUDENT, student_id=student.id),
    }
    offer = make_offer(employer)
    occurrence = offer.sessions[0]
    supervisor = make_supervisor(employer)
    occurrence.supervisors.append(supervisor)
    booking = Booking(student_id=student.id, session_id=occurrence.id, school_id=school.id, employer_id=employer.id,
                      starts_at=occurrence.starts_at, ends_at=occurrence.ends_at, status="completed")
    db.session.add(booking)
    db.session.flush()
    assessment = make_risk_assessment(offer, [occurrence], kind="upload")
    folder = Path(current_app.config["UPLOAD_FOLDER"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / assessment.stored_name).write_bytes(b"%PDF-1.4\n%%EOF\n")
    ids = {
        "student_id": student.id, "employer_id": employer.id, "token": "not-a-real-token",
        "offer_id": offer.id, "session_id": occurrence.id, "supervisor_id": supervisor.id,
        "booking_id": booking.id, "assessment_id": assessment.id,
    }
    # a token of each signed-in user, so that revoking one's own token is a legitimate request
    tokens = {who: issue_api_token(db.session, user, "matrix")[0].id for who, user in users.items() if who is not ST}
    # bearer tokens for the API routes (a student's is refused: students have no API access)
    bearer = {who: issue_api_token(db.session, user, "matrix api")[1] for who, user in users.items()}
    ids["ref"] = student.student_ref
    job = ImportJob(kind="roster", status="running", owner_id=users[S].id, school_id=school.id, hub_id=hub.id,
                    stored_name="0" * 32 + ".csv", original_name="roster.csv")
    db.session.add(job)
    db.session.flush()
    ids["job_id"] = job.id
    adjustment = AdjustmentRequest(school_id=school.id, hub_id=hub.id, student_id=student.id, employer_id=employer.id,
                                   offer_id=offer.id, session_id=occurrence.id, year_group=10, needs="quiet_space")
    db.session.add(adjustment)
    db.session.flush()
    ids["request_id"] = adjustment.id
    school.latitude, school.longitude = employer.latitude, employer.longitude = MANCHESTER  # the need reaches it
    need = PostedNeed(school_id=school.id, hub_id=hub.id, year_group=10, places=2, date_from=dt.date.today(),
                      date_to=dt.date.today() + dt.timedelta(days=60), need_counts={}, expires_on=dt.date.today()
                      + dt.timedelta(days=30))
    db.session.add(need)
    db.session.flush()
    ids["need_id"] = need.id
    return {"users": users, "ids": ids, "tokens": tokens, "bearer": bearer}


def _routes(app: Any) -> list[tuple[str, str, str]]:
    """(endpoint, method, rule) for every route except static files."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        method = "GET" if "GET" in rule.methods else "POST"
        found.append((rule.endpoint, method, rule.rule))
    return found


def _url(rule: str, ids: dict[str, Any]) -> str:
    """Fill <converter:name> parts of a rule with ids from the world."""
    import re

    def fill(match: re.Match[str]) -> str:
        name = match.group(2)
        assert name in ids, f"teach the access matrix test an id for URL argument {name!r}"
        return str(ids[name])

    return re.sub(r"<(?:[a-z]+:)?(([a-z_]+))>", fill, rule)


def test_every_route_has_an_expected_rule(app):
    missing = sorted({endpoint for endpoint, _, _ in _routes(app)} - set(EXPECTED))
    assert not missing, f"routes without an entry in the access matrix: {missing}"


def test_every_view_declares_its_access(app):
    undeclared = [
        endpoint for endpoint, _, _ in _routes(app)
        if getattr(app.view_functions[endpoint], "access_roles", None) is None
    ]
    assert not undeclared, f"views without @public or @allow: {undeclared}"


@pytest.mark.parametrize("who", [None, S, E, ST, H], ids=["anonymous", "school", "employer", "student", "hub"])
def test_each_role_gets_the_expected_outcome_on_every_route(app, client, login, world, who):
    failures = []
    for endpoint, method, rule in _routes(app):
        if who is not None:
            login(world["users"][who])  # again each time: the walk includes sign-out
        expected = EXPECTED[endpoint]
        url = _url(rule, {**world["ids"], "token_id": world["tokens"].get(who, 2**31 - 1)})
        api = endpoint.startswith("api.")
        headers = {"Authorization": f"Bearer {world['bearer'][who]}"} if api and who is not None else {}
        response = client.open(url, method=method, headers=headers)
        status, location = response.status_code, response.headers.get("Location", "")
        if expected == PUBLIC:
            ok = status not in (401, 403) and "/sign-in?" not in location
        elif api and who not in expected:  # students' tokens are never accepted: 401, like no token
            code = "unauthorized" if who in (None, ST) else "forbidden"
            ok = status == (401 if code == "unauthorized" else 403) and (response.get_json(silent=True) or {}).get("code") == code
        elif who is None:
            ok = status == 302 and "/sign-in" in location
        elif who in expected:
            ok = status not in (401, 403, 404, 405, 500) and "/sign-in?" not in location
        else:
            ok = status == 403
        if not ok:
            failures.append(f"{method} {url} as {who or 'anonymous'}: {status} {location}")
    assert not failures, "\n".join(failures)


def test_an_undeclared_view_is_refused(app):
    """Deny by default: a view registered without @public/@allow is never served."""
    from portal import create_app
    from tests.conftest import make_test_config

    other = create_app(make_test_config(app.config["DATABASE_URL"], app.instance_path))
    other.add_url_rule("/undeclared", "undeclared", lambda: "secret")
    assert other.test_client().get("/undeclared").status_code == 403
