"""Fixtures for the portal tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from portal.app import create_app
from portal.auth.recruiters import set_recruiter
from portal.config import Settings
from preferences.db import make_session_factory
from tests.conftest import make_settings
from tests.portal.helpers import RECRUITER_EMAIL, RECRUITER_PASSWORD, STRONG_SECRET

PRODUCTION_BASE_URL = "https://careers.acme.example.com"


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    """A session factory on the test database, for seeding rows the app then reads.

    Seed inside `session_scope(sessions)` so the rows are committed (and, on
    SQLite, the write lock is released) before the app handles a request.
    """
    return make_session_factory(engine)


@pytest.fixture
def recruiter(sessions: sessionmaker[Session]) -> tuple[str, str]:
    """An active recruiter account; returns (email, password)."""
    with sessions.begin() as session:
        set_recruiter(session, RECRUITER_EMAIL, password=RECRUITER_PASSWORD, name="Rita")
    return RECRUITER_EMAIL, RECRUITER_PASSWORD


@pytest.fixture
def production_settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(
        tmp_path,
        database_url,
        ENV="production",
        SECRET_KEYS=STRONG_SECRET,
        BASE_URL=PRODUCTION_BASE_URL,
        POSTAL_ADDRESS="1 Market Street, San Francisco, CA 94105",
    )


@pytest.fixture
def production_app(production_settings: Settings) -> Iterator[Flask]:
    application = create_app(production_settings)
    application.config["TESTING"] = True
    yield application
    application.extensions["talentconnect"].engine.dispose()
