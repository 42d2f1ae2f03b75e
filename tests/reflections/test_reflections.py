"""Reflections: students write them on completed placements, within word limits; staff debrief them."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from portal.core.vocab import Role
from portal.extensions import db
from portal.reflections import services
from portal.reflections.models import Reflection
from tests.factories import make_booking, make_school, make_student, make_user


def words(n: int) -> str:
    return " ".join(["word"] * n)


@pytest.fixture
def placement():
    """A student of a school, signed-in users for both, and a completed booking."""
    school = make_school()
    student = make_student(school, first_name="Amira")
    booking = make_booking(student)
    return {
        "school": school, "student": student, "booking": booking,
        "student_user": make_user(Role.STUDENT, student_id=student.id),
        "staff": make_user(Role.SCHOOL, school_id=school.id),
    }


def _url(placement, version=None):
    url = f"/my-record/bookings/{placement['booking'].id}/reflection"
    return url + (f"?version={version}" if version else "")


# --- word counts ------------------------------------------------------------------------


def test_word_count_counts_like_the_live_count():
    assert services.word_count("  one\ttwo\nthree  ") == 3
    assert services.word_count("") == 0
    assert services.word_count(None) == 0


@pytest.mark.parametrize(("text", "message"), [
    ("", "You have 100 words remaining"),
    (words(99), "You have 1 word remaining"),
    (words(100), "You have 0 words remaining"),
    (words(101), "You have 1 word too many"),
    (words(103), "You have 3 words too many"),
])
def test_word_count_message(text, message):
    assert services.word_count_message(100, text) == message


# --- student form -----------------------------------------------------------------------


def test_form_renders_word_count_without_javascript(client, login, placement):
    login(placement["student_user"])
    page = client.get(_url(placement)).get_data(as_text=True)
    assert 'data-word-limit="100"' in page
    assert 'data-word-limit="250"' in page
    assert 'data-word-count-target="summary_100-count"' in page
    assert re.search(r'id="summary_100-count"[^>]*>You have 100 words remaining<', page)
    assert re.search(r'id="summary_250-count"[^>]*>You have 250 words remaining<', page)


@pytest.mark.parametrize(("field", "limit"), [("summary_100", 100), ("summary_250", 250)])
def test_server_refuses_a_summary_over_its_word_limit(client, login, placement, field, limit):
    login(placement["student_user"])
    response = client.post(_url(placement, "full"), data={"what_i_did": "Filing", field: words(limit + 2), "action": "draft"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f"must be {limit} words or fewer" in page
    assert "You have 2 words too many" in page
    assert "pp-word-count--over" in page
    assert db.session.query(Reflection).count() == 0


def test_summary_at_the_limit_is_accepted(client, login, placement):
    login(placement["student_user"])
    response = client.post(_url(placement, "full"), data={
        "what_i_did": "Filing", "summary_100": words(100), "summary_250": words(250), "action": "draft"})
    assert response.status_code == 302
    reflection = db.session.query(Reflection).one()
    assert services.word_count(reflection.summary_100) == 100


def test_service_refuses_over_limit_whatever_the_caller(placement):
    answers = services.ReflectionAnswers(what_i_did="x", summary_100=words(101))
    with pytest.raises(ValueError, match="word limit"):
        services.save_reflection(db.session, placement["booking"], answers, easy_read=False, submit=False)


def test_draft_saves_then_submit(client, login, placement):
    login(placement["student_user"])
    client.post(_url(placement, "full"), data={"what_i_did": "", "skills": ["teamwork"], "action": "draft"})
    reflection = db.session.query(Reflection).one()
    assert reflection.status == "draft"
    assert reflection.skills == ["teamwork"]
    assert not reflection.meaningful
    # submitting needs an answer to "What did you do?"
    response = client.post(_url(placement, "full"), data={"what_i_did": "", "action": "submit"})
    assert "Say what you did" in response.get_data(as_text=True)
    client.post(_url(placement, "full"), data={
        "what_i_did": "I helped on the ward", "skills": ["listening", "teamwork"], "interest_before": "2",
        "interest_now": "4", "action": "submit"})
    db.session.refresh(reflection)
    assert reflection.status == "submitted"
    assert reflection.submitted_at is not None
    assert reflection.skills == ["listening", "teamwork"]
    assert (reflection.interest_before, reflection.interest_now) == (2, 4)
    assert reflection.meaningful


def test_easy_read_version_asks_fewer_simpler_questions(client, login, placement):
    login(placement["student_user"])
    full = client.get(_url(placement)).get_data(as_text=True)
    easy = client.get(_url(placement, "easy")).get_data(as_text=True)
    assert "What surprised you?" in full
    assert "What surprised you?" not in easy
    assert "summary_100" not in easy
    assert "Working with others" in easy
    assert easy.count('class="pp-fieldset__legend') + easy.count('<label class="pp-label" for=') < (
        full.count('class="pp-fieldset__legend') + full.count('<label class="pp-label" for='))
    assert "Use the easy-read version" in full
    response = client.post(_url(placement, "easy"), data={
        "what_i_did": "Cooked", "skills": ["teamwork"], "interest_now": "5", "action": "submit"})
    assert response.status_code == 302
    reflection = db.session.query(Reflection).one()
    assert reflection.easy_read is True
    assert reflection.submitted
    # the chosen version is remembered
    assert "What surprised you?" not in client.get(_url(placement)).get_data(as_text=True)


def test_only_a_completed_booking_can_be_reflected_on(client, login, placement):
    booking = make_booking(placement["student"], status="confirmed")
    login(placement["student_user"])
    assert client.get(f"/my-record/bookings/{booking.id}/reflection").status_code == 404


def test_a_student_cannot_open_another_students_reflection(client, login, placement):
    other = make_student(placement["school"])
    login(make_user(Role.STUDENT, student_id=other.id))
    assert client.get(_url(placement)).status_code == 404
    assert client.post(_url(placement), data={"what_i_did": "x", "action": "draft"}).status_code == 404


def test_submitted_reflection_editable_until_debrief(client, login, placement):
    login(placement["student_user"])
    client.post(_url(placement, "full"), data={"what_i_did": "First", "action": "submit"})
    client.post(_url(placement, "full"), data={"what_i_did": "Second", "action": "submit"})
    reflection = db.session.query(Reflection).one()
    assert reflection.what_i_did == "Second"
    services.record_debrief(db.session, placement["booking"], placement["staff"], "Good talk", in_person=False)
    page = client.get(_url(placement)).get_data(as_text=True)
    assert "can no longer be changed" in page
    client.post(_url(placement, "full"), data={"what_i_did": "Third", "action": "submit"})
    db.session.refresh(reflection)
    assert reflection.what_i_did == "Second"
    with pytest.raises(services.ReflectionLocked):
        services.save_reflection(db.session, placement["booking"], services.ReflectionAnswers(what_i_did="x"),
                                 easy_read=False, submit=True)


# --- staff ------------------------------------------------------------------------------


def test_staff_read_a_reflection_and_add_a_debrief_note(client, login, placement):
    services.save_reflection(db.session, placement["booking"],
                             services.ReflectionAnswers(what_i_did="Helped on the ward", skills=["listening"]),
                             easy_read=False, submit=True)
    login(placement["staff"])
    listing = client.get("/school/reflections").get_data(as_text=True)
    assert placement["student"].full_name in listing
    assert "Submitted" in listing
    url = f"/school/bookings/{placement['booking'].id}/reflection"
    assert "Helped on the ward" in client.get(url).get_data(as_text=True)
    assert client.post(url, data={"debrief_note": "Talked about next steps"}).status_code == 302
    reflection = db.session.query(Reflection).one()
    assert reflection.debriefed
    assert reflection.debrief_note == "Talked about next steps"
    assert reflection.debriefed_by_id == placement["staff"].id


def test_staff_do_not_see_a_draft(client, login, placement):
    services.save_reflection(db.session, placement["booking"], services.ReflectionAnswers(what_i_did="Secret draft"),
                             easy_read=False, submit=False)
    login(placement["staff"])
    page = client.get(f"/school/bookings/{placement['booking'].id}/reflection").get_data(as_text=True)
    assert "Secret draft" not in page
    assert "a draft is started" in page


def test_staff_record_a_debrief_in_person_without_a_written_reflection(client, login, placement):
    login(placement["staff"])
    response = client.post(f"/school/bookings/{placement['booking'].id}/reflection", data={"in_person": "y"})
    assert response.status_code == 302
    reflection = db.session.query(Reflection).one()
    assert reflection.debriefed_in_person
    assert not reflection.submitted
    assert reflection.meaningful


def test_staff_of_another_school_are_refused(client, login, placement):
    login(make_user(Role.SCHOOL, school_id=make_school().id))
    url = f"/school/bookings/{placement['booking'].id}/reflection"
    assert client.get(url).status_code == 404
    assert client.post(url, data={"in_person": "y"}).status_code == 404
    assert placement["student"].full_name not in client.get("/school/reflections").get_data(as_text=True)
    assert db.session.query(Reflection).count() == 0


# --- the student's record ---------------------------------------------------------------


def test_record_lists_reflection_and_debrief_and_prints(client, login, placement):
    services.save_reflection(db.session, placement["booking"],
                             services.ReflectionAnswers(what_i_did="Helped on the ward", summary_100="Caring and kind"),
                             easy_read=False, submit=True)
    services.record_debrief(db.session, placement["booking"], placement["staff"], "We agreed a next step", in_person=True)
    login(placement["student_user"])
    page = client.get("/my-record").get_data(as_text=True)
    assert "Helped on the ward" in page
    assert "We agreed a next step" in page
    assert 'href="/my-record?print=1"' in page
    printed = client.get("/my-record?print=1")
    text = printed.get_data(as_text=True)
    assert printed.status_code == 200
    assert f"Record of {placement['student'].full_name}" in text
    assert "Caring and kind" in text
    assert "Print this record" not in text
    assert "Write my reflection" not in text
    assert "<script>" not in text  # no inline script: the CSP forbids it


def test_record_offers_to_write_a_reflection(client, login, placement):
    login(placement["student_user"])
    page = client.get("/my-record").get_data(as_text=True)
    assert f'href="/my-record/bookings/{placement["booking"].id}/reflection"' in page
    assert "Write my reflection" in page


def test_record_lists_logged_encounters(client, login, placement):
    import datetime as dt

    from portal.core.vocab import ActivityType
    from portal.reflections.encounters import log_encounter

    log_encounter(db.session, placement["school"], placement["staff"], held_on=dt.date(2026, 10, 14),
                  activity_type=ActivityType.CAREERS_TALK, employer_name="Fire Service",
                  student_ids=[placement["student"].id], debriefed=True)
    login(placement["student_user"])
    for url in ("/my-record", "/my-record?print=1"):
        page = client.get(url).get_data(as_text=True)
        assert "Careers talk, Fire Service, " in page
        assert "(talked through in school)" in page


# --- the scheduler's 14-day flag, shown to staff ------------------------------------------


def _ended_days_ago(booking, days):
    """Move the completed booking so that it ended `days` London days ago."""
    ended = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    booking.starts_at, booking.ends_at = ended - dt.timedelta(hours=4), ended
    db.session.flush()


def test_staff_see_a_reflection_as_overdue_by_the_rule_not_by_the_scheduler(placement, login):
    """Rule: overdue = the school's flag days have passed since the end with no submitted reflection or debrief,
    whether or not the scheduler has sent its flag email yet."""
    booking, school = placement["booking"], placement["school"]
    client = login(placement["staff"])
    _ended_days_ago(booking, school.reflection_flag_days - 1)
    assert "Overdue" not in client.get("/school/reflections").get_data(as_text=True)
    _ended_days_ago(booking, school.reflection_flag_days + 1)  # past the flag day, no flag email sent
    page = client.get("/school/reflections").get_data(as_text=True)
    assert ">Overdue<" in page and "Employer feedback overdue" in page
    services.save_reflection(db.session, booking, services.ReflectionAnswers(what_i_did="Helped on reception"),
                             easy_read=False, submit=True)
    page = client.get("/school/reflections").get_data(as_text=True)
    assert ">Overdue<" not in page and "Employer feedback overdue" in page


def test_a_flag_email_already_sent_does_not_keep_a_written_reflection_overdue(placement, login):
    """Rule: once the reflection is submitted it is not overdue, even though the scheduler flagged it earlier."""
    from portal.scheduler.models import Notice

    booking, school = placement["booking"], placement["school"]
    _ended_days_ago(booking, school.reflection_flag_days + 3)
    db.session.add(Notice(key=f"reflection:{booking.id}:flag", kind="reflection", booking_id=booking.id,
                          school_id=booking.school_id))
    services.save_reflection(db.session, booking, services.ReflectionAnswers(what_i_did="Helped on reception"),
                             easy_read=False, submit=True)
    page = login(placement["staff"]).get("/school/reflections").get_data(as_text=True)
    assert ">Overdue<" not in page


def test_long_reflection_lists_are_paginated_not_cut(placement, login, app):
    """Rule: every completed booking is reachable: past one page, the rest are on the next page."""
    per_page = app.config["PAGE_SIZE"]
    for _ in range(per_page):
        make_booking(make_student(placement["school"], first_name="Zed"))
    client = login(placement["staff"])
    first = client.get("/school/reflections").get_data(as_text=True)
    assert f"Page 1 of 2 ({per_page + 1} in all)" in first
    second = client.get("/school/reflections?page=2").get_data(as_text=True)
    assert second.count('href="/school/bookings/') == 1
