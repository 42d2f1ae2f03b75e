"""CSV export of the per-student benchmark table, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io

from portal.core.vocab import SendStatus
from portal.progress.services import MEASURES, SchoolProgress

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> str:
    """A cell a spreadsheet will not run as a formula: text starting = + - @ (or tab/CR) gets a leading quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _yes_no(value: bool | None) -> str:
    """yes, no, or n/a for a measure that does not apply."""
    return "n/a" if value is None else ("yes" if value else "no")


def progress_csv(progress: SchoolProgress) -> str:
    """The per-student table: one row per student, the measures side by side (attended, meaningful)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["student_ref", "name", "year_group", "send_status", "disadvantaged", *MEASURES,
                     "encounters_this_year", "meaningful_encounters_this_year"])
    for student in progress.students:
        writer.writerow([neutralise(student.student_ref), neutralise(student.name), student.year_group,
                         SendStatus(student.send_status).label, _yes_no(student.disadvantaged),
                         *(_yes_no(student.measure(m)) for m in MEASURES),
                         student.this_year.encounters, student.this_year.meaningful_encounters])
    return out.getvalue()
