"""GET /api/v1/students/{ref}/matches: ranked, explained matches for the school's own students only."""

from __future__ import annotations

from sqlalchemy import select

from portal.core.models import AuditEvent
from portal.core.vocab import MeaningfulCriterion
from portal.extensions import db
from portal.matching.services import MAX_SCORE
from tests.api.conftest import SCHOOL_POINT, STOCKPORT, insured_employer
from tests.factories import make_offer, make_student


def test_matches_are_ranked_with_their_reasons(api, world):
    far = make_offer(insured_employer(), offer_ref="OF-FAR", location=STOCKPORT, features=["step_free_access"])
    response = api.get(f"/students/{world.student.student_ref}/matches", world.tokens["staff"])
    assert response.status_code == 200
    body = response.get_json()
    assert body["student_ref"] == "A100" and body["explanations"] == []
    assert [m["offer_ref"] for m in body["matches"]] == ["OF-CARE1", far.offer_ref]  # nearer is better
    best = body["matches"][0]
    assert best["session_start"] == world.session_start() and best["free_places"] == 3
    assert 1 < best["distance_km"] < 2.5
    assert best["score"] > body["matches"][1]["score"]
    assert any("step-free access ✓" in reason for reason in best["reasons"])
    assert any("interested in healthcare" in reason for reason in best["reasons"])


def test_filters_radius_types_and_dates(api, world):
    make_offer(insured_employer(), offer_ref="OF-FAR", location=STOCKPORT, features=["step_free_access"],
               activity_type="work_shadowing")
    url, token = "/students/A100/matches", world.tokens["staff"]
    assert [m["offer_ref"] for m in api.get(url, token, query={"radius_km": 5}).get_json()["matches"]] == ["OF-CARE1"]
    assert [m["offer_ref"] for m in api.get(url, token, query={"types": "work_shadowing"}).get_json()["matches"]] == ["OF-FAR"]
    far_future = api.get(url, token, query={"from": "2099-01-01", "to": "2099-01-31"}).get_json()
    assert far_future["matches"] == [] and far_future["explanations"]


def test_when_nothing_fits_the_explanations_say_why(api, world):
    make_student(world.school, student_ref="B200", needs=["bsl_makaton"], year_group=10)
    body = api.get("/students/B200/matches", world.tokens["staff"]).get_json()
    assert body["matches"] == [] and body["something_different"] is None
    assert any("supports BSL or Makaton" in line for line in body["explanations"])


def test_another_schools_student_is_not_found(api, world):
    make_student(world.other_school, student_ref="X900")
    response = api.get("/students/X900/matches", world.tokens["staff"])
    assert response.status_code == 404 and response.get_json()["code"] == "not_found"
    assert api.get("/students/A100/matches", world.tokens["other_staff"]).status_code == 404
    assert api.get("/students/NOPE/matches", world.tokens["staff"]).status_code == 404


def test_bad_parameters_are_422(api, world):
    response = api.get("/students/A100/matches", world.tokens["staff"], query={"types": "juggling", "radius_km": "far"})
    assert response.status_code == 422
    assert set(response.get_json()["details"]) == {"types", "radius_km"}


def test_seeing_a_students_needs_in_the_reasons_is_audited(api, world):
    api.get("/students/A100/matches", world.tokens["staff"])
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.object_id == world.student.id,
                                                         AuditEvent.action == "viewed_special_category")).all()
    assert [(e.actor_id, e.detail) for e in events] == [(world.staff.id, "api_matches")]


def test_an_offer_earning_every_bonus_scores_100_and_the_answer_keeps_to_the_document(api, world):
    every_mark = [m.value for m in MeaningfulCriterion]
    make_offer(insured_employer(), offer_ref="OF-BEST", location=SCHOOL_POINT, features=["step_free_access"],
               criteria=every_mark)  # 40 near + 30 interest + 15 new + 15 first workplace + 12 marks = 112
    response = api.get("/students/A100/matches", world.tokens["staff"])  # Api.get checks the schema (score <= 100)
    best = response.get_json()["matches"][0]
    assert best["offer_ref"] == "OF-BEST" and best["score"] == MAX_SCORE
