"""School staff add and change students; every view of special category data is audited."""

from __future__ import annotations

from sqlalchemy import func, select

from portal.core.models import AuditEvent
from portal.core.vocab import Role
from portal.extensions import db
from portal.organisations.models import Student
from tests.factories import make_school, make_student, make_user


def _student_form(**overrides):
    data = {
        "first_name": "Ada", "last_name": "Lovelace", "student_ref": "MIS-001", "upn": "a123456789012",
        "year_group": "10", "tutor_group": "10B",
        "date_of_birth-day": "14", "date_of_birth-month": "3", "date_of_birth-year": "2011",
        "send_status": "ehcp", "needs": ["quiet_space", "step_free_access"], "disadvantaged": "yes",
        "interests": ["computing_technology"], "email": "",
    }
    data.update(overrides)
    return data


def test_staff_add_a_student_with_needs_and_interests(client, login):
    school = make_school()
    login(make_user(Role.SCHOOL, school_id=school.id))
    response = client.post("/students/new", data=_student_form())
    assert response.status_code == 302
    student = db.session.scalars(select(Student).where(Student.student_ref == "MIS-001")).one()
    assert student.school_id == school.id
    assert student.upn == "A123456789012"
    assert student.need_codes == ["quiet_space", "step_free_access"]
    assert student.interest_codes == ["computing_technology"]
    assert student.send_status == "ehcp" and student.disadvantaged is True
    assert student.date_of_birth.isoformat() == "2011-03-14"


def test_student_reference_is_unique_within_the_school(client, login):
    school = make_school()
    make_student(school, student_ref="MIS-001")
    login(make_user(Role.SCHOOL, school_id=school.id))
    response = client.post("/students/new", data=_student_form())
    assert response.status_code == 400
    assert "already has this reference" in response.get_data(as_text=True)


def test_same_reference_is_fine_at_another_school(client, login):
    make_student(make_school(), student_ref="MIS-001")
    login(make_user(Role.SCHOOL))
    assert client.post("/students/new", data=_student_form()).status_code == 302


def test_bad_upn_and_impossible_date_are_explained(client, login):
    login(make_user(Role.SCHOOL))
    response = client.post("/students/new", data=_student_form(**{"upn": "12345", "date_of_birth-month": "13"}))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "A UPN is a letter and 12 digits" in page
    assert "must be a real date" in page
    assert 'href="#date_of_birth-day"' in page


def test_viewing_a_students_send_data_is_written_to_the_audit_log(client, login):
    school = make_school()
    student = make_student(school, send_status="sen_support", needs=["quiet_space"])
    staff = make_user(Role.SCHOOL, school_id=school.id)
    login(staff)
    page = client.get(f"/students/{student.id}").get_data(as_text=True)
    assert "SEN support" in page and "Quiet space" in page
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.object_id == student.id)).one()
    assert (event.action, event.actor_id, event.school_id) == ("viewed_special_category", staff.id, school.id)
    assert staff.email in client.get("/audit").get_data(as_text=True)


def test_editing_replaces_needs_as_a_set(client, login):
    school = make_school()
    student = make_student(school, needs=["quiet_space", "bsl_makaton"], student_ref="MIS-001")
    login(make_user(Role.SCHOOL, school_id=school.id))
    form = _student_form(needs=["bsl_makaton", "remote_option"])
    assert client.post(f"/students/{student.id}/edit", data=form).status_code == 302
    db.session.expire_all()
    assert db.session.get(Student, student.id).need_codes == ["bsl_makaton", "remote_option"]


def test_roster_is_paginated_and_searchable(client, login):
    school = make_school()
    for n in range(30):
        make_student(school, last_name=f"Name{n:02d}")
    make_student(school, first_name="Zebedee", last_name="Unique")
    login(make_user(Role.SCHOOL, school_id=school.id))
    first = client.get("/students").get_data(as_text=True)
    assert "Page 1 of 2" in first
    found = client.get("/students?q=zebedee").get_data(as_text=True)
    assert "Unique, Zebedee" in found and "Name00" not in found
    count = db.session.scalar(select(func.count()).select_from(Student).where(Student.school_id == school.id))
    assert count == 31
