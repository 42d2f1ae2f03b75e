"""Issue and redeem single-use, expiring link tokens (only their digests are stored)."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select, update

from portal.accounts.models import TokenPurpose, User, UserToken
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
