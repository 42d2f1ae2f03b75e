"""Risk assessment uploads: type by content, size limit, random private names, and no path tricks."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pytest
from werkzeug.datastructures import FileStorage

from portal.compliance import uploads
from portal.compliance.uploads import STORED_NAME, NotAStoredName, UploadRejected

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 32


@pytest.fixture(autouse=True)
def folder(app, tmp_path, monkeypatch) -> Path:
    """Each test stores into its own empty upload folder."""
    path = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(path))
    return path


def _file(data: bytes, filename: str = "assessment.pdf", content_type: str = "application/pdf") -> FileStorage:
    return FileStorage(stream=io.BytesIO(data), filename=filename, content_type=content_type)


def _stored_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_a_pdf_is_stored_under_a_random_name_readable_only_by_the_portal(folder):
    stored = uploads.store_pdf(_file(PDF, "Site risk assessment.pdf"))
    assert STORED_NAME.fullmatch(stored.stored_name)
    assert stored.original_name == "Site_risk_assessment.pdf"
    assert stored.size_bytes == len(PDF)
    path = folder / stored.stored_name
    assert path.read_bytes() == PDF
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert _stored_files(folder) == [stored.stored_name]  # no temporary file left behind


def test_two_uploads_of_the_same_file_never_share_a_stored_name(folder):
    first, second = uploads.store_pdf(_file(PDF)), uploads.store_pdf(_file(PDF))
    assert first.stored_name != second.stored_name
    assert len(_stored_files(folder)) == 2


@pytest.mark.parametrize(("data", "filename", "content_type"), [
    (PNG, "x.pdf", "application/pdf"),
    (b"Just some notes about hazards.\n", "notes.pdf", "application/pdf"),
    (b"<html><body>%PDF-1.4</body></html>", "page.pdf", "application/pdf"),
    (b"   %PDF-1.4\n%%EOF", "leading-spaces.pdf", "application/pdf"),
    (b"MZ\x90\x00" + b"\x00" * 60, "setup.pdf", "application/pdf"),
], ids=["png-named-pdf", "plain-text", "pdf-marker-later", "pdf-marker-not-first", "executable"])
def test_only_files_that_begin_with_the_pdf_signature_are_accepted(folder, data, filename, content_type):
    with pytest.raises(UploadRejected, match="must be a PDF"):
        uploads.store_pdf(_file(data, filename, content_type))
    assert _stored_files(folder) == []


def test_a_pdf_is_accepted_whatever_name_and_type_the_browser_claims(folder):
    stored = uploads.store_pdf(_file(PDF, "scan.png", "image/png"))
    assert (folder / stored.stored_name).read_bytes() == PDF
    assert stored.original_name == "scan.png.pdf"


def test_an_empty_file_is_rejected(folder):
    with pytest.raises(UploadRejected, match="empty"):
        uploads.store_pdf(_file(b""))
    assert _stored_files(folder) == []


@pytest.mark.parametrize("file", [None, FileStorage(stream=io.BytesIO(PDF), filename="")])
def test_no_file_chosen_is_rejected(file):
    with pytest.raises(UploadRejected, match="Select a PDF"):
        uploads.store_pdf(file)


def test_a_file_over_the_limit_is_rejected_with_the_limit_in_mb(app, folder, monkeypatch):
    monkeypatch.setitem(app.config, "RISK_ASSESSMENT_MAX_BYTES", 2 * 1024 * 1024)
    with pytest.raises(UploadRejected, match="smaller than 2 MB"):
        uploads.store_pdf(_file(PDF + b"0" * (2 * 1024 * 1024)))
    assert _stored_files(folder) == []


def test_a_file_of_exactly_the_limit_is_accepted(app, folder, monkeypatch):
    monkeypatch.setitem(app.config, "RISK_ASSESSMENT_MAX_BYTES", 1024)
    data = PDF + b"0" * (1024 - len(PDF))
    assert uploads.store_pdf(_file(data)).size_bytes == 1024
    with pytest.raises(UploadRejected, match="smaller than 1 KB"):
        uploads.store_pdf(_file(data + b"0"))


def test_an_oversized_file_is_read_no_further_than_one_byte_past_the_limit(app, monkeypatch):
    monkeypatch.setitem(app.config, "RISK_ASSESSMENT_MAX_BYTES", 1000)
    stream = io.BytesIO(PDF + b"0" * 1_000_000)
    with pytest.raises(UploadRejected):
        uploads.store_pdf(FileStorage(stream=stream, filename="big.pdf"))
    assert stream.tell() == 1001


def test_the_default_limit_is_described_as_5_mb(app):
    assert uploads.limit_label() == "5 MB"


@pytest.mark.parametrize("filename", [
    "../../etc/passwd.pdf",
    "..\\..\\evil.pdf",
    "/etc/cron.d/x.pdf",
    "evil\x00.pdf",
    "line\nbreak.pdf",
    "../../../../" + "a" * 300 + ".pdf",
    "..",
])
def test_path_tricks_in_the_name_only_change_the_display_name(folder, tmp_path, filename):
    stored = uploads.store_pdf(_file(PDF, filename))
    assert STORED_NAME.fullmatch(stored.stored_name)
    assert _stored_files(folder) == [stored.stored_name]
    assert (folder / stored.stored_name).resolve().parent == folder.resolve()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["uploads"]  # nothing written beside the folder
    for bad in ("/", "\\", "\x00", "\n", ".."):
        assert bad not in stored.original_name
    assert stored.original_name.endswith(".pdf")
    assert len(stored.original_name) <= 200


@pytest.mark.parametrize(("filename", "shown"), [
    ("Risk assessment 2026.PDF", "Risk_assessment_2026.pdf"),
    ("report", "report.pdf"),
    (".pdf", "risk-assessment.pdf"),
    ("", "risk-assessment.pdf"),
    (None, "risk-assessment.pdf"),
    ("Évaluation des risques.pdf", "Evaluation_des_risques.pdf"),
    ("x" * 250 + ".pdf", "x" * 196 + ".pdf"),
])
def test_the_display_name_is_sanitised_and_always_a_pdf(filename, shown):
    assert uploads.display_name(filename) == shown


@pytest.mark.parametrize("name", [
    "../x.pdf",
    "../" + "a" * 32 + ".pdf",
    "a" * 32 + ".pdf/../../etc/passwd",
    "/etc/passwd",
    "A" * 32 + ".pdf",
    "a" * 32 + ".PDF",
    "a" * 31 + ".pdf",
    "a" * 32 + ".pdf\n",
    "x.pdf",
    "",
])
def test_opening_a_stored_file_refuses_any_name_the_folder_could_not_have_made(name):
    with pytest.raises(NotAStoredName):
        uploads.open_stored(name)


def test_a_stored_file_opens_by_its_name_and_a_missing_one_is_not_found(folder):
    stored = uploads.store_pdf(_file(PDF))
    with uploads.open_stored(stored.stored_name) as handle:
        assert handle.read() == PDF
    with pytest.raises(FileNotFoundError):
        uploads.open_stored("0" * 32 + ".pdf")


def test_a_failed_write_leaves_no_partial_file(folder, monkeypatch):
    def broken_replace(*_args, **_kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        uploads.store_pdf(_file(PDF))
    assert _stored_files(folder) == []


def test_deleting_a_stored_file_removes_it_and_a_missing_one_is_fine(folder):
    stored = uploads.store_pdf(_file(PDF))
    uploads.delete_stored(stored.stored_name)
    uploads.delete_stored(stored.stored_name)
    assert _stored_files(folder) == []
    with pytest.raises(NotAStoredName):
        uploads.delete_stored("../secret_key")
