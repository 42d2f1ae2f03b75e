"""Needs posted when nothing fits: who may post, which employers see one (near, vetted, in the sectors asked),
what they see (counts only), answering with a session the school can book (only a session that truly fits,
only once), withdrawing, and lapsing on the expiry day with the school told."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from portal.adjustments import needs
from portal.core.models import OutboxMessage
from portal.core.vocab import Role
from portal.extensions import db
from portal.offers.services import SessionDetails
from tests.factories import MANCHESTER, make_employer, make_hub, make_offer, make_school, make_user

LEEDS = (53.7997, -1.5492)
TODAY = dt.date.today()


@pytest.fixture
def hub():
    return make_hub()


@pytest.fixture
def school(hub):
    return make_school(name="Irwell Valley", latitude=MANCHESTER[0], longitude=MANCHESTER[1], hub_id=hub.id)


@pytest.fixture
def senco(school):
    return make_user(Role.SCHOOL, school=school)


def _employer(at=MANCHESTER, **kw):
    employer = make_employer(latitude=at[0], longitude=at[1],
                             insurance_expiry=TODAY + dt.timedelta(days=400), **kw)
    return employer, make_user(Role.EMPLOYER, employer=employer)


def _details(**kw) -> needs.NeedDetails:
    values = {"year_group": 10, "places": 4, "date_from": TODAY + dt.timedelta(days=20),
              "date_to": TODAY + dt.timedelta(days=60), "need_counts": {"quiet_space": 2}}
    values.update(kw)
    return needs.NeedDetails(**values)


def _mail(to: str) -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == to)))


def _session_on(day: dt.date) -> SessionDetails:
    start = dt.datetime.combine(day, dt.time(9, 30), tzinfo=dt.UTC)
    return SessionDetails(starts_at=start, ends_at=start + dt.timedelta(hours=5), capacity=4)


def test_employers_near_in_the_sectors_asked_are_told_in_counts_only(senco, school):
    near, near_user = _employer(sector="healthcare")
    _, far_user = _employer(at=LEEDS, sector="healthcare")
    _, unvetted_user = _employer(sector="healthcare", vetting_status="pending")
    _, other_sector_user = _employer(sector="finance")
    need = needs.post(db.session, senco, school, _details(sectors=["healthcare"]))
    [mail] = _mail(near_user.email)
    assert "Irwell Valley" in mail.subject and "2 need quiet space" in mail.body
    for user in (far_user, unvetted_user, other_sector_user):
        assert _mail(user.email) == []
    assert [e.id for e in needs.employers_near(db.session, need)] == [near.id]


@pytest.mark.parametrize(("change", "field"), [
    ({"date_from": TODAY - dt.timedelta(days=1)}, "date_from"),
    ({"date_to": TODAY + dt.timedelta(days=10)}, "date_to"),
    ({"places": 0}, "places"),
    ({"need_counts": {"quiet_space": 5}}, "need_quiet_space"),
    ({"date_to": TODAY + dt.timedelta(days=900)}, "date_to"),
])
def test_a_need_that_makes_no_sense_is_refused_beside_its_field(senco, school, change, field):
    with pytest.raises(needs.NeedRefused) as refused:
        needs.post(db.session, senco, school, _details(**change))
    assert refused.value.field == field


def test_only_the_schools_staff_or_its_hub_may_post(school, hub):
    for stranger in (make_user(Role.SCHOOL), make_user(Role.HUB), make_user(Role.EMPLOYER)):
        with pytest.raises(needs.NeedRefused):
            needs.post(db.session, stranger, school, _details())
    assert needs.post(db.session, make_user(Role.HUB, hub=hub), school, _details()).hub_id == hub.id


def test_answering_adds_a_bookable_session_that_truly_fits_and_tells_the_school(senco, school):
    employer, boss = _employer()
    fitting = make_offer(employer, features=["quiet_space"], year_groups=[10])
    lacking = make_offer(employer, year_groups=[10])
    wrong_year = make_offer(employer, features=["quiet_space"], year_groups=[12])
    need = needs.post(db.session, senco, school, _details())
    day = TODAY + dt.timedelta(days=30)
    for offer, code in ((lacking, "needs_unsupported"), (wrong_year, "year_group")):
        with pytest.raises(needs.NeedRefused) as refused:
            needs.answer(db.session, boss, need, offer, _session_on(day))
        assert refused.value.code == code
    with pytest.raises(needs.NeedRefused) as refused:
        needs.answer(db.session, boss, need, fitting, _session_on(TODAY + dt.timedelta(days=90)))
    assert refused.value.code == "dates"
    occurrence = needs.answer(db.session, boss, need, fitting, _session_on(day))
    assert need.is_answered and need.answered_session_id == occurrence.id and occurrence.offer_id == fitting.id
    [told] = _mail(senco.email)
    assert f"/offers/{fitting.id}/sessions/{occurrence.id}/book" in told.body
    with pytest.raises(needs.NeedRefused) as refused:
        needs.answer(db.session, boss, need, fitting, _session_on(day + dt.timedelta(days=1)))
    assert refused.value.code == "already_answered"


def test_an_employer_the_need_was_not_posted_to_cannot_see_or_answer_it(client, login, senco, school):
    need = needs.post(db.session, senco, school, _details())
    far, far_boss = _employer(at=LEEDS)
    offer = make_offer(far, features=["quiet_space"])
    with pytest.raises(needs.NeedRefused):
        needs.answer(db.session, far_boss, need, offer, _session_on(TODAY + dt.timedelta(days=30)))
    login(far_boss)
    assert client.get(f"/employer/needs/{need.id}").status_code == 404
    assert "Irwell Valley" not in client.get("/employer/needs").get_data(as_text=True)
    login(make_user(Role.SCHOOL))
    assert client.post(f"/needs/{need.id}/withdraw").status_code == 404
    assert "Year 10" not in client.get("/school/needs").get_data(as_text=True)


def test_a_need_lapses_after_its_expiry_day_and_the_school_is_told(senco, school):
    need = needs.post(db.session, senco, school, _details(date_to=TODAY + dt.timedelta(days=45)))
    assert need.expires_on == TODAY + dt.timedelta(days=needs.DEFAULT_EXPIRY_DAYS)
    on_the_day = dt.datetime.combine(need.expires_on, dt.time(12), tzinfo=dt.UTC)
    assert needs.lapse(db.session, on_the_day) == 0
    assert needs.lapse(db.session, on_the_day + dt.timedelta(days=1)) == 1
    assert needs.lapse(db.session, on_the_day + dt.timedelta(days=2)) == 0
    db.session.refresh(need)
    assert need.status == "expired"
    assert [m.subject for m in _mail(senco.email)] == ["Your Year 10 need has closed without an answer"]


def test_the_pages_end_to_end(client, login, senco, school, hub):
    employer, boss = _employer()
    offer = make_offer(employer, title="Ward visit", features=["quiet_space"], year_groups=[10])
    login(senco)
    day = TODAY + dt.timedelta(days=20)
    last = TODAY + dt.timedelta(days=60)
    form = {"year_group": 10, "places": 4, "date_from-day": day.day, "date_from-month": day.month,
            "date_from-year": day.year, "date_to-day": last.day, "date_to-month": last.month, "date_to-year": last.year,
            "need_quiet_space": 2}
    bad = client.post("/school/needs/new", data={**form, "need_quiet_space": 9})
    assert bad.status_code == 400 and "between 0 and the number of places" in bad.get_data(as_text=True)
    assert client.post("/school/needs/new", data=form).status_code == 302
    login(boss)
    assert "1 school need near you" in client.get("/employer").get_data(as_text=True)
    [need] = needs.open_for_employer(db.session, employer, TODAY)
    on = day + dt.timedelta(days=3)
    answered = client.post(f"/employer/needs/{need.id}", data={
        "offer_id": offer.id, "start_date-day": on.day, "start_date-month": on.month, "start_date-year": on.year,
        "start_time": "9:30am", "end_time": "2:30pm", "capacity": 4})
    assert answered.status_code == 302, answered.get_data(as_text=True)
    login(make_user(Role.HUB, hub=hub))
    page = client.get("/hub/needs").get_data(as_text=True)
    assert "Answered with a session" in page and "Ward visit" in page
