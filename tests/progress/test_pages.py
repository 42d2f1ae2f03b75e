"""The progress pages: the dashboard shows the CLI's numbers, drills down to students, exports safe CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re

import pytest
import time_machine

from portal.core.vocab import ActivityType, Role
from portal.extensions import db
from portal.progress.exports import neutralise
from portal.reflections.encounters import log_encounter
from tests.factories import make_school, make_student, make_user


@pytest.fixture
def world():
    school = make_school(urn="654999")
    students = [
        make_student(school, year_group=9, send_status="ehcp", first_name="Ehcp"),
        make_student(school, year_group=9, send_status="sen_support", disadvantaged=True),
        make_student(school, year_group=10, first_name="=cmd|'/c calc'!A1"),
        make_student(school, year_group=12),
        make_student(school, year_group=12, disadvantaged=True),
    ]
    log_encounter(db.session, school, None, held_on=dt.date(2026, 10, 1), activity_type=ActivityType.CAREERS_TALK,
                  employer_name="Acme", student_ids=[s.id for s in students[1:4]], debriefed=True)
    log_encounter(db.session, school, None, held_on=dt.date(2026, 10, 2), activity_type=ActivityType.WORK_EXPERIENCE,
                  employer_name="Garage", student_ids=[students[3].id, students[4].id], debriefed=False)
    return {"school": school, "students": students, "staff": make_user(Role.SCHOOL, school_id=school.id)}


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(dt.datetime(2026, 11, 23, 12, tzinfo=dt.UTC), tick=False):
        yield


def _cli_json(app, *extra):
    result = app.test_cli_runner().invoke(args=["benchmarks", "--school", "654999", "--json", *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_dashboard_numbers_equal_the_cli_json(app, client, login, world):
    data = _cli_json(app, "--academic-year", "2026")
    totals = data["totals"]
    login(world["staff"])
    page = client.get("/school/progress?year=2026").get_data(as_text=True)
    cells = re.findall(r'data-measure="(\w+)" data-scope="([\w:]+)" data-met="(\d+)" data-total="(\d+)"', page)
    assert len(cells) == 6 * (1 + len(totals["by_year_group"]) + len(totals["by_group"]))
    for measure, scope, met, total in cells:
        if scope == "overall":
            expected = totals["overall"][measure]
        elif scope.startswith("year:"):
            expected = totals["by_year_group"][scope[5:]][measure]
        else:
            expected = totals["by_group"][scope[6:]][measure]
        assert (int(met), int(total)) == (expected["met"], expected["total"]), (measure, scope)
    assert f'data-nothing="{totals["nothing_this_year"]}"' in page
    # and the figures themselves, so the comparison is not empty
    assert totals["overall"]["bm5_meaningful"] == {"met": 3, "total": 5, "percent": 60.0}
    assert totals["overall"]["bm6_18_attended"] == {"met": 2, "total": 2, "percent": 100.0}
    assert totals["overall"]["bm6_18_meaningful"]["met"] == 0
    assert totals["gaps"]["ehcp"]["bm5_meaningful"] == -100.0
    assert [s["student_ref"] for s in data["students"]] == [s.student_ref for s in world["students"]]


def test_default_year_is_the_current_academic_year(app, world):
    assert _cli_json(app)["totals"]["academic_year"] == 2026


def test_dashboard_highlights_gaps_and_has_a_chart_with_its_table(client, login, world):
    login(world["staff"])
    page = client.get("/school/progress").get_data(as_text=True)
    assert "Gap -100 points" in page
    assert '<svg class="pp-chart"' in page
    assert 'class="pp-chart__bar--gap"' in page
    assert "<table" in page
    assert "<script>" not in page  # no inline script (the CSP forbids it); the chart needs none


def test_drill_down_lists_the_students_behind_a_figure(client, login, world):
    login(world["staff"])
    page = client.get("/school/progress/students?year=2026&measure=bm5_meaningful&group=ehcp&met=no").get_data(as_text=True)
    assert re.findall(r'data-student="(\d+)"', page) == [str(world["students"][0].id)]
    nothing = client.get("/school/progress/students?year=2026&nothing=1").get_data(as_text=True)
    assert re.findall(r'data-student="(\d+)"', nothing) == [str(world["students"][0].id)]  # student 5 attended
    assert client.get("/school/progress/students?measure=nonsense").status_code == 404


def test_csv_export_is_the_per_student_table_with_neutralised_cells(client, login, world):
    login(world["staff"])
    response = client.get("/school/progress.csv?year=2026")
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 5
    assert rows[2]["name"].startswith("'=cmd")
    assert rows[0]["bm5_meaningful"] == "no"
    assert rows[3]["bm6_18_attended"] == "yes"
    assert rows[0]["bm6_18_attended"] == "n/a"


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx"])
def test_neutralise(text):
    assert neutralise(text) == "'" + text
    assert neutralise("Amira") == "Amira"


def test_other_schools_see_only_their_own_figures(client, login, world):
    login(make_user(Role.SCHOOL, school_id=make_school().id))
    page = client.get("/school/progress/students?year=2026").get_data(as_text=True)
    assert not re.findall(r'data-student="(\d+)"', page)
    csv_text = client.get("/school/progress.csv?year=2026").get_data(as_text=True)
    assert csv_text.count("\n") == 1  # header only


def test_dashboard_reads_are_audited(client, login, world):
    from portal.core.models import AuditEvent

    login(world["staff"])
    client.get("/school/progress")
    client.get("/school/progress.csv")
    actions = [e.action for e in db.session.query(AuditEvent).filter_by(school_id=world["school"].id)]
    assert "viewed_special_category" in actions
    assert "exported_special_category" in actions


def test_student_page_lists_the_encounters_that_count(client, login, world):
    from tests.factories import make_booking

    student = world["students"][3]  # Year 12: a careers talk (debriefed) and work experience (not debriefed)
    make_booking(student, starts_at=dt.datetime(2025, 6, 10, 9, tzinfo=dt.UTC), title="Ward visit")
    login(world["staff"])
    page = client.get(f"/school/progress/students/{student.id}?year=2026").get_data(as_text=True)
    assert page.count('data-activity="logged"') == 2
    assert page.count('data-activity="booking"') == 1
    assert "Ward visit" in page
    booking_row = re.search(r'data-activity="booking">(.*?)</tr>', page, re.S)
    assert booking_row is not None
    assert "Year 10" in booking_row.group(1)  # 10 June 2025 is in 2024/25, when this Year 12 student was in Year 10
    assert "No (not debriefed)" in booking_row.group(1)
    assert "2026/27" in page and "2020/21" not in page  # history starts in Year 7 (2021/22)
    other = make_student(make_school(), year_group=12)
    assert client.get(f"/school/progress/students/{other.id}").status_code == 404
