"""`flask match --json` prints the ranked matches the page shows."""

from __future__ import annotations

import datetime as dt
import json

from portal.extensions import db
from tests.factories import make_employer, make_offer, make_school, make_student


def test_match_command_prints_ranked_json(app):
    school = make_school(urn="424242", latitude=53.4809, longitude=-2.2374)
    make_student(school, student_ref="R1", interests=["healthcare"])
    employer = make_employer(insurance_expiry=dt.date.today() + dt.timedelta(days=400))
    make_offer(employer, offer_ref="OF-NEAR", location=(53.49, -2.2374), sectors=["healthcare"])
    make_offer(employer, offer_ref="OF-FAR", location=(53.54, -2.2374), sectors=["retail_sales"])
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["match", "--school", "424242", "--student", "R1", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [m["offer_ref"] for m in data["matches"]] == ["OF-NEAR", "OF-FAR"]
    first = data["matches"][0]
    assert set(first) >= {"offer_ref", "session_start", "distance_km", "score", "reasons"}
    assert first["distance_km"] == 1.01 and first["score"] > data["matches"][1]["score"]


def test_match_command_rejects_unknown_types_and_students(app):
    make_school(urn="434343")
    db.session.commit()
    runner = app.test_cli_runner()
    assert "No student" in runner.invoke(args=["match", "--school", "434343", "--student", "nobody"]).output
    bad = runner.invoke(args=["match", "--school", "434343", "--student", "x", "--types", "juggling"])
    assert bad.exit_code != 0
