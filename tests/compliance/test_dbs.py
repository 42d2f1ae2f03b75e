"""DBS notes: each field's rule, one note per school and supervisor, the last 4 characters only,
an audit row for every view, other schools kept out, and the checklist item the decision completes."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from portal.compliance import dbs
from portal.compliance.checklist import bookings_by_id, checklists
from portal.compliance.dbs import DbsNoteInvalid
from portal.compliance.models import DbsNote
from portal.compliance.services import ComplianceRefused
from portal.core.models import AuditEvent
from portal.core.vocab import ComplianceKind, ItemStatus, Role
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

NOW = dt.datetime(2027, 2, 1, 10, 0, tzinfo=dt.UTC)
START = dt.datetime(2027, 3, 15, 9, 0, tzinfo=dt.UTC)
CHECKED = {"decision": "checked", "level": "enhanced", "issued_on": dt.date(2026, 5, 1),
           "certificate_last4": "7f3a", "update_service_checked": True}


@pytest.fixture
def setting():
    """A school's member of staff, an under-16 booked on a session with one supervisor."""
    school = make_school()
    employer = make_employer(insurance_expiry=dt.date(2028, 1, 1))
    offer = make_offer(employer, sessions=0)
    booking = make_booking(make_student(school, date_of_birth=dt.date(2012, 1, 1)), offer, status="confirmed",
                           starts_at=START)
    supervisor = make_supervisor(employer, name="Sam Supervisor", role="Ward manager")
    booking.session.supervisors.append(supervisor)
    db.session.flush()
    return {"school": school, "staff": make_user(Role.SCHOOL, school_id=school.id), "booking": booking,
            "supervisor": supervisor, "employer": employer}


def _record(setting, **kw):
    return dbs.record_dbs_note(db.session, setting["staff"], setting["supervisor"], now=NOW, **kw)


def _audit_count(action, note_id=None):
    query = select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
    if note_id is not None:
        query = query.where(AuditEvent.object_id == note_id)
    return db.session.scalar(query)


# --- validation, per field ---------------------------------------------------------------------


def test_not_required_needs_a_reason(setting):
    with pytest.raises(DbsNoteInvalid) as refused:
        _record(setting, decision="not_required", reason="   ")
    assert refused.value.field == "reason"


def test_an_unknown_decision_is_refused_naming_the_decision(setting):
    with pytest.raises(DbsNoteInvalid) as refused:
        _record(setting, decision="maybe")
    assert refused.value.field == "decision"


@pytest.mark.parametrize(("change", "field"), [
    ({"level": None}, "level"),
    ({"level": "platinum"}, "level"),
    ({"issued_on": None}, "issued_on"),
    ({"issued_on": dt.date(2027, 2, 2)}, "issued_on"),  # the day after NOW: in the future
    ({"certificate_last4": ""}, "certificate_last4"),
    ({"certificate_last4": "123"}, "certificate_last4"),
    ({"certificate_last4": "001234567890"}, "certificate_last4"),  # the whole number: never stored
    ({"certificate_last4": "12-4"}, "certificate_last4"),
    ({"update_service_checked": None}, "update_service_checked"),
])
def test_checked_needs_each_detail_and_names_the_field_missing(setting, change, field):
    with pytest.raises(DbsNoteInvalid) as refused:
        _record(setting, **{**CHECKED, **change})
    assert refused.value.field == field
    assert db.session.scalar(select(func.count()).select_from(DbsNote)) == 0


def test_every_missing_detail_is_reported_at_once(setting):
    with pytest.raises(DbsNoteInvalid) as refused:
        _record(setting, decision="checked")
    assert [field for field, _ in refused.value.problems] == list(dbs.CHECKED_FIELDS)


def test_an_issue_date_of_today_is_accepted(setting):
    note = _record(setting, **{**CHECKED, "issued_on": dt.date(2027, 2, 1)})
    assert note.issued_on == dt.date(2027, 2, 1)


def test_certificate_characters_are_stored_upper_case_and_never_more_than_four(setting):
    note = _record(setting, **{**CHECKED, "certificate_last4": " 7f 3a "})
    assert note.certificate_last4 == "7F3A"
    with pytest.raises(DbsNoteInvalid):
        _record(setting, **{**CHECKED, "certificate_last4": "ab7f3a"})
    assert db.session.get(DbsNote, note.id).certificate_last4 == "7F3A"


# --- upsert --------------------------------------------------------------------------------------


def test_recording_again_updates_the_one_note_and_clears_fields_that_no_longer_apply(setting):
    first = _record(setting, **CHECKED)
    first.details_purged_at = NOW  # as if purged: a new recording starts the clock again
    later = NOW + dt.timedelta(days=1)
    second = dbs.record_dbs_note(db.session, setting["staff"], setting["supervisor"], decision="not_required",
                                 reason="Always with a teacher", certificate_last4="9999", now=later)
    assert second.id == first.id
    assert db.session.scalar(select(func.count()).select_from(DbsNote)) == 1
    assert (second.decision, second.reason) == ("not_required", "Always with a teacher")
    assert (second.level, second.issued_on, second.certificate_last4, second.update_service_checked) == (None,) * 4
    assert (second.recorded_at, second.recorded_by_id, second.details_purged_at) == (later, setting["staff"].id, None)
    third = _record(setting, **CHECKED, reason="left over from the other group")
    assert third.reason is None and third.level == "enhanced"


def test_recording_writes_an_audit_row_with_the_school(setting):
    note = _record(setting, decision="not_required", reason="Group visit")
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "dbs_note_recorded")).one()
    assert (event.object_type, event.object_id, event.school_id, event.actor_id) == (
        "dbs_note", note.id, setting["school"].id, setting["staff"].id)


def test_each_school_keeps_its_own_decision_about_the_same_supervisor(setting):
    other_school = make_school()
    other_booking = make_booking(make_student(other_school), setting["booking"].session.offer, status="confirmed",
                                 starts_at=START + dt.timedelta(days=7))
    other_booking.session.supervisors.append(setting["supervisor"])
    db.session.flush()
    other_staff = make_user(Role.SCHOOL, school_id=other_school.id)
    mine = _record(setting, decision="not_required", reason="Group visit")
    theirs = dbs.record_dbs_note(db.session, other_staff, setting["supervisor"], now=NOW, **CHECKED)
    assert mine.id != theirs.id
    assert dbs.view_dbs_note(db.session, other_staff, setting["supervisor"]).decision == "checked"


# --- access ----------------------------------------------------------------------------------------


def test_staff_of_a_school_without_a_booking_with_the_supervisor_cannot_record(setting):
    outsider = make_user(Role.SCHOOL, school_id=make_school().id)
    with pytest.raises(ComplianceRefused) as refused:
        dbs.record_dbs_note(db.session, outsider, setting["supervisor"], decision="not_required", reason="x")
    assert refused.value.code == "not_found"


def test_staff_of_another_school_see_no_note(setting):
    make_dbs_note(setting["school"], setting["supervisor"])
    outsider = make_user(Role.SCHOOL, school_id=make_school().id)
    assert dbs.view_dbs_note(db.session, outsider, setting["supervisor"]) is None
    assert dbs.view_dbs_notes(db.session, outsider, [setting["supervisor"].id]) == {}


# --- audit of every view ---------------------------------------------------------------------------


def test_every_view_of_a_note_writes_an_audit_row(setting):
    note = make_dbs_note(setting["school"], setting["supervisor"])
    for _ in range(3):
        assert dbs.view_dbs_note(db.session, setting["staff"], setting["supervisor"]).id == note.id
    db.session.flush()
    assert _audit_count("dbs_note_viewed", note.id) == 3
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "dbs_note_viewed")).first()
    assert (event.actor_id, event.school_id) == (setting["staff"].id, setting["school"].id)


def test_a_list_writes_one_audit_row_per_note_shown_without_a_query_per_row(setting, count_queries):
    supervisors = [setting["supervisor"], *(make_supervisor(setting["employer"]) for _ in range(5))]
    notes = [make_dbs_note(setting["school"], sup) for sup in supervisors]
    ids = [sup.id for sup in supervisors] + [make_supervisor(setting["employer"]).id]  # one without a note
    with count_queries() as counted:
        shown = dbs.view_dbs_notes(db.session, setting["staff"], ids)
        db.session.flush()
    assert set(shown) == {sup.id for sup in supervisors}
    assert counted.total == 2  # the notes, then every audit row in one statement
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "dbs_note_viewed")).all()
    assert sorted(e.object_id for e in events) == sorted(n.id for n in notes)
    assert all(e.at is not None and e.actor_id == setting["staff"].id and e.school_id == setting["school"].id
               for e in events)


# --- the checklist ---------------------------------------------------------------------------------


def _dbs_item(setting):
    checklist = checklists(db.session, bookings_by_id([setting["booking"].id]), dt.date(2027, 3, 1))
    return next(i for i in checklist[setting["booking"].id].items if i.kind is ComplianceKind.DBS)


@pytest.mark.parametrize("decision", [{"decision": "not_required", "reason": "Group visit"}, CHECKED])
def test_recording_a_decision_completes_the_checklist_item(setting, decision):
    assert _dbs_item(setting).status is ItemStatus.TO_DO
    _record(setting, **decision)
    db.session.flush()
    assert _dbs_item(setting).status is ItemStatus.DONE


# --- what the pages list ---------------------------------------------------------------------------


def test_the_list_shows_supervisors_of_upcoming_active_bookings_only(setting):
    employer = setting["employer"]
    past_offer = make_offer(employer, sessions=0)
    past = make_booking(make_student(setting["school"]), past_offer, status="completed",
                        starts_at=dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC))
    past.session.supervisors.append(make_supervisor(employer, name="Past Supervisor"))
    cancelled = make_booking(make_student(setting["school"]), past_offer, status="cancelled",
                             starts_at=START + dt.timedelta(days=3))
    cancelled.session.supervisors.append(make_supervisor(employer, name="Cancelled Supervisor"))
    db.session.flush()
    listed = db.session.scalars(dbs.supervisors_to_decide(setting["school"].id, dt.date(2027, 2, 1))).all()
    assert [s.name for s in listed] == ["Sam Supervisor"]
    summary = dbs.supervisor_bookings(db.session, setting["school"].id, [listed[0].id], dt.date(2027, 2, 1))
    entry = summary[listed[0].id]
    assert (entry.employer_name, entry.upcoming, entry.under_16, entry.next_starts_at) == (
        employer.name, 1, 1, START)
