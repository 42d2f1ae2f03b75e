"""Test harness: one database per run (SQLite file, or a fresh PostgreSQL schema), built by the
migrations, and every test inside a transaction that is rolled back."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from portal import create_app
from portal.accounts import passwords
from portal.extensions import db, limiter
from portal.geo import ensure_lookup
from tests.geo.helpers import shared_lookup_path

PG_URL = os.environ.get("PORTAL_TEST_DATABASE_URL", "").strip()


def _postgres_schema_url(base_url: str, schema: str) -> str:
    """Same server and database, with every connection's search_path set to our own schema."""
    sep = "&" if "?" in base_url else "?"
    return f"{base_url}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """SQLite in a temp file, or a new schema on the PostgreSQL server that was asked for."""
    if not PG_URL:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'portal-test.db'}"
        return
    schema = f"test_{uuid.uuid4().hex[:12]}"
    engine = create_engine(PG_URL)
    try:
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # a run asked for PostgreSQL must not quietly use SQLite
        pytest.exit(f"PORTAL_TEST_DATABASE_URL is set but PostgreSQL is unreachable: {exc}", returncode=3)
    try:
        yield _postgres_schema_url(PG_URL, schema)
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def make_test_config(database_url: str, instance: Path, **overrides: Any) -> dict[str, Any]:
    """The configuration every test app starts from."""
    config = {
        "ENV": "testing",
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "DATABASE_URL": database_url,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "BASE_URL": "http://portal.test",
        "SERVER_NAME": None,
        "GEO_LOOKUP_PATH": str(shared_lookup_path()),  # built once per machine, not per run
        "TASK_QUEUE_IMMEDIATE": True,  # background tasks run at once, inside the test
    }
    if instance is not None:  # uploads go under the run's temporary instance folder, never the repository's
        config["UPLOAD_FOLDER"] = str(Path(instance) / "uploads")
    config.update(overrides)
    return config


@pytest.fixture(scope="session")
def instance_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A temporary instance folder shared by the run."""
    return tmp_path_factory.mktemp("instance")


class IsolatedClient(FlaskClient):
    """Each request gets its own app context (fresh `g` and session), as in production."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        """Send the request inside a new application context."""
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture(scope="session")
def app(database_url: str, instance_path: Path) -> Iterator[Flask]:
    """The application, with the schema built by running every migration."""
    from flask_migrate import upgrade

    ensure_lookup(shared_lookup_path())
    application = create_app(make_test_config(database_url, instance_path))
    application.test_client_class = IsolatedClient
    application.instance_path = str(instance_path)
    with application.app_context():
        upgrade()
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashing() -> Iterator[None]:
    """Argon2id with minimal cost in tests: the algorithm is the same, only slower in production."""
    original = passwords._hasher
    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    passwords._hasher = original


@pytest.fixture(autouse=True)
def _throttling_off() -> None:
    """The limiter is one object: a test that built a throttled app must not leave throttling on for the next."""
    limiter.enabled = False


@pytest.fixture(autouse=True)
def session(app: Flask) -> Iterator[Any]:
    """Every test runs in an outer transaction that is rolled back; commits become savepoints."""
    with app.app_context():
        # Deferred on SQLite, so that tests which commit from other connections (concurrency) can write.
        connection = db.engine.connect().execution_options(sqlite_deferred=True)
        outer = connection.begin()
        db.session.remove()
        db.session.configure(bind=connection, join_transaction_mode="create_savepoint")
        try:
            yield db.session
        finally:
            db.session.remove()
            db.session.configure(bind=None)
            outer.rollback()
            connection.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client (no CSRF, no rate limits)."""
    return app.test_client()


def sign_in_as(client: FlaskClient, user: Any) -> FlaskClient:
    """Put the user's session cookie on the client without going through the form."""
    db.session.refresh(user, ["session_version"])  # sign-out elsewhere in the test may have ended older sessions
    with client.session_transaction() as flask_session:
        flask_session["_user_id"] = user.get_id()
        flask_session["_fresh"] = True
    return client


@pytest.fixture
def login(client: FlaskClient) -> Any:
    """login(user) signs the client in as the user and returns the client."""
    return lambda user: sign_in_as(client, user)


class QueryCounter:
    """Statements sent to the database while the block ran."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def total(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(app: Flask) -> Any:
    """`with count_queries() as counted:` counts the SQL statements the block runs (N+1 guards)."""
    from contextlib import contextmanager

    from sqlalchemy import event

    @contextmanager
    def counting() -> Iterator[QueryCounter]:
        counter = QueryCounter()

        def _count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
                counter.statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", _count)
        try:
            yield counter
        finally:
            event.remove(db.engine, "before_cursor_execute", _count)

    return counting
