"""User accounts and their one-time tokens."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.vocab import Role
from portal.db import utcnow
from portal.extensions import Model

if TYPE_CHECKING:
    from portal.organisations.models import Employer, Hub, School, Student


class User(Model):
    """A person who signs in: staff of a school or employer, a hub coordinator or a student."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    employer_id: Mapped[int | None] = mapped_column(ForeignKey("employers.id", ondelete="CASCADE"), index=True)
    hub_id: Mapped[int | None] = mapped_column(ForeignKey("hubs.id", ondelete="CASCADE"), index=True)
    student_id: Mapped[int | None] = mapped_column(
        ForeignKey("students.id", ondelete="CASCADE"), unique=True
    )
    is_active: Mapped[bool] = mapped_column(default=True)
    failed_sign_ins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[dt.datetime | None]
    last_sign_in_at: Mapped[dt.datetime | None]
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    school: Mapped[School | None] = relationship(foreign_keys=[school_id])
    employer: Mapped[Employer | None] = relationship(foreign_keys=[employer_id])
    hub: Mapped[Hub | None] = relationship(foreign_keys=[hub_id])
    student: Mapped[Student | None] = relationship(foreign_keys=[student_id])

    # Flask-Login protocol
    @property
    def is_authenticated(self) -> bool:
        """Every loaded user is signed in (anonymous visitors are a different class)."""
        return True

    @property
    def is_anonymous(self) -> bool:
        """A real user is never anonymous."""
        return False

    def get_id(self) -> str:
        """Session id: user id and session version, so a password change ends other sessions."""
        return f"{self.id}:{self.session_version}"

    @property
    def role_enum(self) -> Role:
        """The user's role as a vocabulary member."""
        return Role(self.role)

    @property
    def is_staff(self) -> bool:
        """Whether the user works for a school, an employer or a hub (not a student): they may hold API tokens."""
        return self.role_enum is not Role.STUDENT

    @property
    def has_password(self) -> bool:
        """Whether the account has been activated with a password."""
        return self.password_hash is not None

    @property
    def display_name(self) -> str:
        """The name to greet the user by."""
        return self.name or self.email


class TokenPurpose:
    """Kinds of one-time link (plain strings stored in user_tokens.purpose)."""

    RESET = "reset"
    INVITATION = "invitation"
    SET_PASSWORD = "set_password"  # noqa: S105 - a purpose name, not a password


class UserToken(Model):
    """A single-use, expiring link token; only its SHA-256 digest is stored."""

    __tablename__ = "user_tokens"
    __table_args__ = (
        UniqueConstraint("token_hash"),
        Index("ix_user_tokens_user_purpose", "user_id", "purpose"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class ApiToken(Model):
    """A bearer token for the JSON API: random, shown once, stored as a digest, revocable."""

    __tablename__ = "api_tokens"
    __table_args__ = (UniqueConstraint("token_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64))
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]

    user: Mapped[User] = relationship()

    @property
    def is_live(self) -> bool:
        """Whether the token may still be used."""
        return self.revoked_at is None
