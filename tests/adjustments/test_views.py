"""The pages of an adjustment request, end to end: the SENCO asks from a near miss, the employer sees only the need,
year group, school and first name and says yes, and the student can then be booked; other schools, employers and
hubs see nothing of it."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from portal.adjustments.models import AdjustmentRequest
from portal.bookings.models import Booking
from portal.core.vocab import Role
from portal.extensions import db
from tests.factories import (
    make_employer,
    make_hub,
    make_offer,
    make_school,
    make_student,
    make_user,
)

SCHOOL_AT = (53.4809, -2.2374)


@pytest.fixture
def hub():
    return make_hub()


@pytest.fixture
def school(hub):
    return make_school(latitude=SCHOOL_AT[0], longitude=SCHOOL_AT[1], min_notice_days=0, hub_id=hub.id)


@pytest.fixture
def senco(school):
    return make_user(Role.SCHOOL, school=school)


@pytest.fixture
def employer():
    return make_employer(name="Riverside Labs", insurance_expiry=dt.date.today() + dt.timedelta(days=400))


@pytest.fixture
def boss(employer):
    return make_user(Role.EMPLOYER, employer=employer)


@pytest.fixture
def student(school):
    return make_student(school, first_name="Isla", last_name="Quinton", needs=["quiet_space", "flexible_hours"],
                        send_status="ehcp")


@pytest.fixture
def offer(employer):
    return make_offer(employer, title="Lab open day", features=["quiet_space"])


def _ask(client, student, offer):
    return client.post(f"/school/students/{student.id}/sessions/{offer.sessions[0].id}/adjustment",
                       data={"needs": ["flexible_hours"]})


def test_senco_asks_employer_answers_yes_senco_books(client, login, senco, boss, student, offer):
    login(senco)
    book_button = f'name="session_id" value="{offer.sessions[0].id}"'
    page = client.get(f"/match?student_id={student.id}").get_data(as_text=True)
    _, _, near = page.partition('id="near-misses"')
    assert book_button not in page and "Lab open day" in near
    link = f"/school/students/{student.id}/sessions/{offer.sessions[0].id}/adjustment"
    assert link in near
    form = client.get(link).get_data(as_text=True)
    assert "Flexible or shorter hours" in form and "Year 10 student" in form
    response = _ask(client, student, offer)
    assert response.status_code == 302 and response.headers["Location"].endswith("/school/adjustments")
    assert "Waiting for an answer" in client.get("/school/adjustments").get_data(as_text=True)

    login(boss)
    home = client.get("/employer").get_data(as_text=True)
    assert "1 adjustment request to answer" in home
    [request] = db.session.scalars(select(AdjustmentRequest)).all()
    detail = client.get(f"/employer/adjustments/{request.id}").get_data(as_text=True)
    assert "Isla" in detail and "Year 10" in detail and senco.school.name in detail
    for secret in ("Quinton", "EHCP", "SEN support", "Quiet space"):
        assert secret not in detail
    response = client.post(f"/employer/adjustments/{request.id}", data={"answer": "yes", "note": "We start at 10"})
    assert response.status_code == 302
    assert "1 adjustment request" not in client.get("/employer").get_data(as_text=True)

    login(senco)
    requests = client.get("/school/adjustments").get_data(as_text=True)
    assert "Yes" in requests and "We start at 10" in requests
    page = client.get(f"/match?student_id={student.id}").get_data(as_text=True)
    bookable, _, _ = page.partition('id="near-misses"')
    assert book_button in bookable and "the employer agreed to provide flexible or shorter hours" in bookable
    response = client.post("/bookings/new", data={"session_id": offer.sessions[0].id, "student_ids": [student.id]})
    assert response.status_code == 200 and "1 booking request sent" in response.get_data(as_text=True)
    booked = db.session.scalar(select(Booking).where(Booking.student_id == student.id))
    assert booked is not None and booked.session_id == offer.sessions[0].id and booked.is_requested


def test_asking_twice_shows_the_refusal_beside_the_form(client, login, senco, student, offer):
    login(senco)
    _ask(client, student, offer)
    response = _ask(client, student, offer)
    assert response.status_code == 400
    assert "already asked about this session for Isla" in response.get_data(as_text=True)


def test_nothing_to_ask_when_the_offer_already_fits(client, login, senco, school, employer):
    fitting = make_offer(employer, features=["quiet_space", "flexible_hours"])
    student = make_student(school, needs=["quiet_space"])
    login(senco)
    page = client.get(f"/school/students/{student.id}/sessions/{fitting.sessions[0].id}/adjustment")
    assert page.status_code == 200 and "there is nothing to ask" in page.get_data(as_text=True)
    assert _ask(client, student, fitting).status_code == 200
    assert db.session.scalar(select(AdjustmentRequest.id)) is None


def test_other_schools_employers_and_hubs_see_nothing_of_it(client, login, senco, boss, student, offer):
    login(senco)
    _ask(client, student, offer)
    [request] = db.session.scalars(select(AdjustmentRequest)).all()
    other_school = make_user(Role.SCHOOL)
    login(other_school)
    assert _ask(client, student, offer).status_code == 404
    assert "Lab open day" not in client.get("/school/adjustments").get_data(as_text=True)
    login(make_user(Role.EMPLOYER))
    assert client.get(f"/employer/adjustments/{request.id}").status_code == 404
    assert client.post(f"/employer/adjustments/{request.id}", data={"answer": "yes"}).status_code == 404
    assert "Lab open day" not in client.get("/employer/adjustments").get_data(as_text=True)
    login(make_user(Role.HUB))
    assert "Lab open day" not in client.get("/hub/adjustments").get_data(as_text=True)
    db.session.refresh(request)
    assert request.is_pending


def test_a_hub_asks_from_its_gaps_and_sees_only_its_own_requests(client, login, hub, offer, boss):
    coordinator = make_user(Role.HUB, hub=hub)
    login(coordinator)
    response = client.post("/hub/adjustments", data={"session_id": offer.sessions[0].id, "year_group": 10,
                                                     "needs": ["flexible_hours"]})
    assert response.status_code == 302
    listing = client.get("/hub/adjustments").get_data(as_text=True)
    assert "Riverside Labs" in listing and "flexible or shorter hours" in listing
    login(make_user(Role.HUB))
    assert "Riverside Labs" not in client.get("/hub/adjustments").get_data(as_text=True)
    login(boss)
    assert "A careers hub" in client.get("/employer/adjustments").get_data(as_text=True)


@pytest.mark.parametrize("session_id", ["0", "99999999999999999999", "abc"])
def test_a_hub_request_for_a_session_that_cannot_exist_is_a_404(client, login, hub, session_id):
    login(make_user(Role.HUB, hub=hub))
    response = client.post("/hub/adjustments", data={"session_id": session_id, "year_group": 10,
                                                     "needs": ["flexible_hours"]})
    assert response.status_code == 404


def test_the_hub_sees_each_employers_answer_rate(client, login, hub, senco, boss, student, offer, employer):
    login(senco)
    _ask(client, student, offer)
    login(make_user(Role.HUB, hub=hub))
    assert "No requests yet" in client.get("/hub/employers").get_data(as_text=True)  # still within the 5 days
    [request] = db.session.scalars(select(AdjustmentRequest)).all()
    login(boss)
    client.post(f"/employer/adjustments/{request.id}", data={"answer": "no"})
    login(make_user(Role.HUB, hub=hub))
    page = client.get("/hub/employers").get_data(as_text=True)
    assert "Answered 1 of 1 (0 yes)" in page
    login(make_user(Role.HUB))
    assert "Answered 1 of 1" not in client.get("/hub/employers").get_data(as_text=True)
