"""Social sign-in against a real OpenID provider on loopback: the round trip and its failures."""

from __future__ import annotations

import html
import socket
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal.auth.oidc import enabled_providers
from tests.oidc.conftest import AppFactory
from tests.oidc.helpers import (
    assert_refused,
    callback_path,
    draft,
    flashes,
    oidc_warnings,
    sign_in,
    start_sign_in,
)
from tests.oidc.provider import CLIENT_ID, PORTAL_BASE_URL, OidcTestProvider

CALLBACK_URI = f"{PORTAL_BASE_URL}/connect/social/test/callback"


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def _replace_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    return f"{parts.path}?" + "&".join(f"{k}={v}" for k, v in query.items())


def test_sign_in_prefills_the_draft_from_the_verified_claims(
    client: FlaskClient, provider: OidcTestProvider
) -> None:
    """The round trip uses state, nonce and PKCE S256, and prefills names, email and link."""
    authorize_url = start_sign_in(client)
    assert authorize_url.startswith(f"{provider.url}/authorize?")
    params = _query(authorize_url)
    assert params["response_type"] == "code"
    assert params["client_id"] == CLIENT_ID
    assert params["redirect_uri"] == CALLBACK_URI
    assert params["scope"] == "openid email profile"
    assert params["code_challenge_method"] == "S256"
    assert len(params["code_challenge"]) == 43
    assert params["state"] and params["nonce"]

    back = provider.visit(authorize_url)
    assert _query(back)["state"] == params["state"]
    response = client.get(callback_path(back))

    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/connect/interests"
    saved = draft(client)
    assert saved is not None
    assert saved["source"] == "social"
    assert saved["provider"] == "test"
    assert saved["email_verified"] is True
    assert saved["profile"] == {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada.lovelace@example.com",
        "portfolio_url": "https://profiles.example.com/ada",
    }
    assert flashes(client) == []
    (token_request,) = provider.token_requests
    assert token_request["form"]["code_verifier"]
    assert token_request["authorization"].type == "basic"


def test_discovery_is_fetched_at_the_first_sign_in_and_then_reused(
    app: Flask, provider: OidcTestProvider
) -> None:
    """Creating the app talks to nobody; the discovery document is read once and cached."""
    assert provider.paths_seen == []
    sign_in(app.test_client(), provider)
    sign_in(app.test_client(), provider)
    assert provider.paths_seen.count("/.well-known/openid-configuration") == 1
    assert provider.paths_seen.count("/jwks") == 1
    assert provider.paths_seen.count("/token") == 2


def test_the_portal_starts_and_apologises_while_the_provider_is_down(
    make_app: AppFactory, provider: OidcTestProvider, caplog: pytest.LogCaptureFixture
) -> None:
    """With the provider unreachable the app still starts, and the button leads back politely."""
    provider.stop()
    client = make_app([provider.portal_config()]).test_client()

    response = client.get("/connect/social/test")

    assert_refused(response, client, "couldn't reach Test ID")
    page = client.get("/connect")
    assert page.status_code == 200
    assert "We couldn't reach Test ID just now" in html.unescape(page.get_data(as_text=True))
    assert oidc_warnings(caplog) == [("test", "provider_unreachable")]


def test_a_slow_provider_times_out_instead_of_hanging(
    make_app: AppFactory, provider: OidcTestProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A provider that accepts the connection but never answers ends in the friendly message."""
    monkeypatch.setattr("portal.auth.oidc.HTTP_TIMEOUT_SECONDS", 0.5)
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        config = provider.portal_config(
            discovery_url=f"http://127.0.0.1:{port}/.well-known/openid-configuration"
        )
        client = make_app([config]).test_client()
        started = time.monotonic()
        response = client.get("/connect/social/test")
    # Without the timeout the request would wait for ever; the bound leaves a loaded machine room.
    assert time.monotonic() - started < 20
    assert_refused(response, client, "couldn't reach Test ID")


@pytest.mark.parametrize(
    ("fault", "value"),
    [
        ("discovery_status", 500),
        ("discovery_fields", {"jwks_uri": None}),
        ("discovery_fields", {"issuer": "https://issuer.example.com"}),
        ("discovery_fields", {"token_endpoint": "http://tokens.example.com/token"}),
        ("discovery_fields", {"token_endpoint_auth_methods_supported": ["private_key_jwt"]}),
    ],
    ids=["http-500", "no-jwks", "foreign-issuer", "plain-http-endpoint", "no-secret-auth"],
)
def test_a_broken_discovery_document_is_refused_and_not_cached(
    client: FlaskClient, provider: OidcTestProvider, fault: str, value: Any
) -> None:
    """An unusable discovery document gives the friendly message; once fixed, sign-in works."""
    setattr(provider.faults, fault, value)
    assert_refused(client.get("/connect/social/test"), client, "couldn't reach Test ID")

    setattr(provider.faults, fault, type(value)())
    provider.faults.discovery_status = 200
    with client.session_transaction() as session:
        session.clear()
    response = sign_in(client, provider)
    assert urlsplit(response.headers["Location"]).path == "/connect/interests"


def test_a_callback_without_a_saved_state_is_refused(
    client: FlaskClient, provider: OidcTestProvider, caplog: pytest.LogCaptureFixture
) -> None:
    """A callback this browser never started (forged, or replayed) changes nothing."""
    response = client.get("/connect/social/test/callback?code=abc&state=forged")
    assert_refused(response, client, "expired or was started in another window")
    assert oidc_warnings(caplog) == [("test", "state_mismatch")]
    response = client.get("/connect/social/test/callback?code=abc")
    assert urlsplit(response.headers["Location"]).path == "/connect"
    assert "/token" not in provider.paths_seen


def test_a_callback_finished_in_another_browser_is_refused(
    app: Flask, provider: OidcTestProvider, caplog: pytest.LogCaptureFixture
) -> None:
    """The state is bound to the browser that started: a second browser can't use the code."""
    victim, attacker = app.test_client(), app.test_client()
    back = provider.visit(start_sign_in(attacker))

    response = victim.get(callback_path(back))

    assert_refused(response, victim, "expired or was started in another window")
    assert oidc_warnings(caplog) == [("test", "state_mismatch")]
    assert "/token" not in provider.paths_seen


def test_a_tampered_state_is_refused(client: FlaskClient, provider: OidcTestProvider) -> None:
    """Changing the state on the way back is caught before the code is used."""
    back = provider.visit(start_sign_in(client))
    response = client.get(_replace_query(back, state="x" + _query(back)["state"]))
    assert_refused(response, client, "expired or was started in another window")


def test_the_same_callback_cannot_be_used_twice(
    client: FlaskClient, provider: OidcTestProvider
) -> None:
    """The state is spent on first use, so reloading the callback signs in nobody again."""
    back = callback_path(provider.visit(start_sign_in(client)))
    assert urlsplit(client.get(back).headers["Location"]).path == "/connect/interests"

    response = client.get(back)

    assert urlsplit(response.headers["Location"]).path == "/connect"
    assert [category for category, _ in flashes(client)] == ["error"]
    assert len(provider.token_requests) == 1


def test_cancelling_at_the_provider_returns_to_the_connect_page(
    client: FlaskClient, provider: OidcTestProvider, caplog: pytest.LogCaptureFixture
) -> None:
    """error=access_denied becomes a friendly message and a log line, and nothing is kept."""
    provider.faults.deny = True
    back = provider.visit(start_sign_in(client))
    assert _query(back)["error"] == "access_denied"

    response = client.get(callback_path(back))

    assert_refused(response, client, "You didn't finish signing in with Test ID")
    assert oidc_warnings(caplog) == [("test", "access_denied")]
    with client.session_transaction() as session:
        assert not [key for key in session if key.startswith("_state_")]


def test_a_bad_code_is_refused(
    client: FlaskClient, provider: OidcTestProvider, caplog: pytest.LogCaptureFixture
) -> None:
    """A code the provider didn't issue fails at the token endpoint, politely."""
    back = provider.visit(start_sign_in(client))
    response = client.get(_replace_query(back, code="not-a-real-code"))
    assert_refused(response, client, "couldn't confirm your sign-in with Test ID")
    assert oidc_warnings(caplog) == [("test", "token_error")]


def test_the_pkce_verifier_from_the_session_is_what_the_provider_checks(
    client: FlaskClient, provider: OidcTestProvider, caplog: pytest.LogCaptureFixture
) -> None:
    """A code is only redeemed with the verifier of the browser that started the sign-in."""
    back = provider.visit(start_sign_in(client))
    with client.session_transaction() as session:
        (key,) = [k for k in session if k.startswith("_state_test_")]
        saved = session[key]
        saved["data"]["code_verifier"] = "A" * 48
        session[key] = saved

    response = client.get(callback_path(back))

    assert_refused(response, client, "couldn't confirm your sign-in with Test ID")
    assert oidc_warnings(caplog) == [("test", "token_error")]
    assert provider.token_requests[0]["form"]["code_verifier"] == "A" * 48


def test_an_id_token_signed_by_another_key_is_rejected(
    client: FlaskClient, provider: OidcTestProvider, caplog: pytest.LogCaptureFixture
) -> None:
    """The ID token's signature is checked against the provider's JWKS."""
    provider.faults.wrong_signing_key = True
    assert_refused(sign_in(client, provider), client, "couldn't confirm your sign-in")
    assert oidc_warnings(caplog) == [("test", "id_token_invalid")]


@pytest.mark.parametrize(
    "claims",
    [
        {"nonce": "a-nonce-from-another-sign-in"},
        {"iss": "https://issuer.example.com"},
        # azp names us, so only the audience check itself can catch this one.
        {"aud": "someone-else", "azp": CLIENT_ID},
        {"exp": 1_000_000_000, "iat": 999_999_000},
    ],
    ids=["nonce", "issuer", "audience", "expired"],
)
def test_an_id_token_with_a_wrong_claim_is_rejected(
    client: FlaskClient,
    provider: OidcTestProvider,
    claims: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """nonce, iss, aud and exp of the ID token are all checked."""
    provider.faults.id_token_claims = claims
    assert_refused(sign_in(client, provider), client, "couldn't confirm your sign-in")
    assert oidc_warnings(caplog) == [("test", "id_token_invalid")]


def test_an_id_token_without_the_nonce_is_rejected(
    client: FlaskClient, provider: OidcTestProvider, caplog: pytest.LogCaptureFixture
) -> None:
    """The nonce we sent must come back in the ID token (LinkedIn is the one exception)."""
    provider.faults.omit_nonce = True
    assert_refused(sign_in(client, provider), client, "couldn't confirm your sign-in")
    assert oidc_warnings(caplog) == [("test", "id_token_invalid")]


def test_a_token_response_without_an_id_token_is_refused(
    client: FlaskClient, provider: OidcTestProvider, caplog: pytest.LogCaptureFixture
) -> None:
    """A bare OAuth access token proves nothing about who signed in."""
    provider.faults.no_id_token = True
    assert_refused(sign_in(client, provider), client, "couldn't confirm your sign-in")
    assert oidc_warnings(caplog) == [("test", "no_id_token")]


def test_an_unverified_email_is_prefilled_but_not_trusted(
    client: FlaskClient, provider: OidcTestProvider
) -> None:
    """email_verified false still fills the form, but the address will need confirming."""
    provider.user.email_verified = False
    sign_in(client, provider)
    saved = draft(client)
    assert saved is not None
    assert saved["profile"]["email"] == "ada.lovelace@example.com"
    assert saved["email_verified"] is False


def test_a_thin_id_token_is_completed_from_userinfo(
    client: FlaskClient, provider: OidcTestProvider
) -> None:
    """When the ID token carries only sub, names and email come from the userinfo endpoint."""
    provider.faults.minimal_id_token = True
    response = sign_in(client, provider)
    assert urlsplit(response.headers["Location"]).path == "/connect/interests"
    assert "/userinfo" in provider.paths_seen
    saved = draft(client)
    assert saved is not None
    assert saved["profile"]["first_name"] == "Ada"
    assert saved["profile"]["email"] == "ada.lovelace@example.com"
    assert saved["email_verified"] is True


def test_userinfo_about_another_person_is_ignored(
    client: FlaskClient, provider: OidcTestProvider, caplog: pytest.LogCaptureFixture
) -> None:
    """userinfo whose sub differs from the ID token's is not used at all (OIDC Core 5.3.2)."""
    provider.faults.minimal_id_token = True
    provider.faults.userinfo_claims = {"sub": "someone-else", "email": "mallory@example.com"}
    sign_in(client, provider)
    saved = draft(client)
    assert saved is not None
    assert saved["source"] == "social"
    assert "email" not in saved["profile"]
    assert saved["email_verified"] is False
    assert oidc_warnings(caplog) == [("test", "userinfo_sub_mismatch")]


def test_userinfo_does_not_override_the_signed_email(
    client: FlaskClient, provider: OidcTestProvider
) -> None:
    """An email in the ID token is kept, with its own verified flag, over userinfo's."""
    # The ID token names an address but says nothing about it; userinfo vouches for another.
    provider.faults.id_token_claims = dict.fromkeys(
        ("given_name", "family_name", "name", "email_verified")
    )
    provider.faults.userinfo_claims = {"email": "other@example.com", "email_verified": True}
    sign_in(client, provider)
    saved = draft(client)
    assert saved is not None
    assert saved["profile"]["first_name"] == "Ada"
    assert saved["profile"]["email"] == "ada.lovelace@example.com"
    assert saved["email_verified"] is False


def test_the_provider_going_down_mid_sign_in_is_handled(
    client: FlaskClient, provider: OidcTestProvider, caplog: pytest.LogCaptureFixture
) -> None:
    """If the token endpoint can't be reached on the way back, the candidate gets a message."""
    back = provider.visit(start_sign_in(client))
    provider.stop()
    assert_refused(client.get(callback_path(back)), client, "couldn't reach Test ID")
    assert oidc_warnings(caplog) == [("test", "provider_unreachable")]


def test_an_unknown_provider_is_not_found(client: FlaskClient) -> None:
    """Only configured providers have sign-in URLs."""
    assert client.get("/connect/social/facebook").status_code == 404
    assert client.get("/connect/social/facebook/callback?code=x&state=y").status_code == 404


def test_enabled_providers_lists_names_and_labels(
    make_app: AppFactory, provider: OidcTestProvider
) -> None:
    """The connect page gets (name, label) pairs in the configured order."""
    app = make_app(
        [
            {"name": "linkedin", "client_id": "li", "client_secret": "s"},
            provider.portal_config(),
            {"name": "google", "client_id": "g", "client_secret": "s", "label": "Gmail"},
        ]
    )
    with app.test_request_context():
        assert enabled_providers() == [
            ("linkedin", "LinkedIn"),
            ("test", "Test ID"),
            ("google", "Gmail"),
        ]
    assert provider.paths_seen == []


def test_no_providers_means_no_buttons(make_app: AppFactory) -> None:
    """Without OIDC_PROVIDERS the list is empty and the routes 404."""
    app = make_app([])
    with app.test_request_context():
        assert enabled_providers() == []
    assert app.test_client().get("/connect/social/google").status_code == 404


def test_the_linkedin_preset_posts_its_secret_without_pkce_and_tolerates_a_missing_nonce(
    tmp_path: Path, make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """LinkedIn's quirks: client_secret_post, no PKCE for web apps, no nonce in the ID token."""
    provider = OidcTestProvider(tmp_path / "linkedin", auth_method="client_secret_post")
    provider.start()
    try:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(provider.ca_path))
        provider.faults.reject_pkce = True
        provider.faults.omit_nonce = True
        provider.faults.discovery_fields = {"token_endpoint_auth_methods_supported": None}
        client = make_app([provider.portal_config("linkedin")]).test_client()

        authorize_url = start_sign_in(client, "linkedin")
        assert "code_challenge" not in _query(authorize_url)
        assert _query(authorize_url)["nonce"]
        response = client.get(callback_path(provider.visit(authorize_url)))

        assert urlsplit(response.headers["Location"]).path == "/connect/interests"
        saved = draft(client)
        assert saved is not None
        assert saved["provider"] == "linkedin"
        form = provider.token_requests[0]["form"]
        assert form["client_secret"] == provider.client.client_secret
        assert "code_verifier" not in form

        provider.faults.omit_nonce = False
        provider.faults.id_token_claims = {"nonce": "not-the-one-we-sent"}
        client = make_app([provider.portal_config("linkedin")]).test_client()
        response = client.get(callback_path(provider.visit(start_sign_in(client, "linkedin"))))
        assert_refused(response, client, "couldn't confirm your sign-in with LinkedIn")
    finally:
        provider.stop()
    assert provider.errors == []


def test_client_authentication_follows_the_discovery_document(
    tmp_path: Path, make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A custom provider that only takes client_secret_post gets the secret in the body."""
    provider = OidcTestProvider(tmp_path / "post-only", auth_method="client_secret_post")
    provider.start()
    try:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(provider.ca_path))
        client = make_app([provider.portal_config()]).test_client()
        response = sign_in(client, provider)
        assert urlsplit(response.headers["Location"]).path == "/connect/interests"
        assert provider.token_requests[0]["form"]["client_secret"]
        assert provider.token_requests[0]["authorization"] is None
    finally:
        provider.stop()
    assert provider.errors == []


def test_a_multi_tenant_issuer_must_match_the_tokens_own_tenant(
    make_app: AppFactory, provider: OidcTestProvider, caplog: pytest.LogCaptureFixture
) -> None:
    """Microsoft-style "{tenantid}" issuers: iss must be the template filled with the tid."""
    provider.faults.tenant = "9188040d-6c67-4c5b-b112-36a304b66dad"
    app = make_app([provider.portal_config("microsoft")])

    client = app.test_client()
    response = sign_in(client, provider, "microsoft")
    assert urlsplit(response.headers["Location"]).path == "/connect/interests"

    provider.faults.id_token_claims = {"tid": "72f988bf-86f1-41af-91ab-2d7cd011db47"}
    client = app.test_client()
    response = sign_in(client, provider, "microsoft")
    assert_refused(response, client, "couldn't confirm your sign-in with Microsoft")
    assert oidc_warnings(caplog) == [("microsoft", "id_token_invalid")]


def test_the_google_preset_accepts_both_spellings_of_its_issuer(
    make_app: AppFactory, provider: OidcTestProvider
) -> None:
    """Google documents iss as https://accounts.google.com or accounts.google.com."""
    provider.faults.id_token_claims = {"iss": "accounts.google.com"}
    client = make_app([provider.portal_config("google")]).test_client()
    response = sign_in(client, provider, "google")
    assert urlsplit(response.headers["Location"]).path == "/connect/interests"

    provider.faults.id_token_claims = {"iss": "accounts.google.com.evil.example"}
    client = make_app([provider.portal_config("google")]).test_client()
    response = sign_in(client, provider, "google")
    assert_refused(response, client, "couldn't confirm your sign-in with Google")
