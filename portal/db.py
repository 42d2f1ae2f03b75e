"""Declarative base with a stable naming convention, and shared column types."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, TypeAlias

from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import ARRAY, Boolean, ColumnElement, DateTime, MetaData, TypeDecorator, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Session, registry, scoped_session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    """Return the current time as an aware UTC datetime (the only clock the app reads)."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware datetime stored in UTC; SQLite's naive values come back as UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        """Refuse naive datetimes and normalise aware ones to UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        """Attach UTC to values from databases that drop the zone."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    """Base class of every model: shared metadata with the naming convention."""

    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={dt.datetime: UTCDateTime()},
    )


class PortalSession(FlaskSession):
    """Flask-SQLAlchemy session that honours an explicit bind (tests join an outer transaction)."""

    def get_bind(self, mapper: Any = None, clause: Any = None, bind: Any = None, **kwargs: Any) -> Any:
        """Use the session's own bind when one was configured, else Flask-SQLAlchemy's engines."""
        if bind is None and self.bind is not None:
            return self.bind
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


# What services accept: a plain Session or Flask-SQLAlchemy's scoped `db.session`.
DbSession: TypeAlias = Session | scoped_session[Any]


def dialect_insert(session: DbSession) -> Any:
    """The INSERT construct with ON CONFLICT (upsert, do-nothing) for the session's database."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert
    if name == "sqlite":
        return sqlite.insert
    raise NotImplementedError(f"the portal supports SQLite and PostgreSQL, not {name}")


class AnyOf(ColumnElement[bool]):
    """`column IN values`, sent on PostgreSQL as one array parameter (`= ANY`): the statement's text then does not
    depend on how many values there are, so psycopg and the server parse and plan it once, not once per length."""

    inherit_cache = True
    type = Boolean()
    _is_implicitly_boolean = True  # a predicate: never compared to 1 where booleans are integers (SQLite)
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("listed", InternalTraversal.dp_clauseelement),
        ("array", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: Any, values: Iterable[Any], key: str | None = None) -> None:
        wanted = list(values)
        self.column = column.__clause_element__() if hasattr(column, "__clause_element__") else column
        # One of the two is rendered, by dialect: `key` names it for values given when the statement runs.
        self.listed = bindparam(key, wanted, type_=self.column.type, expanding=True)
        self.array = bindparam(key, wanted, type_=ARRAY(self.column.type))


def any_of(column: Any, values: Iterable[Any] = (), *, key: str | None = None) -> ColumnElement[bool]:
    """The column's value is one of values, or of the parameter `key` given at execution (see AnyOf)."""
    return AnyOf(column, values, key)


@compiles(AnyOf)
def _any_of_listed(element: AnyOf, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.column.in_(element.listed), **kw)


@compiles(AnyOf, "postgresql")
def _any_of_array(element: AnyOf, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{compiler.process(element.column, **kw)} = ANY ({compiler.process(element.array, **kw)})"
