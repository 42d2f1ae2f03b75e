"""The CSV layer every import reads through: streaming decode, and hostile cells and files refused by line and column."""

from __future__ import annotations

import io

import pytest

from portal.core.csvimport import Cells, ImportFailed, RowError, open_text, read_csv

HEADER = "ref,name\n"


def _errors(data: bytes) -> list[RowError]:
    """Read every row through Cells (as the importers do) and return the row errors."""
    errors: list[RowError] = []
    _, rows = read_csv(open_text(data), ("ref", "name"))
    for line, row in rows:
        Cells(line, row, errors)
    return errors


def test_utf8_with_a_bom_and_windows_1252_both_decode():
    assert open_text("\ufeffref,name\n1,Zoë\n".encode()).read() == "ref,name\n1,Zoë\n"
    assert open_text("ref,name\n1,Zoë\n".encode("cp1252")).read() == "ref,name\n1,Zoë\n"


def test_a_non_utf8_byte_late_in_a_long_file_still_switches_the_whole_file_to_windows_1252():
    data = (HEADER + "1,Ann\n" * 50_000 + "2,Zoë\n").encode("cp1252")
    assert open_text(data).read().endswith("2,Zoë\n")


def test_a_stream_that_cannot_seek_is_read_too():
    class OneWay(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self.inner = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
            chunk = self.inner.read(len(buffer))
            buffer[:len(chunk)] = chunk
            return len(chunk)

    assert open_text(io.BufferedReader(OneWay((HEADER + "1,Zoë\n").encode()))).read() == HEADER + "1,Zoë\n"


@pytest.mark.parametrize(
    ("cell", "reason"),
    [("A\x00B", "null character"), ("A\x07B", "U+0007"), ("A\x1bB", "U+001B"), ("A\x85B", "U+0085")],
)
def test_nul_and_control_characters_in_a_cell_are_row_errors_naming_line_and_column(cell, reason):
    errors = _errors((HEADER + "1,Ann\n2," + cell + "\n").encode())
    assert [(e.line, e.column) for e in errors] == [(3, "name")]
    assert reason in errors[0].reason


def test_a_lone_surrogate_in_a_cell_is_a_row_error():
    errors: list[RowError] = []
    _, rows = read_csv(io.StringIO(HEADER + "1,A\ud800B\n"), ("ref", "name"))
    for line, row in rows:
        Cells(line, row, errors)
    assert [(e.line, e.column) for e in errors] == [(2, "name")]
    assert "surrogate" in errors[0].reason


def test_a_cell_over_the_csv_field_limit_is_a_row_error_not_a_crash():
    data = (HEADER + "1,Ann\n2," + "x" * 200_000 + "\n").encode()
    with pytest.raises(ImportFailed) as failure:
        _errors(data)
    [error] = failure.value.errors
    assert error.line == 3
    assert "longer than" in error.reason


def test_an_unclosed_quote_running_to_the_end_is_reported_on_its_line():
    data = (HEADER + "1,Ann\n2,\"" + "never closed " * 20_000 + "\n").encode()
    with pytest.raises(ImportFailed) as failure:
        _errors(data)
    assert failure.value.errors[0].line >= 3


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (b"PK\x03\x04\x14\x00\x06\x00" + bytes(200), "Excel .xlsx"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(200), ".xls"),
        (b"%PDF-1.7\n" + bytes(200), "PDF"),
        (b"\x89PNG\r\n\x1a\n" + bytes(200), "PNG"),
        ("ref,name\n1,Ann\n".encode("utf-16"), "UTF-16"),
        (bytes(range(256)) * 20, "binary"),
    ],
)
def test_a_file_that_is_not_csv_text_is_refused_in_words(data, what):
    with pytest.raises(ImportFailed) as failure:
        _errors(data)
    [error] = failure.value.errors
    assert (error.line, error.column) == (1, "(file)")
    assert what in error.reason and "CSV" in error.reason


def test_a_control_character_in_a_header_name_is_refused():
    with pytest.raises(ImportFailed) as failure:
        _errors(b"ref,na\x01me\n1,Ann\n")
    assert failure.value.errors[0].column == "(header)"
