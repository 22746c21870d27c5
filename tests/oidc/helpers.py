"""Steps of the sign-in round trip and checks of what the portal remembered."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.oidc.provider import OidcTestProvider, callback_path


def start_sign_in(client: FlaskClient, name: str = "test") -> str:
    """Click the provider's button; return the authorization URL we are sent to."""
    response = client.get(f"/connect/social/{name}")
    assert response.status_code == 302, response.status_code
    location: str = response.headers["Location"]
    return location


def sign_in(client: FlaskClient, provider: OidcTestProvider, name: str = "test") -> TestResponse:
    """Go through the whole round trip; return the portal's answer to the callback."""
    return client.get(callback_path(provider.visit(start_sign_in(client, name))))


def flashes(client: FlaskClient) -> list[tuple[str, str]]:
    with client.session_transaction() as session:
        return [(str(category), str(text)) for category, text in session.get("_flashes", [])]


def draft(client: FlaskClient) -> dict[str, Any] | None:
    with client.session_transaction() as session:
        value: dict[str, Any] | None = session.get("connect")
        return value


def assert_refused(response: TestResponse, client: FlaskClient, words: str) -> None:
    """Back on the connect page with an error message, and nothing prefilled."""
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/connect"
    messages = flashes(client)
    assert [category for category, _ in messages] == ["error"]
    assert words in messages[0][1]
    assert draft(client) is None


def oidc_warnings(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    """(provider, reason) of each warning the sign-in code logged."""
    return [
        (r.__dict__["provider"], r.__dict__["reason"])
        for r in caplog.records
        if r.name == "portal.oidc" and r.levelno == logging.WARNING
    ]
