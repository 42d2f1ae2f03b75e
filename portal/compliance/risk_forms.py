"""Risk assessment forms: upload a PDF, attest to the employer's own assessment, and the school's review button."""

from __future__ import annotations

from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, TextAreaField
from wtforms.validators import DataRequired, Length

from portal.compliance.risk import MAX_ATTESTATION_LENGTH
from portal.core.forms import MultiCheckboxField, PortalForm, strip_filter

CHOOSE_SESSIONS = "Choose at least one session the risk assessment covers"


class UploadForm(PortalForm):
    """A PDF risk assessment and the sessions it covers (type and size are checked by portal.compliance.uploads)."""

    document = FileField("Risk assessment (PDF)", validators=[FileRequired("Select a PDF file to upload")],
                         render_kw={"accept": ".pdf,application/pdf"})
    sessions = MultiCheckboxField("Sessions it covers", coerce=int, validators=[DataRequired(CHOOSE_SESSIONS)])


class AttestationForm(PortalForm):
    """The employer's statement that its own risk assessment covers the activity, and the sessions."""

    statement = TextAreaField(
        "Describe your risk assessment", filters=[strip_filter],
        validators=[DataRequired("Describe the risk assessment that covers this activity"),
                    Length(max=MAX_ATTESTATION_LENGTH,
                           message=f"The description must be {MAX_ATTESTATION_LENGTH} characters or fewer")],
        description="Say which assessment it is, when it was last reviewed, and the main hazards and controls "
                    "for students on this activity.")
    confirm = BooleanField(
        "I confirm our organisation's own risk assessment covers this activity and these sessions",
        validators=[DataRequired("Confirm that your own risk assessment covers this activity and these sessions")])
    sessions = MultiCheckboxField("Sessions it covers", coerce=int, validators=[DataRequired(CHOOSE_SESSIONS)])


class ReviewForm(PortalForm):
    """School staff mark an assessment as reviewed (a button)."""
