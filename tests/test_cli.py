"""Operator commands: create-user, import schools, outbox, seed-demo."""

from __future__ import annotations

from sqlalchemy import func, select

from portal.accounts.models import User
from portal.core.outbox import queue_email
from portal.core.vocab import SchoolType, SendStatus
from portal.extensions import db
from portal.organisations.models import Employer, School, Student
from tests.factories import make_employer, make_school, make_student


def test_create_user_prints_a_one_time_link(app):
    school = make_school(urn="654321")
    result = app.test_cli_runner().invoke(args=["create-user", "lead@example.org", "--role", "school", "--school", "654321"])
    assert result.exit_code == 0, result.output
    assert "http://portal.test/welcome/" in result.output
    user = db.session.scalars(select(User).where(User.email == "lead@example.org")).one()
    assert user.school_id == school.id and not user.has_password


def test_create_user_reads_a_password_from_stdin_for_a_hub(app):
    result = app.test_cli_runner().invoke(
        args=["create-user", "hub@example.org", "--role", "hub", "--hub", "North Hub", "--password-stdin"],
        input="a-perfectly-fine-password\n",
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalars(select(User).where(User.email == "hub@example.org")).one()
    assert user.has_password and user.hub.name == "North Hub"


def test_create_user_for_a_student_needs_the_school_and_reference(app):
    student = make_student(make_school(urn="111222"), student_ref="R42")
    db.session.commit()  # set-up is committed data; the failing command rolls back its own work only
    runner = app.test_cli_runner()
    missing = runner.invoke(args=["create-user", "kid@example.org", "--role", "student", "--school", "111222"])
    assert missing.exit_code != 0 and "--student" in missing.output
    ok = runner.invoke(args=["create-user", "kid@example.org", "--role", "student", "--school", "111222", "--student", "R42"])
    assert ok.exit_code == 0, ok.output
    assert db.session.scalars(select(User).where(User.email == "kid@example.org")).one().student_id == student.id


def test_create_user_with_an_unknown_employer_fails_clearly(app):
    make_employer(ref="real-ref")
    result = app.test_cli_runner().invoke(args=["create-user", "x@example.org", "--role", "employer", "--employer", "nope"])
    assert result.exit_code != 0 and "No employer has reference 'nope'" in result.output


def test_import_schools_command_exits_non_zero_and_lists_row_errors(app, tmp_path):
    path = tmp_path / "schools.csv"
    path.write_text("urn,name,school_type,postcode\n700001,Good,mainstream,M13 9PL\n700002,Bad,castle,M13 9PL\n")
    result = app.test_cli_runner().invoke(args=["import", "schools", str(path)])
    assert result.exit_code == 1
    assert "line 3, column school_type: unknown code 'castle'" in result.output
    assert db.session.scalar(select(func.count()).select_from(School)) == 0


def test_import_schools_dry_run_writes_nothing(app, tmp_path):
    path = tmp_path / "schools.csv"
    path.write_text("urn,name,school_type,postcode\n700001,Good,mainstream,M13 9PL\n")
    result = app.test_cli_runner().invoke(args=["import", "schools", str(path), "--dry-run"])
    assert result.exit_code == 0 and "Would import: 1 new" in result.output
    assert db.session.scalar(select(func.count()).select_from(School)) == 0


def test_outbox_command_prints_queued_mail(app):
    queue_email(db.session, "someone@example.org", "Hello there", "The body text")
    db.session.flush()
    result = app.test_cli_runner().invoke(args=["outbox"])
    assert "someone@example.org" in result.output and "Hello there" in result.output and "not sent" in result.output


def test_seed_demo_is_realistic_and_idempotent(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    counts = lambda model: db.session.scalar(select(func.count()).select_from(model))  # noqa: E731
    before = (counts(School), counts(Employer), counts(Student), counts(User))
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert (counts(School), counts(Employer), counts(Student), counts(User)) == before
    assert before[0] >= 3 and before[1] >= 15 and before[2] >= 200
    types = set(db.session.scalars(select(School.school_type)))
    assert {SchoolType.MAINSTREAM.value, SchoolType.SPECIAL.value} <= types and len(types) >= 3
    assert len(set(db.session.scalars(select(Employer.sector)))) >= 15
    total = before[2]
    share = lambda status: db.session.scalar(select(func.count()).select_from(Student).where(Student.send_status == status)) / total  # noqa: E731
    assert 0.08 <= share(SendStatus.SEN_SUPPORT.value) <= 0.25
    assert 0.03 <= share(SendStatus.EHCP.value) <= 0.25
    disadvantaged = db.session.scalar(select(func.count()).select_from(Student).where(Student.disadvantaged)) / total
    assert 0.2 <= disadvantaged <= 0.5
    for role in ("Careers leader", "Employer", "Student", "Hub coordinator"):
        assert role in first.output
    assert "demo-portal-2026" in first.output
    from portal.organisations.upn import is_valid_upn

    upns = list(db.session.scalars(select(Student.upn).where(Student.upn.is_not(None))))
    assert upns and all(is_valid_upn(upn) for upn in upns)


def test_seed_demo_places_students_through_the_services(app):
    """The demo's placements are made as users make them: audited, places taken, every compliance state present."""
    from portal.bookings.models import Booking
    from portal.compliance.models import ConsentRequest, DbsNote, RiskAssessmentReview
    from portal.core.models import AuditEvent
    from portal.offers.models import OfferSession
    from portal.reflections.models import EmployerFeedback, Reflection

    assert app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0
    count = lambda query: db.session.scalar(select(func.count()).select_from(query.subquery()))  # noqa: E731
    by_status = dict(db.session.execute(select(Booking.status, func.count()).group_by(Booking.status)).all())
    assert by_status == {"completed": 12, "confirmed": 6, "requested": 1}
    assert count(select(AuditEvent).where(AuditEvent.action == "booking_requested")) == 19
    from portal.bookings.models import FeatureConfirmation

    said = db.session.execute(select(FeatureConfirmation.present, func.count()).group_by(FeatureConfirmation.present))
    assert dict(said.all()) == {True: 2, False: 1}  # the SENCO's answers after two placements: one feature not there
    held = db.session.scalar(select(func.sum(OfferSession.booked)))
    assert held == sum(by_status.values())  # each booking took its place through take_place
    assert count(select(Reflection).where(Reflection.status == "submitted")) == 6
    assert count(select(EmployerFeedback)) == 5
    assert count(select(ConsentRequest).where(ConsentRequest.decision == "consented")) == 1
    assert count(select(DbsNote)) >= 1 and count(select(RiskAssessmentReview)) == 1
    assert count(select(Booking).where(Booking.briefed_at.is_not(None))) == 1
