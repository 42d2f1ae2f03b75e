"""Benchmark rules: each test fails when the rule it names is broken."""

from __future__ import annotations

import datetime as dt

import pytest

from portal.core.vocab import ActivityType, Role, SchoolType
from portal.extensions import db
from portal.progress.services import compute_school_progress, year_group_in
from portal.reflections import services as reflections
from portal.reflections.encounters import log_encounter
from tests.factories import make_booking, make_school, make_student, make_user

TODAY = dt.date(2026, 11, 23)  # academic year 2026 (2026/27)


@pytest.fixture
def school():
    return make_school()


def log(school, student, day, activity=ActivityType.CAREERS_TALK, *, debriefed=True, employer="Acme"):
    log_encounter(db.session, school, None, held_on=day, activity_type=activity, employer_name=employer,
                  student_ids=[student.id], debriefed=debriefed)


def progress_of(school, student, year=2026):
    result = compute_school_progress(db.session, school, year, today=TODAY)
    return next(s for s in result.students if s.id == student.id)


def test_year_group_history():
    assert year_group_in(10, 2026, 2024) == 8
    assert year_group_in(10, 2026, 2026) == 10


def test_1_september_starts_the_academic_year(school):
    student = make_student(school, year_group=9)
    log(school, student, dt.date(2026, 8, 31))
    assert not progress_of(school, student).bm5_meaningful  # 31 August belongs to 2025/26
    assert progress_of(school, student, 2025).bm5_meaningful
    log(school, student, dt.date(2026, 9, 1), employer="Other")
    assert progress_of(school, student).bm5_meaningful


def test_booking_year_is_decided_by_the_london_date(school):
    student = make_student(school, year_group=9)
    # 23:30 UTC on 31 August is 00:30 on 1 September in London (BST): academic year 2026.
    booking = make_booking(student, starts_at=dt.datetime(2026, 8, 31, 23, 30, tzinfo=dt.UTC))
    reflections.record_debrief(db.session, booking, make_user(Role.SCHOOL, school_id=school.id), None, in_person=True)
    assert progress_of(school, student).bm5_meaningful
    assert not progress_of(school, student, 2025).bm5_attended


def test_bm5_history_starts_in_year_7(school):
    student = make_student(school, year_group=8)
    log(school, student, dt.date(2025, 1, 10))  # in Year 6 then
    log(school, student, dt.date(2025, 10, 10), employer="B")  # Year 7
    history = progress_of(school, student).bm5_history
    assert sorted(history) == [2025, 2026]
    assert history[2025] == (7, True, True)
    assert history[2026] == (8, False, False)
    younger = make_student(school, year_group=7)
    assert younger.id in {s.id for s in compute_school_progress(db.session, school, 2026, today=TODAY).students}
    assert younger.id not in {s.id for s in compute_school_progress(db.session, school, 2025, today=TODAY).students}


def test_bm6_by_16_needs_a_workplace_experience_in_years_7_to_11(school):
    student = make_student(school, year_group=11)
    log(school, student, dt.date(2026, 10, 1), ActivityType.CAREERS_TALK)
    assert not progress_of(school, student).bm6_16_attended  # a talk is an encounter, not a workplace
    log(school, student, dt.date(2026, 10, 2), ActivityType.WORK_EXPERIENCE, employer="Garage")
    assert progress_of(school, student).bm6_16_meaningful
    assert progress_of(school, student).bm6_18_attended is None  # not yet in the sixth form


def test_bm6_by_16_ignores_year_6(school):
    student = make_student(school, year_group=8)
    log(school, student, dt.date(2025, 3, 1), ActivityType.WORKPLACE_VISIT)  # Year 6
    assert not progress_of(school, student).bm6_16_attended


def test_bm6_by_18_needs_a_further_one_in_years_12_13(school):
    student = make_student(school, year_group=12)
    log(school, student, dt.date(2026, 3, 1), ActivityType.WORK_EXPERIENCE)  # Year 11
    first = progress_of(school, student)
    assert first.bm6_16_meaningful
    assert first.bm6_18_attended is False
    log(school, student, dt.date(2026, 11, 1), ActivityType.WORK_SHADOWING, employer="Lab")  # Year 12
    assert progress_of(school, student).bm6_18_meaningful


def test_colleges_need_two_encounters_a_year():
    college = make_school(school_type=SchoolType.COLLEGE.value)
    student = make_student(college, year_group=12)
    log(college, student, dt.date(2026, 10, 1))
    assert not progress_of(college, student).bm5_meaningful
    log(college, student, dt.date(2026, 10, 2), employer="Second")
    assert progress_of(college, student).bm5_meaningful
    mainstream = make_school()
    other = make_student(mainstream, year_group=12)
    log(mainstream, other, dt.date(2026, 10, 1))
    assert progress_of(mainstream, other).bm5_meaningful


def test_meaningful_needs_a_debrief_attended_does_not(school):
    staff = make_user(Role.SCHOOL, school_id=school.id)
    student = make_student(school, year_group=10)
    booking = make_booking(student, starts_at=dt.datetime(2026, 10, 5, 9, tzinfo=dt.UTC))
    status = progress_of(school, student)
    assert (status.bm5_attended, status.bm5_meaningful) == (True, False)
    reflections.save_reflection(db.session, booking, reflections.ReflectionAnswers(what_i_did="x"),
                                easy_read=False, submit=False)
    assert not progress_of(school, student).bm5_meaningful  # a draft is not a debrief
    reflections.save_reflection(db.session, booking, reflections.ReflectionAnswers(what_i_did="x"),
                                easy_read=False, submit=True)
    assert progress_of(school, student).bm5_meaningful
    assert progress_of(school, student).bm6_16_meaningful  # the factory offer is a workplace visit

    other = make_student(school, year_group=10)
    booking = make_booking(other, starts_at=dt.datetime(2026, 10, 5, 9, tzinfo=dt.UTC))
    reflections.record_debrief(db.session, booking, staff, None, in_person=True)
    assert progress_of(school, other).bm5_meaningful  # staff debrief without a written reflection

    third = make_student(school, year_group=10)
    log(school, third, dt.date(2026, 10, 1), debriefed=False)
    status = progress_of(school, third)
    assert (status.bm5_attended, status.bm5_meaningful) == (True, False)


def test_only_completed_bookings_and_attended_encounters_count(school):
    student = make_student(school, year_group=10)
    make_booking(student, status="no_show", starts_at=dt.datetime(2026, 10, 5, 9, tzinfo=dt.UTC))
    make_booking(student, status="confirmed", starts_at=dt.datetime(2026, 10, 6, 9, tzinfo=dt.UTC))
    from portal.reflections.encounters import import_encounters

    import_encounters(db.session, school,
                      f"student_ref,date,activity_type,employer_name,attended,debriefed\n"
                      f"{student.student_ref},2026-10-01,careers_talk,Acme,no,no\n".encode(), today=TODAY)
    status = progress_of(school, student)
    assert not status.bm5_attended
    assert status.nothing_this_year


def test_another_schools_activity_does_not_count(school):
    student = make_student(school, year_group=10)
    other_school = make_school()
    log_encounter(db.session, other_school, None, held_on=dt.date(2026, 10, 1), activity_type=ActivityType.CAREERS_TALK,
                  employer_name="X", student_ids=[make_student(other_school).id], debriefed=True)
    assert not progress_of(school, student).bm5_attended
    assert [s.id for s in compute_school_progress(db.session, school, 2026, today=TODAY).students] == [student.id]


def test_shares_by_year_and_equity_group_with_gaps(school):
    a = make_student(school, year_group=9, send_status="ehcp")
    b = make_student(school, year_group=9, send_status="sen_support", disadvantaged=True)
    c = make_student(school, year_group=10)
    d = make_student(school, year_group=10)
    for s in (b, c, d):
        log(school, s, dt.date(2026, 10, 1), employer=f"E{s.id}")
    result = compute_school_progress(db.session, school, 2026, today=TODAY)
    assert result.overall["bm5_meaningful"].met == 3
    assert result.overall["bm5_meaningful"].total == 4
    assert result.by_year[9]["bm5_meaningful"].percent == 50.0
    assert result.by_group["ehcp"]["bm5_meaningful"].percent == 0.0
    assert result.by_group["others"]["bm5_meaningful"].percent == 100.0
    assert result.by_group["disadvantaged"]["bm5_meaningful"].met == 1
    assert result.gap("ehcp", "bm5_meaningful") == -100.0
    assert result.gap_highlighted("ehcp", "bm5_meaningful")
    assert not result.gap_highlighted("sen_support", "bm5_meaningful")
    assert [s.id for s in result.students_behind("bm5_meaningful", group="ehcp", met=False)] == [a.id]
    assert [s.id for s in result.nothing_this_year] == [a.id]
