"""Offer pages through HTTP: who may see what, forms and their errors, search, the archive confirmation."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from portal.core.vocab import Role
from portal.extensions import db
from portal.offers.models import Offer, OfferSession
from portal.organisations.models import Employer
from tests.factories import (
    make_employer,
    make_offer,
    make_school,
    make_session,
    make_supervisor,
    make_user,
)

FUTURE = dt.date.today() + dt.timedelta(days=40)


def _insured(**kw):
    return make_employer(insurance_expiry=dt.date.today() + dt.timedelta(days=365), **kw)


def _page(response) -> str:
    return response.get_data(as_text=True)


def _offer_form(**overrides):
    data = {
        "title": "Ward insight day", "description": "See how a hospital ward runs.",
        "activity_type": "workplace_visit", "delivery_mode": "on_site", "location": "employer", "postcode": "",
        "sectors": ["healthcare"], "year_groups": ["10", "11"], "features": ["step_free_access"],
        "note_step_free_access": "Ramp at the side entrance",
    }
    data.update(overrides)
    return data


def _session_form(**overrides):
    data = {
        "start_date-day": str(FUTURE.day), "start_date-month": str(FUTURE.month), "start_date-year": str(FUTURE.year),
        "start_time": "9:30am", "end_time": "15:00", "capacity": "12",
    }
    data.update(overrides)
    return data


@pytest.fixture
def two_employers():
    """Employer A with an offer, a session and a supervisor; employer B's staff member."""
    a, b = _insured(name="Employer A"), _insured(name="Employer B")
    offer = make_offer(a, title="A's offer", status="draft")
    return {
        "a": a, "b": b, "offer": offer, "session": offer.sessions[0], "supervisor": make_supervisor(a),
        "user_a": make_user(Role.EMPLOYER, employer_id=a.id), "user_b": make_user(Role.EMPLOYER, employer_id=b.id),
    }


# --- access -----------------------------------------------------------------------------


def test_students_and_employers_cannot_search_offers(login):
    offer = make_offer()
    student = login(make_user(Role.STUDENT))
    assert student.get("/offers").status_code == 403
    assert student.get(f"/offers/{offer.id}").status_code == 403
    employer = login(make_user(Role.EMPLOYER))
    assert employer.get("/offers").status_code == 403


@pytest.mark.parametrize("path", [
    "/employer/offers/{offer}", "/employer/offers/{offer}/edit", "/employer/offers/{offer}/archive",
    "/employer/offers/{offer}/sessions/new", "/employer/offers/{offer}/sessions/{session}/edit",
    "/employer/offers/{offer}/sessions/{session}/remove", "/employer/supervisors/{supervisor}/edit",
    "/employer/supervisors/{supervisor}/remove",
])
def test_another_employer_gets_404_on_every_page_of_an_offer(login, two_employers, path):
    w = two_employers
    url = path.format(offer=w["offer"].id, session=w["session"].id, supervisor=w["supervisor"].id)
    assert login(w["user_a"]).get(url).status_code == 200
    assert login(w["user_b"]).get(url).status_code == 404


def test_another_employer_cannot_change_publish_or_archive_an_offer(login, two_employers):
    w = two_employers
    client = login(w["user_b"])
    offer_id = w["offer"].id
    assert client.post(f"/employer/offers/{offer_id}/edit", data=_offer_form(title="Hijacked")).status_code == 404
    assert client.post(f"/employer/offers/{offer_id}/status", data={"status": "published"}).status_code == 404
    assert client.post(f"/employer/offers/{offer_id}/archive").status_code == 404
    assert client.post(f"/employer/offers/{offer_id}/sessions/new", data=_session_form()).status_code == 404
    db.session.expire_all()
    offer = db.session.get(Offer, offer_id)
    assert (offer.title, offer.status, len(offer.sessions)) == ("A's offer", "draft", 1)


def test_a_session_of_one_offer_is_not_reachable_through_another_offer(login, two_employers):
    w = two_employers
    own_other_offer = make_offer(w["a"])
    url = f"/employer/offers/{own_other_offer.id}/sessions/{w['session'].id}/edit"
    assert login(w["user_a"]).get(url).status_code == 404


def test_a_supervisor_of_another_employer_posted_in_the_session_form_is_refused(login, two_employers):
    w = two_employers
    stranger = make_supervisor(w["b"])
    client = login(w["user_a"])
    before = db.session.scalar(select(func.count()).select_from(OfferSession))
    response = client.post(f"/employer/offers/{w['offer'].id}/sessions/new",
                           data=_session_form(supervisors=[str(stranger.id)]))
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(OfferSession)) == before


# --- employer pages ---------------------------------------------------------------------


def test_employer_creates_an_offer_as_a_draft(login):
    employer = _insured(postcode="M13 9PL")
    client = login(make_user(Role.EMPLOYER, employer_id=employer.id))
    response = client.post("/employer/offers/new", data=_offer_form())
    assert response.status_code == 302
    offer = db.session.scalars(select(Offer).where(Offer.employer_id == employer.id)).one()
    assert offer.status == "draft" and offer.feature_notes == {"step_free_access": "Ramp at the side entrance"}
    assert offer.latitude is not None
    detail = client.get(response.headers["Location"])
    assert "Before you can publish" in _page(detail) and _page(detail).count("<h1") == 1


def test_offer_form_errors_are_shown_beside_the_fields(login):
    client = login(make_user(Role.EMPLOYER, employer=_insured()))
    response = client.post("/employer/offers/new", data=_offer_form(title="", location="other", postcode="ZZ9 9ZZ",
                                                                     year_groups=[]))
    page = _page(response)
    assert response.status_code == 400
    assert "There is a problem" in page and 'href="#title"' in page and 'href="#year_groups-0"' in page


def test_unknown_postcode_district_on_an_offer_is_a_form_error(login):
    client = login(make_user(Role.EMPLOYER, employer=_insured()))
    response = client.post("/employer/offers/new", data=_offer_form(location="other", postcode="ZZ9 9ZZ"))
    assert response.status_code == 400
    assert "We cannot find the postcode district ZZ9" in _page(response)
    assert db.session.scalar(select(func.count()).select_from(Offer)) == 0


def test_adding_a_session_in_uk_time_and_publishing(login):
    employer = _insured()
    offer = make_offer(employer, status="draft", sessions=0)
    client = login(make_user(Role.EMPLOYER, employer_id=employer.id))
    response = client.post(f"/employer/offers/{offer.id}/sessions/new", data=_session_form())
    assert response.status_code == 302
    occurrence = db.session.scalars(select(OfferSession).where(OfferSession.offer_id == offer.id)).one()
    assert occurrence.starts_at == dt.datetime.combine(FUTURE, dt.time(9, 30), tzinfo=ZoneInfo("Europe/London"))
    assert occurrence.starts_at.tzinfo == dt.UTC  # stored and read back in UTC
    assert client.post(f"/employer/offers/{offer.id}/status", data={"status": "published"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Offer, offer.id).status == "published"


def test_publishing_without_a_session_explains_why_and_stays_a_draft(login):
    employer = _insured()
    offer = make_offer(employer, status="draft", sessions=0)
    client = login(make_user(Role.EMPLOYER, employer_id=employer.id))
    response = client.post(f"/employer/offers/{offer.id}/status", data={"status": "published"}, follow_redirects=True)
    assert "Add at least one session in the future" in _page(response)
    db.session.expire_all()
    assert db.session.get(Offer, offer.id).status == "draft"


def test_archiving_asks_for_confirmation_first(login):
    employer = _insured()
    offer = make_offer(employer)
    client = login(make_user(Role.EMPLOYER, employer_id=employer.id))
    confirm = client.get(f"/employer/offers/{offer.id}/archive")
    assert confirm.status_code == 200 and "Are you sure you want to archive" in _page(confirm)
    db.session.expire_all()
    assert db.session.get(Offer, offer.id).status == "published"
    assert client.post(f"/employer/offers/{offer.id}/archive").status_code == 302
    db.session.expire_all()
    assert db.session.get(Offer, offer.id).status == "archived"


def test_status_form_cannot_archive_without_the_confirmation_page(login):
    employer = _insured()
    offer = make_offer(employer)
    client = login(make_user(Role.EMPLOYER, employer_id=employer.id))
    assert client.post(f"/employer/offers/{offer.id}/status", data={"status": "archived"}).status_code == 400
    db.session.expire_all()
    assert db.session.get(Offer, offer.id).status == "published"


@pytest.mark.parametrize(("days", "warned"), [(-3, "expired"), (12, "expires in 12 days"), (200, None)])
def test_profile_warns_about_expired_or_soon_expiring_insurance(login, days, warned):
    employer = make_employer(insurance_expiry=dt.date.today() + dt.timedelta(days=days))
    client = login(make_user(Role.EMPLOYER, employer_id=employer.id))
    page = _page(client.get("/employer/profile"))
    if warned:
        assert "pp-warning-text" in page and warned in page
    else:
        assert "pp-warning-text" not in page


def test_profile_edit_saves_and_geocodes(login):
    employer = make_employer(postcode="M1 3BN")
    client = login(make_user(Role.EMPLOYER, employer_id=employer.id))
    assert client.get("/employer/profile/edit").status_code == 200
    expiry = dt.date.today() + dt.timedelta(days=100)
    response = client.post("/employer/profile/edit", data={
        "sector": "healthcare", "address": "Oxford Road", "postcode": "ls1 1ur",
        "safeguarding_lead_name": "Dr Price", "safeguarding_lead_email": "Lead@Example.org",
        "safeguarding_lead_phone": "0161 496 0000", "insurer": "Mutual",
        "insurance_expiry-day": str(expiry.day), "insurance_expiry-month": str(expiry.month),
        "insurance_expiry-year": str(expiry.year), "disability_confident": "leader", "autism_trained_staff": "yes",
    })
    assert response.status_code == 302
    db.session.expire_all()
    saved = db.session.get(Employer, employer.id)
    assert saved.postcode == "LS1 1UR" and saved.latitude == pytest.approx(53.80, abs=0.02)
    assert (saved.insurance_expiry, saved.disability_confident, saved.autism_trained_staff) == (expiry, "leader", True)
    assert saved.safeguarding_lead_email == "lead@example.org"


def test_profile_edit_refuses_an_unknown_postcode_district(login):
    employer = make_employer(postcode="M1 3BN")
    client = login(make_user(Role.EMPLOYER, employer_id=employer.id))
    response = client.post("/employer/profile/edit", data={
        "sector": "healthcare", "postcode": "ZZ9 9ZZ", "disability_confident": "none", "autism_trained_staff": "no",
    })
    assert response.status_code == 400 and "We cannot find the postcode district ZZ9" in _page(response)


def test_employer_pages_render_with_one_heading(login, two_employers):
    w = two_employers
    client = login(w["user_a"])
    for url in ("/employer/offers", "/employer/supervisors", "/employer/supervisors/new", "/employer/offers/new",
                f"/employer/offers/{w['offer'].id}", f"/employer/offers/{w['offer'].id}/edit",
                f"/employer/offers/{w['offer'].id}/sessions/{w['session'].id}/edit", "/employer/profile"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert _page(response).count("<h1") == 1, url


def test_supervisors_are_added_and_listed(login):
    employer = _insured()
    client = login(make_user(Role.EMPLOYER, employer_id=employer.id))
    response = client.post("/employer/supervisors/new", data={"name": "Grace Adeyemi", "role": "Ward sister",
                                                               "email": "grace@example.org"})
    assert response.status_code == 302
    assert "Grace Adeyemi" in _page(client.get("/employer/supervisors"))


# --- search pages -----------------------------------------------------------------------


def test_school_search_measures_from_the_school_and_shows_virtual_offers(login):
    school = make_school(postcode="M13 9PL", latitude=53.46691, longitude=-2.23358)
    near = make_offer(title="Near offer", location=(53.4809, -2.2374))
    virtual = make_offer(title="Online offer", location=None)
    far = make_offer(title="Leeds offer", location=(53.7960, -1.5479))
    client = login(make_user(Role.SCHOOL, school_id=school.id))
    response = client.get("/offers?radius=10")
    page = _page(response)
    assert response.status_code == 200 and page.count("<h1") == 1
    assert "Near offer" in page and "1.6 km away" in page
    assert "Online offer" in page and "<strong>Virtual</strong>" in page
    assert "Leeds offer" not in page
    assert page.index("Near offer") < page.index("Online offer")
    assert f"/offers/{near.id}" in page and f"/offers/{virtual.id}" in page and f"/offers/{far.id}" not in page


def test_hub_searches_from_a_postcode_they_type(login):
    make_offer(title="Leeds offer", location=(53.7960, -1.5479))
    client = login(make_user(Role.HUB))
    page = _page(client.get("/offers?postcode=LS1+1UR&radius=5"))
    assert "Leeds offer" in page and "km away" in page and "LS1 1UR" in page


def test_search_filters_are_read_from_the_query_string(login):
    make_offer(title="Quiet offer", features=["quiet_space", "step_free_access"])
    make_offer(title="Plain offer", features=[])
    client = login(make_user(Role.HUB))
    page = _page(client.get("/offers?feature=quiet_space&feature=step_free_access&year_group=10"))
    assert "Quiet offer" in page and "Plain offer" not in page
    assert "1 offer found" in page


def test_search_with_an_unknown_postcode_shows_the_error(login):
    client = login(make_user(Role.HUB))
    response = client.get("/offers?postcode=ZZ9+9ZZ")
    assert response.status_code == 400
    assert "There is a problem" in _page(response) and "ZZ9" in _page(response)


def test_search_pagination_links_keep_the_filters(login):
    for _ in range(21):
        make_offer(features=["quiet_space"])
    client = login(make_user(Role.HUB))
    page = _page(client.get("/offers?feature=quiet_space"))
    assert "Page 1 of 2" in page
    nav = page.split('aria-label="Pagination"')[1].split("</nav>")[0]
    assert "feature=quiet_space" in nav and "page=2" in nav
    second = _page(client.get("/offers?feature=quiet_space&page=2"))
    assert second.count('class="pp-card"') == 1


def test_schools_see_published_offers_only(login):
    published = make_offer(title="Open offer")
    make_session(published, starts_in_days=3)
    draft = make_offer(status="draft")
    client = login(make_user(Role.SCHOOL))
    response = client.get(f"/offers/{published.id}")
    assert response.status_code == 200 and "Open offer" in _page(response)
    assert client.get(f"/offers/{draft.id}").status_code == 404


def test_removing_a_supervisor_asks_first_and_takes_them_off_sessions(login, two_employers):
    w = two_employers
    client = login(w["user_a"])
    occurrence = w["session"]
    occurrence.supervisors = [w["supervisor"]]
    db.session.flush()
    url = f"/employer/supervisors/{w['supervisor'].id}/remove"
    assert "Are you sure you want to remove" in _page(client.get(url))
    assert client.post(url).status_code == 302
    db.session.expire_all()
    assert db.session.get(OfferSession, occurrence.id).supervisors == []
