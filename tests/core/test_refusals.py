"""One refusal shape: every service's refusals are Refusals with a stable code, shown beside their field."""

from __future__ import annotations

import pytest
from wtforms import Form, StringField

from portal.accounts.services import AccountError
from portal.api.errors import from_refusal
from portal.bookings.services import BookingRefused
from portal.compliance.dbs import DbsNoteInvalid
from portal.compliance.risk import RiskAssessmentRefused
from portal.compliance.services import ComplianceRefused
from portal.compliance.uploads import UploadRejected
from portal.core.refusals import Refusal, show_on_form
from portal.offers.services import OfferError, OfferStateError, PublishRefused
from portal.organisations.services import RosterError


class _Form(Form):
    name = StringField()
    email = StringField()

    def __init__(self) -> None:
        super().__init__()
        self.form_errors: list[str] = []


@pytest.mark.parametrize("refusal", [
    BookingRefused("session_full", "Full"), ComplianceRefused("email", "Bad", "parent_email"),
    RiskAssessmentRefused("statement_required", "Say", "statement"), AccountError("Taken", "email"),
    RosterError("Duplicate", "student_ref"), OfferError("Bad date", "starts_on"), PublishRefused(["No session"]),
    OfferStateError("Already closed"), UploadRejected("Too big"), DbsNoteInvalid([("level", "Choose a level")]),
])
def test_every_service_refusal_is_a_refusal_with_a_code(refusal):
    """Rule: one base for every feature, so pages and the API handle a new refusal without glue."""
    assert isinstance(refusal, Refusal) and refusal.code and str(refusal) == refusal.message


def test_a_refusal_is_shown_beside_its_field_or_above_the_form():
    """Rule: the message lands on the field it names (renamed as asked), else at the top."""
    form = _Form()
    show_on_form(form, AccountError("Already used", "email"))
    show_on_form(form, OfferError("Check the title", "title"), {"title": "name"})
    show_on_form(form, OfferStateError("This offer is closed"))
    assert form.email.errors == ["Already used"] and form.name.errors == ["Check the title"]
    assert form.form_errors == ["This offer is closed"]


def test_a_refusal_with_several_problems_marks_each_field():
    """A DBS note with two faults shows both, each beside its own field."""
    form = _Form()
    show_on_form(form, DbsNoteInvalid([("name", "Enter the name"), ("email", "Enter the email")]))
    assert form.name.errors == ["Enter the name"] and form.email.errors == ["Enter the email"]


def test_the_api_maps_any_refusal_by_its_code():
    """Conflicts are 409, not_found 404, any other rule 422, whichever feature refused."""
    assert from_refusal(BookingRefused("session_full", "Full")).status == 409
    assert from_refusal(ComplianceRefused("not_found", "No such booking")).status == 404
    assert from_refusal(OfferError("Bad date", "starts_on")).status == 422
