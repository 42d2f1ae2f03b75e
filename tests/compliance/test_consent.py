"""Parental consent links: signed, scoped to one request, single-use, expiring, replaced by a resend,
dead once the booking is cancelled; only under-18s; the answer completes (or blocks) the checklist."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

import pytest
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm.attributes import set_committed_value

from portal.compliance import consent
from portal.compliance.checklist import bookings_by_id, checklists
from portal.compliance.consent import LinkInvalid
from portal.compliance.models import ConsentRequest
from portal.compliance.services import ComplianceRefused
from portal.core.dates import london_date
from portal.core.models import AuditEvent, OutboxMessage
from portal.core.vocab import ComplianceKind, ItemStatus, Role
from portal.db import utcnow
from portal.extensions import db
from tests.factories import (
    make_booking,
    make_consent,
    make_employer,
    make_offer,
    make_school,
    make_student,
    make_supervisor,
    make_user,
)

PARENT = "parent@example.org"


def _setting(born=dt.date(2012, 1, 1), starts_in_days=40, **student):
    """A school's member of staff and a confirmed booking of an under-18 (by default) with a supervisor."""
    school = make_school(name="Northside Academy")
    employer = make_employer(name="City Hospital", insurance_expiry=dt.date.today() + dt.timedelta(days=800),
                             safeguarding_lead_name="Lee Safe", safeguarding_lead_phone="0161 000 0000",
                             address="1 Hospital Road, Manchester")
    offer = make_offer(employer, sessions=0, title="Ward insight day", description="Shadow a nurse on the ward.",
                       preparation="Wear flat shoes.", travel_notes="Tram stop outside.",
                       uses_employer_location=True)
    staff = make_user(Role.SCHOOL, school_id=school.id)
    start = (utcnow() + dt.timedelta(days=starts_in_days)).replace(microsecond=0)
    student_row = make_student(school, date_of_birth=born, first_name="Alex", last_name="Zebedee", **student)
    booking = make_booking(student_row, offer, status="confirmed", starts_at=start)
    booking.requested_by_id = staff.id
    booking.session.supervisors.append(make_supervisor(employer, name="Sam Supervisor", role="Ward manager"))
    db.session.flush()
    return staff, booking


def _send(staff, booking, now=None):
    request = consent.send_consent_request(db.session, staff, booking, PARENT, now=now)
    return request, consent.consent_token(request)


def _item(booking):
    today = london_date(utcnow())
    checklist = checklists(db.session, bookings_by_id([booking.id]), today)[booking.id]
    return checklist, next(i for i in checklist.items if i.kind is ComplianceKind.CONSENT)


def _reason(token, now=None):
    with pytest.raises(LinkInvalid) as invalid:
        consent.request_from_token(db.session, token, now or utcnow())
    return invalid.value.reason


# --- sending --------------------------------------------------------------------------------------


def test_a_sent_link_opens_its_own_request():
    staff, booking = _setting()
    request, token = _send(staff, booking)
    assert consent.request_from_token(db.session, token, utcnow()) is request
    assert request.parent_email == PARENT and request.sent_by_id == staff.id and len(request.nonce) == 43


def test_the_link_expires_after_the_configured_days_or_at_the_start_if_sooner(app):
    staff, booking = _setting(starts_in_days=40)
    now = utcnow().replace(microsecond=0)
    request, _ = _send(staff, booking, now=now)
    assert request.expires_at == now + dt.timedelta(days=app.config["CONSENT_LINK_DAYS"])
    staff, soon = _setting(starts_in_days=3)
    request, _ = _send(staff, soon, now=now)
    assert request.expires_at == soon.starts_at


def test_the_parent_is_emailed_a_link_that_works(client):
    staff, booking = _setting()
    _send(staff, booking)
    mail = db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == PARENT)).one()
    link = next(word for word in mail.body.split() if "/consent/" in word)
    assert link.startswith("http://portal.test/consent/")
    assert "Alex" in mail.body and "Zebedee" not in mail.body  # the parent's email names the child by first name
    page = client.get(urlsplit(link).path)
    assert page.status_code == 200
    assert "Ward insight day" in page.get_data(as_text=True)


def test_sending_is_audited():
    staff, booking = _setting()
    request, _ = _send(staff, booking)
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "consent_requested")).one()
    assert (event.object_id, event.school_id, event.actor_id) == (request.id, booking.school_id, staff.id)


def test_consent_is_not_asked_for_a_student_who_is_18_on_the_first_day():
    staff, booking = _setting(born=dt.date(2000, 1, 1))
    with pytest.raises(ComplianceRefused) as refused:
        _send(staff, booking)
    assert refused.value.code == "not_needed"
    with pytest.raises(ComplianceRefused):
        consent.record_paper_consent(db.session, staff, booking, "Pat Parent", "consented")
    assert db.session.scalars(select(ConsentRequest)).first() is None


def test_staff_of_another_school_cannot_send_a_request():
    _, booking = _setting()
    outsider = make_user(Role.SCHOOL, school_id=make_school().id)
    with pytest.raises(ComplianceRefused) as refused:
        _send(outsider, booking)
    assert refused.value.code == "not_found"


@pytest.mark.parametrize("status", ["cancelled", "declined", "completed"])
def test_consent_is_asked_only_for_an_active_booking(status):
    staff, booking = _setting()
    booking.status = status
    with pytest.raises(ComplianceRefused) as refused:
        _send(staff, booking)
    assert refused.value.code == "wrong_state"


def test_consent_is_not_asked_once_the_placement_has_started():
    staff, booking = _setting()
    with pytest.raises(ComplianceRefused) as refused:
        _send(staff, booking, now=booking.starts_at + dt.timedelta(minutes=1))
    assert refused.value.code == "already_started"


def test_a_malformed_email_address_is_refused_naming_the_field():
    staff, booking = _setting()
    with pytest.raises(ComplianceRefused) as refused:
        consent.send_consent_request(db.session, staff, booking, "not an address")
    assert refused.value.field == "parent_email"


# --- links that cannot be used --------------------------------------------------------------------


def test_a_tampered_token_is_invalid():
    staff, booking = _setting()
    _, token = _send(staff, booking)
    assert _reason(token[:-2] + ("AA" if not token.endswith("AA") else "BB")) == "invalid"
    assert _reason("not-a-token") == "invalid"


def test_a_token_signed_for_something_else_or_with_the_wrong_nonce_is_invalid(app):
    staff, booking = _setting()
    request, _ = _send(staff, booking)
    other_salt = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="password-reset")
    assert _reason(other_salt.dumps({"r": request.id, "n": request.nonce})) == "invalid"
    right_salt = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=consent.SALT)
    assert _reason(right_salt.dumps({"r": request.id, "n": "guessed"})) == "invalid"
    assert _reason(right_salt.dumps({"r": request.id + 1000, "n": request.nonce})) == "invalid"
    assert _reason(right_salt.dumps(["r", request.id])) == "invalid"


def test_a_link_expires_by_the_age_of_its_signature():
    staff, booking = _setting(starts_in_days=60)
    request, token = _send(staff, booking)
    request.expires_at = booking.starts_at  # only the signature's age can stop it now
    assert _reason(token, utcnow() + dt.timedelta(days=14, hours=1)) == "expired"
    assert consent.request_from_token(db.session, token, utcnow() + dt.timedelta(days=13)) is request


def test_a_link_expires_at_its_expiry_time():
    staff, booking = _setting(starts_in_days=60)
    request, token = _send(staff, booking)
    request.expires_at = utcnow() + dt.timedelta(days=1)
    assert _reason(token, utcnow() + dt.timedelta(days=2)) == "expired"
    with pytest.raises(LinkInvalid) as invalid:
        consent.respond(db.session, request, consent=True, name="Pat Parent", now=utcnow() + dt.timedelta(days=2))
    assert invalid.value.reason == "expired"


def test_a_link_works_once():
    staff, booking = _setting()
    request, token = _send(staff, booking)
    consent.respond(db.session, request, consent=True, name="Pat Parent")
    assert _reason(token) == "used"
    with pytest.raises(LinkInvalid) as invalid:  # the same loaded object, answered again
        consent.respond(db.session, request, consent=False, name="Someone Else")
    assert invalid.value.reason == "used"
    db.session.refresh(request)
    assert (request.decision, request.responder_name) == ("consented", "Pat Parent")


def test_the_single_use_is_enforced_by_the_database_not_the_loaded_object():
    staff, booking = _setting()
    request, _ = _send(staff, booking)
    consent.respond(db.session, request, consent=True, name="Pat Parent")
    set_committed_value(request, "responded_at", None)  # a second request still holding the unanswered row
    set_committed_value(request, "decision", None)
    with pytest.raises(LinkInvalid) as invalid:
        consent.respond(db.session, request, consent=False, name="Someone Else")
    assert invalid.value.reason == "used"
    assert db.session.scalar(select(ConsentRequest.decision).where(ConsentRequest.id == request.id)) == "consented"


def test_a_resend_supersedes_the_earlier_unanswered_link():
    staff, booking = _setting()
    first, first_token = _send(staff, booking)
    second, second_token = _send(staff, booking)
    assert first.superseded_at is not None and second.superseded_at is None
    assert _reason(first_token) == "superseded"
    assert consent.request_from_token(db.session, second_token, utcnow()) is second
    with pytest.raises(LinkInvalid) as invalid:
        consent.respond(db.session, first, consent=True, name="Pat Parent")
    assert invalid.value.reason == "superseded"


def test_a_resend_leaves_an_answered_request_alone():
    staff, booking = _setting()
    answered = make_consent(booking, decision="declined")
    _send(staff, booking)
    db.session.refresh(answered)
    assert answered.superseded_at is None and answered.decision == "declined"


@pytest.mark.parametrize("status", ["cancelled", "declined"])
def test_a_link_of_a_cancelled_booking_is_cancelled(status):
    staff, booking = _setting()
    request, token = _send(staff, booking)
    booking.status = status
    assert _reason(token) == "cancelled"
    with pytest.raises(LinkInvalid) as invalid:
        consent.respond(db.session, request, consent=True, name="Pat Parent")
    assert invalid.value.reason == "cancelled"


def test_a_link_stops_working_once_the_placement_has_started():
    staff, booking = _setting(starts_in_days=3)
    _, token = _send(staff, booking)
    assert _reason(token, booking.starts_at + dt.timedelta(minutes=1)) == "cancelled"


# --- answering ------------------------------------------------------------------------------------


def test_consent_completes_the_checklist_item():
    staff, booking = _setting()
    request, _ = _send(staff, booking)
    assert _item(booking)[1].status is ItemStatus.TO_DO
    consent.respond(db.session, request, consent=True, name="Pat Parent")
    checklist, item = _item(booking)
    assert item.status is ItemStatus.DONE and "Pat Parent" in item.detail
    assert not checklist.at_risk


def test_a_decline_puts_the_booking_at_risk():
    staff, booking = _setting()
    request, _ = _send(staff, booking)
    consent.respond(db.session, request, consent=False, name="Pat Parent")
    checklist, item = _item(booking)
    assert item.status is ItemStatus.DECLINED
    assert checklist.at_risk


@pytest.mark.parametrize(("name", "code"), [("   ", "name_required"), ("x" * 121, "name_too_long")])
def test_an_answer_needs_the_responders_name(name, code):
    staff, booking = _setting()
    request, _ = _send(staff, booking)
    with pytest.raises(ComplianceRefused) as refused:
        consent.respond(db.session, request, consent=True, name=name)
    assert refused.value.code == code
    assert db.session.scalar(select(ConsentRequest.responded_at).where(ConsentRequest.id == request.id)) is None


def test_an_answer_is_audited_as_the_system_and_emailed_to_the_sender():
    staff, booking = _setting()
    request, _ = _send(staff, booking)
    consent.respond(db.session, request, consent=False, name="Pat Parent")
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "consent_declined")).one()
    assert event.actor_id is None and event.actor_email == "system"
    assert "declined by Pat Parent" in event.detail and event.school_id == booking.school_id
    mail = db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == staff.email)).one()
    assert "declined" in mail.subject and "Pat Parent" in mail.body


def test_an_answer_to_a_request_without_a_sender_goes_to_who_asked_for_the_booking():
    staff, booking = _setting()
    request = make_consent(booking, decision=None)
    consent.respond(db.session, request, consent=True, name="Pat Parent")
    assert db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == staff.email)).one()


def test_the_email_about_a_consent_given_says_so_in_plain_words():
    """Wording rule: the subject reads "Consent given: ...", never "Consent consented"."""
    staff, booking = _setting()
    request, _ = _send(staff, booking)
    consent.respond(db.session, request, consent=True, name="Pat Parent")
    mail = db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == staff.email)).one()
    assert mail.subject.startswith("Consent given: ") and "consented" not in mail.subject
    assert "Pat Parent has consented for" in mail.body


# --- paper forms ----------------------------------------------------------------------------------


def test_a_paper_form_is_recorded_answered_and_stops_pending_links():
    staff, booking = _setting()
    pending, token = _send(staff, booking)
    paper = consent.record_paper_consent(db.session, staff, booking, "  Pat   Parent ", "consented")
    assert (paper.parent_email, paper.decision, paper.responder_name) == (None, "consented", "Pat Parent")
    assert paper.responded_at is not None and pending.superseded_at is not None
    assert _reason(token) == "superseded"
    assert _item(booking)[1].status is ItemStatus.DONE
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "consent_recorded_on_paper")).one()


def test_a_paper_form_needs_a_known_answer_and_a_name():
    staff, booking = _setting()
    with pytest.raises(ComplianceRefused) as refused:
        consent.record_paper_consent(db.session, staff, booking, "Pat Parent", "maybe")
    assert refused.value.field == "decision"
    with pytest.raises(ComplianceRefused) as refused:
        consent.record_paper_consent(db.session, staff, booking, "", "declined")
    assert refused.value.field == "responder_name"


# --- what the parent sees -------------------------------------------------------------------------


def test_the_parent_page_shows_what_where_when_and_who_but_nothing_private(client):
    staff, booking = _setting(send_status="ehcp", needs=["quiet_space"], upn="A123456789012")
    classmate = make_student(booking.student.school, first_name="Bobbie", last_name="Other")
    make_booking(classmate, booking.session.offer, status="confirmed")  # the same session
    _, token = _send(staff, booking)
    page = client.get(f"/consent/{token}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    for shown in ("Alex", "Northside Academy", "Ward insight day", "Workplace visit", "Shadow a nurse on the ward.",
                  "Wear flat shoes.", "City Hospital", "1 Hospital Road, Manchester", "M1 3BN",
                  "Tram stop outside.", booking.session.when, "Sam Supervisor", "Ward manager", "Lee Safe",
                  "0161 000 0000"):
        assert shown in html, shown
    for hidden in ("Zebedee", "Education, health and care plan", "EHCP", "Quiet space", "2012", "A123456789012",
                   "Bobbie", PARENT):
        assert hidden not in html, hidden
    assert page.headers["Cache-Control"] == "no-store"


def test_the_parent_page_says_online_for_a_virtual_offer(client):
    staff, booking = _setting()
    booking.session.offer.delivery_mode = "virtual"
    db.session.flush()
    _, token = _send(staff, booking)
    html = client.get(f"/consent/{token}").get_data(as_text=True)
    assert "Online" in html and "M1 3BN" not in html and "1 Hospital Road" not in html
