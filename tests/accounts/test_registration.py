"""Registering a school or an employer makes the first staff member and signs them in."""

from __future__ import annotations

from sqlalchemy import select

from portal.accounts.models import User
from portal.extensions import db
from portal.organisations.models import Employer, School
from tests.factories import make_school

GOOD_PASSWORD = "plum-orchard-lantern-7"


def _school_form(**overrides):
    data = {
        "name": "Oak Hill Academy", "urn": "123456", "school_type": "special", "postcode": "m13 9pl",
        "person_name": "Sam Careers", "email": "Sam@OakHill.example", "password": GOOD_PASSWORD,
    }
    data.update(overrides)
    return data


def test_school_registration_creates_school_and_first_staff_member(client):
    response = client.post("/register/school", data=_school_form())
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/school")
    school = db.session.scalars(select(School).where(School.urn == "123456")).one()
    assert school.postcode == "M13 9PL"  # normalised
    assert school.school_type == "special"
    user = db.session.scalars(select(User).where(User.email == "sam@oakhill.example")).one()
    assert user.school_id == school.id and user.role == "school"
    assert client.get("/school").status_code == 200  # signed in


def test_school_registration_rejects_invalid_postcode_beside_the_field(client):
    response = client.post("/register/school", data=_school_form(postcode="not a postcode"))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "There is a problem" in page
    assert 'href="#postcode"' in page
    assert "Enter a real postcode" in page
    assert db.session.scalars(select(School).where(School.urn == "123456")).first() is None


def test_school_registration_refuses_a_urn_already_registered(client):
    make_school(urn="123456")
    response = client.post("/register/school", data=_school_form())
    assert response.status_code == 400
    assert "already registered" in response.get_data(as_text=True)


def test_registration_refuses_weak_and_common_passwords(client):
    short = client.post("/register/school", data=_school_form(password="short"))
    assert "12 characters or more" in short.get_data(as_text=True)
    common = client.post("/register/school", data=_school_form(password="password1234"))
    assert "too common" in common.get_data(as_text=True)


def test_employer_registration_generates_a_unique_reference(client):
    response = client.post("/register/employer", data={
        "name": "Acme Engineering Ltd", "sector": "engineering_maintenance", "postcode": "M1 3BN",
        "person_name": "Jo Employer", "email": "jo@acme.example", "password": GOOD_PASSWORD,
    })
    assert response.status_code == 302
    employer = db.session.scalars(select(Employer).where(Employer.name == "Acme Engineering Ltd")).one()
    assert employer.ref.startswith("acme-engineering-ltd-")
    assert employer.vetting_status == "pending"


def test_registration_with_an_email_in_use_is_refused(client):
    client.post("/register/employer", data={
        "name": "First", "sector": "healthcare", "postcode": "M1 3BN",
        "person_name": "A", "email": "taken@example.org", "password": GOOD_PASSWORD,
    })
    client.post("/sign-out")
    response = client.post("/register/school", data=_school_form(email="TAKEN@example.org"))
    assert response.status_code == 400
    assert "already exists" in response.get_data(as_text=True)
