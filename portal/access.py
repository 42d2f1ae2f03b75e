"""The one access policy: which role may reach which view, and who may touch which object.

Every view declares its audience with @public or @allow(...); a request to a view without a
declaration is refused (deny by default). Object checks below are the only place ownership
is decided; views call them rather than comparing ids themselves.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from flask import abort, current_app, g, jsonify, request
from flask_login import current_user
from sqlalchemy import Select, select

from portal.core.ids import get_stored
from portal.core.vocab import INVOLVED_BOOKING_STATUSES, Role
from portal.extensions import db, login_manager

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])
Obj = TypeVar("Obj")

if TYPE_CHECKING:
    from portal.adjustments.models import AdjustmentRequest
    from portal.bookings.models import Booking
    from portal.compliance.models import RiskAssessment
    from portal.core.models import ImportJob
    from portal.offers.models import Offer, Supervisor
    from portal.organisations.models import Student


class Viewer(Protocol):
    """Whoever is asking: a signed-in user; Flask-Login's anonymous user fails every rule through `is_role`."""

    @property
    def is_authenticated(self) -> bool:
        """Whether someone is signed in."""

    role: str
    school_id: int | None
    employer_id: int | None
    hub_id: int | None
    student_id: int | None
PUBLIC = "public"
ACCESS_ATTRIBUTE = "access_roles"


def public(view: F) -> F:
    """Mark a view as open to everyone, signed in or not."""
    setattr(view, ACCESS_ATTRIBUTE, PUBLIC)
    return view


def allow(*roles: Role) -> Callable[[F], F]:
    """Open a view to signed-in users of the given roles only."""
    allowed = frozenset(roles)

    def decorate(view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        setattr(guarded, ACCESS_ATTRIBUTE, allowed)
        return guarded  # type: ignore[return-value]

    return decorate


ANY_ROLE = tuple(Role)


def declared_access(endpoint: str) -> Any:
    """Return the access declaration of an endpoint's view (None when it has none)."""
    view = current_app.view_functions.get(endpoint)
    return getattr(view, ACCESS_ATTRIBUTE, None)


def refuse_undeclared_views() -> None:
    """before_request hook: a view without an access declaration is never served."""
    endpoint = request.endpoint
    if endpoint is None or endpoint == "static":
        return
    if declared_access(endpoint) is None:
        log.error("view %s has no access rule; refusing", endpoint)
        abort(403)


# --- object-level rules -------------------------------------------------------------------


def is_role(user: Viewer, role: Role) -> bool:
    """Whether the user is signed in with this role."""
    return bool(getattr(user, "is_authenticated", False)) and user.role == role.value


def can_manage_school(user: Viewer, school_id: int | None) -> bool:
    """School staff manage only their own school."""
    return is_role(user, Role.SCHOOL) and school_id is not None and user.school_id == school_id


def can_manage_employer(user: Viewer, employer_id: int | None) -> bool:
    """Employer staff manage only their own organisation."""
    return is_role(user, Role.EMPLOYER) and employer_id is not None and user.employer_id == employer_id


def can_vet_employers(user: Viewer) -> bool:
    """Hub coordinators vet employers."""
    return is_role(user, Role.HUB)


# --- scoped queries: the only way views load owned objects -----------------------------


def students_of(user: Viewer) -> Select[Any]:
    """Students the user's school may see (none for any other role)."""
    from portal.organisations.models import Student

    if not is_role(user, Role.SCHOOL):
        return select(Student).where(Student.id.is_(None))
    return select(Student).where(Student.school_id == user.school_id)


def schools_of(user: Viewer) -> Select[Any]:
    """Schools the user may list: their own, or their hub's."""
    from portal.organisations.models import School

    if is_role(user, Role.SCHOOL):
        return select(School).where(School.id == user.school_id)
    if is_role(user, Role.HUB):
        return select(School).where(School.hub_id == user.hub_id)
    return select(School).where(School.id.is_(None))


def get_owned_or_404(model: type[Any], object_id: int, permitted: Callable[[Any, Any], bool]) -> Any:
    """Load one object of the view's own feature by id; return it only if the user may see it, 404 otherwise."""
    return owned_or_404(get_stored(db.session, model, object_id), permitted)



def owned_or_404(obj: Obj | None, permitted: Callable[[Any, Any], bool]) -> Obj:
    """The object a feature's service found, only if the user may see it; 404 when missing or not theirs (no leak)."""
    if obj is None or not permitted(current_user, obj):
        abort(404)
    return obj


def can_see_import_job(user: Viewer, job: ImportJob) -> bool:
    """An import job is seen only by its uploader's organisation: the school, hub or employer it was for."""
    if is_role(user, Role.SCHOOL):
        return job.school_id is not None and job.school_id == user.school_id
    if is_role(user, Role.HUB):
        return job.hub_id is not None and job.hub_id == user.hub_id
    if is_role(user, Role.EMPLOYER):
        return job.employer_id is not None and job.employer_id == user.employer_id
    return False


def can_manage_school_student(user: Viewer, student: Student) -> bool:
    """Only staff of the student's school may open or change the roster entry."""
    return can_manage_school(user, student.school_id)


def can_manage_school_booking(user: Viewer, booking: Booking) -> bool:
    """A booking belongs to the school of its student."""
    return can_manage_school(user, booking.school_id)


def can_manage_employer_booking(user: Viewer, booking: Booking) -> bool:
    """A booking is on one of the employer's sessions."""
    return can_manage_employer(user, booking.employer_id)


def can_see_adjustment(user: Viewer, request: AdjustmentRequest) -> bool:
    """A request is seen by the school or hub that asked it and by the employer asked."""
    if is_role(user, Role.SCHOOL):
        return request.school_id is not None and request.school_id == user.school_id
    if is_role(user, Role.HUB):
        return request.student_id is None and request.hub_id is not None and request.hub_id == user.hub_id
    return can_manage_employer(user, request.employer_id)


def can_answer_adjustment(user: Viewer, request: AdjustmentRequest) -> bool:
    """Only the employer asked answers a request."""
    return can_manage_employer(user, request.employer_id)


# --- the JSON API: bearer tokens, never cookies --------------------------------------------


def _api_refusal(status: int, code: str, message: str) -> Any:
    """A JSON error for an API request that may not go on (401 also says how to authenticate)."""
    response = jsonify({"code": code, "message": message, "details": {}})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def bearer_token() -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None when there is none."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def api_allow(*roles: Role) -> Callable[[F], F]:
    """Open an API view to bearer-token users of the given roles: 401 without a live token, 403 for another role.

    The user is put in flask.g.api_user; the session cookie is never consulted. The token's
    last-used time is committed before the view runs, so a refused or failed request still records it.
    """
    allowed = frozenset(roles)

    def decorate(view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            from portal.accounts.tokens import api_user_for

            raw = bearer_token()
            user = api_user_for(db.session, raw) if raw else None
            if user is None:
                db.session.rollback()
                return _api_refusal(401, "unauthorized", "Send a live API token: Authorization: Bearer <token>")
            db.session.commit()  # last_used_at
            if user.role not in allowed:
                return _api_refusal(403, "forbidden", "Your role may not use this endpoint")
            g.api_user = user
            return view(*args, **kwargs)

        setattr(guarded, ACCESS_ATTRIBUTE, allowed)
        return guarded  # type: ignore[return-value]

    return decorate


def api_user() -> Any:
    """The user an API request was authenticated as (set by @api_allow)."""
    return g.api_user


def bookings_of(user: Viewer) -> Select[Any]:
    """Bookings the user may list: their school's students', or those on their employer's sessions."""
    from portal.bookings.models import Booking

    if is_role(user, Role.SCHOOL):
        return select(Booking).where(Booking.school_id == user.school_id)
    if is_role(user, Role.EMPLOYER):
        return select(Booking).where(Booking.employer_id == user.employer_id)
    return select(Booking).where(Booking.id.is_(None))


def is_students_own_booking(user: Viewer, booking: Booking) -> bool:
    """A student reflects only on their own bookings."""
    return is_role(user, Role.STUDENT) and user.student_id == booking.student_id


# --- compliance: risk assessments and DBS notes ----------------------------------------------

_INVOLVED_STATUSES = [s.value for s in INVOLVED_BOOKING_STATUSES]


def can_manage_offer(user: Viewer, offer: Offer) -> bool:
    """An employer's staff manage its offers (and their sessions and risk assessments)."""
    return can_manage_employer(user, offer.employer_id)


def can_manage_risk_assessment(user: Viewer, assessment: RiskAssessment) -> bool:
    """The employer whose offer it is uploads, attests and sees its own risk assessments."""
    return can_manage_employer(user, assessment.employer_id)


def can_view_risk_assessment(user: Viewer, assessment: RiskAssessment) -> bool:
    """The employer, and school staff with a booking on a session the assessment covers."""
    from portal.bookings.models import Booking
    from portal.compliance.models import RiskAssessmentCoverage

    if can_manage_risk_assessment(user, assessment):
        return True
    if not is_role(user, Role.SCHOOL):
        return False
    return db.session.scalar(
        select(Booking.id)
        .join(RiskAssessmentCoverage, RiskAssessmentCoverage.session_id == Booking.session_id)
        .where(RiskAssessmentCoverage.risk_assessment_id == assessment.id, Booking.school_id == user.school_id,
               Booking.status.in_(_INVOLVED_STATUSES))
        .limit(1)
    ) is not None


def can_record_dbs(user: Viewer, supervisor: Supervisor) -> bool:
    """School staff decide on DBS for a supervisor of a session one of their students is booked on."""
    from portal.bookings.models import Booking
    from portal.offers.models import session_supervisors

    if not is_role(user, Role.SCHOOL):
        return False
    return db.session.scalar(
        select(Booking.id)
        .join(session_supervisors, session_supervisors.c.session_id == Booking.session_id)
        .where(session_supervisors.c.supervisor_id == supervisor.id, Booking.school_id == user.school_id,
               Booking.status.in_(_INVOLVED_STATUSES))
        .limit(1)
    ) is not None
