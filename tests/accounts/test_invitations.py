"""Inviting colleagues and giving students a sign-in: expiring, single-use links through the outbox."""

from __future__ import annotations

import datetime as dt
import re

import time_machine
from sqlalchemy import select

from portal.accounts.models import User
from portal.core.models import OutboxMessage
from portal.core.vocab import Role
from portal.extensions import db
from tests.factories import make_school, make_student, make_user

NEW_PASSWORD = "copper-meadow-signal-88"


def _link(to: str) -> str:
    body = db.session.scalars(
        select(OutboxMessage.body).where(OutboxMessage.recipient == to).order_by(OutboxMessage.id.desc())
    ).first()
    return re.search(r"http://portal\.test(/\S+)", body).group(1)


def test_invited_colleague_joins_the_same_school(app, client, login):
    school = make_school()
    login(make_user(Role.SCHOOL, school_id=school.id))
    response = client.post("/team/invite", data={"name": "Pat Senco", "email": "pat@school.example"})
    assert response.status_code == 302
    invitee = app.test_client()
    path = _link("pat@school.example")
    assert invitee.post(path, data={"name": "Pat Senco", "password": NEW_PASSWORD}).status_code == 302
    user = db.session.scalars(select(User).where(User.email == "pat@school.example")).one()
    assert user.school_id == school.id and user.role == "school" and user.has_password
    assert invitee.get("/school").status_code == 200


def test_invitation_expires_after_seven_days(app, client, login):
    login(make_user(Role.EMPLOYER))
    client.post("/team/invite", data={"name": "Late", "email": "late@example.org"})
    path = _link("late@example.org")
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=7, minutes=1)):
        assert app.test_client().get(path).status_code == 410


def test_invited_account_cannot_sign_in_before_accepting(client, login):
    login(make_user(Role.SCHOOL))
    client.post("/team/invite", data={"name": "Pending", "email": "pending@example.org"})
    client.post("/sign-out")
    response = client.post("/sign-in", data={"email": "pending@example.org", "password": "anything-long-enough"})
    assert response.status_code == 400


def test_student_gets_a_one_time_link_and_sees_their_own_record(app, client, login):
    school = make_school(name="Riverside High")
    student = make_student(school, first_name="Maya")
    login(make_user(Role.SCHOOL, school_id=school.id))
    response = client.post(f"/students/{student.id}/sign-in", data={"email": "maya@riverside.example"})
    page = response.get_data(as_text=True)
    assert "Set-password link created" in page
    path = re.search(r"http://portal\.test(/welcome/\S+?)<", page).group(1)
    assert path == _link("maya@riverside.example")
    student_client = app.test_client()
    assert student_client.post(path, data={"name": "Maya", "password": NEW_PASSWORD}).status_code == 302
    record = student_client.get("/my-record")
    assert record.status_code == 200 and "Riverside High" in record.get_data(as_text=True)
    assert student_client.get("/students").status_code == 403
    assert student_client.post(path, data={"name": "Maya", "password": NEW_PASSWORD}).status_code == 410
