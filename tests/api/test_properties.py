"""Property: whatever body is POSTed to /api/v1/bookings, the answer is never a 500 and always matches
the document's Booking or Error schema (the checking client asserts both on every response)."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from portal.api.openapi import document
from tests.api.schema_check import validate
from tests.factories import make_student

JSON_LEAVES = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
JSON_VALUES = st.recursive(JSON_LEAVES, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
                           max_leaves=12)
FIELDS = st.sampled_from(["student_ref", "offer_ref", "session_start", "reason", "studentRef", ""])


def _bodies(world):
    """Bodies from nonsense to nearly right to right, so every branch is reached."""
    starts = st.sampled_from([world.session_start(), world.session_start()[:19], "2027-03-05T09:30:00Z",
                              "2027-02-30T09:30:00", "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+01:00",
                              "2027-03-05", ""]) | st.text(max_size=30)
    refs = st.sampled_from(["A100", "Y7", "X900", "OF-CARE1", "", " ", "x" * 41]) | st.text(max_size=12)
    fields = st.fixed_dictionaries(
        {}, optional={"student_ref": refs | JSON_LEAVES, "offer_ref": refs | JSON_LEAVES,
                      "session_start": starts | JSON_LEAVES})
    extra = st.dictionaries(FIELDS | st.text(max_size=8), JSON_VALUES, max_size=3)
    objects = st.builds(lambda known, more: {**more, **known}, fields, extra)
    nearly_right = st.fixed_dictionaries({
        "student_ref": st.sampled_from(["A100", "Y7", "X900", "NOPE"]),
        "offer_ref": st.sampled_from(["OF-CARE1", "OF-NOPE"]),
        "session_start": starts,
    })
    as_json = (nearly_right | objects | JSON_VALUES).map(lambda value: json.dumps(value).encode())
    return as_json | st.binary(max_size=60) | st.text(max_size=40).map(str.encode)


def test_random_bodies_never_500_and_always_match_the_schema(api, world):
    make_student(world.school, student_ref="Y7", year_group=7)
    make_student(world.other_school, student_ref="X900")
    schema = {"oneOf": [{"$ref": "#/components/schemas/Error"}, {"$ref": "#/components/schemas/Booking"}]}
    seen: set[int] = set()

    right = {"student_ref": "A100", "offer_ref": "OF-CARE1", "session_start": world.session_start()}

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                         HealthCheck.too_slow])
    @given(raw=_bodies(world))
    @example(raw=json.dumps(right).encode())  # 201, then 409 duplicate when repeated
    @example(raw=json.dumps({**right, "student_ref": "X900"}).encode())  # 404
    @example(raw=json.dumps({**right, "student_ref": "Y7"}).encode())  # 422 year_group
    @example(raw=b"{")  # 400
    def post(raw: bytes) -> None:
        response = api.post("/bookings", world.tokens["staff"], raw=raw)  # asserts not 500 + documented schema
        validate(response.get_json(), schema, document())
        assert response.status_code in (201, 400, 404, 409, 422)
        seen.add(response.status_code)

    post()
    assert {201, 400, 404, 422} <= seen


OFFER_PARAMS = ["activity_type", "delivery_mode", "sector", "year_group", "feature", "date_from", "date_to", "lat",
                "lon", "postcode", "radius_km", "page", "per_page", "unknown"]
PARAM_VALUES = st.sampled_from(["", "0", "-1", "7", "13", "53.48", "-2.23", "1e400", "nan", "healthcare", "virtual",
                                "careers_talk,work_shadowing", "step_free_access", "2027-03-05", "2027-13-01",
                                "M1 3BN", "ZZ99 9ZZ", "SW1A", "101"]) | st.text(max_size=15)


def test_random_offer_queries_never_500_and_always_match_the_schema(api, world):
    """Whatever the query string, GET /offers answers 200 or 422 with a documented body."""

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                         HealthCheck.too_slow])
    @given(query=st.lists(st.tuples(st.sampled_from(OFFER_PARAMS), PARAM_VALUES), max_size=5))
    def search(query: list[tuple[str, str]]) -> None:
        response = api.get("/offers", world.tokens["staff"], query=query)  # asserts not 500 + documented schema
        assert response.status_code in (200, 422)

    search()
