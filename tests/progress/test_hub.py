"""The hub's page: each school's figures (totals only) and the real combinations of needs, by year group, against
the sessions that meet them all; every status and sentence true of the data; the CLI prints the same rows."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine

from portal.core.vocab import ActivityType, Role
from portal.extensions import db
from portal.progress import hub
from portal.reflections.encounters import log_encounter
from tests.factories import make_hub, make_offer, make_school, make_student, make_user

LEEDS = (53.7997, -1.5492)  # about 60 km from Manchester


@pytest.fixture
def world():
    the_hub = make_hub()
    near = make_school(hub_id=the_hub.id, name="Near School", latitude=53.4668, longitude=-2.2339)
    far = make_school(hub_id=the_hub.id, name="Other School")  # not geocoded: no supply counted from it
    outsider = make_school(name="Outside School", latitude=53.4668, longitude=-2.2339)
    students = [make_student(near, year_group=9, needs=["quiet_space"], send_status="ehcp"),
                make_student(near, year_group=9, needs=["quiet_space", "step_free_access"]),
                make_student(far, year_group=10, needs=["bsl_makaton"]),
                make_student(outsider, needs=["quiet_space"])]
    log_encounter(db.session, near, None, held_on=dt.date(2026, 10, 1), activity_type=ActivityType.CAREERS_TALK,
                  employer_name="Acme", student_ids=[students[0].id], debriefed=True)
    make_offer(features=["quiet_space"], year_groups=[9, 10])  # Manchester: within 15 km of Near School
    make_offer(features=["step_free_access"], location=LEEDS)  # too far
    make_offer(features=["step_free_access"], status="draft")  # not bookable
    return {"hub": the_hub, "near": near, "far": far, "students": students,
            "coordinator": make_user(Role.HUB, hub_id=the_hub.id)}


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(dt.datetime(2026, 11, 23, 12, tzinfo=dt.UTC), tick=False):
        yield


def _gaps(world, **kw):
    return {(r.year_group, r.needs): r for r in hub.need_gaps(db.session, world["hub"].id, dt.datetime.now(dt.UTC),
                                                               **kw)}


def test_demand_is_each_real_combination_by_year_group_and_the_outsider_is_not_counted(world):
    rows = _gaps(world)
    assert {key: row.students for key, row in rows.items()} == {
        (9, ("quiet_space",)): 1, (9, ("quiet_space", "step_free_access")): 1, (10, ("bsl_makaton",)): 1}


def test_supply_meets_the_whole_combination_for_the_year_group_within_the_schools_radius(world):
    rows = _gaps(world)
    quiet = rows[(9, ("quiet_space",))]
    assert (quiet.sessions, quiet.free_places, quiet.status) == (1, 10, "enough")
    both = rows[(9, ("quiet_space", "step_free_access"))]
    assert (both.sessions, both.status) == (0, "none")  # each need has a session, no one session has both
    [near] = both.near_misses
    assert near.need == "step_free_access" and len(near.employers) == 1
    assert both.near_miss_sentence(near) == "1 employer within 15 km meets all but step-free access"
    assert rows[(10, ("bsl_makaton",))].status == "none"  # its school has no location: nothing is within reach
    assert list(rows)[-1] == (9, ("quiet_space",))  # combinations with no supply come first


def test_the_old_single_need_enough_is_no_longer_said_for_a_combination_nothing_meets(world):
    """Each single need has sessions (the old table said Enough for both), but no session has all three."""
    school = world["near"]
    make_offer(features=["step_free_access", "flexible_hours"], year_groups=[9])
    make_offer(features=["quiet_space", "flexible_hours"], year_groups=[9])
    make_student(school, year_group=9, needs=["quiet_space", "step_free_access", "flexible_hours"])
    row = _gaps(world)[(9, ("flexible_hours", "quiet_space", "step_free_access"))]
    assert (row.sessions, row.status) == (0, "none")
    assert sorted(n.need for n in row.near_misses) == ["quiet_space", "step_free_access"]


@pytest.mark.parametrize("spoiler", ["full", "wrong_year", "unvetted", "outside_radius", "past"])
def test_sessions_that_break_a_rule_are_not_supply(world, spoiler):
    school = world["near"]
    make_student(school, year_group=8, needs=["remote_option"])
    kw = {"features": ["remote_option"], "year_groups": [8]}
    if spoiler == "wrong_year":
        kw["year_groups"] = [11]
    if spoiler == "unvetted":
        from tests.factories import make_employer
        kw["employer"] = make_employer(vetting_status="pending")
    if spoiler == "outside_radius":
        school.match_radius_km = 1.0
    offer = make_offer(**kw)
    if spoiler == "full":
        offer.sessions[0].booked = offer.sessions[0].capacity
    if spoiler == "past":
        offer.sessions[0].starts_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
        offer.sessions[0].ends_at = offer.sessions[0].starts_at + dt.timedelta(hours=2)
    db.session.flush()
    assert _gaps(world)[(8, ("remote_option",))].status == "none"


def test_short_when_fewer_free_places_than_students(world):
    offer = make_offer(features=["accessible_toilet"], year_groups=[7])
    offer.sessions[0].capacity = 1
    for _ in range(2):
        make_student(world["near"], year_group=7, needs=["accessible_toilet"])
    db.session.flush()
    row = _gaps(world)[(7, ("accessible_toilet",))]
    assert (row.free_places, row.students, row.status) == (1, 2, "short")


def test_the_cli_and_the_hub_page_agree(world, client, login, app):
    import json

    from portal.progress.cli import hub_gaps_command

    result = app.test_cli_runner().invoke(hub_gaps_command, ["--hub", world["hub"].name, "--json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    login(world["coordinator"])
    page = client.get("/hub/progress?year=2026").get_data(as_text=True)
    shown = [dict(zip(("year_group", "needs", "students", "sessions", "free_places", "status"), m, strict=True))
             for m in re.findall(r'data-year="(\d+)" data-needs="([a-z_,]+)" data-students="(\d+)" '
                                 r'data-sessions="(\d+)" data-free="(\d+)" data-status="([a-z]+)"', page)]
    assert [{"year_group": r["year_group"], "needs": r["needs"], "students": r["students"], "sessions": r["sessions"],
             "free_places": r["free_places"], "status": r["status"]} for r in printed] == [
        {**row, "year_group": int(row["year_group"]), "needs": row["needs"].split(","), "students": int(row["students"]),
         "sessions": int(row["sessions"]), "free_places": int(row["free_places"])} for row in shown]
    assert len(shown) == 3


def test_the_cli_refuses_an_unknown_hub(app):
    from portal.progress.cli import hub_gaps_command

    result = app.test_cli_runner().invoke(hub_gaps_command, ["--hub", "No Such Hub"])
    assert result.exit_code != 0 and "No hub is called 'No Such Hub'" in result.output


def test_hub_page_shows_each_schools_totals_and_no_student_detail(client, login, world):
    login(world["coordinator"])
    page = client.get("/hub/progress?year=2026").get_data(as_text=True)
    assert "Near School" in page and "Other School" in page and "Outside School" not in page
    cell = re.search(rf'data-school="{world["near"].id}" data-measure="bm5_meaningful" data-met="(\d+)" data-total="(\d+)"', page)
    assert cell is not None and cell.groups() == ("1", "2")
    assert re.search(r'data-year="9" data-needs="quiet_space" data-students="1" data-sessions="1"', page)
    assert "1 employer within 15 km meets all but step-free access" in page
    assert re.search(r'action="/hub/adjustments".*?name="year_group" value="9">\s*<input type="hidden" '
                     r'name="needs" value="step_free_access">', page, re.S)
    assert "EHCP" not in page
    for student in world["students"]:
        assert student.first_name not in page
    assert "/school/progress/students" not in page
