"""Encounters logged outside the portal: for many students at once, in the browser and from CSV (all or nothing)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from portal.core.vocab import Role
from portal.extensions import db
from portal.reflections.models import EncounterAttendance, EncounterLog
from tests.factories import make_school, make_student, make_user


@pytest.fixture
def school():
    return make_school(urn="700123")


def test_log_a_whole_year_group(client, login, school):
    year9 = [make_student(school, year_group=9) for _ in range(3)]
    make_student(school, year_group=9, left_on=dt.date(2026, 1, 1))  # left: not logged
    make_student(school, year_group=10)
    login(make_user(Role.SCHOOL, school_id=school.id))
    response = client.post("/school/encounters/new", data={
        "held_on-day": "14", "held_on-month": "10", "held_on-year": "2026", "activity_type": "careers_talk",
        "employer_name": "NHS Trust", "who": "year", "year_group": "9", "debriefed": "y"})
    assert response.status_code == 302
    log = db.session.query(EncounterLog).one()
    assert (log.held_on, log.activity_type, log.employer_name) == (dt.date(2026, 10, 14), "careers_talk", "NHS Trust")
    lines = db.session.query(EncounterAttendance).all()
    assert sorted(a.student_id for a in lines) == sorted(s.id for s in year9)
    assert all(a.attended and a.debriefed for a in lines)
    assert "NHS Trust" in client.get("/school/encounters").get_data(as_text=True)


def test_log_ticked_students(client, login, school):
    a, b, _ = (make_student(school, year_group=11) for _ in range(3))
    login(make_user(Role.SCHOOL, school_id=school.id))
    page = client.get("/school/encounters/new?year=11").get_data(as_text=True)
    assert a.full_name in page
    response = client.post("/school/encounters/new?year=11", data={
        "held_on-day": "1", "held_on-month": "9", "held_on-year": "2026", "activity_type": "mock_interview",
        "employer_name": "Bank", "who": "students", "student_ids": [str(a.id), str(b.id)]})
    assert response.status_code == 302
    assert sorted(x.student_id for x in db.session.query(EncounterAttendance)) == sorted([a.id, b.id])
    assert not any(x.debriefed for x in db.session.query(EncounterAttendance))


def test_cannot_log_another_schools_students_or_a_future_date(client, login, school):
    other = make_student(make_school(), year_group=11)
    login(make_user(Role.SCHOOL, school_id=school.id))
    response = client.post("/school/encounters/new", data={
        "held_on-day": "1", "held_on-month": "9", "held_on-year": "2026", "activity_type": "mock_interview",
        "employer_name": "Bank", "who": "students", "student_ids": [str(other.id)]})
    assert response.status_code == 200  # not a choice on this school's form
    future = dt.date.today() + dt.timedelta(days=30)
    response = client.post("/school/encounters/new", data={
        "held_on-day": str(future.day), "held_on-month": str(future.month), "held_on-year": str(future.year),
        "activity_type": "careers_talk", "employer_name": "X", "who": "year", "year_group": "11"})
    assert "today or in the past" in response.get_data(as_text=True)
    assert db.session.query(EncounterLog).count() == 0


CSV_OK = """student_ref,date,activity_type,employer_name,attended,debriefed
R1,2026-10-14,careers_talk,NHS Trust,yes,yes
R2,2026-10-14,careers_talk,NHS Trust,no,no
R1,2026-06-01,work_experience,Garage Ltd,yes,no
"""


def _students(school):
    return {ref: make_student(school, student_ref=ref) for ref in ("R1", "R2")}


def test_import_encounters_groups_rows_and_is_repeatable(app, school, tmp_path):
    students = _students(school)
    path = tmp_path / "encounters.csv"
    path.write_text(CSV_OK)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["import", "encounters", "--school", "700123", str(path), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["created"] == 3
    assert db.session.query(EncounterLog).count() == 2
    lines = {(a.student_id, a.log.activity_type): a for a in db.session.query(EncounterAttendance)}
    assert lines[(students["R2"].id, "careers_talk")].attended is False
    assert lines[(students["R1"].id, "careers_talk")].debriefed is True
    again = runner.invoke(args=["import", "encounters", "--school", "700123", str(path), "--json"])
    assert json.loads(again.output)["unchanged"] == 3
    assert db.session.query(EncounterAttendance).count() == 3


def test_import_dry_run_writes_nothing(app, school, tmp_path):
    _students(school)
    path = tmp_path / "encounters.csv"
    path.write_text(CSV_OK)
    result = app.test_cli_runner().invoke(args=["import", "encounters", "--school", "700123", str(path), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Would import: 3 new" in result.output
    assert db.session.query(EncounterLog).count() == 0


def test_import_reports_line_column_reason_and_writes_nothing(app, school, tmp_path):
    _students(school)
    make_student(make_school(), student_ref="R9")  # another school's student
    path = tmp_path / "bad.csv"
    path.write_text(
        "student_ref,date,activity_type,employer_name,attended,debriefed\n"
        "R1,2026-10-14,careers_talk,NHS Trust,yes,yes\n"
        "R9,2026-10-14,careers_talk,NHS Trust,yes,no\n"
        "R2,14/10/2026,careers_talk,NHS Trust,yes,no\n"
        "R2,2026-10-14,juggling,NHS Trust,maybe,no\n"
        "R2,2026-10-15,careers_talk,NHS Trust,no,yes\n"
        "R1,2026-10-14,careers_talk,NHS Trust,yes,no\n"
        "R2,2999-01-01,careers_talk,NHS Trust,yes,no\n"
    )
    result = app.test_cli_runner().invoke(args=["import", "encounters", "--school", "700123", str(path)])
    assert result.exit_code == 1
    out = result.output
    assert "line 3, column student_ref: 'R9' is not a student of this school" in out
    assert "line 4, column date:" in out
    assert "line 5, column activity_type:" in out
    assert "line 5, column attended: 'maybe' must be yes or no" in out
    assert "line 6, column debriefed: a student who did not attend cannot have been debriefed" in out
    assert "line 7, column student_ref: 'R1' is listed twice for this encounter" in out
    assert "line 8, column date: 2999-01-01 is in the future" in out
    assert db.session.query(EncounterLog).count() == 0


def test_import_unknown_school(app, tmp_path):
    path = tmp_path / "e.csv"
    path.write_text(CSV_OK)
    result = app.test_cli_runner().invoke(args=["import", "encounters", "--school", "999999", str(path)])
    assert result.exit_code != 0
    assert "No school has URN 999999" in result.output
