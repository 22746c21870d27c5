"""Shared fixtures: databases on SQLite and PostgreSQL, the app, and a real SMTP server.

Every test that asks for `database_url` (directly or through `engine`,
`db_session`, `app` or `client`) runs once on SQLite and once on PostgreSQL
when TALENTCONNECT_TEST_DATABASE_URL is set. Under CI=true a missing
PostgreSQL or browser fails the run instead of skipping. No test holds the code
to a speed target; `make bench` does.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from mailer.sink import MailSink, MemoryStore
from portal.app import create_app
from portal.config import Settings, load_settings
from portal.schema import metadata
from portal.webhooks.sealing import secret_seal
from preferences.db import make_engine, make_session_factory
from preferences.wordings import forget_default_wordings

# Property tests check behaviour, not speed: no per-example deadline (Hypothesis's
# default is 200 ms), so a loaded CI machine can't fail them. Speed is `make bench`'s.
hypothesis_settings.register_profile("talentconnect", deadline=None)
hypothesis_settings.load_profile("talentconnect")

PG_URL = os.environ.get("TALENTCONNECT_TEST_DATABASE_URL", "").strip()
IN_CI = os.environ.get("CI", "").lower() == "true"
TEST_SECRET = "test-secret-key-" + "x" * 32
# What seals webhook signing secrets under the test apps' SECRET_KEYS.
TEST_SEAL = secret_seal((TEST_SECRET,))


def require_or_skip(reason: str) -> None:
    """Skip locally, but fail under CI, where nothing may be skipped."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true forbids skipping)")
    pytest.skip(reason)


def with_search_path(url: str, schema: str) -> str:
    """Return `url` pointed at `schema` through libpq's options parameter."""
    parsed = make_url(url)
    return parsed.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False
    )


class PgSchemas:
    """Creates throwaway PostgreSQL schemas so test runs never touch each other's tables."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._admin = create_engine(make_url(url).set(drivername="postgresql+psycopg"))
        self._created: list[str] = []

    def create(self) -> str:
        schema = f"tc_test_{os.getpid()}_{secrets.token_hex(4)}"
        with self._admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        self._created.append(schema)
        return with_search_path(self.url, schema)

    def drop_all(self) -> None:
        with self._admin.begin() as conn:
            for schema in self._created:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        self._admin.dispose()


@pytest.fixture(scope="session")
def pg_schemas() -> Iterator[PgSchemas]:
    if not PG_URL:
        require_or_skip("TALENTCONNECT_TEST_DATABASE_URL is not set")
    schemas = PgSchemas(PG_URL)
    try:
        yield schemas
    finally:
        schemas.drop_all()


@pytest.fixture(scope="session")
def pg_shared_url(pg_schemas: PgSchemas) -> str:
    """One schema with every table, shared by the session and truncated after each test."""
    url = pg_schemas.create()
    engine = make_engine(url)
    metadata().create_all(engine)
    engine.dispose()
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A database with the full schema, empty, on the parametrized backend."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'test.db'}"
        engine = make_engine(url)
        metadata().create_all(engine)
        engine.dispose()
        yield url
        return
    url = request.getfixturevalue("pg_shared_url")
    yield url
    engine = make_engine(url)
    names = ", ".join(f'"{t.name}"' for t in metadata().sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def empty_database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A database with no tables at all, for migration tests."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    schemas: PgSchemas = request.getfixturevalue("pg_schemas")
    return schemas.create()


@pytest.fixture
def empty_engine(empty_database_url: str) -> Iterator[Engine]:
    """An engine on `empty_database_url`."""
    eng = make_engine(empty_database_url)
    yield eng
    eng.dispose()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture
def db_session(engine: Engine) -> Iterator[Session]:
    """A session on the test database; the test's changes are rolled back at the end."""
    session = make_session_factory(engine)()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


def make_settings(tmp_path: Path, database_url: str, **overrides: Any) -> Settings:
    """Settings for tests, ignoring the developer's own TALENTCONNECT_* variables."""
    values: dict[str, Any] = {
        "DATABASE_URL": database_url,
        "INSTANCE_DIR": str(tmp_path / "instance"),
        "SECRET_KEYS": TEST_SECRET,
        "BASE_URL": "http://127.0.0.1:8000",
        "MAIL_FROM": "Acme Careers <careers@acme.example.com>",
        "POSTAL_ADDRESS": "1 Test Street, Testville",
        "COMPANY_NAME": "Acme",
        # Tests post far more often than a visitor; rate limiting has its own tests.
        "CONNECT_RATE_LIMIT": "10000 per minute",
    }
    values.update(overrides)
    return load_settings(environ={}, overrides=values)


@pytest.fixture(autouse=True)
def _no_default_wordings() -> Iterator[None]:
    """An app or a command registers its default consent wordings process-wide (for
    workers); each test starts and ends without them, so none leak into the next."""
    forget_default_wordings()
    yield
    forget_default_wordings()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url)


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    application = create_app(settings)
    application.config["TESTING"] = True
    yield application
    application.extensions["talentconnect"].engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def smtp_server() -> Iterator[MailSink]:
    """A real aiosmtpd server on a free loopback port; `.store.messages` holds what arrived."""
    sink = MailSink(MemoryStore())
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()
