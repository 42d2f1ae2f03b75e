"""Templates ask the models questions (`booking.is_completed`) instead of comparing stored codes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from portal.compliance.checklist import Item
from portal.core.vocab import ComplianceKind, ItemOwner, ItemStatus
from tests.factories import make_booking, make_student

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
# A stored state compared with a literal code: `x.status == "completed"`, `x.role in ("school", ...)`.
STATE_COMPARISON = re.compile(
    r"\.(status|decision|owner|role|vetting_status)\s*(==|!=|not in|in)\s*[(\[]?\s*['\"]"
)


def state_comparisons(text: str) -> list[str]:
    """Each literal-code comparison of a stored state in one template's text."""
    return [match.group(0) for match in STATE_COMPARISON.finditer(text)]


def test_the_rule_sees_a_literal_state_comparison() -> None:
    assert state_comparisons('{% if booking.status == "completed" %}') == ['.status == "']
    assert state_comparisons('{% if user.role in ("school", "hub") %}') == ['.role in ("']
    assert state_comparisons("{% if booking.is_completed %}") == []


def test_no_template_compares_a_stored_state_with_a_code() -> None:
    found = {
        str(path.relative_to(TEMPLATES)): hits
        for path in sorted(TEMPLATES.rglob("*.html"))
        if (hits := state_comparisons(path.read_text(encoding="utf-8")))
    }
    assert found == {}, "ask the model a question (add a predicate) instead of comparing codes"


@pytest.mark.parametrize(
    ("status", "is_open", "is_done", "is_needed"),
    [
        (ItemStatus.TO_DO, True, False, True),
        (ItemStatus.OVERDUE, True, False, True),
        (ItemStatus.DONE, False, True, True),
        (ItemStatus.NOT_NEEDED, False, False, False),
        (ItemStatus.DECLINED, False, False, True),
    ],
)
def test_checklist_item_predicates(status: ItemStatus, is_open: bool, is_done: bool, is_needed: bool) -> None:
    item = Item(ComplianceKind.BRIEFING, "Briefing", status, None, "", ItemOwner.SCHOOL)
    assert (item.is_open, item.is_done, item.is_needed, item.employer_acts) == (is_open, is_done, is_needed, False)


def test_booking_predicates_follow_its_status(session: object) -> None:
    booking = make_booking(make_student())
    answers = {}
    for status in ("requested", "confirmed", "completed", "declined", "cancelled"):
        booking.status = status
        answers[status] = (booking.is_requested, booking.is_confirmed, booking.is_completed, booking.is_declined,
                           booking.holds_place)
    assert answers == {
        "requested": (True, False, False, False, True),
        "confirmed": (False, True, False, False, True),
        "completed": (False, False, True, False, False),
        "declined": (False, False, False, True, False),
        "cancelled": (False, False, False, False, False),
    }
