"""Social sign-in for the connect flow through OpenID Connect providers.

A candidate picks a provider on the connect page. We send them there with
state, nonce and PKCE (Authlib's Flask client keeps all three in the session),
and on the way back we exchange the code, verify the ID token against the
provider's published keys and prefill the connect draft from its claims.

Discovery documents are fetched at the first sign-in, never at start-up, so
the portal starts even while a provider is down. Every failure ends on the
connect page with a friendly message and one structured log line.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import requests
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from authlib.integrations.flask_client import OAuth
from authlib.oidc.core import CodeIDToken
from flask import Blueprint, Flask, abort, current_app, flash, redirect, request, session, url_for
from joserfc.errors import JoseError
from werkzeug.wrappers import Response

from jobs.wording import N_
from portal.auth import accounts
from portal.auth.providers import DISCOVERY_SUFFIX, OidcProviderConfig, url_problem
from portal.connect.draft import prefill_from_provider
from portal.errors import PortalError
from portal.i18n import gettext as _
from portal.web import sessions
from portal.web.runtime import db, settings

log = logging.getLogger("portal.oidc")

bp = Blueprint("social", __name__, url_prefix="/connect/social")

EXTENSION_KEY = "talentconnect.oidc"
# Long enough for a slow provider, short enough that a hung one can't pin a worker.
HTTP_TIMEOUT_SECONDS = 10
# Authlib caches a discovery document forever; re-reading it daily picks up new endpoints.
METADATA_MAX_AGE_SECONDS = 24 * 60 * 60
# Clock skew tolerated on exp/iat between us and the provider.
ID_TOKEN_LEEWAY_SECONDS = 60
# Microsoft's multi-tenant ("common") issuer has this placeholder for the user's tenant.
TENANT_PLACEHOLDER = "{tenantid}"

# Only asymmetric algorithms: "none" or HS256 (keyed with our client secret) would let
# whoever controls the token response mint ID tokens.
_SIGNING_ALGORITHMS: Final = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
_TOKEN_AUTH_METHODS: Final = ("client_secret_basic", "client_secret_post")
_REQUIRED_ENDPOINTS: Final = ("authorization_endpoint", "token_endpoint", "jwks_uri")
# Authlib passes discovered metadata as keyword arguments to its HTTP client, so a
# document with e.g. "code_challenge_method" or "jwks" could change how we talk to the
# provider. Only standard discovery fields are kept.
_METADATA_SUFFIXES: Final = ("_endpoint", "_uri", "_supported")


@dataclass
class _Provider:
    config: OidcProviderConfig
    client: Any  # authlib's FlaskOAuth2App, which is untyped


class _DiscoveryError(PortalError):
    """The provider's discovery document is unusable."""


def init_app(app: Flask, providers: Iterable[OidcProviderConfig]) -> None:
    """Register the configured providers with Authlib; no network traffic happens here."""
    oauth = OAuth(app)
    registered: dict[str, _Provider] = {}
    for config in providers:
        client_kwargs: dict[str, Any] = {
            "scope": config.scopes,
            "default_timeout": HTTP_TIMEOUT_SECONDS,
        }
        if config.use_pkce:
            client_kwargs["code_challenge_method"] = "S256"
        if config.client_auth_method:
            client_kwargs["token_endpoint_auth_method"] = config.client_auth_method
        client = oauth.register(
            config.name,
            client_id=config.client_id,
            # None, not "", makes Authlib authenticate as a public client (PKCE only).
            client_secret=config.client_secret or None,
            server_metadata_url=config.discovery_url,
            client_kwargs=client_kwargs,
        )
        registered[config.name] = _Provider(config, client)
    app.extensions[EXTENSION_KEY] = registered


def enabled_providers() -> list[tuple[str, str]]:
    """(name, label) of each configured provider, for the connect and login pages."""
    registered: dict[str, _Provider] = current_app.extensions.get(EXTENSION_KEY, {})
    return [(p.config.name, p.config.label) for p in registered.values()]


@bp.get("/<name>")
def login(name: str) -> Response:
    """Send the candidate to the provider to sign in."""
    provider = _provider_or_404(name)
    # The same provider round trip serves the connect flow and candidate sign-in.
    session["social_purpose"] = "login" if request.args.get("purpose") == "login" else "connect"
    try:
        _metadata(provider)
        response: Response = provider.client.authorize_redirect(_redirect_uri(name))
    except Exception as exc:
        # Whatever went wrong, the candidate hasn't signed in yet: the provider is unusable.
        return _fail(provider, _reason(exc), exc, message="provider_unreachable")
    return response


@bp.get("/<name>/callback")
def callback(name: str) -> Response:
    """Finish a sign-in: verify what the provider sent and prefill the connect draft."""
    provider = _provider_or_404(name)
    error = request.args.get("error")
    if error:
        _forget_state(provider, request.args.get("state"))
        reason = "access_denied" if error == "access_denied" else "provider_error"
        return _fail(provider, reason, f"{error}: {request.args.get('error_description', '')}")
    try:
        _metadata(provider)
        claims_cls = CodeIDToken if provider.config.require_nonce_claim else _NonceOptionalIDToken
        token = provider.client.authorize_access_token(
            claims_options=_claims_options(provider),
            claims_cls=claims_cls,
            leeway=ID_TOKEN_LEEWAY_SECONDS,
        )
        # Authlib verifies the ID token (with the session's nonce) only when one came back.
        if "id_token" not in token or "userinfo" not in token:
            return _fail(provider, "no_id_token", "the token response had no verified ID token")
        claims = _with_userinfo(provider, token)
    except Exception as exc:
        # Provider replies are untrusted input that Authlib rejects with many exception
        # types; none of them may become a 500.
        return _fail(provider, _reason(exc), exc)
    if session.pop("social_purpose", "connect") == "login":
        return _finish_login(name, claims)
    prefill_from_provider(name, claims)
    log.info("social sign-in", extra={"provider": name})
    return redirect(url_for("connect.interests"))


def _finish_login(name: str, claims: dict[str, Any]) -> Response:

    candidate = accounts.finish_social_login(db(), claims)
    if candidate is None:
        flash(
            _(
                "We couldn't find a talent community profile with that account's verified "
                "email. Join us first, or sign in with your email."
            ),
            "error",
        )
        log.info("social login without a profile", extra={"provider": name})
        return redirect(url_for("auth.login"))
    sessions.log_in(db(), candidate)
    log.info("candidate signed in", extra={"provider": name})
    return redirect(url_for("dashboard.home"))


def _provider_or_404(name: str) -> _Provider:
    registered: dict[str, _Provider] = current_app.extensions.get(EXTENSION_KEY, {})
    provider = registered.get(name)
    if provider is None:
        abort(404)
    return provider


def _redirect_uri(name: str) -> str:
    # BASE_URL, not the request's Host header: the URI must match the one registered
    # with the provider exactly, and a proxy may hand us an internal host name.
    return settings().base_url.rstrip("/") + url_for("social.callback", name=name)


def _metadata(provider: _Provider) -> dict[str, Any]:
    """The provider's discovery document, fetched and checked once a day."""
    cached: dict[str, Any] = provider.client.server_metadata
    loaded_at = cached.get("_loaded_at")
    if loaded_at is not None and time.time() - loaded_at < METADATA_MAX_AGE_SECONDS:
        return cached
    # Refreshed in place, so a request already using the old document keeps working.
    cached.pop("_loaded_at", None)
    cached.pop("jwks", None)
    try:
        metadata: dict[str, Any] = provider.client.load_server_metadata()
        _check_metadata(provider, metadata)
    except Exception:
        # A broken or half-read document must not stick; the next sign-in tries again.
        cached.clear()
        raise
    return metadata


def _check_metadata(provider: _Provider, metadata: dict[str, Any]) -> None:
    config = provider.config
    for key in [k for k in metadata if not _is_standard_metadata_key(k)]:
        del metadata[key]
    for key in (*_REQUIRED_ENDPOINTS, "issuer"):
        if not isinstance(metadata.get(key), str):
            raise _DiscoveryError(f"{key} is missing")
    for key in (*_REQUIRED_ENDPOINTS, "userinfo_endpoint"):
        value = metadata.get(key)
        if value is not None and (not isinstance(value, str) or url_problem(value)):
            raise _DiscoveryError(f"{key} {value!r} is not an allowed URL")
    issuer: str = metadata["issuer"]
    expected = config.discovery_url[: -len(DISCOVERY_SUFFIX)]
    # OIDC Discovery 4.3: the issuer is the discovery URL's prefix. A multi-tenant
    # issuer template (Microsoft's "common") matches any tenant in that place.
    pattern = re.escape(issuer).replace(re.escape(TENANT_PLACEHOLDER), "[^/]+")
    if not re.fullmatch(pattern, expected):
        raise _DiscoveryError(f"issuer {issuer!r} does not match the discovery URL")
    algorithms = metadata.get("id_token_signing_alg_values_supported")
    allowed = [a for a in algorithms or () if a in _SIGNING_ALGORITHMS]
    # RS256 is the algorithm every OpenID provider must support (OIDC Discovery 3).
    metadata["id_token_signing_alg_values_supported"] = allowed or ["RS256"]
    if config.client_secret and not config.client_auth_method:
        provider.client.client_kwargs["token_endpoint_auth_method"] = _client_auth_method(
            metadata.get("token_endpoint_auth_methods_supported")
        )


def _is_standard_metadata_key(key: str) -> bool:
    return key in ("issuer", "_loaded_at") or key.endswith(_METADATA_SUFFIXES)


def _client_auth_method(supported: Any) -> str:
    # Without the field a provider supports client_secret_basic (OIDC Discovery 3).
    methods = supported if isinstance(supported, list) and supported else ["client_secret_basic"]
    for method in _TOKEN_AUTH_METHODS:
        if method in methods:
            return method
    raise _DiscoveryError(f"no supported client authentication method in {methods!r}")


def _claims_options(provider: _Provider) -> dict[str, Any]:
    """What the ID token's registered claims must be; Authlib alone doesn't check aud."""
    issuer: str = provider.client.server_metadata["issuer"]
    iss: dict[str, Any] = {"essential": True}
    if TENANT_PLACEHOLDER in issuer:
        iss["validate"] = lambda claims, value: _tenant_issuer_matches(issuer, claims, value)
    else:
        iss["values"] = [issuer, *provider.config.extra_issuers]
    return {
        "iss": iss,
        "aud": {"essential": True, "values": [provider.config.client_id]},
        "sub": {"essential": True},
        "exp": {"essential": True},
        "iat": {"essential": True},
    }


def _tenant_issuer_matches(template: str, claims: Mapping[str, Any], value: Any) -> bool:
    """A multi-tenant token's iss must be the template filled in with its own tid claim."""
    tenant = claims.get("tid")
    if not isinstance(tenant, str) or not re.fullmatch(r"[A-Za-z0-9.-]+", tenant):
        return False
    return bool(value == template.replace(TENANT_PLACEHOLDER, tenant))


class _NonceOptionalIDToken(CodeIDToken):
    """An ID token whose nonce must match when present; LinkedIn leaves it out."""

    def validate_nonce(self) -> None:
        if "nonce" in self:
            super().validate_nonce()


def _with_userinfo(provider: _Provider, token: dict[str, Any]) -> dict[str, Any]:
    """The verified ID token's claims, completed from the userinfo endpoint when thin."""
    claims = dict(token["userinfo"])
    has_name = any(claims.get(k) for k in ("given_name", "family_name", "name"))
    endpoint = provider.client.server_metadata.get("userinfo_endpoint")
    if (has_name and claims.get("email")) or not endpoint:
        return claims
    try:
        extra = dict(provider.client.userinfo(token=token))
    except (requests.RequestException, OAuthError, ValueError, TypeError) as exc:
        _warn(provider.config.name, "userinfo_unavailable", exc, "userinfo not used")
        return claims
    # OIDC Core 5.3.2: userinfo for another subject must not be used at all.
    if extra.get("sub") != claims.get("sub"):
        _warn(provider.config.name, "userinfo_sub_mismatch", "sub differs", "userinfo not used")
        return claims
    # The signed ID token wins; an address and its verified flag only travel together.
    skip = {"email", "email_verified"} if claims.get("email") else set()
    for key, value in extra.items():
        if key not in skip and claims.get(key) in (None, ""):
            claims[key] = value
    return claims


def _reason(exc: Exception) -> str:
    if isinstance(exc, _DiscoveryError):
        return "discovery_invalid"
    if isinstance(exc, MismatchingStateError):
        return "state_mismatch"
    if isinstance(exc, OAuthError):
        return "token_error"
    if isinstance(exc, JoseError):
        return "id_token_invalid"
    if isinstance(exc, (requests.ConnectionError, requests.Timeout)):
        return "provider_unreachable"
    if isinstance(exc, (requests.RequestException, ValueError, TypeError, KeyError)):
        return "provider_error"
    return "unexpected"


# English; flashed in the request's language.
_MESSAGES: Final[Mapping[str, str]] = {
    "access_denied": N_(
        "You didn't finish signing in with %(label)s. You can try again, "
        "or fill in your details yourself."
    ),
    "state_mismatch": N_(
        "Your sign-in with %(label)s expired or was started in another window. Please try again."
    ),
    "provider_unreachable": N_(
        "We couldn't reach %(label)s just now. Please try again in a few minutes, "
        "or fill in your details yourself."
    ),
}
_DEFAULT_MESSAGE: Final = N_(
    "We couldn't confirm your sign-in with %(label)s. Please try again, "
    "or fill in your details yourself."
)


def _fail(provider: _Provider, reason: str, detail: object, message: str = "") -> Response:
    """Log why a sign-in failed and send the candidate back to the connect page."""
    _warn(provider.config.name, reason, detail)
    text = _MESSAGES.get(message or reason, _DEFAULT_MESSAGE)
    flash(_(text, label=provider.config.label), "error")
    return redirect(url_for("connect.start"))


def _warn(provider: str, reason: str, detail: object, msg: str = "social sign-in failed") -> None:
    log.warning(
        msg,
        extra={"provider": provider, "reason": reason, "detail": str(detail)[:300]},
        exc_info=reason == "unexpected",
    )


def _forget_state(provider: _Provider, state: str | None) -> None:
    # Authlib clears its saved state only when it redeems a code; an error reply would
    # leave it in the session cookie for an hour.
    if state:
        provider.client.framework.clear_state_data(session, state)
