"""Roster import from the MIS: every error kind, all-or-nothing, updates by student_ref,
census codes, and students missing from a re-import are asked about, never deleted."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from portal.core.csvimport import ImportFailed
from portal.core.vocab import Role
from portal.extensions import db
from portal.organisations.models import Student
from portal.organisations.roster_import import import_students
from tests.factories import make_school, make_student, make_user

HEADER = "student_ref,upn,first_name,last_name,year_group,date_of_birth,send_status,needs,disadvantaged,sector_interests,email\n"
ROWS = (
    "1001,A123456789012,Amira,Khan,10,2011-02-03,K,quiet_space;easy_read_materials,yes,healthcare,amira@school.example\n"
    "1002,,Ben,Jones,11,2010-05-06,none,,no,construction_trades;transport,\n"
    "1003,B12345678901X,Cara,Lee,9,2012-01-30,E,step_free_access,no,,\n"
)


def _upload(client, data: bytes):
    """Upload a roster in the browser: the page answers 303 to the job, whose page is returned."""
    response = client.post("/students/import", data={"file": (io.BytesIO(data), "roster.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 303
    assert "/students/import/" in response.headers["Location"]
    return client.get(response.headers["Location"])


def _students(school):
    return {s.student_ref: s for s in db.session.scalars(select(Student).where(Student.school_id == school.id))}


def test_roster_is_imported_with_census_codes_needs_and_interests():
    school = make_school()
    report = import_students(db.session, school, (HEADER + ROWS).encode())
    assert (report.created, report.updated) == (3, 0)
    students = _students(school)
    assert students["1001"].send_status == "sen_support"
    assert students["1003"].send_status == "ehcp"
    assert students["1003"].upn == "B12345678901X"  # a temporary UPN ends in a letter
    assert students["1001"].need_codes == ["easy_read_materials", "quiet_space"]
    assert students["1002"].interest_codes == ["construction_trades", "transport"]
    assert students["1001"].disadvantaged and not students["1002"].disadvantaged


@pytest.mark.parametrize(
    ("row", "column", "reason"),
    [
        ("1001,A1234,Amira,Khan,10,2011-02-03,none,,no,,", "upn", "is not a UPN"),
        ("1001,,Amira,Khan,14,2011-02-03,none,,no,,", "year_group", "at most 13"),
        ("1001,,Amira,Khan,10,03/02/2011,none,,no,,", "date_of_birth", "YYYY-MM-DD"),
        ("1001,,Amira,Khan,10,2011-02-03,X,,no,,", "send_status", "unknown code"),
        ("1001,,Amira,Khan,10,2011-02-03,none,wings,no,,", "needs", "unknown code 'wings'"),
        ("1001,,Amira,Khan,10,2011-02-03,none,,maybe,,", "disadvantaged", "must be yes or no"),
        ("1001,,Amira,Khan,10,2011-02-03,none,,no,astronaut,", "sector_interests", "unknown code"),
        ("1001,,Amira,Khan,10,2011-02-03,none,,no,,not-an-email", "email", "not a valid email"),
        (",,Amira,Khan,10,2011-02-03,none,,no,,", "student_ref", "is empty"),
    ],
)
def test_each_kind_of_bad_cell_is_reported_with_line_and_column(row, column, reason):
    school = make_school()
    with pytest.raises(ImportFailed) as failure:
        import_students(db.session, school, (HEADER + "1000,,Good,Row,10,2011-01-01,none,,no,,\n" + row + "\n").encode())
    [error] = failure.value.errors
    assert (error.line, error.column) == (3, column)
    assert reason in error.reason
    assert _students(school) == {}  # the good row was not written either


def test_duplicate_reference_in_the_file_is_an_error():
    with pytest.raises(ImportFailed) as failure:
        import_students(db.session, make_school(), (HEADER + ROWS + ROWS.splitlines()[0] + "\n").encode())
    assert failure.value.errors[0].line == 5 and "also on line 2" in failure.value.errors[0].reason


def test_reimport_updates_by_reference_and_reports_missing_students_without_deleting():
    school = make_school()
    import_students(db.session, school, (HEADER + ROWS).encode())
    changed = ROWS.replace("Ben,Jones,11", "Ben,Jones-Smith,11")
    without_cara = "".join(changed.splitlines(keepends=True)[:2])
    report = import_students(db.session, school, (HEADER + without_cara).encode())
    assert (report.created, report.updated, report.unchanged) == (0, 1, 1)
    assert [s.student_ref for s in report.missing] == ["1003"]
    students = _students(school)
    assert students["1002"].last_name == "Jones-Smith"
    assert students["1003"].left_on is None  # still on roll until staff say otherwise


def test_a_file_without_the_email_column_keeps_emails_already_known():
    school = make_school()
    make_student(school, student_ref="1001", email="kept@school.example")
    header = HEADER.replace(",email", "")
    import_students(db.session, school, (header + "1001,,Amira,Khan,10,2011-02-03,none,,no,\n").encode())
    assert _students(school)["1001"].email == "kept@school.example"


def test_browser_upload_shows_errors_and_writes_nothing(client, login):
    school = make_school()
    login(make_user(Role.SCHOOL, school_id=school.id))
    bad = HEADER + "1001,,Amira,Khan,15,2011-02-03,none,,no,,\n"
    response = _upload(client, bad.encode())
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Nothing was imported" in page and "year_group" in page and "must be at most 13" in page
    assert db.session.scalar(select(func.count()).select_from(Student).where(Student.school_id == school.id)) == 0


def test_browser_upload_then_confirm_leavers(client, login):
    school = make_school()
    leaver = make_student(school, student_ref="0999", first_name="Gone")
    login(make_user(Role.SCHOOL, school_id=school.id))
    page = _upload(client, (HEADER + ROWS).encode()).get_data(as_text=True)
    assert "Roster imported" in page and "3 new" in page
    assert "Gone" in page and "not in the file" in page
    client.post("/students/leavers", data={"student_ids": [str(leaver.id)]})
    db.session.expire_all()
    assert db.session.get(Student, leaver.id).left_on is not None
    assert "Gone" not in client.get("/students").get_data(as_text=True)


def test_leavers_form_cannot_touch_another_schools_students(client, login):
    other = make_student(make_school())
    login(make_user(Role.SCHOOL))
    client.post("/students/leavers", data={"student_ids": [str(other.id)]})
    db.session.expire_all()
    assert db.session.get(Student, other.id).left_on is None


def test_cli_import_students_reports_missing_and_can_mark_them_left(app, tmp_path):
    school = make_school(urn="555001")
    make_student(school, student_ref="0999")
    db.session.commit()
    path = tmp_path / "roster.csv"
    path.write_text(HEADER + ROWS)
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["import", "students", "--school", "555001", str(path), "--dry-run"])
    assert dry.exit_code == 0 and "Would import: 3 new" in dry.output and "0999" in dry.output
    assert len(_students(school)) == 1
    done = runner.invoke(args=["import", "students", "--school", "555001", str(path), "--mark-missing-left"])
    assert done.exit_code == 0, done.output
    db.session.expire_all()
    assert _students(school)["0999"].left_on is not None and len(_students(school)) == 4


@pytest.mark.parametrize(
    ("upload", "expected"),
    [
        ((HEADER + ROWS + "1004,,Dan," + "x" * 200_000 + ",10,2011-02-03,none,,no,,\n").encode(), "longer than 131,072 characters"),
        ((HEADER + ROWS + "1004,,Dan,Ro\x00ss,10,2011-02-03,none,,no,,\n").encode(), "null character"),
        (b"PK\x03\x04" + bytes(500), "not a CSV file"),
    ],
    ids=["huge-cell", "nul-byte", "spreadsheet"],
)
def test_browser_upload_of_a_hostile_file_is_a_row_error_and_writes_nothing(client, login, upload, expected):
    school = make_school()
    login(make_user(Role.SCHOOL, school_id=school.id))
    response = _upload(client, upload)
    assert "Nothing was imported" in response.get_data(as_text=True)
    assert expected in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Student).where(Student.school_id == school.id)) == 0


def test_a_re_import_updates_changed_students_and_their_codes_in_bulk_and_leaves_the_rest():
    school = make_school()
    import_students(db.session, school, (HEADER + ROWS).encode())
    changed = ROWS.replace("quiet_space;easy_read_materials", "bsl_makaton").replace("Ben,Jones,11", "Ben,Jones,12")
    report = import_students(db.session, school, (HEADER + changed).encode())
    assert (report.created, report.updated, report.unchanged) == (0, 2, 1)
    students = _students(school)
    assert students["1001"].need_codes == ["bsl_makaton"]
    assert students["1001"].interest_codes == ["healthcare"]
    assert students["1002"].year_group == 12
    assert students["1003"].need_codes == ["step_free_access"]
