"""Shared CSV import machinery: reading files, per-cell validation, row-level error reports.

Every import (schools, employers, offers, students, encounters) reads rows with `read_csv`,
validates each with a `Cells` reader that collects (line, column, reason) errors, and writes
nothing unless every row is good (the caller owns the transaction and rolls back on errors).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any, Protocol, TypeVar

from portal.core.cleaning import text_problem
from portal.core.postcodes import InvalidPostcode, normalise_postcode
from portal.core.vocab import Coded

C = TypeVar("C", bound=Coded)
MAX_ERRORS_SHOWN = 200
PROGRESS_EVERY = 1000  # rows between progress callbacks while validating

Source = IO[bytes] | IO[str] | str | bytes
Progress = Callable[[int], None]  # called with the number of rows checked so far


class ImportProgress(Protocol):
    """What an import tells whoever watches it: rows checked, then how many rows it will write, then how many it has."""

    def checked(self, rows: int) -> None:
        """So many rows read and validated."""

    def writing(self, rows: int) -> None:
        """Every row is good: so many will be created or updated."""

    def written(self, rows: int) -> None:
        """So many of them sent to the database so far."""


class Unwatched:
    """Progress nobody watches (the command line prints the report at the end)."""

    def checked(self, rows: int) -> None:
        """Nothing to tell."""

    def writing(self, rows: int) -> None:
        """Nothing to tell."""

    def written(self, rows: int) -> None:
        """Nothing to tell."""


UNWATCHED = Unwatched()


@dataclass(frozen=True)
class RowError:
    """One problem: the file line (header is line 1), the column and the reason in words."""

    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        """'line 4, column postcode: ...' for terminals and pages."""
        return f"line {self.line}, column {self.column}: {self.reason}"


class ImportFailed(Exception):
    """The file had bad rows; nothing was written."""

    def __init__(self, errors: list[RowError]) -> None:
        """Keep every row error."""
        super().__init__(f"{len(errors)} problem(s) in the file")
        self.errors = errors


@dataclass
class ImportReport:
    """What an import did (or would do, in a dry run)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        """Plain form for JSON output."""
        return {
            "created": self.created, "updated": self.updated, "unchanged": self.unchanged,
            "skipped": dict(self.skipped), "notes": self.notes, "dry_run": self.dry_run,
        }

    def summary(self) -> str:
        """One line for people."""
        verb = "Would import" if self.dry_run else "Imported"
        text = f"{verb}: {self.created} new, {self.updated} updated, {self.unchanged} unchanged"
        if self.skipped:
            text += "; skipped " + ", ".join(f"{n} {why}" for why, n in sorted(self.skipped.items()))
        return text


READ_BLOCK = 1 << 16  # bytes read at a time: memory stays bounded whatever the file's size
_NOT_TEXT_SIGNATURES = (
    (b"PK\x03\x04", "a zipped file (an Excel .xlsx workbook?)"),
    (b"\xd0\xcf\x11\xe0", "an old Excel .xls workbook"),
    (b"%PDF", "a PDF"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\xff\xfe", "UTF-16 text (Excel's 'Unicode text')"),
    (b"\xfe\xff", "UTF-16 text (Excel's 'Unicode text')"),
)


_TEXT_BYTES = b"\t\n\r" + bytes(range(0x20, 0x100))


def _not_a_csv(reason: str) -> ImportFailed:
    """The whole file is refused: it is not comma-separated text."""
    return ImportFailed([RowError(1, "(file)", f"this is not a CSV file: it looks like {reason}; "
                                               "save it from the spreadsheet as 'CSV UTF-8' and upload that")])


def _check_is_text(head: bytes) -> None:
    """Refuse spreadsheets, images and other binary files by their first bytes."""
    for signature, what in _NOT_TEXT_SIGNATURES:
        if head.startswith(signature):
            raise _not_a_csv(what)
    controls = len(head.translate(None, _TEXT_BYTES))
    if controls > max(8, len(head) // 20):
        raise _not_a_csv("a binary file (it is full of control bytes)")


def _is_utf8(binary: IO[bytes]) -> bool:
    """Whether the whole stream decodes as UTF-8, read block by block (nothing kept)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while block := binary.read(READ_BLOCK):
            decoder.decode(block)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _seekable(source: IO[bytes]) -> IO[bytes]:
    """The binary stream itself when it can be re-read, else a spooled copy of it (kept on disk past 1 MB)."""
    if source.seekable():
        return source
    copy = tempfile.SpooledTemporaryFile(max_size=1 << 20)  # noqa: SIM115 (closed with the text stream)
    shutil.copyfileobj(source, copy, READ_BLOCK)
    copy.seek(0)
    return copy  # type: ignore[return-value]


def decode_stream(binary: IO[bytes]) -> IO[str]:
    """Decode incrementally: UTF-8 (with or without BOM), else Windows-1252 (the national register's)."""
    binary = _seekable(binary)
    start = binary.tell()
    _check_is_text(binary.read(4096))
    binary.seek(start)
    encoding = "utf-8-sig" if _is_utf8(binary) else "cp1252"
    binary.seek(start)
    return io.TextIOWrapper(binary, encoding=encoding, errors="replace", newline="")


def decode(data: bytes) -> str:
    """Decode a whole small file the same way as `decode_stream` (for tests and short inputs)."""
    return decode_stream(io.BytesIO(data)).read()


def open_text(source: IO[bytes] | IO[str] | str | bytes) -> IO[str]:
    """A text stream read incrementally from a path, bytes or a binary/text file object."""
    if isinstance(source, bytes):
        return decode_stream(io.BytesIO(source))
    if isinstance(source, str):
        return decode_stream(open(source, "rb"))  # noqa: SIM115 (the text stream owns and closes it)
    if isinstance(source, io.TextIOBase):
        return source  # type: ignore[return-value]
    return decode_stream(source)  # type: ignore[arg-type]


def _csv_problem(error: csv.Error) -> str:
    """The csv module's complaint in words for the person who made the file."""
    text = str(error)
    if "field larger than field limit" in text:
        return f"a cell is longer than {csv.field_size_limit():,} characters (is a quote mark missing its pair?)"
    return f"this line can't be read as CSV ({text})"


def read_csv(
    stream: IO[str], required: Iterable[str], on_row: Progress | None = None,
) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    """Return the header and an iterator of (line number, row); a missing column is an ImportFailed.

    Rows are read one at a time; a line the csv module can't parse (an unclosed quote running into
    a huge cell, say) ends the import with a row error naming that line. `on_row(rows_read)` is
    called every PROGRESS_EVERY rows and once at the end.
    """
    reader = csv.reader(stream)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise ImportFailed([RowError(1, "(header)", "the file is empty")]) from None
    except csv.Error as error:
        raise ImportFailed([RowError(1, "(header)", _csv_problem(error))]) from None
    bad_names = [RowError(1, "(header)", f"{name!r}: {problem}") for name in header if (problem := text_problem(name))]
    if bad_names:
        raise ImportFailed(bad_names)
    missing = [name for name in required if name not in header]
    if missing:
        raise ImportFailed([RowError(1, name, "column is missing from the header") for name in missing])

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        count = 0
        while True:
            try:
                values = next(reader)
            except StopIteration:
                if on_row is not None:
                    on_row(count)
                return
            except csv.Error as error:
                raise ImportFailed([RowError(reader.line_num, "(row)", _csv_problem(error))]) from None
            line = reader.line_num
            if not any(v.strip() for v in values):
                continue
            if len(values) > len(header):
                raise ImportFailed([RowError(line, "(row)", f"has {len(values)} cells but the header has {len(header)}")])
            padded = values + [""] * (len(header) - len(values))
            count += 1
            if on_row is not None and count % PROGRESS_EVERY == 0:
                on_row(count)
            yield line, {name: value.strip() for name, value in zip(header, padded, strict=True)}

    return header, rows()


class Cells:
    """Validating accessor for one row; problems are collected, not raised."""

    def __init__(self, line: int, row: dict[str, str], errors: list[RowError]) -> None:
        """Wrap a row and the shared error list."""
        self.line = line
        self.row = row
        self.errors = errors
        self._count_before = len(errors)
        for column, value in row.items():
            problem = text_problem(value)
            if problem is not None:
                self.fail(column, problem)

    @property
    def ok(self) -> bool:
        """Whether this row added no errors."""
        return len(self.errors) == self._count_before

    def fail(self, column: str, reason: str) -> None:
        """Record a problem with a cell."""
        self.errors.append(RowError(self.line, column, reason))

    def text(self, column: str, *, required: bool = True, max_length: int = 200) -> str:
        """A text cell."""
        value = self.row.get(column, "")
        if required and not value:
            self.fail(column, "is empty")
        elif len(value) > max_length:
            self.fail(column, f"is longer than {max_length} characters")
        return value

    def code(self, column: str, vocabulary: type[C], *, required: bool = True) -> C | None:
        """One code from a vocabulary."""
        value = self.row.get(column, "")
        if not value:
            if required:
                self.fail(column, "is empty")
            return None
        try:
            return vocabulary.parse(value)
        except ValueError:
            self.fail(column, f"unknown code {value!r}")
            return None

    def codes(self, column: str, vocabulary: type[C], *, separator: str = ";") -> list[C]:
        """A separated list of codes; every unknown one is reported."""
        found: dict[str, C] = {}
        for part in self.row.get(column, "").split(separator):
            if not part.strip():
                continue
            try:
                member = vocabulary.parse(part)
            except ValueError:
                self.fail(column, f"unknown code {part.strip()!r}")
            else:
                found.setdefault(member.value, member)
        return list(found.values())

    def integer(self, column: str, *, minimum: int | None = None, maximum: int | None = None) -> int | None:
        """A whole number within bounds."""
        value = self.row.get(column, "")
        try:
            number = int(value)
        except ValueError:
            self.fail(column, f"{value!r} is not a whole number" if value else "is empty")
            return None
        if minimum is not None and number < minimum:
            self.fail(column, f"must be at least {minimum}")
        elif maximum is not None and number > maximum:
            self.fail(column, f"must be at most {maximum}")
        return number

    def integers(self, column: str, *, minimum: int, maximum: int, separator: str = ";") -> list[int]:
        """A separated list of whole numbers within bounds."""
        numbers: list[int] = []
        for part in self.row.get(column, "").split(separator):
            part = part.strip()
            if not part:
                continue
            if not part.isdigit() or not minimum <= int(part) <= maximum:
                self.fail(column, f"{part!r} is not a number from {minimum} to {maximum}")
            else:
                numbers.append(int(part))
        return sorted(set(numbers))

    def date(self, column: str, *, required: bool = True) -> dt.date | None:
        """A date written YYYY-MM-DD."""
        value = self.row.get(column, "")
        if not value:
            if required:
                self.fail(column, "is empty")
            return None
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            self.fail(column, f"{value!r} is not a date written YYYY-MM-DD")
            return None

    def local_datetime(self, column: str) -> dt.datetime | None:
        """A wall-clock date and time written ISO 8601 (YYYY-MM-DDTHH:MM), without a zone."""
        value = self.row.get(column, "")
        if not value:
            self.fail(column, "is empty")
            return None
        try:
            moment = dt.datetime.fromisoformat(value.replace(" ", "T", 1))
        except ValueError:
            self.fail(column, f"{value!r} is not a date and time written YYYY-MM-DDTHH:MM")
            return None
        return moment

    def yes_no(self, column: str, *, default: bool | None = None) -> bool | None:
        """yes/no (also y/n, true/false, 1/0)."""
        value = self.row.get(column, "").lower()
        if not value and default is not None:
            return default
        if value in {"yes", "y", "true", "1"}:
            return True
        if value in {"no", "n", "false", "0"}:
            return False
        self.fail(column, f"{value!r} must be yes or no" if value else "is empty")
        return None

    def postcode(self, column: str, *, required: bool = True) -> str | None:
        """A UK postcode, normalised."""
        value = self.row.get(column, "")
        if not value:
            if required:
                self.fail(column, "is empty")
            return None
        try:
            return normalise_postcode(value)
        except InvalidPostcode:
            self.fail(column, f"{value!r} is not a valid UK postcode")
            return None

    def email(self, column: str, *, required: bool = False) -> str | None:
        """An email address (syntax checked, lower-cased)."""
        from email_validator import EmailNotValidError, validate_email

        value = self.row.get(column, "")
        if not value:
            if required:
                self.fail(column, "is empty")
            return None
        try:
            return validate_email(value, check_deliverability=False).normalized.lower()
        except EmailNotValidError:
            self.fail(column, f"{value!r} is not a valid email address")
            return None


def guard_errors(errors: list[RowError]) -> None:
    """Raise ImportFailed when any row was bad (callers then roll back)."""
    if errors:
        raise ImportFailed(errors)
