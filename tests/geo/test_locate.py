"""Every school, employer and offer is placed on the map from its postcode where it is created."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from portal.core.csvimport import ImportFailed
from portal.core.vocab import OfferStatus
from portal.db import utcnow
from portal.demo import EMPLOYERS, SCHOOLS, seed_demo
from portal.extensions import db
from portal.geo import get_geocoder
from portal.offers.models import Offer
from portal.organisations.imports import import_schools
from portal.organisations.models import Employer, School

PASSWORD = "plum-orchard-lantern-7"


def _school_form(**overrides):
    data = {"name": "Oak Hill Academy", "urn": "123456", "school_type": "special", "postcode": "m13 9pl",
            "person_name": "Sam Careers", "email": "sam@oakhill.example", "password": PASSWORD}
    data.update(overrides)
    return data


def _employer_form(**overrides):
    data = {"name": "Acme Engineering", "sector": "engineering_maintenance", "postcode": "ls1 1ur",
            "person_name": "Jo Maker", "email": "jo@acme.example", "password": PASSWORD}
    data.update(overrides)
    return data


def test_school_registration_geocodes_the_postcode(client):
    assert client.post("/register/school", data=_school_form()).status_code == 302
    school = db.session.scalars(select(School).where(School.urn == "123456")).one()
    assert school.latitude == pytest.approx(53.4669, abs=1e-3) and school.longitude == pytest.approx(-2.2336, abs=1e-3)
    assert school.location_approximate is False


def test_employer_registration_geocodes_the_postcode(client):
    assert client.post("/register/employer", data=_employer_form()).status_code == 302
    employer = db.session.scalars(select(Employer).where(Employer.name == "Acme Engineering")).one()
    assert employer.latitude == pytest.approx(53.80, abs=0.02)


@pytest.mark.parametrize(("path", "form"), [("/register/school", _school_form), ("/register/employer", _employer_form)])
def test_registration_with_an_unknown_postcode_district_is_a_form_error(client, path, form):
    response = client.post(path, data=form(postcode="ZZ9 9ZZ"))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'href="#postcode"' in page and "We cannot find the postcode district ZZ9" in page
    assert db.session.scalars(select(School)).first() is None
    assert db.session.scalars(select(Employer)).first() is None


def test_a_new_postcode_in_a_known_district_is_placed_approximately(client):
    assert client.post("/register/school", data=_school_form(postcode="M13 9ZZ")).status_code == 302
    school = db.session.scalars(select(School).where(School.urn == "123456")).one()
    assert school.location_approximate is True and school.latitude == pytest.approx(53.45, abs=0.05)


def test_school_import_geocodes_and_reports_unknown_districts():
    report = import_schools(db.session, b"urn,name,school_type,postcode\n100001,North School,mainstream,M13 9PL\n")
    assert report.created == 1
    school = db.session.scalars(select(School).where(School.urn == "100001")).one()
    assert school.latitude == pytest.approx(53.4669, abs=1e-3)
    with pytest.raises(ImportFailed) as failure:
        import_schools(db.session, b"urn,name,school_type,postcode\n100002,Lost School,mainstream,ZZ9 9ZZ\n")
    assert [(e.line, e.column) for e in failure.value.errors] == [(2, "postcode")]
    assert "ZZ9" in failure.value.errors[0].reason


def test_every_demo_postcode_is_in_the_directory():
    geocoder = get_geocoder()
    postcodes = [row[3] for row in SCHOOLS] + [row[3] for row in EMPLOYERS]
    approximate = [pc for pc in postcodes if geocoder.locate(pc).approximate]
    assert approximate == []


def test_demo_employers_have_complete_profiles_and_published_offers():
    seed_demo(db.session)
    now = utcnow()
    employers = db.session.scalars(select(Employer).where(Employer.ref.in_([row[0] for row in EMPLOYERS]))).all()
    assert len(employers) == len(EMPLOYERS)
    for employer in employers:
        assert employer.latitude is not None and employer.safeguarding_lead_email and employer.insurer
        assert employer.insurance_expiry > dt.date.today() + dt.timedelta(days=200)
        offers = db.session.scalars(select(Offer).where(Offer.employer_id == employer.id)).all()
        assert 1 <= len(offers) <= 3, employer.ref
        for offer in offers:
            assert offer.status == OfferStatus.PUBLISHED.value
            assert any(s.starts_at > now for s in offer.sessions) and offer.features
    schools = db.session.scalars(select(School).where(School.urn.in_([row[0] for row in SCHOOLS]))).all()
    assert all(school.latitude is not None for school in schools)
    count = len(db.session.scalars(select(Offer.id)).all())
    seed_demo(db.session)  # idempotent
    assert len(db.session.scalars(select(Offer.id)).all()) == count
