"""Compliance forms: a DBS decision, a consent request, a paper consent form, the parent's answer, briefing."""

from __future__ import annotations

from typing import Any

from wtforms import EmailField, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional

from portal.compliance.consent import NAME_MAX
from portal.compliance.dbs import CHECKED_FIELDS, NOT_REQUIRED_FIELDS, REASON_MAX
from portal.core.forms import DateInputField, PortalForm, lower_filter, strip_filter
from portal.core.vocab import ConsentDecision, DbsDecision, DbsLevel

YES_NO = [("yes", "Yes"), ("no", "No")]


class ForDecision(Optional):
    """Optional here, but not labelled "(optional)": whether it is needed depends on the decision chosen."""

    def __init__(self) -> None:
        """An Optional validator without the "optional" flag."""
        super().__init__()
        self.field_flags: dict[str, bool] = {}


class DbsNoteForm(PortalForm):
    """The school's DBS decision: "not required" with a reason, or the check's details.

    Both groups are on the page (no JavaScript needed); only the group of the chosen decision is
    validated and kept, by the service.
    """

    decision = RadioField("Is a DBS check required for this supervisor?", choices=DbsDecision.choices(),
                          validators=[DataRequired("Choose whether a DBS check is required")])
    reason = TextAreaField("Why is a DBS check not required?", filters=[strip_filter],
                           validators=[ForDecision(), Length(max=REASON_MAX)],
                           description="For example: always supervised in a group with a member of school staff, "
                                       "never alone with the student.")
    level = RadioField("Level of the check", choices=DbsLevel.choices(), validators=[ForDecision()])
    issued_on = DateInputField("Date the certificate was issued", validators=[ForDecision()],
                               description="For example, 27 3 2025")
    certificate_last4 = StringField(
        "Last 4 characters of the certificate number", filters=[strip_filter], validators=[ForDecision()],
        description="Only the last 4 letters or digits, for example 7F3A. Do not enter the whole number: "
                    "the portal keeps only the last 4.")
    update_service_checked = RadioField("Was the DBS Update Service checked?", choices=YES_NO,
                                        validators=[ForDecision()])

    def validate(self, extra_validators: Any = None) -> bool:
        """Validate, then drop errors in the group that does not apply to the decision chosen."""
        super().validate(extra_validators)
        ignored = {DbsDecision.NOT_REQUIRED.value: CHECKED_FIELDS,
                   DbsDecision.CHECKED.value: NOT_REQUIRED_FIELDS}.get(self.decision.data or "", ())
        for name in ignored:
            self[name].errors = []
        return not self.errors

    def service_arguments(self) -> dict[str, Any]:
        """The answers as record_dbs_note's keyword arguments."""
        answer = self.update_service_checked.data
        return {
            "decision": self.decision.data or "",
            "reason": self.reason.data,
            "level": self.level.data or None,
            "issued_on": self.issued_on.data,
            "certificate_last4": self.certificate_last4.data,
            "update_service_checked": {"yes": True, "no": False}.get(answer or ""),
        }

    def fill_from(self, note: Any) -> None:
        """Show a recorded decision in the form (not the details once they have been purged)."""
        self.decision.data = note.decision
        self.reason.data = note.reason
        if note.details_purged_at is None:
            self.level.data = note.level
            self.issued_on.process(None, note.issued_on)
            self.certificate_last4.data = note.certificate_last4
            if note.update_service_checked is not None:
                self.update_service_checked.data = "yes" if note.update_service_checked else "no"


class ConsentRequestForm(PortalForm):
    """The parent's or carer's email address the consent link goes to."""

    parent_email = EmailField(
        "Parent or carer's email address", filters=[lower_filter],
        validators=[DataRequired("Enter the parent or carer's email address"),
                    Email("Enter an email address in the correct format, like name@example.com"), Length(max=254)],
        description="We email a link that works once. Sending a new link stops any earlier one from working.")


class PaperConsentForm(PortalForm):
    """A consent form the school received on paper."""

    responder_name = StringField("Full name of the parent or carer who signed", filters=[strip_filter],
                                 validators=[DataRequired("Enter the full name of the parent or carer"),
                                             Length(max=NAME_MAX)])
    decision = RadioField("What did they answer?", choices=ConsentDecision.choices(),
                          validators=[DataRequired("Choose whether the parent or carer consented")])


PARENT_CHOICES = [("consent", "Yes, I give consent"), ("decline", "No, I do not give consent")]


class ParentConsentForm(PortalForm):
    """The parent's or carer's answer, with their name."""

    answer = RadioField("Do you give consent?", choices=PARENT_CHOICES,
                        validators=[DataRequired("Choose whether you give consent")])
    responder_name = StringField("Your full name", filters=[strip_filter],
                                 validators=[DataRequired("Enter your full name"), Length(max=NAME_MAX)])


class BriefedForm(PortalForm):
    """Staff record that the student has been briefed (a button)."""
