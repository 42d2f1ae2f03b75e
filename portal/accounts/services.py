"""Account rules: registration, invitations, sign-in with throttling, passwords and links."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from typing import TYPE_CHECKING

from flask import current_app
from sqlalchemy import Select, case, func, or_, select, update

from portal.accounts.models import TokenPurpose, User
from portal.accounts.passwords import hash_password, needs_rehash, password_problem, verify_password
from portal.accounts.tokens import WELCOME_PURPOSES, find_token, issue_token, redeem_token
from portal.core.links import absolute_url
from portal.core.notify import notify
from portal.core.refusals import FieldRefusal
from portal.core.vocab import Role
from portal.db import DbSession, utcnow
from portal.extensions import db
from portal.organisations.models import Employer, School, Student

if TYPE_CHECKING:
    from portal.geo import Location

SIGN_IN_FAILED = "Enter a correct email address and password. After several wrong attempts you must wait 15 minutes."


class AccountError(FieldRefusal):
    """A rule about accounts was broken; the message is for the person."""

    code_for_class = "account_refused"


def load_user_from_session(session_id: str) -> User | None:
    """Flask-Login loader: the user, if the id and its session version are still current."""
    try:
        user_id, version = (int(part) for part in session_id.split(":", 1))
    except ValueError:
        return None
    user = db.session.get(User, user_id)
    if user is None or not user.is_active or user.session_version != version or not user.has_password:
        return None
    return user


def find_user_by_email(session: DbSession, email: str) -> User | None:
    """Look an account up by email, ignoring case."""
    return session.scalars(select(User).where(func.lower(User.email) == email.strip().lower())).first()


def _locate(postcode: str) -> Location:
    """Place a registration's postcode on the map; an unknown district is an error on the postcode field."""
    from portal.geo.locate import PostcodeProblem, locate

    try:
        return locate(postcode)
    except PostcodeProblem as problem:
        raise AccountError(str(problem), "postcode") from None


def _require_free_email(session: DbSession, email: str, field: str = "email") -> None:
    """Refuse an email that already has an account."""
    if find_user_by_email(session, email) is not None:
        raise AccountError("An account with this email address already exists: sign in instead", field)


def register_school(
    session: DbSession, *, urn: str, name: str, school_type: str, postcode: str,
    person_name: str, email: str, password: str,
) -> User:
    """Create a school with its first staff member (the careers leader)."""
    if session.scalars(select(School).where(School.urn == urn)).first() is not None:
        raise AccountError(
            "A school with this URN is already registered: ask its careers leader to invite you", "urn"
        )
    _require_free_email(session, email)
    location = _locate(postcode)
    school = School(urn=urn, name=name, school_type=school_type, postcode=location.postcode,
                    latitude=location.latitude, longitude=location.longitude,
                    location_approximate=location.approximate)
    session.add(school)
    session.flush()
    user = User(email=email.lower(), name=person_name, role=Role.SCHOOL.value, school_id=school.id,
                password_hash=hash_password(password))
    session.add(user)
    session.flush()
    return user


def employer_ref_for(session: DbSession, name: str) -> str:
    """A new unique employer reference made from the name, e.g. 'acme-engineering-3f9c'."""
    stem = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:28] or "employer"
    while True:
        ref = f"{stem}-{secrets.token_hex(2)}"
        if session.scalars(select(Employer.id).where(Employer.ref == ref)).first() is None:
            return ref


def register_employer(
    session: DbSession, *, name: str, sector: str, postcode: str,
    person_name: str, email: str, password: str,
) -> User:
    """Create an employer with its first staff member."""
    _require_free_email(session, email)
    location = _locate(postcode)
    employer = Employer(ref=employer_ref_for(session, name), name=name, sector=sector, postcode=location.postcode,
                        latitude=location.latitude, longitude=location.longitude,
                        location_approximate=location.approximate)
    session.add(employer)
    session.flush()
    user = User(email=email.lower(), name=person_name, role=Role.EMPLOYER.value,
                employer_id=employer.id, password_hash=hash_password(password))
    session.add(user)
    session.flush()
    return user


def _organisation_name(user: User) -> str:
    """The name of the school, employer or hub the user belongs to."""
    for org in (user.school, user.employer, user.hub):
        if org is not None:
            return org.name
    return "Placement Portal"


def invite_user(
    session: DbSession, *, email: str, name: str, role: Role, inviter: User | None,
    school_id: int | None = None, employer_id: int | None = None, hub_id: int | None = None,
) -> tuple[User, str]:
    """Create an account waiting for its password and email an invitation link (7 days)."""
    _require_free_email(session, email)
    user = User(email=email.lower(), name=name, role=role.value, school_id=school_id,
                employer_id=employer_id, hub_id=hub_id, password_hash=None)
    session.add(user)
    session.flush()
    session.refresh(user)
    days = current_app.config["INVITATION_TOKEN_DAYS"]
    raw = issue_token(session, user, TokenPurpose.INVITATION, dt.timedelta(days=days), inviter)
    link = absolute_url("accounts.welcome", token=raw)
    who = inviter.display_name if inviter else "Your careers hub"
    notify(session, "invitation", user.email, school_id=school_id, employer_id=employer_id,
           name=name or "", inviter=who, organisation=_organisation_name(user), link=link, days=days)
    return user, raw


def issue_student_sign_in(session: DbSession, staff: User, student: Student, email: str) -> str:
    """Give a student an account (or a fresh link) and return the one-time set-password link."""
    user = session.scalars(select(User).where(User.student_id == student.id)).first()
    if user is None:
        _require_free_email(session, email)
        user = User(email=email.lower(), name=student.first_name, role=Role.STUDENT.value,
                    student_id=student.id, school_id=None, password_hash=None)
        session.add(user)
        session.flush()
    elif user.email != email.lower():
        other = find_user_by_email(session, email)
        if other is not None and other.id != user.id:
            raise AccountError("Another account already uses this email address", "email")
        user.email = email.lower()
    student.email = email.lower()
    days = current_app.config["INVITATION_TOKEN_DAYS"]
    raw = issue_token(session, user, TokenPurpose.SET_PASSWORD, dt.timedelta(days=days), staff)
    link = absolute_url("accounts.welcome", token=raw)
    notify(session, "student_sign_in", user.email, school_id=student.school_id, student=student, link=link, days=days)
    return link


def authenticate(session: DbSession, email: str, password: str, now: dt.datetime | None = None) -> User:
    """Check credentials, counting failures per account and locking after too many.

    Each failure is counted, and the lock set, in one UPDATE, so parallel guesses each count; a right password
    signs in only through an UPDATE that finds the account unlocked at that moment, so it is refused while locked.
    """
    now = now or utcnow()
    user = find_user_by_email(session, email)
    if user is None or not user.is_active:
        verify_password(None, password)  # same work as a real check
        raise AccountError(SIGN_IN_FAILED)
    if user.locked_until is not None and user.locked_until > now:
        verify_password(None, password)
        raise AccountError(SIGN_IN_FAILED)
    if not verify_password(user.password_hash, password):
        _count_failure(session, user, now)
        raise AccountError(SIGN_IN_FAILED)
    signed_in = session.execute(
        update(User).where(User.id == user.id, or_(User.locked_until.is_(None), User.locked_until <= now))
        .values(failed_sign_ins=0, locked_until=None, last_sign_in_at=now)
        .returning(User.id).execution_options(synchronize_session=False)
    ).first()
    session.refresh(user)
    if signed_in is None:  # locked by guesses that landed while this password was being checked
        raise AccountError(SIGN_IN_FAILED)
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def _count_failure(session: DbSession, user: User, now: dt.datetime) -> None:
    """Add one failed sign-in in a single statement; the failure that reaches the limit locks the account."""
    cfg = current_app.config
    reaches_limit = User.failed_sign_ins + 1 >= cfg["SIGN_IN_MAX_FAILURES"]
    session.execute(
        update(User).where(User.id == user.id)
        .values(failed_sign_ins=case((reaches_limit, 0), else_=User.failed_sign_ins + 1),
                locked_until=case((reaches_limit, now + dt.timedelta(minutes=cfg["SIGN_IN_LOCK_MINUTES"])),
                                  else_=User.locked_until))
        .execution_options(synchronize_session=False)
    )
    session.expire(user, ["failed_sign_ins", "locked_until"])


def end_sessions(session: DbSession, user: User) -> None:
    """Make every cookie issued to the user worthless (sign-out, deactivation), in one atomic step."""
    session.execute(update(User).where(User.id == user.id)
                    .values(session_version=User.session_version + 1).execution_options(synchronize_session=False))
    session.expire(user, ["session_version"])


def deactivate(session: DbSession, user: User) -> None:
    """Close an account: it can no longer sign in, and any session it has open ends now."""
    user.is_active = False
    end_sessions(session, user)


def set_password(user: User, password: str) -> None:
    """Set a new password (policy checked) and end every other session of the user."""
    problem = password_problem(password, user.email)
    if problem:
        raise AccountError(problem, "password")
    user.password_hash = hash_password(password)
    user.session_version += 1
    user.failed_sign_ins = 0
    user.locked_until = None


def change_password(user: User, current: str, new: str) -> None:
    """Change a password after checking the current one."""
    if not verify_password(user.password_hash, current):
        raise AccountError("Your current password is not right", "current_password")
    set_password(user, new)


def request_password_reset(session: DbSession, email: str) -> None:
    """Email a reset link (24 hours) if an active account exists; say nothing either way."""
    user = find_user_by_email(session, email)
    if user is None or not user.is_active or not user.has_password:
        return
    hours = current_app.config["RESET_TOKEN_HOURS"]
    raw = issue_token(session, user, TokenPurpose.RESET, dt.timedelta(hours=hours))
    notify(session, "password_reset", user.email, user=user, hours=hours,
           link=absolute_url("accounts.reset_password", token=raw))


def reset_password(session: DbSession, raw_token: str, password: str) -> User:
    """Use a reset link to set a new password."""
    token = find_token(session, raw_token, (TokenPurpose.RESET,))
    set_password(token.user, password)
    redeem_token(session, token)
    return token.user


def accept_welcome(session: DbSession, raw_token: str, password: str, name: str | None = None) -> User:
    """Use an invitation or set-password link: choose a password and activate the account."""
    token = find_token(session, raw_token, WELCOME_PURPOSES)
    user = token.user
    if name:
        user.name = name
    set_password(user, password)
    redeem_token(session, token)
    return user


def home_endpoint(user: User) -> str:
    """Where each role lands after signing in."""
    return {
        Role.SCHOOL.value: "home.school_home",
        Role.EMPLOYER.value: "home.employer_home",
        Role.HUB.value: "organisations.hub_schools",
        Role.STUDENT.value: "home.my_record",
    }[user.role]


def colleagues_of(user: User) -> Select[tuple[User]]:
    """Accounts of the same school, employer or hub as the user (students excluded)."""
    query = select(User).where(User.role == user.role)
    if user.school_id is not None and user.role == Role.SCHOOL.value:
        return query.where(User.school_id == user.school_id)
    if user.employer_id is not None:
        return query.where(User.employer_id == user.employer_id)
    if user.hub_id is not None:
        return query.where(User.hub_id == user.hub_id)
    return query.where(User.id == user.id)


def create_user_for_operator(
    session: DbSession, *, email: str, role: str, school_urn: str | None, employer_ref: str | None,
    student_ref: str | None, hub_name: str | None, name: str, password: str | None,
) -> tuple[User, str | None]:
    """Create any kind of account from the command line; returns it and a set-password link (or None)."""
    from portal.organisations.models import Hub

    role_enum = Role(role)
    email = email.strip().lower()
    _require_free_email(session, email)
    user = User(email=email, name=name, role=role_enum.value, password_hash=None)
    if role_enum is Role.SCHOOL or role_enum is Role.STUDENT:
        if not school_urn:
            raise AccountError("--school URN is needed for this role")
        school = session.scalars(select(School).where(School.urn == school_urn)).first()
        if school is None:
            raise AccountError(f"No school has URN {school_urn}")
        if role_enum is Role.SCHOOL:
            user.school_id = school.id
        else:
            if not student_ref:
                raise AccountError("--student REF is needed for a student account")
            student = session.scalars(
                select(Student).where(Student.school_id == school.id, Student.student_ref == student_ref)
            ).first()
            if student is None:
                raise AccountError(f"No student with reference {student_ref} at {school.name}")
            if session.scalars(select(User.id).where(User.student_id == student.id)).first() is not None:
                raise AccountError("That student already has an account")
            user.student_id = student.id
            user.name = user.name or student.first_name
    elif role_enum is Role.EMPLOYER:
        employer = session.scalars(select(Employer).where(Employer.ref == (employer_ref or ""))).first()
        if employer is None:
            raise AccountError(f"No employer has reference {employer_ref!r} (--employer REF)")
        user.employer_id = employer.id
    else:
        if not hub_name:
            raise AccountError("--hub NAME is needed for a hub coordinator")
        hub = session.scalars(select(Hub).where(Hub.name == hub_name)).first()
        if hub is None:
            hub = Hub(name=hub_name)
            session.add(hub)
            session.flush()
        user.hub_id = hub.id
    session.add(user)
    session.flush()
    if password is not None:
        set_password(user, password)
        return user, None
    days = current_app.config["INVITATION_TOKEN_DAYS"]
    purpose = TokenPurpose.SET_PASSWORD if role_enum is Role.STUDENT else TokenPurpose.INVITATION
    raw = issue_token(session, user, purpose, dt.timedelta(days=days))
    return user, absolute_url("accounts.welcome", token=raw)


def active_school_staff(session: DbSession, school_id: int) -> list[User]:
    """The school's active staff accounts, by name then email."""
    return list(session.scalars(select(User).where(User.school_id == school_id, User.role == Role.SCHOOL.value,
                                                   User.is_active).order_by(User.name, User.email)))


def students_with_sign_in(session: DbSession, student_ids: list[int]) -> set[int]:
    """Which of these students have a sign-in of their own."""
    return set(session.scalars(select(User.student_id).where(User.student_id.in_(student_ids))))


def student_account(session: DbSession, student_id: int) -> User | None:
    """The student's own sign-in, if staff have made one."""
    return session.scalars(select(User).where(User.student_id == student_id)).first()
