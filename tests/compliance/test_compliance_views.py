"""Compliance pages through HTTP: who may open them (404 across schools, 403 for other roles, anonymous
parents on their link only), the forms and their errors, and the audit of every DBS note shown."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from portal.compliance import consent
from portal.compliance.models import ConsentRequest, DbsNote
from portal.core.models import AuditEvent, OutboxMessage
from portal.core.vocab import Role
from portal.db import utcnow
from portal.extensions import db
from tests.factories import (
    make_booking,
    make_dbs_note,
    make_employer,
    make_offer,
    make_school,
    make_student,
    make_supervisor,
    make_user,
)


@pytest.fixture
def world():
    """A school with staff and an under-16 booked on a session with a supervisor; another school's staff."""
    school = make_school(name="Northside Academy")
    employer = make_employer(name="City Hospital", insurance_expiry=dt.date.today() + dt.timedelta(days=800))
    offer = make_offer(employer, sessions=0, title="Ward insight day")
    start = (utcnow() + dt.timedelta(days=30)).replace(microsecond=0)
    student = make_student(school, first_name="Alex", last_name="Zebedee", date_of_birth=dt.date(2012, 1, 1))
    booking = make_booking(student, offer, status="confirmed", starts_at=start)
    supervisor = make_supervisor(employer, name="Sam Supervisor", role="Ward manager")
    booking.session.supervisors.append(supervisor)
    db.session.flush()
    return {
        "school": school, "employer": employer, "booking": booking, "supervisor": supervisor,
        "staff": make_user(Role.SCHOOL, school_id=school.id),
        "outsider": make_user(Role.SCHOOL, school_id=make_school().id),
        "employer_user": make_user(Role.EMPLOYER, employer_id=employer.id),
        "student_user": make_user(Role.STUDENT, student_id=student.id),
        "hub_user": make_user(Role.HUB),
    }


def _html(response) -> str:
    return response.get_data(as_text=True)


def _flashes(client):
    with client.session_transaction() as flask_session:
        return [message for _, message in flask_session.get("_flashes", [])]


def _views(note_id):
    return db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "dbs_note_viewed", AuditEvent.object_id == note_id))


CHECKED_FORM = {"decision": "checked", "level": "enhanced_barred", "issued_on-day": "3", "issued_on-month": "4",
                "issued_on-year": "2025", "certificate_last4": "ab12", "update_service_checked": "yes"}


# --- who may open what ------------------------------------------------------------------------------


def _school_paths(world):
    booking, supervisor = world["booking"], world["supervisor"]
    return [("GET", "/dbs"), ("GET", f"/dbs/supervisors/{supervisor.id}"),
            ("GET", f"/bookings/{booking.id}/consent"), ("POST", f"/bookings/{booking.id}/consent/paper"),
            ("POST", f"/bookings/{booking.id}/briefed")]


@pytest.mark.parametrize("who", ["employer_user", "student_user", "hub_user"])
def test_other_roles_are_refused_every_school_compliance_page(world, login, who):
    client = login(world[who])
    for method, path in _school_paths(world):
        assert client.open(path, method=method).status_code == 403, path


def test_anonymous_visitors_are_sent_to_sign_in_for_school_pages(world, client):
    for method, path in _school_paths(world):
        response = client.open(path, method=method)
        assert response.status_code == 302 and "/sign-in" in response.headers["Location"], path


def test_another_schools_staff_get_404_for_the_booking_and_supervisor_pages(world, login):
    client = login(world["outsider"])
    for method, path in _school_paths(world)[1:]:
        assert client.open(path, method=method).status_code == 404, path
    assert client.post(f"/dbs/supervisors/{world['supervisor'].id}", data=CHECKED_FORM).status_code == 404
    assert client.post(f"/bookings/{world['booking'].id}/consent",
                       data={"parent_email": "parent@example.org"}).status_code == 404
    assert db.session.scalar(select(func.count()).select_from(DbsNote)) == 0
    assert db.session.scalar(select(func.count()).select_from(ConsentRequest)) == 0


def test_a_supervisor_of_no_booking_of_the_school_is_404(world, login):
    stranger = make_supervisor(world["employer"])
    client = login(world["staff"])
    assert client.get(f"/dbs/supervisors/{stranger.id}").status_code == 404
    assert client.get("/dbs/supervisors/999999").status_code == 404


# --- DBS pages --------------------------------------------------------------------------------------


def test_the_dbs_list_shows_each_supervisor_with_the_decision_and_audits_the_decisions_shown(world, login):
    note = make_dbs_note(world["school"], world["supervisor"])
    undecided = make_supervisor(world["employer"], name="Una Decided")
    world["booking"].session.supervisors.append(undecided)
    db.session.flush()
    html = _html(login(world["staff"]).get("/dbs"))
    assert "Sam Supervisor" in html and "Una Decided" in html and "City Hospital" in html
    assert "Not required" in html and "No decision" in html
    assert f"/dbs/supervisors/{undecided.id}" in html
    assert _views(note.id) == 1


def test_the_dbs_list_is_paginated(world, login):
    for n in range(26):
        world["booking"].session.supervisors.append(make_supervisor(world["employer"], name=f"Extra {n:02d}"))
    db.session.flush()
    client = login(world["staff"])
    first, second = _html(client.get("/dbs")), _html(client.get("/dbs?page=2"))
    assert "Page 1 of 2" in first and "Sam Supervisor" in second and "Sam Supervisor" not in first


def test_the_note_page_shows_the_supervisor_and_first_names_and_audits_every_view(world, login):
    note = make_dbs_note(world["school"], world["supervisor"], decision="checked", certificate_last4="9Z8Y")
    client = login(world["staff"])
    for _ in range(2):
        html = _html(client.get(f"/dbs/supervisors/{world['supervisor'].id}"))
    assert "Sam Supervisor" in html and "Ward manager" in html and "City Hospital" in html
    assert "Alex" in html and "Zebedee" not in html
    assert "Enhanced" in html and "9Z8Y" in html
    assert "(optional)" not in html  # which fields are needed depends on the decision, checked by the server
    assert _views(note.id) == 2


def test_a_purged_note_shows_the_decision_and_when_the_details_were_removed(world, login):
    make_dbs_note(world["school"], world["supervisor"], decision="checked", level=None, issued_on=None,
                  certificate_last4=None, update_service_checked=None,
                  details_purged_at=dt.datetime(2027, 1, 5, 12, 0, tzinfo=dt.UTC))
    html = _html(login(world["staff"]).get(f"/dbs/supervisors/{world['supervisor'].id}"))
    assert "Certificate details removed on 5 January 2027 (kept for 6 months)" in html
    assert "Checked" in html


def test_recording_a_checked_decision_redirects_back_to_the_page(world, login):
    client = login(world["staff"])
    path = f"/dbs/supervisors/{world['supervisor'].id}"
    response = client.post(path, data=CHECKED_FORM)
    assert response.status_code == 302 and response.headers["Location"].endswith(path)
    note = db.session.scalars(select(DbsNote)).one()
    assert (note.decision, note.level, note.issued_on, note.certificate_last4, note.update_service_checked) == (
        "checked", "enhanced_barred", dt.date(2025, 4, 3), "AB12", True)
    assert note.school_id == world["school"].id and note.recorded_by_id == world["staff"].id


def test_a_checked_decision_without_its_details_shows_an_error_beside_each_field(world, login):
    response = login(world["staff"]).post(f"/dbs/supervisors/{world['supervisor'].id}",
                                          data={"decision": "checked", "certificate_last4": "0012 3456 7890"})
    html = _html(response)
    assert response.status_code == 400
    for message in ("Choose the level of the check", "Enter the date the certificate was issued",
                    "Enter only the last 4 characters", "Say whether the Update Service was checked"):
        assert message in html
    assert "There is a problem" in html
    assert db.session.scalar(select(func.count()).select_from(DbsNote)) == 0


def test_not_required_ignores_whatever_was_typed_in_the_checked_group(world, login):
    data = {"decision": "not_required", "reason": "Always with a teacher", "issued_on-day": "45",
            "issued_on-month": "x", "issued_on-year": "", "certificate_last4": "too long to keep"}
    response = login(world["staff"]).post(f"/dbs/supervisors/{world['supervisor'].id}", data=data)
    assert response.status_code == 302
    note = db.session.scalars(select(DbsNote)).one()
    assert (note.decision, note.reason, note.certificate_last4, note.issued_on) == (
        "not_required", "Always with a teacher", None, None)


def test_not_required_without_a_reason_is_refused(world, login):
    response = login(world["staff"]).post(f"/dbs/supervisors/{world['supervisor'].id}",
                                          data={"decision": "not_required"})
    assert response.status_code == 400
    assert "Say why a DBS check is not required" in _html(response)


# --- consent: the school's page -----------------------------------------------------------------------


def test_the_consent_page_sends_a_link_and_shows_the_history(world, login):
    client = login(world["staff"])
    path = f"/bookings/{world['booking'].id}/consent"
    assert "No consent has been asked for yet" in _html(client.get(path))
    response = client.post(path, data={"parent_email": "Parent@Example.org"})
    assert response.status_code == 302 and response.headers["Location"].endswith(path)
    assert db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == "parent@example.org")).one()
    html = _html(client.get(path))
    assert "parent@example.org" in html and "Waiting" in html


def test_a_bad_email_address_is_refused_beside_the_field(world, login):
    response = login(world["staff"]).post(f"/bookings/{world['booking'].id}/consent",
                                          data={"parent_email": "not-an-address"})
    assert response.status_code == 400
    assert "Enter an email address in the correct format" in _html(response)
    assert db.session.scalar(select(func.count()).select_from(ConsentRequest)) == 0


def test_a_paper_form_is_recorded_from_the_consent_page(world, login):
    client = login(world["staff"])
    path = f"/bookings/{world['booking'].id}/consent"
    response = client.post(f"{path}/paper", data={"responder_name": "Pat Parent", "decision": "declined"})
    assert response.status_code == 302 and response.headers["Location"].endswith(path)
    html = _html(client.get(path))
    assert "Paper form" in html and "Declined" in html and "Pat Parent" in html


def test_a_paper_form_without_a_name_or_answer_is_refused(world, login):
    response = login(world["staff"]).post(f"/bookings/{world['booking'].id}/consent/paper", data={})
    html = _html(response)
    assert response.status_code == 400
    assert "Enter the full name of the parent or carer" in html
    assert "Choose whether the parent or carer consented" in html


def test_the_consent_page_of_an_18_year_old_says_consent_is_not_needed_and_has_no_form(world, login):
    adult = make_student(world["school"], date_of_birth=dt.date(2000, 1, 1))
    booking = make_booking(adult, world["booking"].session.offer, status="confirmed")
    html = _html(login(world["staff"]).get(f"/bookings/{booking.id}/consent"))
    assert "parental consent is not needed" in html
    assert "parent_email" not in html and "Record paper form" not in html


def test_the_consent_page_of_a_cancelled_booking_has_no_form(world, login):
    world["booking"].status = "cancelled"
    db.session.flush()
    html = _html(login(world["staff"]).get(f"/bookings/{world['booking'].id}/consent"))
    assert "consent can no longer be asked" in html and "parent_email" not in html


# --- consent: the parent's link ------------------------------------------------------------------------


def _link(world):
    request = consent.send_consent_request(db.session, world["staff"], world["booking"], "parent@example.org")
    db.session.flush()
    return request, f"/consent/{consent.consent_token(request)}"


def test_an_anonymous_parent_answers_once_and_sees_what_was_recorded(world, client):
    request, path = _link(world)
    assert client.get(path).status_code == 200
    response = client.post(path, data={"answer": "consent", "responder_name": "Pat Parent"})
    html = _html(response)
    assert response.status_code == 200
    assert "Your answer has been recorded" in html and "Consent given" in html and "Pat Parent" in html
    db.session.refresh(request)
    assert (request.decision, request.responder_name) == ("consented", "Pat Parent")
    again = client.get(path)
    assert again.status_code == 410 and "already been used" in _html(again)
    repeat = client.post(path, data={"answer": "decline", "responder_name": "Someone Else"})
    assert repeat.status_code == 410
    db.session.refresh(request)
    assert request.decision == "consented"


def test_the_parents_answer_needs_a_choice_and_a_name(world, client):
    _, path = _link(world)
    response = client.post(path, data={})
    html = _html(response)
    assert response.status_code == 400
    assert "Choose whether you give consent" in html and "Enter your full name" in html


def test_a_signed_in_user_answering_a_link_is_not_recorded_as_the_responder(world, login):
    request, path = _link(world)
    login(world["staff"]).post(path, data={"answer": "decline", "responder_name": "Pat Parent"})
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "consent_declined")).one()
    assert event.actor_id is None and event.actor_email == "system"


@pytest.mark.parametrize(("spoil", "status", "words"), [
    ("tamper", 404, "This link is not valid"),
    ("expire", 410, "This link has expired"),
    ("resend", 410, "A newer link has been sent"),
    ("cancel", 410, "This placement is no longer open for consent"),
])
def test_a_link_that_cannot_be_used_says_which_it_is(world, client, spoil, status, words):
    request, path = _link(world)
    if spoil == "tamper":
        path = path[:-3] + ("xyz" if not path.endswith("xyz") else "abc")
    elif spoil == "expire":
        request.expires_at = utcnow() - dt.timedelta(minutes=1)
    elif spoil == "resend":
        _link(world)
    else:
        world["booking"].status = "cancelled"
    db.session.flush()
    response = client.get(path)
    html = _html(response)
    assert response.status_code == status
    assert words in html
    assert "contact" in html.lower()
    assert "Alex" not in html  # nothing about the placement on a dead link


# --- briefing --------------------------------------------------------------------------------------------


def test_marking_the_briefing_redirects_to_the_booking_with_a_message(world, login):
    client = login(world["staff"])
    path = f"/bookings/{world['booking'].id}/briefed"
    response = client.post(path)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/bookings/{world['booking'].id}")
    assert _flashes(client) == ["Briefing recorded."]
    db.session.refresh(world["booking"])
    assert world["booking"].briefed_by_id == world["staff"].id
    client.post(path)
    assert "already recorded" in _flashes(client)[-1]


def test_the_briefing_of_a_cancelled_booking_is_refused_with_a_message(world, login):
    world["booking"].status = "cancelled"
    db.session.flush()
    client = login(world["staff"])
    assert client.post(f"/bookings/{world['booking'].id}/briefed").status_code == 302
    assert "cancelled" in _flashes(client)[-1]
    db.session.refresh(world["booking"])
    assert world["booking"].briefed_at is None


def test_the_parents_link_is_throttled_per_address(database_url, instance_path):
    from portal import create_app
    from portal.extensions import limiter
    from tests.conftest import make_test_config

    was_enabled = limiter.enabled
    throttled = create_app(make_test_config(database_url, instance_path, RATELIMIT_ENABLED=True,
                                            CONSENT_LINK_RATE_LIMIT="3 per minute"))
    try:
        client = throttled.test_client()
        codes = [client.get("/consent/not-a-real-token").status_code for _ in range(4)]
    finally:
        limiter.enabled = was_enabled  # the limiter is shared: leave it as the other tests expect
    assert codes == [404, 404, 404, 429]
