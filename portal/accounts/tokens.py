"""Issue and redeem single-use, expiring link tokens (only their digests are stored)."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select, update

from portal.accounts.models import ApiToken, TokenPurpose, User, UserToken
from portal.db import DbSession, utcnow


class TokenInvalid(Exception):
    """The link is unknown, used or expired; the message says which, in words."""


def digest(token: str) -> str:
    """SHA-256 hex digest of a token (tokens are random, so no salt is needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(
    session: DbSession,
    user: User,
    purpose: str,
    lifetime: dt.timedelta,
    created_by: User | None = None,
) -> str:
    """Create a new token for the user, retiring earlier unused ones of the same purpose."""
    now = utcnow()
    session.execute(
        update(UserToken)
        .where(UserToken.user_id == user.id, UserToken.purpose == purpose, UserToken.used_at.is_(None))
        .values(expires_at=now)
    )
    raw = secrets.token_urlsafe(32)
    session.add(
        UserToken(
            user_id=user.id,
            purpose=purpose,
            token_hash=digest(raw),
            expires_at=now + lifetime,
            created_by_id=created_by.id if created_by else None,
        )
    )
    return raw


def find_token(session: DbSession, raw: str, purposes: tuple[str, ...]) -> UserToken:
    """Return the live token for this link or raise TokenInvalid saying why it can't be used."""
    token = session.scalars(select(UserToken).where(UserToken.token_hash == digest(raw))).first()
    if token is None or token.purpose not in purposes:
        raise TokenInvalid("This link is not valid. Check you copied the whole link from the email.")
    if token.used_at is not None:
        raise TokenInvalid("This link has already been used.")
    if token.expires_at <= utcnow():
        raise TokenInvalid("This link has expired.")
    return token


def redeem_token(session: DbSession, token: UserToken) -> None:
    """Mark the token used, atomically, so that two submissions can't both use it."""
    result = session.execute(
        update(UserToken)
        .where(UserToken.id == token.id, UserToken.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise TokenInvalid("This link has already been used.")


WELCOME_PURPOSES = (TokenPurpose.INVITATION, TokenPurpose.SET_PASSWORD)


API_TOKEN_PREFIX = "pp_"  # noqa: S105 - a visible prefix, not a secret


def issue_api_token(session: DbSession, user: User, name: str) -> tuple[ApiToken, str]:
    """Create an API token for a staff user; the raw value is returned once and never stored."""
    raw = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name.strip() or "API token", token_hash=digest(raw), prefix=raw[:10])
    session.add(token)
    session.flush()
    return token, raw


def api_user_for(session: DbSession, raw: str, now: dt.datetime | None = None) -> User | None:
    """The active user a live bearer token belongs to (recording its use), or None."""
    if not raw.startswith(API_TOKEN_PREFIX):
        return None
    token = session.scalars(select(ApiToken).where(ApiToken.token_hash == digest(raw))).first()
    if token is None or not token.is_live or not token.user.is_active or token.user.role == "student":
        return None
    token.last_used_at = now or utcnow()
    return token.user


def revoke_api_token(session: DbSession, user: User, token_id: int) -> bool:
    """Revoke one of the user's own tokens; False when it is not theirs or already revoked."""
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id or token.revoked_at is not None:
        return False
    token.revoked_at = utcnow()
    return True
