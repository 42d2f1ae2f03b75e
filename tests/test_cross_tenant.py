"""A user of one school, employer or hub never sees or changes another's data (two of each)."""

from __future__ import annotations

import pytest

from portal.core.vocab import Role
from portal.extensions import db
from portal.organisations.models import Student
from tests.factories import make_employer, make_hub, make_school, make_student, make_user


@pytest.fixture
def two_schools():
    a, b = make_school(name="School A"), make_school(name="School B")
    return {
        "a": a, "b": b,
        "student_a": make_student(a, first_name="Alice"),
        "student_b": make_student(b, first_name="Bilal"),
        "staff_a": make_user(Role.SCHOOL, school_id=a.id),
        "staff_b": make_user(Role.SCHOOL, school_id=b.id),
    }


@pytest.mark.parametrize("path", ["/students/{id}", "/students/{id}/edit", "/students/{id}/sign-in"])
def test_school_staff_cannot_open_another_schools_student(client, login, two_schools, path):
    login(two_schools["staff_a"])
    url = path.format(id=two_schools["student_b"].id)
    assert client.get(url).status_code == 404
    assert client.get(path.format(id=two_schools["student_a"].id)).status_code == 200


def test_school_staff_cannot_change_another_schools_student(client, login, two_schools):
    login(two_schools["staff_a"])
    victim = two_schools["student_b"]
    response = client.post(f"/students/{victim.id}/edit", data={"first_name": "Hacked"})
    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(Student, victim.id).first_name == "Bilal"


def test_roster_lists_only_own_students(client, login, two_schools):
    login(two_schools["staff_a"])
    page = client.get("/students").get_data(as_text=True)
    assert "Alice" in page
    assert "Bilal" not in page


def test_team_page_lists_only_own_colleagues(client, login, two_schools):
    login(two_schools["staff_a"])
    page = client.get("/team").get_data(as_text=True)
    assert two_schools["staff_a"].email in page
    assert two_schools["staff_b"].email not in page


def test_employer_team_pages_are_separate(client, login):
    one, two = make_employer(), make_employer()
    staff_one, staff_two = make_user(Role.EMPLOYER, employer_id=one.id), make_user(Role.EMPLOYER, employer_id=two.id)
    login(staff_one)
    page = client.get("/team").get_data(as_text=True)
    assert staff_one.email in page and staff_two.email not in page
    assert two.name not in client.get("/employer").get_data(as_text=True)


def test_hub_coordinator_sees_only_own_hubs_schools(client, login):
    hub_a, hub_b = make_hub(), make_hub()
    make_school(name="Hub A School", hub_id=hub_a.id)
    make_school(name="Hub B School", hub_id=hub_b.id)
    login(make_user(Role.HUB, hub_id=hub_a.id))
    page = client.get("/hub/schools").get_data(as_text=True)
    assert "Hub A School" in page and "Hub B School" not in page


def test_student_sees_only_their_own_record(client, login, two_schools):
    me = make_user(Role.STUDENT, student_id=two_schools["student_a"].id)
    login(me)
    page = client.get("/my-record").get_data(as_text=True)
    assert "Alice" in page and "Bilal" not in page
    assert client.get(f"/students/{two_schools['student_b'].id}").status_code == 403
