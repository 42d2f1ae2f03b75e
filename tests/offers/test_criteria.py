"""Meaningful-experience criteria on offers: the form saves them, every page and the API say exactly what the offer
provides (and say so when it provides none), the import sets them or leaves them alone, and matching ranks by them."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from portal.core.csvimport import ImportFailed
from portal.core.vocab import MeaningfulCriterion, Role
from portal.extensions import db
from portal.matching.services import CRITERION_POINTS, MatchRequest, match_student
from portal.offers.imports import import_employers, import_offers
from portal.offers.models import Offer
from portal.offers.services import OfferDetails, update_offer
from tests.factories import make_employer, make_offer, make_school, make_student, make_user

NEXT_YEAR = dt.date.today().year + 1
OFFERS_HEADER = ("offer_ref,employer_ref,title,activity_type,delivery_mode,postcode,year_groups,sectors,"
                 "send_features,session_start,session_end,capacity")
NEAR = (53.4900, -2.2374)


def _insured(**kw):
    return make_employer(insurance_expiry=dt.date.today() + dt.timedelta(days=365), **kw)


def _page(response) -> str:
    return response.get_data(as_text=True)


def _details(offer: Offer, criteria: list[str]) -> OfferDetails:
    return OfferDetails(title=offer.title, activity_type=offer.activity_type, delivery_mode="on_site",
                        year_groups=[10], sectors=["healthcare"], criteria=criteria)


def test_criteria_are_kept_in_the_vocabulary_order_and_replaced_exactly():
    offer = make_offer(_insured())
    update_offer(db.session, offer, _details(offer, ["time_to_reflect", "clear_purpose", "employer_task"]))
    db.session.flush()
    assert offer.criterion_codes == ["clear_purpose", "employer_task", "time_to_reflect"]
    update_offer(db.session, offer, _details(offer, ["employer_task", "range_of_people"]))
    db.session.flush()
    db.session.expire(offer)
    assert offer.criterion_codes == ["range_of_people", "employer_task"]
    assert offer.criteria_summary == f"2 of the {len(MeaningfulCriterion)} marks of a meaningful experience"


def test_employer_ticks_criteria_on_the_form_and_the_school_sees_them_on_the_offer(login):
    employer = _insured(postcode="M13 9PL")
    client = login(make_user(Role.EMPLOYER, employer_id=employer.id))
    response = client.post("/employer/offers/new", data={
        "title": "Ward insight day", "description": "See how a hospital ward runs.", "activity_type": "workplace_visit",
        "delivery_mode": "on_site", "location": "employer", "postcode": "", "sectors": ["healthcare"],
        "year_groups": ["10"], "criteria": ["employer_task", "clear_purpose"]})
    assert response.status_code == 302
    offer = db.session.scalars(select(Offer).where(Offer.employer_id == employer.id)).one()
    assert offer.criterion_codes == ["clear_purpose", "employer_task"]
    edit = _page(client.get(f"/employer/offers/{offer.id}/edit"))
    assert re.search(r'<input checked[^>]*value="employer_task"', edit)
    assert not re.search(r'<input checked[^>]*value="time_to_reflect"', edit)
    offer.status = "published"
    db.session.flush()
    school = make_school()
    page = _page(login(make_user(Role.SCHOOL, school_id=school.id)).get(f"/offers/{offer.id}"))
    assert "provides 2 of the 6 marks of a meaningful experience" in page
    assert "A task set by the employer" in page and "A clear purpose shared with students beforehand" in page
    assert "Feedback from the employer to each student" not in page
    assert "has not said which marks" not in page


def test_an_offer_without_criteria_says_so_and_claims_none(login):
    offer = make_offer(_insured())
    page = _page(login(make_user(Role.SCHOOL, school_id=make_school().id)).get(f"/offers/{offer.id}"))
    assert "The employer has not said which marks of a meaningful experience this offer provides." in page
    assert "marks of a meaningful experience:" not in page


def test_search_shows_the_count_and_names_only_on_offers_that_provide_them(login):
    school = make_school(latitude=53.4809, longitude=-2.2374)
    make_offer(_insured(), title="With criteria", location=NEAR, criteria=["two_way_interaction", "employer_feedback"])
    make_offer(_insured(), title="Without criteria", location=NEAR)
    page = _page(login(make_user(Role.SCHOOL, school_id=school.id)).get("/offers?radius=10"))
    assert page.count("Meaningful: ") == 1
    assert ("Meaningful: 2 of the 6 marks of a meaningful experience (real two-way conversation with employees; "
            "feedback from the employer to each student)") in page


def test_matching_ranks_an_offer_by_its_criteria_and_says_how_many_it_provides():
    school = make_school(latitude=53.4809, longitude=-2.2374)
    student = make_student(school, year_group=10)
    employer = _insured()
    make_offer(employer, title="Plain", location=NEAR)
    make_offer(employer, title="Meaningful", location=NEAR, criteria=["clear_purpose", "employer_task", "time_to_reflect"])
    outcome = match_student(db.session, student, MatchRequest(radius_km=15))
    by_title = {m.offer.title: m for m in outcome.matches}
    assert [m.offer.title for m in outcome.matches] == ["Meaningful", "Plain"]
    assert by_title["Meaningful"].score - by_title["Plain"].score == 3 * CRITERION_POINTS
    assert "provides 3 of the 6 marks of a meaningful experience" in by_title["Meaningful"].reasons
    assert not any("meaningful experience" in reason for reason in by_title["Plain"].reasons)


# --- import ------------------------------------------------------------------------------


@pytest.fixture
def acme():
    import_employers(db.session, (
        "employer_ref,name,sector,postcode,safeguarding_email,insurance_expiry\n"
        f"ACME,Acme Engineering,engineering_maintenance,M17 1AB,lead@acme.example,{NEXT_YEAR}-12-31\n").encode())


def _offers_csv(criteria: str | None, *, second: str | None = None) -> bytes:
    header = OFFERS_HEADER + (",meaningful_criteria" if criteria is not None else "")
    row = ("OF-1,ACME,Workshop visit,workplace_visit,on_site,,10;11,engineering_maintenance,,"
           f"{NEXT_YEAR}-03-10T09:30,{NEXT_YEAR}-03-10T15:00,12")
    rows = [row + (f",{criteria}" if criteria is not None else "")]
    if second is not None:
        rows.append(row.replace("03-10T", "03-17T") + f",{second}")
    return ("\n".join([header, *rows]) + "\n").encode()


def _imported() -> Offer:
    offer = db.session.scalars(select(Offer).where(Offer.offer_ref == "OF-1")).one()
    db.session.refresh(offer)
    return offer


def test_import_sets_criteria_changes_them_and_leaves_them_alone_without_the_column(acme):
    import_offers(db.session, _offers_csv("employer_task;Clear_Purpose"))
    assert _imported().criterion_codes == ["clear_purpose", "employer_task"]
    changed = import_offers(db.session, _offers_csv("time_to_reflect"))
    assert changed.updated == 1 and _imported().criterion_codes == ["time_to_reflect"]
    unchanged = import_offers(db.session, _offers_csv(None))
    assert (unchanged.updated, unchanged.unchanged) == (0, 1) and _imported().criterion_codes == ["time_to_reflect"]
    cleared = import_offers(db.session, _offers_csv(""))
    assert cleared.updated == 1 and _imported().criterion_codes == []


def test_import_reports_an_unknown_criterion_and_rows_that_disagree_and_writes_nothing(acme):
    with pytest.raises(ImportFailed) as failure:
        import_offers(db.session, _offers_csv("clear_purpose;free_lunch"))
    assert [(e.line, e.column, e.reason) for e in failure.value.errors] == [
        (2, "meaningful_criteria", "unknown code 'free_lunch'")]
    with pytest.raises(ImportFailed) as failure:
        import_offers(db.session, _offers_csv("clear_purpose", second="employer_task"))
    assert [(e.line, e.column) for e in failure.value.errors] == [(3, "meaningful_criteria")]
    assert db.session.scalars(select(Offer).where(Offer.offer_ref == "OF-1")).first() is None
