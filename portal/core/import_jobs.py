"""Browser imports as background jobs: the upload is saved under instance/, a job row tracks it, a worker runs it.

Features register how to run each kind (`register_importer`); the worker runs the import in one
transaction and stores the same report the command line prints (row errors, or the summary).
Progress (rows checked, then rows to write and written) is left as a note in the task queue's store,
so pages see it while the import's transaction is still open (on SQLite that transaction holds the
write lock); it is best effort, and the final report is exact.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from flask import current_app, render_template
from werkzeug.datastructures import FileStorage
from werkzeug.utils import secure_filename

from portal.core.csvimport import (
    MAX_ERRORS_SHOWN,
    PROGRESS_EVERY,
    ImportFailed,
    ImportProgress,
    ImportReport,
    RowError,
)
from portal.core.models import ImportJob
from portal.core.refusals import Refusal
from portal.core.tasks import background, enqueue, task_queue
from portal.core.vocab import ImportJobStatus
from portal.db import DbSession, utcnow
from portal.extensions import db

log = logging.getLogger(__name__)

RUN_TASK = "imports.run"
STORED_SUFFIX = ".csv"
_BLOCK = 64 * 1024
MAX_NAME_LENGTH = 200

Importer = Callable[[DbSession, ImportJob, IO[bytes], ImportProgress], ImportReport]
_importers: dict[str, Importer] = {}
_written_nouns: dict[str, str] = {}


def register_importer(kind: str, *, writes: str) -> Callable[[Importer], Importer]:
    """Declare how a worker runs jobs of this kind, (session, job, file, progress) -> report, raising ImportFailed;
    `writes` names what it writes ("students"), for the progress page."""
    def register(run: Importer) -> Importer:
        _importers[kind], _written_nouns[kind] = run, writes
        return run
    return register


@dataclass(frozen=True)
class SavedUpload:
    """A CSV saved under instance/imports: its random name, the name to show, its size and line count."""

    stored_name: str
    original_name: str
    size_bytes: int
    lines: int


def import_folder() -> Path:
    """instance/imports (created private to the portal's user)."""
    folder = Path(current_app.instance_path) / "imports"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder.resolve()


def _shown_name(filename: str | None) -> str:
    """The uploaded name, safe to show: no path, at most 200 characters."""
    return (secure_filename(filename or "") or "upload.csv")[:MAX_NAME_LENGTH]


def save_upload(file: FileStorage | None) -> SavedUpload:
    """Copy an upload block by block to a new random name, counting its lines; Refusal when there is none."""
    if file is None or not file.filename:
        raise Refusal("no_file", "Select a CSV file", "file")
    folder = import_folder()
    stored_name = secrets.token_hex(16) + STORED_SUFFIX
    handle, temp_path = tempfile.mkstemp(dir=folder, prefix=".upload-", suffix=".part")  # created 0o600
    size = lines = 0
    try:
        with os.fdopen(handle, "wb") as out:
            while block := file.stream.read(_BLOCK):
                out.write(block)
                size += len(block)
                lines += block.count(b"\n")
        os.replace(temp_path, folder / stored_name)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_path)
        raise
    if size == 0:
        delete_upload(stored_name)
        raise Refusal("empty_file", "The selected file is empty", "file")
    return SavedUpload(stored_name, _shown_name(file.filename), size, lines)


def _stored_path(stored_name: str) -> Path:
    """The saved file of a job (names are only ever ones save_upload made)."""
    path = (import_folder() / stored_name).resolve()
    if path.parent != import_folder() or not stored_name.endswith(STORED_SUFFIX):
        raise ValueError("not a saved import")
    return path


def delete_upload(stored_name: str) -> None:
    """Remove a saved upload once its job has finished (missing is fine)."""
    with contextlib.suppress(FileNotFoundError):
        _stored_path(stored_name).unlink()


def create_job(session: DbSession, kind: str, owner: Any, upload: SavedUpload, *, school_id: int | None = None,
               hub_id: int | None = None, employer_id: int | None = None, dry_run: bool = False) -> ImportJob:
    """Add a queued job for a saved upload (the caller commits, then calls `start`)."""
    if kind not in _importers:
        raise ValueError(f"no importer is registered for {kind!r}")
    job = ImportJob(kind=kind, status=ImportJobStatus.QUEUED.value, dry_run=dry_run, owner_id=owner.id,
                    school_id=school_id, hub_id=hub_id, employer_id=employer_id, stored_name=upload.stored_name,
                    original_name=upload.original_name, size_bytes=upload.size_bytes,
                    rows_estimate=max(upload.lines - 1, 0))
    session.add(job)
    session.flush()
    return job


def start(job: ImportJob) -> None:
    """Hand a committed job to the workers."""
    enqueue(RUN_TASK, job.id)


def _note_key(job_id: int) -> str:
    """Where a running job's live figures are kept in the queue's store."""
    return f"import-job:{job_id}"


class _JobProgress:
    """A running job's figures, left as a note in the queue's store (which the open transaction cannot block)."""

    def __init__(self, job_id: int) -> None:
        """Nothing checked or written yet."""
        self.job_id = job_id
        self.rows_checked = 0
        self.rows_to_write: int | None = None
        self.rows_written = 0
        self._noted_checked = 0

    def checked(self, rows: int) -> None:
        """Note the count; pass it on when it has moved on by PROGRESS_EVERY rows."""
        self.rows_checked = rows
        if rows - self._noted_checked >= PROGRESS_EVERY:
            self._noted_checked = rows
            self._note()

    def writing(self, rows: int) -> None:
        """Every row checked and good: so many will be written."""
        self.rows_to_write = rows
        self._note()

    def written(self, rows: int) -> None:
        """So many written so far."""
        self.rows_written = rows
        self._note()

    def _note(self) -> None:
        """Best effort: a store that is briefly unavailable costs a figure on the page, never the import."""
        try:
            task_queue().put_note(_note_key(self.job_id), {
                "rows_checked": self.rows_checked, "rows_to_write": self.rows_to_write,
                "rows_written": self.rows_written})
        except Exception as error:  # Huey's SQLite file or Redis, whatever it raises; the final report is exact
            log.info("import job %s: progress not noted (%s)", self.job_id, error)


def report_of_failure(errors: list[RowError]) -> dict[str, Any]:
    """The stored form of a failed import: the first MAX_ERRORS_SHOWN errors and how many there were."""
    return {"ok": False, "error_count": len(errors),
            "errors": [{"line": e.line, "column": e.column, "reason": e.reason} for e in errors[:MAX_ERRORS_SHOWN]]}


def report_of_success(report: ImportReport) -> dict[str, Any]:
    """The stored form of a finished import: the command line's JSON plus its summary line."""
    return {"ok": True, **report.as_dict(), "summary": report.summary()}


@background(RUN_TASK)
def run_job(job_id: int) -> None:
    """Run a queued import in one transaction: all of it is written, or nothing and the row errors are kept."""
    session = db.session
    job = session.get(ImportJob, job_id)
    if job is None or job.status != ImportJobStatus.QUEUED.value:
        return
    job.status, job.started_at = ImportJobStatus.RUNNING.value, utcnow()
    session.commit()
    progress = _JobProgress(job_id)
    try:
        with _stored_path(job.stored_name).open("rb") as stream:
            report = _importers[job.kind](session, job, stream, progress)
    except ImportFailed as failure:
        session.rollback()
        _finish(session, job_id, ImportJobStatus.FAILED, report_of_failure(failure.errors), progress.rows_checked, 0)
    except Exception:
        session.rollback()
        log.exception("import job %s stopped", job_id)
        problem = RowError(0, "(file)", "the import stopped unexpectedly; nothing was imported. Try again, "
                                        "or contact support if it happens again")
        _finish(session, job_id, ImportJobStatus.FAILED, report_of_failure([problem]), progress.rows_checked, 0)
    else:
        if job.dry_run:
            session.rollback()
        written = 0 if job.dry_run else report.created + report.updated
        _finish(session, job_id, ImportJobStatus.SUCCEEDED, report_of_success(report), progress.rows_checked, written)
    finally:
        delete_upload(job.stored_name)
        with contextlib.suppress(Exception):  # a finished job's note is never read again
            task_queue().drop_note(_note_key(job_id))


def _finish(session: DbSession, job_id: int, status: ImportJobStatus, report: dict[str, Any],
            rows_checked: int, rows_written: int) -> None:
    """Record the outcome in the import's own transaction, so a succeeded job and its rows commit together."""
    job = session.get(ImportJob, job_id)
    if job is None:
        return
    job.status, job.report, job.finished_at = status.value, report, utcnow()
    job.rows_checked, job.rows_written = max(rows_checked, job.rows_checked), rows_written
    session.commit()


def job_progress(job: ImportJob) -> dict[str, Any]:
    """What the progress page and its JSON endpoint show: the running job's live note, else its stored figures.

    A job checks every row first (`phase` "checking", percent of the rows estimated), then, when every
    row is good, writes (`phase` "writing", percent of the rows to write).
    """
    status = ImportJobStatus(job.status)
    live = task_queue().read_note(_note_key(job.id)) if status == ImportJobStatus.RUNNING else None
    checked = max(job.rows_checked, int(live["rows_checked"])) if live else job.rows_checked
    written = int(live["rows_written"]) if live else job.rows_written
    to_write = live.get("rows_to_write") if live else None
    if status.finished:
        phase, percent = "finished", 100
    elif to_write is not None:
        phase, percent = "writing", min(99, round(100 * written / max(int(to_write), 1)))
    else:
        phase, percent = "checking", min(99, round(100 * checked / max(job.rows_estimate, checked, 1)))
    return {"id": job.id, "status": status.value, "status_label": status.label, "finished": status.finished,
            "phase": phase, "writes": _written_nouns.get(job.kind, "rows"), "rows_checked": checked, "rows_written": written, "rows_to_write": to_write,
            "rows_estimate": job.rows_estimate, "percent": percent}


REFRESH_SECONDS = 3


def progress_page(job: ImportJob, heading: str, json_url: str) -> str:
    """The page shown while a job waits or runs: a <progress> bar, refreshing itself (and polled by portal.js)."""
    return render_template("core/import_job.html", job=job, heading=heading, json_url=json_url,
                           progress=job_progress(job), refresh_seconds=REFRESH_SECONDS)


def failed_errors(job: ImportJob) -> tuple[list[RowError], int]:
    """A failed job's row errors (the first MAX_ERRORS_SHOWN) and how many there were."""
    report = job.report or {}
    errors = [RowError(e["line"], e["column"], e["reason"]) for e in report.get("errors", [])]
    return errors, int(report.get("error_count", len(errors)))
