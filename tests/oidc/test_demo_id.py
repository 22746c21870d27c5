"""Demo ID, the development provider of `run --demo`, with the real portal as its client."""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import Flask

from portal.app import create_app
from portal.auth.demo_id import DemoId, DemoIdRefused, start_demo_id, with_demo_id
from portal.config import Settings
from tests.conftest import make_settings
from tests.oidc.helpers import assert_refused, draft, flashes, start_sign_in
from tests.oidc.provider import callback_path

FORM_ACTION_RE = re.compile(r'<form method="post" action="([^"]+)"')
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def demo_settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url)


@pytest.fixture
def demo_id(demo_settings: Settings) -> Iterator[DemoId]:
    provider = start_demo_id(demo_settings, demo=True)
    try:
        yield provider
    finally:
        provider.stop()


@pytest.fixture
def demo_app(demo_settings: Settings, demo_id: DemoId) -> Iterator[Flask]:
    application = create_app(with_demo_id(demo_settings, demo_id))
    application.config["TESTING"] = True
    yield application
    application.extensions["talentconnect"].engine.dispose()


class DemoIdPage:
    """The Demo ID sign-in page as a browser sees it (with its own cookies)."""

    def __init__(self, authorize_url: str) -> None:
        self.browser = requests.Session()
        self.response = self.browser.get(authorize_url, allow_redirects=False, timeout=10)
        self.origin = "{0.scheme}://{0.netloc}".format(urlsplit(authorize_url))

    def field(self, name: str) -> str:
        match = re.search(rf'<input id="{name}"[^>]* value="([^"]*)"', self.response.text)
        assert match is not None, name
        return html.unescape(match.group(1))

    def submit(self, action: str = "continue", **fields: str) -> requests.Response:
        """Press a button of the form; the answer is the redirect back to the portal."""
        page = self.response.text
        form_action = FORM_ACTION_RE.search(page)
        token = CSRF_RE.search(page)
        assert form_action is not None and token is not None
        data = {
            "csrf_token": token.group(1),
            "given_name": self.field("given_name"),
            "family_name": self.field("family_name"),
            "email": self.field("email"),
            "action": action,
            **fields,
        }
        url = self.origin + html.unescape(form_action.group(1))
        return self.browser.post(url, data=data, allow_redirects=False, timeout=10)


def test_refuses_to_start_outside_demo_mode(demo_settings: Settings) -> None:
    """Without --demo, Demo ID says why it won't start."""
    with pytest.raises(DemoIdRefused, match=r"development-only.*run --demo"):
        start_demo_id(demo_settings, demo=False)


def test_refuses_to_start_in_production(demo_settings: Settings) -> None:
    """In production Demo ID never starts, demo mode or not."""
    production = dataclasses.replace(demo_settings, env="production")
    with pytest.raises(DemoIdRefused, match=r"never starts in production"):
        start_demo_id(production, demo=True)


def test_start_page_offers_demo_id_or_continuing_without(demo_app: Flask) -> None:
    page = demo_app.test_client().get("/connect")
    assert page.status_code == 200
    assert "Continue with Demo ID" in page.text
    assert "Continue without one" in page.text


def test_sign_in_prefills_details_through_pkce_state_and_nonce(
    demo_app: Flask, demo_id: DemoId
) -> None:
    """The person on the Demo ID page, as edited, arrives in the details step."""
    client = demo_app.test_client()
    authorize_url = start_sign_in(client, "demo")
    assert authorize_url.startswith(demo_id.url + "/authorize?")
    query = parse_qs(urlsplit(authorize_url).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["code_challenge"][0] and query["state"][0] and query["nonce"][0]

    page = DemoIdPage(authorize_url)
    assert page.response.status_code == 200
    assert "Demo ID — development only" in page.response.text
    assert page.field("email").endswith("@example.com")
    back = page.submit(given_name="Grace", family_name="Hopper", email="grace@example.com")
    assert back.status_code == 302, back.text
    callback = callback_path(back.headers["Location"])
    code = parse_qs(urlsplit(callback).query)["code"][0]

    # The provider checks the PKCE verifier: the code alone, with a wrong verifier, is refused.
    stolen = requests.post(
        demo_id.url + "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": demo_id.client.redirect_uris[0],
            "code_verifier": "x" * 50,
        },
        auth=(demo_id.client.client_id, demo_id.client.client_secret),
        timeout=10,
    )
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"

    answer = client.get(callback)
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith("/connect/interests"), flashes(client)
    # The ID token carried the session's nonce; the provider remembers having issued it.
    assert query["nonce"][0] in demo_id.used_nonces
    details = client.get("/connect/details").text
    assert 'value="Grace"' in details
    assert 'value="Hopper"' in details
    assert 'value="grace@example.com"' in details
    saved = draft(client)
    assert saved is not None and saved["email_verified"] is True


def test_tampered_state_is_refused(demo_app: Flask) -> None:
    client = demo_app.test_client()
    back = DemoIdPage(start_sign_in(client, "demo")).submit()
    location = back.headers["Location"]
    state = parse_qs(urlsplit(location).query)["state"][0]
    tampered = callback_path(location.replace(f"state={state}", f"state={state[:-2]}xy"))
    assert_refused(client.get(tampered), client, "expired or was started in another window")


def test_cancel_returns_access_denied(demo_app: Flask) -> None:
    client = demo_app.test_client()
    back = DemoIdPage(start_sign_in(client, "demo")).submit("cancel")
    location = back.headers["Location"]
    assert parse_qs(urlsplit(location).query)["error"] == ["access_denied"]
    assert_refused(client.get(callback_path(location)), client, "didn't finish signing in")


def test_the_page_refuses_a_post_without_its_csrf_cookie(demo_app: Flask) -> None:
    """A form posted from elsewhere (no cookie of the page) signs nobody in."""
    page = DemoIdPage(start_sign_in(demo_app.test_client(), "demo"))
    page.browser.cookies.clear()
    answer = page.submit()
    assert answer.status_code == 400
    assert "This page expired" in answer.text


def test_an_empty_email_is_asked_again_on_the_page(demo_app: Flask) -> None:
    page = DemoIdPage(start_sign_in(demo_app.test_client(), "demo"))
    page.response = page.submit(email=" ")
    assert page.response.status_code == 400
    assert "Enter an email address" in page.response.text
    assert page.field("given_name") == "Sam"  # what was typed stays
    page.response = page.submit(email="sam@example.com")
    assert page.response.status_code == 302


def test_a_request_without_pkce_goes_back_to_the_client_with_an_error(demo_id: DemoId) -> None:
    """PKCE (S256) is required; a plain authorization request is refused at the client."""
    answer = requests.get(
        demo_id.url + "/authorize",
        params={
            "response_type": "code",
            "client_id": demo_id.client.client_id,
            "redirect_uri": demo_id.client.redirect_uris[0],
            "scope": "openid email profile",
            "state": "s1",
            "nonce": "n1",
        },
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query["error"] == ["invalid_request"] and query["state"] == ["s1"]


def test_an_unknown_client_is_told_on_the_page(demo_id: DemoId) -> None:
    answer = requests.get(
        demo_id.url + "/authorize",
        params={"response_type": "code", "client_id": "someone-else"},
        timeout=10,
    )
    assert answer.status_code == 400
    assert "Demo ID — development only" in answer.text
    assert "invalid_client" in answer.text
