"""Fixtures for the social sign-in tests: a real OpenID provider and portals that use it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from portal.app import create_app
from portal.config import Settings
from tests.conftest import make_settings
from tests.oidc.provider import OidcTestProvider

AppFactory = Callable[[list[dict[str, Any]]], Flask]


@pytest.fixture
def provider(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[OidcTestProvider]:
    """A running provider whose certificate the portal's HTTP client trusts for this test."""
    server = OidcTestProvider(tmp_path / "provider")
    server.start()
    # requests (inside Authlib) reads this on every call; only tests trust the test CA.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(server.ca_path))
    try:
        yield server
    finally:
        server.stop()
    assert server.errors == [], "the test provider itself failed"


@pytest.fixture
def make_app(tmp_path: Path, database_url: str) -> Iterator[AppFactory]:
    """Build a portal with the given OIDC_PROVIDERS items."""
    built: list[Flask] = []

    def build(providers: list[dict[str, Any]]) -> Flask:
        settings = make_settings(
            tmp_path / f"app{len(built)}",
            database_url,
            OIDC_PROVIDERS=json.dumps(providers),
        )
        application = create_app(settings)
        application.config["TESTING"] = True
        _ensure_next_step(application)
        built.append(application)
        return application

    yield build
    for application in built:
        application.extensions["talentconnect"].engine.dispose()


@pytest.fixture
def settings(tmp_path: Path, database_url: str, provider: OidcTestProvider) -> Settings:
    return make_settings(
        tmp_path, database_url, OIDC_PROVIDERS=json.dumps([provider.portal_config()])
    )


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    """The portal with one custom provider, "test", pointing at `provider`."""
    application = create_app(settings)
    application.config["TESTING"] = True
    _ensure_next_step(application)
    yield application
    application.extensions["talentconnect"].engine.dispose()


def _ensure_next_step(app: Flask) -> None:
    # The interests step belongs to the connect views; stand in for it until it exists.
    if "connect.interests" not in app.view_functions:
        app.add_url_rule("/connect/interests", "connect.interests", lambda: "interests")
