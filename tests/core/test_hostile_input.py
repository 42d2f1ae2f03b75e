"""No input from outside gives a server error: huge ids, huge page numbers, unclean text, impossible dates."""

from __future__ import annotations

from typing import Any

import pytest
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

from portal.bookings.models import Booking
from portal.core.forms import real_date
from portal.core.ids import MAX_ID, parse_id
from portal.extensions import db
from portal.organisations.models import Student
from tests.factories import make_school, make_student, make_user

HUGE_IDS = (2**31, 10**20)


def _int_rules(app: Any) -> list[Any]:
    """Every route with at least one `<int:...>` part."""
    return [rule for rule in app.url_map.iter_rules()
            if any(isinstance(rule._converters[name], IntegerConverter) for name in rule.arguments)]


def _path(rule: Any, huge: int) -> str:
    """The rule's path with the huge number in every int part (and a harmless word in any other)."""
    values = {name: huge if isinstance(rule._converters[name], IntegerConverter) else "x" for name in rule.arguments}
    return rule.build(values, append_unknown=False)[1]


def test_every_int_route_is_bounded_to_storable_ids(app):
    rules = _int_rules(app)
    assert len(rules) >= 30  # the walk below really covers the portal's routes
    for rule in rules:
        for name in rule.arguments:
            converter = rule._converters[name]
            if isinstance(converter, IntegerConverter):
                assert (converter.min, converter.max) == (1, MAX_ID), rule.rule


@pytest.mark.parametrize("huge", HUGE_IDS)
def test_ids_too_big_for_the_database_are_not_found_on_every_route(app, client, login, huge):
    login(make_user("school"))
    for rule in _int_rules(app):
        path = _path(rule, huge)
        for method in sorted({"GET", "POST"} & set(rule.methods or ())):
            response = client.open(path, method=method)
            assert response.status_code == 404, (method, path, response.status_code)


def test_owned_object_lookup_refuses_ids_outside_the_storable_range(app, client, login):
    from portal import access

    school = make_school()
    login(make_user("school", school=school))
    with app.test_request_context():
        for bad in (0, -1, 2**31, 10**20):
            with pytest.raises(NotFound):
                access.get_owned_or_404(Student, bad, lambda user, obj: True)


@pytest.mark.parametrize("text", ["2147483647", "1"])
def test_parse_id_accepts_storable_ids(text):
    assert parse_id(text) == int(text)


@pytest.mark.parametrize("text", ["0", "2147483648", "99999999999999999999", "-1", "1\x00", "١٢", "1_0", " 1", ""])
def test_parse_id_refuses_everything_else(text):
    assert parse_id(text) is None


@pytest.mark.parametrize("query", ["student_id=2147483648", "student_id=99999999999999999999",
                                   "student_ids=2147483648&year_group=10"])
def test_match_page_with_a_huge_student_id_is_not_found_or_ignored(client, login, query):
    login(make_user("school"))
    response = client.get(f"/match?{query}")
    assert response.status_code in (200, 404)


def test_booking_form_with_a_huge_session_id_is_refused_and_books_nothing(client, login):
    school = make_school()
    student = make_student(school)
    login(make_user("school", school=school))
    response = client.post("/bookings/new", data={"session_id": str(2**31), "student_ids": [str(student.id)]})
    assert response.status_code == 302
    assert db.session.query(Booking).count() == 0


@pytest.mark.parametrize("page", ["99999999999999999999", str(2**63), "1000001", "-3", "1e9", "\u0663"])
def test_absurd_page_numbers_show_the_first_page(client, login, page):
    school = make_school()
    student = make_student(school)
    login(make_user("school", school=school))
    response = client.get(f"/students?page={page}")
    assert response.status_code == 200
    assert student.last_name in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/bookings?page=99999999999999999999", "/offers?page=99999999999999999999"])
def test_absurd_page_numbers_on_other_lists_are_not_errors(client, login, path):
    login(make_user("school"))
    assert client.get(path).status_code == 200


@pytest.mark.parametrize("value", ["%00", "Smith%00", "%01", "%7F", "%C2%85", "%ED%A0%80"])
def test_unclean_query_strings_are_a_bad_request(client, login, value):
    login(make_user("school"))
    response = client.get(f"/students?q={value}")
    if value == "%ED%A0%80":  # not UTF-8: werkzeug reads it as U+FFFD, which is clean text with no match
        assert response.status_code == 200
    else:
        assert response.status_code == 400


def test_unclean_query_string_keys_are_a_bad_request(client, login):
    login(make_user("school"))
    assert client.get("/students?q%00=x").status_code == 400


@pytest.mark.parametrize("body", ['{"x": "a\\u0000"}', '{"x\\u0001": 1}', '{"x": ["\\ud800"]}', '["\\u009f"]'])
def test_unclean_json_bodies_get_the_invalid_text_code(client, body):
    response = client.post("/api/v1/bookings", data=body, content_type="application/json")
    assert response.status_code == 422
    assert response.get_json()["code"] == "invalid_text"


def test_unclean_api_query_strings_get_the_invalid_text_code(client):
    response = client.get("/api/v1/bookings?status=%00")
    assert response.status_code == 422
    assert response.get_json()["code"] == "invalid_text"


@pytest.mark.parametrize(("year", "month", "day"), [
    ("0", "1", "1"), ("10000", "1", "1"), ("2027", "1", "32"), ("2027", "13", "1"), ("2027", "0", "1"),
    ("99999999999999999999", "1", "1"), ("1899", "12", "31"), ("2101", "1", "1"), ("2027", "1", "1\x00"),
    ("2027", "1", "-1"), ("2_027", "1", "1"), ("２０２７", "1", "1"), ("", "1", "1"),
])
def test_impossible_or_out_of_range_dates_are_not_real(year, month, day):
    assert real_date(year, month, day) is None


def test_dates_in_range_are_real():
    assert str(real_date("2027", "3", "2")) == "2027-03-02"


@pytest.mark.parametrize("year", ["0", "10000", "99999999999999999999", "2027\x00"])
def test_match_page_date_filter_out_of_range_is_the_fields_error(client, login, year):
    login(make_user("school"))
    year_part = year.replace("\x00", "%00")
    response = client.get(f"/match?year_group=10&date_from-day=1&date_from-month=1&date_from-year={year_part}")
    assert response.status_code == 400
    if "\x00" not in year:
        assert "From must be a real date" in response.get_data(as_text=True)


def test_day_32_on_a_form_is_the_fields_error_and_saves_nothing(client, login):
    school = make_school()
    login(make_user("school", school=school))
    response = client.post("/students/new", data={
        "student_ref": "S-HOSTILE", "first_name": "Ada", "last_name": "Lovelace", "year_group": "10",
        "date_of_birth-day": "32", "date_of_birth-month": "1", "date_of_birth-year": "2011",
    })
    assert response.status_code == 400
    assert "must be a real date" in response.get_data(as_text=True)
    assert db.session.query(Student).filter_by(student_ref="S-HOSTILE").count() == 0


@pytest.mark.parametrize("name", ["Ada\x00", "Ada\x07", "Ad\x1ba", "Ada\x7f", "Ada\x85"])
def test_names_with_control_characters_are_refused_beside_the_field(client, login, name):
    school = make_school()
    login(make_user("school", school=school))
    response = client.post("/students/new", data={
        "student_ref": "S-CONTROL", "first_name": name, "last_name": "Lovelace", "year_group": "10",
    })
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "control character" in page or "null character" in page
    assert db.session.query(Student).filter_by(student_ref="S-CONTROL").count() == 0
