"""Risk assessment pages through HTTP: upload and attest, errors beside fields, download and review, who may see what."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.bookings.models import Booking
from portal.compliance.models import RiskAssessment, RiskAssessmentReview
from portal.compliance.uploads import STORED_NAME
from portal.core.vocab import Role
from portal.extensions import db
from tests.factories import (
    make_employer,
    make_offer,
    make_risk_assessment,
    make_school,
    make_student,
    make_user,
)

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 32


@pytest.fixture
def folder(app, tmp_path, monkeypatch) -> Path:
    """Uploads go to a fresh folder for the test."""
    path = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(path))
    return path


class World:
    """An employer's two-session offer; a school booked on the first session; another school and employer."""

    def __init__(self) -> None:
        self.employer = make_employer(insurance_expiry=dt.date.today() + dt.timedelta(days=365))
        self.employer_user = make_user(Role.EMPLOYER, employer_id=self.employer.id)
        self.offer = make_offer(self.employer, sessions=2, title="Ward insight day")
        self.sessions = list(self.offer.sessions)
        self.school = make_school()
        self.staff = make_user(Role.SCHOOL, school_id=self.school.id)
        student = make_student(self.school)
        occurrence = self.sessions[0]
        self.booking = Booking(student_id=student.id, session_id=occurrence.id, school_id=self.school.id,
                               employer_id=self.employer.id, starts_at=occurrence.starts_at,
                               ends_at=occurrence.ends_at, status="confirmed", requested_by_id=self.staff.id)
        db.session.add(self.booking)
        db.session.flush()
        self.other_staff = make_user(Role.SCHOOL)
        self.other_employer_user = make_user(Role.EMPLOYER)
        self.student_user = make_user(Role.STUDENT, student_id=student.id)

    def stored_upload(self, folder: Path) -> RiskAssessment:
        """An uploaded assessment of the first session whose file is in the folder."""
        assessment = make_risk_assessment(self.offer, self.sessions[:1], kind="upload",
                                          original_name="Ward_risk_assessment.pdf")
        folder.mkdir(mode=0o700, exist_ok=True)
        (folder / assessment.stored_name).write_bytes(PDF)
        return assessment


@pytest.fixture
def world() -> World:
    return World()


def _page(response) -> str:
    return response.get_data(as_text=True)


def _upload(client, world, data: bytes = PDF, filename: str = "Ward risk assessment.pdf", sessions=None):
    ids = [s.id for s in world.sessions] if sessions is None else sessions
    return client.post(f"/employer/offers/{world.offer.id}/risk-assessment/upload", data={
        "upload-document": (io.BytesIO(data), filename, "application/pdf"),
        "upload-sessions": [str(i) for i in ids],
    }, content_type="multipart/form-data")


def _assessments() -> list[RiskAssessment]:
    return list(db.session.scalars(select(RiskAssessment)))


# --- the employer's page ------------------------------------------------------------------


def test_the_employer_page_lists_upcoming_sessions_and_offers_both_forms(login, world):
    page = _page(login(world.employer_user).get(f"/employer/offers/{world.offer.id}/risk-assessment"))
    for occurrence in world.sessions:
        assert occurrence.when in page
    assert 'enctype="multipart/form-data"' in page
    assert 'accept=".pdf,application/pdf"' in page
    assert "smaller than 5 MB" in page
    assert "I confirm our organisation&#39;s own risk assessment covers this activity and these sessions" in page


def test_the_offer_page_links_to_its_risk_assessment(login, world):
    page = _page(login(world.employer_user).get(f"/employer/offers/{world.offer.id}"))
    assert f"/employer/offers/{world.offer.id}/risk-assessment" in page


def test_an_uploaded_pdf_is_stored_outside_static_under_a_random_name(app, login, world, folder):
    response = _upload(login(world.employer_user), world)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/employer/offers/{world.offer.id}/risk-assessment")
    (assessment,) = _assessments()
    assert STORED_NAME.fullmatch(assessment.stored_name)
    assert assessment.original_name == "Ward_risk_assessment.pdf"
    stored = folder / assessment.stored_name
    assert stored.read_bytes() == PDF
    assert not stored.resolve().is_relative_to(Path(app.static_folder).resolve())
    assert "Ward" not in assessment.stored_name


def test_the_default_upload_folder_is_outside_static(app):
    folder = Path(app.config["UPLOAD_FOLDER"]).resolve()
    assert not folder.is_relative_to(Path(app.static_folder).resolve())


@pytest.mark.parametrize(("data", "filename", "message"), [
    (PNG, "x.pdf", "The selected file must be a PDF"),
    (b"Hazards: none.", "notes.pdf", "The selected file must be a PDF"),
    (b"", "empty.pdf", "The selected file is empty"),
])
def test_a_rejected_file_shows_the_error_beside_the_field_and_stores_nothing(login, world, folder, data, filename,
                                                                             message):
    response = _upload(login(world.employer_user), world, data, filename)
    page = _page(response)
    assert response.status_code == 400
    assert 'href="#upload-document"' in page  # the error summary links to the field
    assert f'<p id="upload-document-error" class="pp-error-message"><span class="pp-visually-hidden">Error:</span> {message}</p>' in page
    assert _assessments() == []
    assert not folder.exists() or list(folder.iterdir()) == []


def test_an_oversized_file_is_refused_with_the_limit(app, login, world, folder, monkeypatch):
    monkeypatch.setitem(app.config, "RISK_ASSESSMENT_MAX_BYTES", 1024 * 1024)
    response = _upload(login(world.employer_user), world, PDF + b"0" * (1024 * 1024))
    assert response.status_code == 400
    assert "The selected file must be smaller than 1 MB" in _page(response)
    assert _assessments() == []


def test_an_upload_without_sessions_shows_the_error_beside_the_sessions_and_stores_nothing(login, world, folder):
    response = _upload(login(world.employer_user), world, sessions=[])
    assert response.status_code == 400
    assert 'id="upload-sessions-error"' in _page(response)
    assert _assessments() == []
    assert not folder.exists() or list(folder.iterdir()) == []


def test_a_session_of_another_offer_is_not_a_valid_choice(login, world, folder):
    other = make_offer(world.employer, sessions=1)
    response = _upload(login(world.employer_user), world, sessions=[other.sessions[0].id])
    assert response.status_code == 400
    assert _assessments() == []


def test_an_attestation_is_saved_for_the_chosen_sessions(login, world):
    response = login(world.employer_user).post(f"/employer/offers/{world.offer.id}/risk-assessment/attest", data={
        "attest-statement": "Our site assessment covers visits.", "attest-confirm": "y",
        "attest-sessions": [str(world.sessions[1].id)]})
    assert response.status_code == 302
    (assessment,) = _assessments()
    assert (assessment.kind, assessment.attestation) == ("attestation", "Our site assessment covers visits.")


def test_an_attestation_needs_the_statement_and_the_confirmation(login, world):
    response = login(world.employer_user).post(f"/employer/offers/{world.offer.id}/risk-assessment/attest", data={
        "attest-statement": "  ", "attest-sessions": [str(world.sessions[0].id)]})
    page = _page(response)
    assert response.status_code == 400
    assert 'id="attest-statement-error"' in page and 'id="attest-confirm-error"' in page
    assert _assessments() == []


@pytest.mark.parametrize("path", [
    "/employer/offers/{offer}/risk-assessment",
    "/employer/offers/{offer}/risk-assessment/upload",
    "/employer/offers/{offer}/risk-assessment/attest",
])
def test_another_employers_offer_is_not_found(login, world, path):
    client = login(world.other_employer_user)
    url = path.format(offer=world.offer.id)
    response = client.get(url) if url.endswith("risk-assessment") else client.post(url, data={})
    assert response.status_code == 404


def test_the_upload_form_carries_a_csrf_token_and_a_post_without_one_is_refused(app, login, world, folder,
                                                                               monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    client = login(world.employer_user)
    assert _upload(client, world).status_code == 400
    assert _assessments() == []
    page = _page(client.get(f"/employer/offers/{world.offer.id}/risk-assessment"))
    token = re.search(r'name="upload-csrf_token" type="hidden" value="([^"]+)"', page)
    assert token is not None
    response = client.post(f"/employer/offers/{world.offer.id}/risk-assessment/upload", data={
        "upload-csrf_token": token.group(1), "upload-document": (io.BytesIO(PDF), "r.pdf"),
        "upload-sessions": [str(world.sessions[0].id)]}, content_type="multipart/form-data")
    assert response.status_code == 302
    assert len(_assessments()) == 1


# --- the assessment page, download and review ----------------------------------------------


@pytest.mark.parametrize("who", ["employer_user", "staff"])
def test_the_download_is_an_attachment_to_the_employer_and_the_bookings_school(login, world, folder, who):
    assessment = world.stored_upload(folder)
    response = login(getattr(world, who)).get(f"/risk-assessments/{assessment.id}/download")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == "attachment; filename=Ward_risk_assessment.pdf"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response.headers["Cache-Control"]
    assert response.get_data() == PDF


@pytest.mark.parametrize("who", ["other_staff", "other_employer_user"])
@pytest.mark.parametrize("path", ["/risk-assessments/{id}", "/risk-assessments/{id}/download"])
def test_other_schools_and_employers_get_not_found(login, world, folder, who, path):
    assessment = world.stored_upload(folder)
    response = login(getattr(world, who)).get(path.format(id=assessment.id))
    assert response.status_code == 404


def test_a_school_whose_booking_was_cancelled_cannot_download(login, world, folder):
    assessment = world.stored_upload(folder)
    world.booking.status = "cancelled"
    db.session.flush()
    assert login(world.staff).get(f"/risk-assessments/{assessment.id}/download").status_code == 404


@pytest.mark.parametrize(("method", "path"), [
    ("get", "/employer/offers/{offer}/risk-assessment"),
    ("post", "/employer/offers/{offer}/risk-assessment/upload"),
    ("post", "/employer/offers/{offer}/risk-assessment/attest"),
    ("get", "/risk-assessments/{id}"),
    ("post", "/risk-assessments/{id}/review"),
    ("get", "/risk-assessments/{id}/download"),
])
def test_students_are_forbidden_and_anonymous_visitors_are_sent_to_sign_in(client, login, world, folder, method,
                                                                            path):
    assessment = world.stored_upload(folder)
    url = path.format(offer=world.offer.id, id=assessment.id)
    anonymous = getattr(client, method)(url)
    assert anonymous.status_code == 302 and "/sign-in" in anonymous.headers["Location"]
    assert getattr(login(world.student_user), method)(url).status_code == 403


def test_an_attestation_or_a_missing_file_has_no_download(login, world, folder):
    attestation = make_risk_assessment(world.offer, world.sessions[1:])
    missing = make_risk_assessment(world.offer, world.sessions[:1], kind="upload")
    client = login(world.employer_user)
    assert client.get(f"/risk-assessments/{attestation.id}/download").status_code == 404
    assert client.get(f"/risk-assessments/{missing.id}/download").status_code == 404


def test_a_tampered_stored_name_is_never_served(login, world, folder, tmp_path):
    (tmp_path / "secret.pdf").write_bytes(b"%PDF- secret")
    assessment = world.stored_upload(folder)
    assessment.stored_name = "../secret.pdf"
    db.session.flush()
    assert login(world.employer_user).get(f"/risk-assessments/{assessment.id}/download").status_code == 404


def test_the_employer_sees_the_statement_and_the_sessions_but_no_review_button(login, world):
    assessment = make_risk_assessment(world.offer, world.sessions, attestation="We assess every visit.")
    page = _page(login(world.employer_user).get(f"/risk-assessments/{assessment.id}"))
    assert "We assess every visit." in page
    assert world.sessions[0].when in page and world.sessions[1].when in page
    assert "Mark as reviewed" not in page


def test_the_review_button_marks_the_assessment_reviewed_for_the_school(login, world, folder):
    assessment = world.stored_upload(folder)
    client = login(world.staff)
    page = _page(client.get(f"/risk-assessments/{assessment.id}"))
    assert "Mark as reviewed" in page and "Not reviewed" in page
    assert f"/risk-assessments/{assessment.id}/download" in page
    response = client.post(f"/risk-assessments/{assessment.id}/review", follow_redirects=True)
    page = _page(response)
    assert "Risk assessment marked as reviewed for your school." in page
    assert "Mark as reviewed" not in page and "Your school reviewed it on" in page
    again = _page(client.post(f"/risk-assessments/{assessment.id}/review", follow_redirects=True))
    assert "Your school has already reviewed this risk assessment." in again
    assert db.session.scalar(select(func.count()).select_from(RiskAssessmentReview)) == 1


@pytest.mark.parametrize("who", ["other_staff", "employer_user"])
def test_only_the_bookings_school_can_mark_it_reviewed(login, world, who):
    assessment = make_risk_assessment(world.offer, world.sessions)
    response = login(getattr(world, who)).post(f"/risk-assessments/{assessment.id}/review")
    assert response.status_code == (404 if who == "other_staff" else 403)
    assert db.session.scalar(select(func.count()).select_from(RiskAssessmentReview)) == 0
