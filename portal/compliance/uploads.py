"""Risk assessment PDFs: checked by content and size, stored under random names outside static/.

Nothing the browser sends decides where a file goes or what type it is: the type is read from the
file's first bytes, the stored name is random, and the name people see is sanitised for display.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from flask import current_app
from werkzeug.datastructures import FileStorage
from werkzeug.utils import secure_filename

from portal.core.refusals import FieldRefusal
from portal.core.templating import file_size

PDF_MAGIC = b"%PDF-"
STORED_NAME = re.compile(r"[0-9a-f]{32}\.pdf")
FALLBACK_NAME = "risk-assessment.pdf"
MAX_NAME_LENGTH = 200
_CHUNK = 64 * 1024


class UploadRejected(FieldRefusal):
    """The uploaded file cannot be accepted; the message says why, for the person who sent it."""

    code_for_class = "upload_rejected"


class NotAStoredName(ValueError):
    """A stored name that the upload folder could never have produced (a path trick or a typo)."""


@dataclass(frozen=True)
class StoredUpload:
    """A file saved in the upload folder: its random name, the sanitised name to show, its size."""

    stored_name: str
    original_name: str
    size_bytes: int


def max_bytes() -> int:
    """The configured largest risk assessment, in bytes."""
    return int(current_app.config["RISK_ASSESSMENT_MAX_BYTES"])


def limit_label(limit: int | None = None) -> str:
    """The size limit for people to read, e.g. '5 MB'."""
    return file_size(limit if limit is not None else max_bytes())


def upload_folder() -> Path:
    """The upload folder (created private to the portal's user when missing)."""
    folder = Path(current_app.config["UPLOAD_FOLDER"])
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder.resolve()


def display_name(filename: str | None) -> str:
    """A name safe to show and to offer as the download name: no path, ends in .pdf, at most 200 characters."""
    name = filename or ""
    stem = secure_filename(name[:-4] if name.lower().endswith(".pdf") else name).strip("._-")
    if not stem:
        return FALLBACK_NAME
    return stem[: MAX_NAME_LENGTH - 4] + ".pdf"


def read_pdf(file: FileStorage, limit: int) -> bytes:
    """The file's bytes if it is a non-empty PDF of at most `limit` bytes (reads at most limit + 1)."""
    chunks: list[bytes] = []
    total = 0
    while total <= limit:
        chunk = file.stream.read(min(_CHUNK, limit + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    if total == 0:
        raise UploadRejected("The selected file is empty")
    if total > limit:
        raise UploadRejected(f"The selected file must be smaller than {limit_label(limit)}")
    data = b"".join(chunks)
    if not data.startswith(PDF_MAGIC):
        raise UploadRejected("The selected file must be a PDF")
    return data


def store_pdf(file: FileStorage | None) -> StoredUpload:
    """Check an uploaded PDF and save it atomically under a new random name; raises UploadRejected."""
    if file is None or not file.filename:
        raise UploadRejected("Select a PDF file to upload")
    data = read_pdf(file, max_bytes())
    folder = upload_folder()
    stored_name = secrets.token_hex(16) + ".pdf"
    handle, temp_path = tempfile.mkstemp(dir=folder, prefix=".upload-", suffix=".part")  # created 0o600
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp_path, 0o600)
        os.replace(temp_path, folder / stored_name)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_path)
        raise
    return StoredUpload(stored_name=stored_name, original_name=display_name(file.filename), size_bytes=len(data))


def stored_path(stored_name: str) -> Path:
    """Where a stored file lives; refuses any name the folder could not have produced."""
    if not isinstance(stored_name, str) or not STORED_NAME.fullmatch(stored_name):
        raise NotAStoredName("Not the name of a stored upload")
    folder = upload_folder()
    path = (folder / stored_name).resolve()
    if path.parent != folder:
        raise NotAStoredName("Not the name of a stored upload")
    return path


def open_stored(stored_name: str) -> IO[bytes]:
    """Open a stored file for reading; NotAStoredName for a bad name, FileNotFoundError when it is gone."""
    return stored_path(stored_name).open("rb")


def delete_stored(stored_name: str) -> None:
    """Remove a stored file (after the database write that would have used it failed); missing is fine."""
    with contextlib.suppress(FileNotFoundError):
        stored_path(stored_name).unlink()
