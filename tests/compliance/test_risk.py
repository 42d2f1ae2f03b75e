"""Risk assessment rules: which sessions an assessment covers, who may add and review, and who is told."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from portal.bookings.models import Booking
from portal.compliance import risk
from portal.compliance.checklist import bookings_by_id, checklists
from portal.compliance.models import RiskAssessment, RiskAssessmentCoverage, RiskAssessmentReview
from portal.compliance.uploads import StoredUpload
from portal.core.models import AuditEvent, OutboxMessage
from portal.core.vocab import ComplianceKind, ItemStatus, Role
from portal.extensions import db
from tests.factories import (
    make_employer,
    make_offer,
    make_risk_assessment,
    make_school,
    make_session,
    make_student,
    make_user,
)

STATEMENT = "Our site assessment (reviewed May 2026) covers school visits to the ward."


def book(school, staff, occurrence, status: str = "confirmed") -> Booking:
    """A booking of a new student of the school on the session, requested by the staff member."""
    booking = Booking(student_id=make_student(school).id, session_id=occurrence.id, school_id=school.id,
                      employer_id=occurrence.offer.employer_id, starts_at=occurrence.starts_at,
                      ends_at=occurrence.ends_at, status=status, requested_by_id=staff.id)
    db.session.add(booking)
    db.session.flush()
    return booking


class World:
    """An employer with a three-session offer, and a school with a confirmed booking on the first session."""

    def __init__(self) -> None:
        self.employer = make_employer(insurance_expiry=dt.date.today() + dt.timedelta(days=365))
        self.employer_user = make_user(Role.EMPLOYER, employer_id=self.employer.id)
        self.offer = make_offer(self.employer, sessions=3)
        self.sessions = list(self.offer.sessions)
        self.school = make_school()
        self.staff = make_user(Role.SCHOOL, school_id=self.school.id)
        self.booking = self.book(self.school, self.staff, self.sessions[0])

    def book(self, school, staff, occurrence, status: str = "confirmed"):
        """A booking of a new student of the school on the session, requested by the staff member."""
        return book(school, staff, occurrence, status)


@pytest.fixture
def world() -> World:
    return World()


def _covering(occurrence) -> int | None:
    return db.session.scalar(select(RiskAssessmentCoverage.risk_assessment_id)
                             .where(RiskAssessmentCoverage.session_id == occurrence.id))


def _risk_item(booking):
    checklist = checklists(db.session, bookings_by_id([booking.id]), dt.date.today())[booking.id]
    return next(item for item in checklist.items if item.kind is ComplianceKind.RISK_ASSESSMENT)


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _attest(world, sessions=None):
    ids = [s.id for s in (sessions if sessions is not None else world.sessions)]
    return risk.add_attestation(db.session, world.employer_user, world.offer, STATEMENT, ids)


# --- adding ---------------------------------------------------------------------------------


def test_one_assessment_covers_several_sessions(world):
    assessment = _attest(world)
    assert [_covering(s) for s in world.sessions] == [assessment.id] * 3
    assert assessment.kind == "attestation" and assessment.attestation == STATEMENT
    assert assessment.employer_id == world.employer.id and assessment.created_by_id == world.employer_user.id


def test_an_upload_records_the_stored_file_for_its_sessions(world):
    stored = StoredUpload(stored_name="ab" * 16 + ".pdf", original_name="site.pdf", size_bytes=1234)
    assessment = risk.add_upload(db.session, world.employer_user, world.offer, stored, [world.sessions[1].id])
    assert (assessment.kind, assessment.stored_name, assessment.original_name, assessment.size_bytes) == (
        "upload", stored.stored_name, "site.pdf", 1234)
    assert [_covering(s) for s in world.sessions] == [None, assessment.id, None]


def test_a_newer_assessment_repoints_only_the_sessions_it_covers(world):
    first = _attest(world)
    second = _attest(world, [world.sessions[1]])
    assert [_covering(s) for s in world.sessions] == [first.id, second.id, first.id]
    assert _count(RiskAssessmentCoverage) == 3  # still exactly one row per session
    assert [s.id for s in risk.covered_sessions(db.session, first)] == [world.sessions[0].id, world.sessions[2].id]


def test_adding_an_assessment_is_audited(world):
    assessment = _attest(world)
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "risk_assessment_added")).one()
    assert (event.object_type, event.object_id, event.actor_id) == ("risk_assessment", assessment.id,
                                                                    world.employer_user.id)


def test_sessions_of_another_offer_are_refused_and_nothing_is_saved(world):
    other = make_offer(world.employer, sessions=1)
    with pytest.raises(risk.RiskAssessmentRefused, match="only sessions of this offer") as refusal:
        _attest(world, [world.sessions[0], other.sessions[0]])
    assert refusal.value.code == "wrong_offer"
    assert _count(RiskAssessment) == 0 and _count(RiskAssessmentCoverage) == 0


@pytest.mark.parametrize("started_days_ago", [1, 0.01])
def test_sessions_that_have_started_are_refused(world, started_days_ago):
    started = make_session(world.offer, starts_in_days=-started_days_ago, hours=48)
    with pytest.raises(risk.RiskAssessmentRefused, match="already started") as refusal:
        _attest(world, [world.sessions[0], started])
    assert refusal.value.code == "started"
    assert _count(RiskAssessment) == 0


def test_a_session_is_refused_once_the_given_time_passes_its_start(world):
    later = world.sessions[0].starts_at + dt.timedelta(minutes=1)
    with pytest.raises(risk.RiskAssessmentRefused, match="already started"):
        risk.add_attestation(db.session, world.employer_user, world.offer, STATEMENT, [world.sessions[0].id], now=later)


def test_at_least_one_session_is_needed(world):
    with pytest.raises(risk.RiskAssessmentRefused, match="at least one session"):
        _attest(world, [])


def test_another_employers_staff_cannot_add_to_an_offer(world):
    stranger = make_user(Role.EMPLOYER)
    with pytest.raises(risk.RiskAssessmentRefused) as refusal:
        risk.add_attestation(db.session, stranger, world.offer, STATEMENT, [world.sessions[0].id])
    assert refusal.value.code == "not_found"


@pytest.mark.parametrize("statement", ["", "   \n "])
def test_an_attestation_needs_a_statement(world, statement):
    with pytest.raises(risk.RiskAssessmentRefused, match="Describe"):
        risk.add_attestation(db.session, world.employer_user, world.offer, statement, [world.sessions[0].id])


# --- emails -------------------------------------------------------------------------------


def test_each_requesting_member_of_staff_is_emailed_once_with_a_link_to_review(world):
    world.book(world.school, world.staff, world.sessions[1], status="requested")  # same staff, second session
    other_school = make_school()
    other_staff = make_user(Role.SCHOOL, school_id=other_school.id, email="other-staff@example.org")
    world.book(other_school, other_staff, world.sessions[2])
    cancelled_staff = make_user(Role.SCHOOL, school_id=other_school.id, email="cancelled@example.org")
    world.book(other_school, cancelled_staff, world.sessions[2], status="cancelled")
    assessment = _attest(world)
    messages = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.recipient)).all()
    assert sorted(m.recipient for m in messages) == sorted([world.staff.email, "other-staff@example.org"])
    for message in messages:
        assert message.subject == f"Risk assessment ready to review: {world.offer.title}"
        assert f"/risk-assessments/{assessment.id}" in message.body
    assert {m.recipient: m.school_id for m in messages}[world.staff.email] == world.school.id


def test_no_email_goes_to_schools_booked_only_on_sessions_not_covered(world):
    _attest(world, [world.sessions[2]])
    assert _count(OutboxMessage) == 0


# --- reviews ------------------------------------------------------------------------------


def test_a_review_by_the_bookings_school_completes_the_checklist_item(world):
    assessment = _attest(world)
    assert _risk_item(world.booking).status is not ItemStatus.DONE
    assert risk.review(db.session, world.staff, assessment) is True
    assert _risk_item(world.booking).status is ItemStatus.DONE
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "risk_assessment_reviewed")).one()
    assert (event.object_id, event.school_id, event.actor_id) == (assessment.id, world.school.id, world.staff.id)


def test_another_schools_review_does_not_count_for_this_booking(world):
    other_school = make_school()
    other_staff = make_user(Role.SCHOOL, school_id=other_school.id)
    other_booking = world.book(other_school, other_staff, world.sessions[0])
    assessment = _attest(world)
    risk.review(db.session, other_staff, assessment)
    assert _risk_item(other_booking).status is ItemStatus.DONE
    assert _risk_item(world.booking).status is not ItemStatus.DONE


def test_reviewing_twice_changes_nothing(world):
    assessment = _attest(world)
    assert risk.review(db.session, world.staff, assessment) is True
    colleague = make_user(Role.SCHOOL, school_id=world.school.id)
    assert risk.review(db.session, colleague, assessment) is False
    assert risk.review(db.session, world.staff, assessment) is False
    review = db.session.scalars(select(RiskAssessmentReview)).one()
    assert review.reviewed_by_id == world.staff.id
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "risk_assessment_reviewed")) == 1


def test_a_newer_assessment_for_a_session_needs_reviewing_again(world):
    risk.review(db.session, world.staff, _attest(world))
    _attest(world, [world.sessions[0]])
    assert _risk_item(world.booking).status is not ItemStatus.DONE


@pytest.mark.parametrize("who", ["school_without_booking", "employer", "cancelled_booking"])
def test_only_staff_of_a_school_booked_on_a_covered_session_may_review(world, who):
    assessment = _attest(world, [world.sessions[0], world.sessions[1]])
    if who == "employer":
        user = world.employer_user
    else:
        school = make_school()
        user = make_user(Role.SCHOOL, school_id=school.id)
        if who == "cancelled_booking":
            world.book(school, user, world.sessions[1], status="cancelled")
    with pytest.raises(risk.RiskAssessmentRefused):
        risk.review(db.session, user, assessment)
    assert _count(RiskAssessmentReview) == 0


# --- what the employer's page lists -------------------------------------------------------


def test_upcoming_sessions_show_their_assessment_and_how_many_booked_schools_reviewed(world):
    past = make_session(world.offer, starts_in_days=-3)
    other_school = make_school()
    other_staff = make_user(Role.SCHOOL, school_id=other_school.id)
    world.book(other_school, other_staff, world.sessions[0])
    assessment = make_risk_assessment(world.offer, [past, world.sessions[0], world.sessions[1]],
                                      reviewed_by=world.staff)
    rows = risk.upcoming_sessions(db.session, world.offer)
    assert [row.occurrence.id for row in rows] == [s.id for s in world.sessions]
    assert [row.assessment.id if row.assessment else None for row in rows] == [assessment.id, assessment.id, None]
    assert [(row.schools, row.reviewed) for row in rows] == [(2, 1), (0, 0), (0, 0)]


def test_listing_sessions_and_assessments_takes_the_same_queries_for_many(world, count_queries):
    def queries() -> int:
        db.session.expire_all()
        with count_queries() as counted:
            risk.upcoming_sessions(db.session, world.offer)
            risk.offer_assessments(db.session, world.offer)
        return counted.total

    make_risk_assessment(world.offer, world.sessions[:1], reviewed_by=world.staff)
    few = queries()
    for occurrence in world.sessions[1:]:
        make_risk_assessment(world.offer, [occurrence], reviewed_by=world.staff)
        world.book(world.school, world.staff, occurrence)
    for _ in range(5):
        make_risk_assessment(world.offer, [make_session(world.offer, starts_in_days=60 + _)])
    assert queries() == few


def test_offer_assessments_are_newest_first_with_sessions_and_reviews(world):
    older = make_risk_assessment(world.offer, world.sessions, reviewed_by=world.staff,
                                 created_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=2))
    newer = make_risk_assessment(world.offer, world.sessions[:1])
    summaries = risk.offer_assessments(db.session, world.offer)
    assert [(s.assessment.id, s.sessions, s.reviews) for s in summaries] == [(newer.id, 1, 0), (older.id, 2, 1)]
