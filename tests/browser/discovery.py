"""Which pages each role can reach, read from app.url_map and each view's access declaration, and the
real demo ids that go into their URLs.

Nothing here is a list of pages: a new GET route is visited by the browser tests as soon as it is
registered, and a new URL argument fails the tests until the resolver below is taught about it. The
hostile-input test (tests/test_hostile_forms.py) walks the form routes with the same discovery and ids.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask, url_for
from sqlalchemy import select

from portal.access import ACCESS_ATTRIBUTE, PUBLIC
from portal.accounts.models import TokenPurpose, User
from portal.core.vocab import Role, SendStatus, VettingStatus
from portal.db import utcnow
from portal.extensions import db
from portal.organisations.models import Employer, School, Student

ANONYMOUS = "anonymous"
ROLES: tuple[str, ...] = (ANONYMOUS, *(role.value for role in Role))

# The app answers these paths (and any ending .json, e.g. an import job's progress) with JSON: checked as JSON.
JSON_PATH_PREFIXES = ("/api/",)
JSON_PATHS = frozenset({"/healthz"})


@dataclass(frozen=True)
class PageRoute:
    """One GET rule of the app that a role may open."""

    endpoint: str
    rule: str
    arguments: tuple[str, ...]
    json: bool
    download: bool = False

    @property
    def test_id(self) -> str:
        """Readable id for pytest: the rule itself, e.g. /students/<int:student_id>."""
        return self.rule


def is_download_rule(rule: str) -> bool:
    """Whether the path is a file download (a CSV export or a stored PDF), checked as a download rather than a page."""
    return rule.endswith((".csv", "/download"))


def is_json_rule(rule: str) -> bool:
    """Whether the app answers this path with JSON rather than an HTML page."""
    return rule in JSON_PATHS or rule.startswith(JSON_PATH_PREFIXES) or rule.endswith(".json")


def rule_arguments(rule: str) -> tuple[str, ...]:
    """URL argument names in the order they appear, e.g. ('offer_id', 'session_id')."""
    return tuple(re.findall(r"<(?:[^<>]*:)?(\w+)>", rule))


def can_reach(access: Any, role: str) -> bool:
    """Whether a view declared with `access` (PUBLIC or a frozenset of Role) opens for `role`."""
    if access == PUBLIC:
        return True
    if role == ANONYMOUS or not isinstance(access, frozenset):
        return False
    return Role(role) in access


def reachable_pages(app: Flask, role: str) -> list[PageRoute]:
    """Every GET rule whose view is public or allows `role`, except static files, sorted by path."""
    pages = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.build_only or "GET" not in (rule.methods or ()):
            continue
        access = getattr(app.view_functions.get(rule.endpoint), ACCESS_ATTRIBUTE, None)
        if access is None:  # refused to everyone by the app; undeclared_views() reports it
            continue
        if can_reach(access, role):
            pages.append(PageRoute(rule.endpoint, rule.rule, rule_arguments(rule.rule), is_json_rule(rule.rule),
                                   is_download_rule(rule.rule)))
    return sorted(pages, key=lambda page: (page.rule, page.endpoint))


def form_routes(app: Flask) -> list[PageRoute]:
    """Every POST rule of the web pages (not the JSON API, not static files) whose view declares its access, by path."""
    forms = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.build_only or "POST" not in (rule.methods or ()):
            continue
        if rule.rule.startswith(JSON_PATH_PREFIXES) or getattr(app.view_functions.get(rule.endpoint), ACCESS_ATTRIBUTE, None) is None:
            continue
        forms.append(PageRoute(rule.endpoint, rule.rule, rule_arguments(rule.rule), is_json_rule(rule.rule)))
    return sorted(forms, key=lambda page: (page.rule, page.endpoint))


def a_role_allowed(app: Flask, endpoint: str) -> str:
    """One role that may use the endpoint: anonymous for a public view, else the first allowed role in Role order."""
    access = getattr(app.view_functions[endpoint], ACCESS_ATTRIBUTE)
    return next(role for role in ROLES if can_reach(access, role))


def undeclared_views(app: Flask) -> list[str]:
    """Endpoints (other than static files) whose view has no @public or @allow declaration."""
    return sorted(
        endpoint for endpoint, view in app.view_functions.items()
        if endpoint != "static" and getattr(view, ACCESS_ATTRIBUTE, None) is None
    )


# --- the id resolver: URL argument name -> a real demo id for the signed-in role ---------------------


@dataclass
class ResolveContext:
    """What a resolver knows: the route, the role, and the signed-in demo user (None when anonymous)."""

    endpoint: str
    rule: str
    role: str
    user: User | None
    values: dict[str, Any] = field(default_factory=dict)  # arguments already resolved (earlier in the rule)


def _teach(ctx: ResolveContext, argument: str, why: str) -> Any:
    pytest.fail(
        f"The browser tests cannot fill <{argument}> in {ctx.rule} (endpoint {ctx.endpoint}) for role "
        f"{ctx.role!r}: {why}. Teach the id resolver: add or extend RESOLVERS['{argument}'] in "
        "tests/browser/discovery.py so it returns a demo id this role may open.",
        pytrace=False,
    )


def _first_school_user() -> User:
    user = db.session.scalars(select(User).where(User.role == Role.SCHOOL.value).order_by(User.id)).first()
    assert user is not None, "the demo data has no school staff account"
    return user


def _student_id(ctx: ResolveContext) -> int:
    """A student of the signed-in school (the one with a sign-in and needs, when there is one)."""
    user = ctx.user
    if ctx.role == Role.STUDENT.value and user is not None and user.student_id:
        return user.student_id
    if ctx.role != Role.SCHOOL.value or user is None:
        return _teach(ctx, "student_id", "it only knows students for school staff and the student themself")
    with_account = select(Student.id).join(User, User.student_id == Student.id)
    for query in (
        with_account.where(Student.school_id == user.school_id),
        select(Student.id).where(Student.school_id == user.school_id, Student.send_status != SendStatus.NONE.value),
        select(Student.id).where(Student.school_id == user.school_id),
    ):
        student_id = db.session.scalars(query.order_by(Student.id)).first()
        if student_id is not None:
            return student_id
    return _teach(ctx, "student_id", "the signed-in school has no students in the demo data")


def _employer_id(ctx: ResolveContext) -> int:
    """The employer's own organisation; for a hub coordinator, an employer waiting to be vetted."""
    user = ctx.user
    if ctx.role == Role.EMPLOYER.value and user is not None and user.employer_id:
        return user.employer_id
    if ctx.role == Role.HUB.value:
        employer_id = db.session.scalars(
            select(Employer.id).order_by(Employer.vetting_status == VettingStatus.VETTED.value, Employer.id)
        ).first()
        if employer_id is not None:
            return employer_id
    return _teach(ctx, "employer_id", "it only knows employers for employer staff and hub coordinators")


def _school_id(ctx: ResolveContext) -> int:
    """The staff member's own school; for a hub coordinator, a school of their hub."""
    user = ctx.user
    if ctx.role == Role.SCHOOL.value and user is not None and user.school_id:
        return user.school_id
    if ctx.role == Role.HUB.value and user is not None:
        school_id = db.session.scalars(
            select(School.id).where(School.hub_id == user.hub_id).order_by(School.id)
        ).first()
        if school_id is not None:
            return school_id
    return _teach(ctx, "school_id", "it only knows schools for school staff and hub coordinators")


def _hub_id(ctx: ResolveContext) -> int:
    """The coordinator's own hub, or the hub of the staff member's school."""
    user = ctx.user
    if ctx.role == Role.HUB.value and user is not None and user.hub_id:
        return user.hub_id
    if ctx.role == Role.SCHOOL.value and user is not None and user.school is not None and user.school.hub_id:
        return user.school.hub_id
    return _teach(ctx, "hub_id", "it only knows hubs for hub coordinators and school staff")


def _offer_id(ctx: ResolveContext) -> int:
    """The employer's own offer that has sessions; for schools and hubs, an offer they can find."""
    from portal.offers.models import Offer, OfferSession
    from portal.offers.services import visible_to_schools

    user = ctx.user
    if ctx.role == Role.EMPLOYER.value and user is not None and user.employer_id:
        own = select(Offer.id).where(Offer.employer_id == user.employer_id)
        with_sessions = own.where(Offer.id.in_(select(OfferSession.offer_id)))
        offer_id = db.session.scalars(with_sessions.order_by(Offer.id)).first() or db.session.scalars(own.order_by(Offer.id)).first()
        if offer_id is not None:
            return offer_id
        return _teach(ctx, "offer_id", "the signed-in employer has no offers in the demo data")
    if ctx.role in (Role.SCHOOL.value, Role.HUB.value):
        for offer in db.session.scalars(select(Offer).order_by(Offer.id)):
            if visible_to_schools(offer):
                return offer.id
        return _teach(ctx, "offer_id", "the demo data has no offer that schools can see")
    return _teach(ctx, "offer_id", "it only knows offers for employers, school staff and hub coordinators")


def _session_id(ctx: ResolveContext) -> int:
    """A session of the offer already chosen for <offer_id> in the same URL."""
    from portal.offers.models import OfferSession

    offer_id = ctx.values.get("offer_id")
    if offer_id is None and ctx.role == Role.SCHOOL.value and "student_id" in ctx.values:
        return _near_miss_session(ctx)
    if offer_id is None:
        return _teach(ctx, "session_id", "it only knows sessions of an <offer_id> given earlier in the URL")
    session_id = db.session.scalars(
        select(OfferSession.id).where(OfferSession.offer_id == offer_id).order_by(OfferSession.starts_at)
    ).first()
    if session_id is None:
        return _teach(ctx, "session_id", f"offer {offer_id} has no sessions in the demo data")
    return session_id


def _near_miss_session(ctx: ResolveContext) -> int:
    """A future session of an offer schools can see, one lacking a need of the chosen student when there is one."""
    from portal.offers.models import Offer, OfferSession
    from portal.offers.services import visible_to_schools

    student = db.session.get(Student, ctx.values["student_id"])
    needs = set(student.need_codes) if student is not None else set()
    fallback = None
    for occurrence in db.session.scalars(select(OfferSession).join(Offer).where(
            OfferSession.starts_at > utcnow()).order_by(OfferSession.starts_at, OfferSession.id)):
        if not visible_to_schools(occurrence.offer):
            continue
        if needs - set(occurrence.offer.feature_codes):
            return occurrence.id
        fallback = fallback or occurrence.id
    return fallback if fallback is not None else _teach(ctx, "session_id", "no future session schools can see")


def _request_id(ctx: ResolveContext) -> int:
    """An adjustment request to the signed-in employer (the demo data asks one)."""
    from portal.adjustments.models import AdjustmentRequest

    user = ctx.user
    if ctx.role == Role.EMPLOYER.value and user is not None:
        request_id = db.session.scalars(select(AdjustmentRequest.id).where(
            AdjustmentRequest.employer_id == user.employer_id).order_by(AdjustmentRequest.id)).first()
        if request_id is not None:
            return request_id
        return _teach(ctx, "request_id", "the demo employer has no adjustment request (demo.py asks one)")
    return _teach(ctx, "request_id", "it only knows adjustment requests for employers")


def _need_id(ctx: ResolveContext) -> int:
    """A posted need the role may open: one near the employer, or one of the school's (or its hub's schools')."""
    from portal.adjustments import needs
    from portal.adjustments.models import PostedNeed

    user = ctx.user
    for need in db.session.scalars(select(PostedNeed).order_by(PostedNeed.id)):
        if user is None:
            break
        if ctx.role == Role.EMPLOYER.value and user.employer is not None:
            if needs.visible_to_employer(db.session, need, user.employer):
                return need.id
        elif needs.can_follow(user, need):
            return need.id
    return _teach(ctx, "need_id", "no posted need this role may open (demo.py posts one near the hospital)")


def _supervisor_id(ctx: ResolveContext) -> int:
    """A supervisor of the signed-in employer; for school staff, one supervising a session they booked."""
    from portal.bookings.models import Booking
    from portal.offers.models import Supervisor, session_supervisors

    user = ctx.user
    if ctx.role == Role.SCHOOL.value and user is not None:
        supervisor_id = db.session.scalars(
            select(session_supervisors.c.supervisor_id)
            .join(Booking, Booking.session_id == session_supervisors.c.session_id)
            .where(Booking.school_id == user.school_id).order_by(session_supervisors.c.supervisor_id)
        ).first()
        if supervisor_id is not None:
            return supervisor_id
        return _teach(ctx, "supervisor_id", "no session the school booked has a supervisor in the demo data")
    if ctx.role == Role.EMPLOYER.value and user is not None and user.employer_id:
        supervisor_id = db.session.scalars(
            select(Supervisor.id).where(Supervisor.employer_id == user.employer_id).order_by(Supervisor.id)
        ).first()
        if supervisor_id is not None:
            return supervisor_id
    return _teach(ctx, "supervisor_id", "it only knows supervisors of the signed-in employer")


def _booking_id(ctx: ResolveContext) -> int:
    """A booking of the signed-in school's students, on the employer's sessions, or the student's own;
    a completed one for the reflection and feedback pages (they open only after the placement)."""
    from portal.bookings.models import Booking

    user = ctx.user
    query = None
    if ctx.role == Role.SCHOOL.value and user is not None:
        query = select(Booking.id).where(Booking.school_id == user.school_id)
    elif ctx.role == Role.EMPLOYER.value and user is not None:
        query = select(Booking.id).where(Booking.employer_id == user.employer_id)
    elif ctx.role == Role.STUDENT.value and user is not None:
        query = select(Booking.id).where(Booking.student_id == user.student_id)
    if query is None:
        return _teach(ctx, "booking_id", "it only knows bookings for school staff, employers and students")
    if ctx.endpoint.startswith("reflections."):
        query = query.where(Booking.status == "completed")
    elif ctx.endpoint == "bookings.confirm_features":  # the questions are the needs of a student who attended
        from portal.organisations.models import StudentNeed

        query = query.where(Booking.status == "completed",
                            Booking.student_id.in_(select(StudentNeed.student_id)))
    elif ctx.endpoint.startswith("compliance."):  # consent and briefing forms show on bookings still to happen
        query = query.where(Booking.status.in_(["requested", "confirmed"]), Booking.starts_at > utcnow())
    booking_id = db.session.scalars(query.order_by(Booking.id)).first()
    if booking_id is None:
        return _teach(ctx, "booking_id", f"the demo {ctx.role} has no bookings (the browser fixture makes one)")
    return booking_id


def _ref(ctx: ResolveContext) -> str:
    """<ref> in /students/<ref>/...: the school's own reference of one of its students."""
    if "/students/<ref>" not in ctx.rule:
        return _teach(ctx, "ref", "it only knows <ref> as a student's reference in /students/<ref>")
    student = db.session.get(Student, _student_id(ctx))
    assert student is not None
    return student.student_ref


# Which kind of one-time link each route with a <token> takes.
TOKEN_PURPOSES = {
    "accounts.reset_password": TokenPurpose.RESET,
    "accounts.welcome": TokenPurpose.INVITATION,
}


def _token(ctx: ResolveContext) -> str:
    """A freshly issued, unused link token of the kind the route expects."""
    from portal.accounts.services import invite_user
    from portal.accounts.tokens import issue_token

    if ctx.endpoint == "compliance.parent_consent":
        return _consent_token()
    purpose = TOKEN_PURPOSES.get(ctx.endpoint)
    if purpose == TokenPurpose.INVITATION:
        leader = _first_school_user()
        _, raw = invite_user(
            db.session, email=f"invited-{uuid.uuid4().hex[:10]}@northgate.example", name="Robin Ellis",
            role=Role.SCHOOL, inviter=leader, school_id=leader.school_id,
        )
    elif purpose == TokenPurpose.RESET:
        owner = ctx.user or _first_school_user()
        raw = issue_token(db.session, owner, TokenPurpose.RESET, dt.timedelta(hours=24))
    else:
        return _teach(ctx, "token", "it does not know which kind of link (reset, invitation...) this route takes")
    db.session.commit()
    return raw


def _consent_token() -> str:
    """A fresh parental-consent link for an upcoming booking of an under-18 demo student."""
    from portal.bookings.models import Booking
    from portal.compliance.consent import consent_needed, consent_token, send_consent_request

    leader = _first_school_user()
    for booking in db.session.scalars(
        select(Booking).where(Booking.school_id == leader.school_id, Booking.status.in_(["requested", "confirmed"]),
                              Booking.starts_at > utcnow()).order_by(Booking.id)
    ):
        if consent_needed(booking):
            request = send_consent_request(db.session, leader, booking, "parent@northgate.example")
            db.session.commit()
            return consent_token(request)
    raise AssertionError("the demo school has no upcoming booking of an under-18 student to ask consent for")


def _assessment_id(ctx: ResolveContext) -> int:
    """A risk assessment the role may open: the employer's own, or one covering a session the school booked
    (an uploaded one first, so the download route has a file)."""
    from portal.bookings.models import Booking
    from portal.compliance.models import RiskAssessment, RiskAssessmentCoverage

    user = ctx.user
    query = None
    if ctx.role == Role.EMPLOYER.value and user is not None:
        query = select(RiskAssessment.id).where(RiskAssessment.employer_id == user.employer_id)
    elif ctx.role == Role.SCHOOL.value and user is not None:
        query = (select(RiskAssessment.id)
                 .join(RiskAssessmentCoverage, RiskAssessmentCoverage.risk_assessment_id == RiskAssessment.id)
                 .join(Booking, Booking.session_id == RiskAssessmentCoverage.session_id)
                 .where(Booking.school_id == user.school_id))
    if query is None:
        return _teach(ctx, "assessment_id", "it only knows risk assessments for employers and school staff")
    assessment_id = db.session.scalars(query.order_by((RiskAssessment.kind != "upload"), RiskAssessment.id)).first()
    if assessment_id is None:
        return _teach(ctx, "assessment_id", f"the demo {ctx.role} has no risk assessment (the browser fixture adds one)")
    return assessment_id


def _job_id(ctx: ResolveContext) -> int:
    """A running import job of the signed-in school (a roster) or hub (offers), made once, so its progress page is checked."""
    from portal.core.models import ImportJob

    user = ctx.user
    if user is None or ctx.role not in (Role.SCHOOL.value, Role.HUB.value):
        return _teach(ctx, "job_id", "it only knows import jobs for school staff and hub coordinators")
    scope = ({"kind": "roster", "school_id": user.school_id} if ctx.role == Role.SCHOOL.value
             else {"kind": "offers", "hub_id": user.hub_id})
    job = db.session.scalars(select(ImportJob).filter_by(**scope).order_by(ImportJob.id)).first()
    if job is None:
        job = ImportJob(**scope, status="running", owner_id=user.id, stored_name="browser-check.csv",
                        original_name="year10.csv", size_bytes=4096, rows_estimate=200, rows_checked=80)
        db.session.add(job)
        db.session.commit()
    return job.id


def _token_id(ctx: ResolveContext) -> int:
    """An API token of the signed-in staff member (revoking one's own token is the legitimate request); issued when they have none."""
    from portal.accounts.models import ApiToken
    from portal.accounts.tokens import issue_api_token

    user = ctx.user
    if user is None or ctx.role == Role.STUDENT.value:
        return _teach(ctx, "token_id", "it only knows API tokens of signed-in staff (students have none)")
    token_id = db.session.scalars(select(ApiToken.id).where(ApiToken.user_id == user.id).order_by(ApiToken.id)).first()
    if token_id is None:
        token_id = issue_api_token(db.session, user, "Discovery")[0].id
        db.session.commit()
    return token_id


RESOLVERS: dict[str, Callable[[ResolveContext], Any]] = {
    "job_id": _job_id,
    "assessment_id": _assessment_id,
    "student_id": _student_id,
    "employer_id": _employer_id,
    "school_id": _school_id,
    "hub_id": _hub_id,
    "booking_id": _booking_id,
    "offer_id": _offer_id,
    "ref": _ref,
    "session_id": _session_id,
    "supervisor_id": _supervisor_id,
    "request_id": _request_id,
    "need_id": _need_id,
    "token": _token,
    "token_id": _token_id,
}


def resolve_path(app: Flask, page: PageRoute, role: str, email: str | None) -> str:
    """The path to open for this page as this role, with real demo ids in it (fails on unknown arguments)."""
    unknown = [name for name in page.arguments if name not in RESOLVERS]
    if unknown:
        names = ", ".join(f"<{name}>" for name in unknown)
        pytest.fail(
            f"{page.rule} (endpoint {page.endpoint}) takes {names}, which the browser tests' id resolver "
            "does not know. Teach it: add an entry to RESOLVERS in tests/browser/discovery.py that returns "
            "a real demo id each role may open, so the new route is visited rather than skipped.",
            pytrace=False,
        )
    with app.test_request_context():
        user = None
        if email is not None:
            user = db.session.scalars(select(User).where(User.email == email)).one()
        ctx = ResolveContext(page.endpoint, page.rule, role, user)
        for name in page.arguments:  # in URL order, so a later argument can depend on an earlier one
            ctx.values[name] = RESOLVERS[name](ctx)
        return url_for(page.endpoint, **ctx.values)
