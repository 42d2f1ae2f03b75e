"""The hub's page: each school's figures (totals only) and access needs against sessions within 15 km."""

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
    make_offer(features=["quiet_space"])  # Manchester: within 15 km of Near School
    make_offer(features=["step_free_access"], location=LEEDS)  # too far
    make_offer(features=["step_free_access"], status="draft")  # not bookable
    return {"hub": the_hub, "near": near, "far": far, "students": students,
            "coordinator": make_user(Role.HUB, hub_id=the_hub.id)}


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(dt.datetime(2026, 11, 23, 12, tzinfo=dt.UTC), tick=False):
        yield


def test_supply_against_demand(world):
    rows = {r.feature: r for r in hub.access_supply_demand(db.session, world["hub"].id, dt.datetime.now(dt.UTC))}
    assert (rows["quiet_space"].students, rows["quiet_space"].sessions) == (2, 1)  # the outsider is not counted
    assert rows["quiet_space"].short
    assert (rows["step_free_access"].students, rows["step_free_access"].sessions) == (1, 0)
    assert (rows["bsl_makaton"].students, rows["bsl_makaton"].sessions) == (1, 0)
    assert not rows["remote_option"].short


def test_hub_page_shows_each_schools_totals_and_no_student_detail(client, login, world):
    login(world["coordinator"])
    page = client.get("/hub/progress?year=2026").get_data(as_text=True)
    assert "Near School" in page and "Other School" in page and "Outside School" not in page
    cell = re.search(rf'data-school="{world["near"].id}" data-measure="bm5_meaningful" data-met="(\d+)" data-total="(\d+)"', page)
    assert cell is not None and cell.groups() == ("1", "2")
    assert re.search(r'data-need="quiet_space" data-students="2" data-sessions="1"', page)
    assert "EHCP" not in page
    for student in world["students"]:
        assert student.first_name not in page
    assert "/school/progress/students" not in page
