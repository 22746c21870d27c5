"""Demo ID: a development-only OpenID Connect provider that `talentconnect run --demo` starts.

It lets a newcomer try the connect flow's social path without registering the portal
with Google or Microsoft: the start page offers "Continue with Demo ID", and the
portal talks to it exactly as to a real provider (discovery, authorization code with
PKCE, state and nonce, an RS256 ID token checked against the JWKS, userinfo).

`OidcProviderCore` is the provider itself, on Authlib's server parts, with every
state in memory and served by werkzeug in a thread on a free loopback port. `DemoId`
adds the page a person signs in on: a made-up person whose name and email can be
edited, and Continue or Cancel. `start_demo_id` refuses to run outside demo mode and
in production. The tests' provider (tests/oidc/provider.py) builds on the same core.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import logging
import secrets
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlencode

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector, current_token
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import AuthorizationCodeMixin, OpenIDCode
from flask import Flask, jsonify, render_template_string, request
from flask.typing import ResponseReturnValue
from joserfc.jwk import RSAKey
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Response

from portal.auth.providers import DISCOVERY_SUFFIX, OidcProviderConfig
from portal.config import Settings
from portal.errors import PortalError

log = logging.getLogger("portal.demo_id")

SCOPES: Final = ("openid", "email", "profile")
# The provider's name in OIDC_PROVIDERS and in the portal's callback URL.
NAME: Final = "demo"
LABEL: Final = "Demo ID"
# Codes are redeemed within seconds; a page left open longer starts over.
CODE_SECONDS: Final = 300
PAGE_SECONDS: Final = 30 * 60
_CSRF_COOKIE: Final = "demo_id_csrf"


class DemoIdRefused(PortalError):
    """Demo ID was asked to start outside demo mode or in production."""


@dataclass
class Person:
    """Who signs in at the provider, and the standard claims they release."""

    sub: str
    given_name: str
    family_name: str
    email: str
    email_verified: bool = True
    profile: str = ""

    def claims(self, scope: str) -> dict[str, Any]:
        """The standard claims this person releases for `scope`."""
        scopes = scope.split()
        claims: dict[str, Any] = {"sub": self.sub}
        if "profile" in scopes:
            claims.update(
                given_name=self.given_name,
                family_name=self.family_name,
                name=f"{self.given_name} {self.family_name}".strip(),
            )
            if self.profile:
                claims["profile"] = self.profile
        if "email" in scopes:
            claims.update(email=self.email, email_verified=self.email_verified)
        return claims


@dataclass
class OidcClient(ClientMixin):
    """The one client (the portal) a provider knows."""

    client_id: str
    client_secret: str
    redirect_uris: list[str]
    auth_method: str = "client_secret_basic"

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(s for s in (scope or "").split() if s in SCOPES)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return hmac.compare_digest(client_secret.encode(), self.client_secret.encode())

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint != "token" or method == self.auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class AuthorizationCode(AuthorizationCodeMixin):
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    person: Person
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int
    expires_at: float

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None


@dataclass
class AccessToken(TokenMixin):
    access_token: str
    client_id: str
    scope: str
    person: Person
    expires_at: float

    def check_client(self, client: OidcClient) -> bool:
        return client.client_id == self.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return int(self.expires_at - time.time())

    def is_expired(self) -> bool:
        return time.time() >= self.expires_at

    def is_revoked(self) -> bool:
        return False

    def get_user(self) -> Person:
        return self.person

    def get_client(self) -> None:
        return None


class OidcProviderCore:
    """An OpenID provider in memory on a free loopback port; `start()` it, `stop()` it.

    Subclasses add the authorization endpoint (`add_authorize`) and may change the
    hooks below (issuer, signing key, claims, PKCE, discovery) to behave differently.
    """

    thread_name = "oidc-provider"

    def __init__(self, client: OidcClient, *, kid: str) -> None:
        self.client = client
        self.kid = kid
        self.key = RSAKey.generate_key(2048, {"kid": kid, "use": "sig", "alg": "RS256"})
        self.codes: dict[str, AuthorizationCode] = {}
        self.tokens: dict[str, AccessToken] = {}
        self.used_nonces: set[str] = set()
        self.url = ""
        self._lock = threading.Lock()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # -- hooks -----------------------------------------------------------------------------

    @property
    def issuer(self) -> str:
        """The issuer in discovery."""
        return self.url

    @property
    def token_issuer(self) -> str:
        """The iss claim of ID tokens."""
        return self.issuer

    @property
    def discovery_url(self) -> str:
        return self.url + DISCOVERY_SUFFIX

    def ssl_context(self) -> ssl.SSLContext | None:
        """TLS for the listening socket; plain http by default (loopback only)."""
        return None

    def signing_key(self) -> RSAKey:
        return self.key

    def check_pkce(self, data: Mapping[str, Any]) -> None:
        """Require PKCE with S256 from every client (stricter than Authlib's required=True)."""
        if not data.get("code_challenge") or data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("PKCE with code_challenge_method=S256 is required.")

    def issues_id_tokens(self) -> bool:
        return True

    def code_claims(self, claims: dict[str, Any]) -> dict[str, Any]:
        """The ID token's claims about the code (nonce, auth_time), before the person's."""
        return claims

    def id_token_claims(self, person: Person, scope: str) -> dict[str, Any]:
        """The person's claims in the ID token; merged last, over iss, aud and the nonce."""
        return person.claims(scope)

    def userinfo_claims(self, person: Person, scope: str) -> dict[str, Any]:
        return person.claims(scope)

    def discovery_response(self) -> ResponseReturnValue:
        return jsonify(self.discovery_document())

    def discovery_document(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "userinfo_endpoint": f"{self.url}/userinfo",
            "jwks_uri": f"{self.url}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": list(SCOPES),
            "token_endpoint_auth_methods_supported": [self.client.auth_method],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": [
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "nonce",
                "given_name",
                "family_name",
                "name",
                "email",
                "email_verified",
                "profile",
            ],
        }

    def add_authorize(self, app: Flask, server: AuthorizationServer) -> None:
        """Register the /authorize endpoint, where the person signs in."""
        raise NotImplementedError

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Serve on a free 127.0.0.1 port in a daemon thread."""
        context = self.ssl_context()
        self._server = make_server(
            "127.0.0.1",
            0,
            self.build_app(),
            threaded=True,
            request_handler=_QuietRequestHandler,
            ssl_context=context,
        )
        scheme = "https" if context is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self._server.server_port}"
        # A short poll interval keeps stop() quick; shutdown waits for the next poll.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=self.thread_name,
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving; afterwards connections are refused. Safe to call twice."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # -- the provider ----------------------------------------------------------------------

    def build_app(self) -> Flask:
        app = Flask(self.thread_name)
        server = _Server(app, query_client=self._query_client, save_token=self._save_token)
        server.provider = self
        server.register_grant(_CodeGrant, [_Pkce(self), _OpenIDCode(self)])
        require_oauth = ResourceProtector()
        require_oauth.register_token_validator(_BearerValidator(self))

        @app.get(DISCOVERY_SUFFIX)
        def discovery() -> ResponseReturnValue:
            return self.discovery_response()

        @app.post("/token")
        def token() -> ResponseReturnValue:
            response: ResponseReturnValue = server.create_token_response()
            return response

        @app.get("/userinfo")
        @require_oauth("openid")
        def userinfo() -> ResponseReturnValue:
            token: AccessToken = current_token
            return jsonify(self.userinfo_claims(token.person, token.scope))

        @app.get("/jwks")
        def jwks() -> ResponseReturnValue:
            return jsonify(keys=[self.key.as_dict(private=False)])

        self.add_authorize(app, server)
        return app

    def save_code(self, code: AuthorizationCode) -> None:
        with self._lock:
            now = time.time()
            for stale in [c for c, item in self.codes.items() if item.expires_at <= now]:
                del self.codes[stale]
            self.codes[code.code] = code

    def _query_client(self, client_id: str) -> OidcClient | None:
        return self.client if client_id == self.client.client_id else None

    def _save_token(self, token: dict[str, Any], request: Any) -> None:
        with self._lock:
            now = time.time()
            for stale in [t for t, item in self.tokens.items() if item.is_expired()]:
                del self.tokens[stale]
            self.tokens[token["access_token"]] = AccessToken(
                access_token=token["access_token"],
                client_id=request.client.client_id,
                scope=token.get("scope", ""),
                person=request.user,
                expires_at=now + int(token.get("expires_in", 3600)),
            )


class _QuietRequestHandler(WSGIRequestHandler):
    """No access log line per request: the portal's log is the one that matters."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class _Server(AuthorizationServer):
    """Authlib's Flask authorization server, holding a reference to its provider."""

    provider: OidcProviderCore


class _CodeGrant(AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    @property
    def provider(self) -> OidcProviderCore:
        server: _Server = self.server
        return server.provider

    def save_authorization_code(self, code: str, request: Any) -> None:
        data = request.payload.data
        self.provider.save_code(
            AuthorizationCode(
                code=code,
                client_id=request.client.client_id,
                redirect_uri=request.payload.redirect_uri,
                scope=request.scope,
                person=request.user,
                nonce=data.get("nonce"),
                code_challenge=data.get("code_challenge"),
                code_challenge_method=data.get("code_challenge_method"),
                auth_time=int(time.time()),
                expires_at=time.time() + CODE_SECONDS,
            )
        )

    def query_authorization_code(self, code: str, client: OidcClient) -> AuthorizationCode | None:
        item = self.provider.codes.get(code)
        if item and item.client_id == client.client_id and item.expires_at > time.time():
            return item
        return None

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        self.provider.codes.pop(authorization_code.code, None)

    def authenticate_user(self, authorization_code: AuthorizationCode) -> Person:
        return authorization_code.person


class _Pkce(CodeChallenge):
    """PKCE as the provider's `check_pkce` says, then Authlib's verifier check."""

    def __init__(self, provider: OidcProviderCore) -> None:
        super().__init__(required=True)
        self.provider = provider

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        self.provider.check_pkce(data)
        if data.get("code_challenge") or data.get("code_challenge_method"):
            super().validate_code_challenge(grant, redirect_uri)


class _OpenIDCode(OpenIDCode):
    def __init__(self, provider: OidcProviderCore) -> None:
        super().__init__(require_nonce=True)
        self.provider = provider

    def process_token(self, grant: Any, response: Any) -> Any:
        if not self.provider.issues_id_tokens():
            return response[1]
        return super().process_token(grant, response)

    def exists_nonce(self, nonce: str, request: Any) -> bool:
        return nonce in self.provider.used_nonces

    def resolve_client_private_key(self, client: OidcClient) -> RSAKey:
        return self.provider.signing_key()

    def get_client_algorithm(self, client: OidcClient) -> str:
        return "RS256"

    def get_encode_header(self, client: OidcClient) -> dict[str, str]:
        return {"alg": "RS256", "kid": self.provider.kid}

    def get_client_claims(self, client: OidcClient) -> dict[str, Any]:
        now = int(time.time())
        return {
            "iss": self.provider.token_issuer,
            "aud": [client.client_id],
            "iat": now,
            "exp": now + 600,
        }

    def get_authorization_code_claims(self, authorization_code: Any) -> dict[str, Any]:
        claims: dict[str, Any] = super().get_authorization_code_claims(authorization_code)
        if authorization_code.nonce:
            self.provider.used_nonces.add(authorization_code.nonce)
        return self.provider.code_claims(claims)

    def generate_user_info(self, user: Person, scope: str) -> dict[str, Any]:
        return self.provider.id_token_claims(user, scope)


class _BearerValidator(BearerTokenValidator):
    def __init__(self, provider: OidcProviderCore) -> None:
        super().__init__()
        self.provider = provider

    def authenticate_token(self, token_string: str) -> AccessToken | None:
        return self.provider.tokens.get(token_string)


# -- Demo ID --------------------------------------------------------------------------------

# A made-up person on a reserved domain (RFC 2606): mail to it never leaves the demo.
DEMO_PERSON: Final = Person(
    sub="", given_name="Sam", family_name="Rivera", email="sam.rivera@example.com"
)


class DemoId(OidcProviderCore):
    """The development provider: a sign-in page with a made-up person, Continue or Cancel."""

    thread_name = "demo-id"

    def __init__(self, redirect_uri: str) -> None:
        client = OidcClient(
            client_id=f"talentconnect-demo-{secrets.token_hex(8)}",
            client_secret=secrets.token_urlsafe(32),
            redirect_uris=[redirect_uri],
        )
        super().__init__(client, kid=f"demo-id-{secrets.token_hex(4)}")
        # CSRF token of each sign-in page shown, with when it stops being accepted.
        self._pages: dict[str, float] = {}

    def provider_config(self) -> OidcProviderConfig:
        """The OIDC_PROVIDERS item that points the portal here."""
        return OidcProviderConfig(
            name=NAME,
            label=LABEL,
            client_id=self.client.client_id,
            client_secret=self.client.client_secret,
            discovery_url=self.discovery_url,
        )

    def add_authorize(self, app: Flask, server: AuthorizationServer) -> None:
        @app.after_request
        def _headers(response: Response) -> Response:
            response.headers["Content-Security-Policy"] = (
                "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
            )
            response.headers["X-Content-Type-Options"] = "nosniff"
            response.headers["Referrer-Policy"] = "no-referrer"
            response.headers["Cache-Control"] = "no-store"
            return response

        @app.route("/authorize", methods=["GET", "POST"])
        def authorize() -> ResponseReturnValue:
            try:
                grant = server.get_consent_grant(end_user=None)
            except OAuth2Error as error:
                if error.redirect_uri:  # the client's own address: tell it there (RFC 6749 4.1.2.1)
                    failed: ResponseReturnValue = server.handle_error_response(request, error)
                    return failed
                # No trustworthy redirect URI: say so here, as real providers do.
                return self._page(error=f"{error.error}: {error.description}", status=400)
            if request.method == "GET":
                return self._page(person=DEMO_PERSON)
            if not self._csrf_ok():
                return self._page(error="This page expired. Go back and try again.", status=400)
            if request.form.get("action") != "continue":
                return server.create_authorization_response(grant=grant, grant_user=None)
            person, problem = _person_from(request.form)
            if problem:
                return self._page(person=person, problem=problem, status=400)
            response: ResponseReturnValue = server.create_authorization_response(
                grant=grant, grant_user=person
            )
            return response

    def _csrf_ok(self) -> bool:
        token = request.form.get("csrf_token", "")
        cookie = request.cookies.get(_CSRF_COOKIE, "")
        with self._lock:
            expires = self._pages.pop(token, 0.0)
        return expires > time.time() and hmac.compare_digest(token.encode(), cookie.encode())

    def _page(
        self,
        *,
        person: Person | None = None,
        problem: str = "",
        error: str = "",
        status: int = 200,
    ) -> Response:
        token = secrets.token_urlsafe(32)
        now = time.time()
        with self._lock:
            for stale in [t for t, expires in self._pages.items() if expires <= now]:
                del self._pages[stale]
            self._pages[token] = now + PAGE_SECONDS
        html = render_template_string(
            _PAGE,
            person=person,
            problem=problem,
            error=error,
            csrf_token=token,
            action="/authorize?" + urlencode(list(request.args.items(multi=True))),
        )
        response = Response(html, status=status, mimetype="text/html")
        # The page's form must come back from the same browser (double-submit cookie).
        response.set_cookie(
            _CSRF_COOKIE, token, max_age=PAGE_SECONDS, httponly=True, samesite="Strict"
        )
        return response


def _person_from(form: Mapping[str, str]) -> tuple[Person, str]:
    """The person as edited on the page, and what is wrong with it ("" when nothing)."""
    given = form.get("given_name", "").strip()[:100]
    family = form.get("family_name", "").strip()[:100]
    email = form.get("email", "").strip()[:254]
    # One subject per address, so signing in twice as the same person is the same account.
    sub = "demo-" + hashlib.sha256(email.lower().encode()).hexdigest()[:24]
    person = Person(sub=sub, given_name=given, family_name=family, email=email)
    if not given:
        return person, "Enter a first name."
    local, at, domain = email.rpartition("@")
    if not at or not local or "." not in domain or " " in email:
        return person, "Enter an email address like name@example.com."
    return person, ""


def start_demo_id(settings: Settings, *, demo: bool) -> DemoId:
    """Start Demo ID for the portal `settings` describe; only in demo mode, never in production."""
    if settings.is_production:
        raise DemoIdRefused(
            "Demo ID is a development-only sign-in provider and never starts in production "
            "(TALENTCONNECT_ENV=production)"
        )
    if not demo:
        raise DemoIdRefused(
            "Demo ID is a development-only sign-in provider; it starts only in demo mode "
            "(talentconnect run --demo)"
        )
    if any(p.name == NAME for p in settings.oidc_providers):
        raise DemoIdRefused(
            f"OIDC_PROVIDERS already has a provider named {NAME!r}, which Demo ID needs"
        )
    redirect_uri = f"{settings.base_url.rstrip('/')}/connect/social/{NAME}/callback"
    demo_id = DemoId(redirect_uri)
    demo_id.start()
    return demo_id


def with_demo_id(settings: Settings, demo_id: DemoId) -> Settings:
    """`settings` with Demo ID added to the social sign-in providers."""
    return dataclasses.replace(
        settings, oidc_providers=(*settings.oidc_providers, demo_id.provider_config())
    )


_PAGE: Final = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>Sign in: Demo ID (development only)</title>
<style>
  *, *::before, *::after { box-sizing: border-box; }
  body { margin: 0; font: 1rem/1.5 system-ui, sans-serif; color: #1b1b1f; background: #f3f1ec; }
  .banner { margin: 0; padding: .6rem 1rem; background: #5c2d00; color: #fff;
    font-weight: 700; text-align: center; }
  main { max-width: 28rem; margin: 1.5rem auto; padding: 1.5rem 1.25rem; background: #fff;
    border: 1px solid #cfc9bd; border-radius: .5rem; }
  h1 { margin: 0 0 .25rem; font-size: 1.5rem; }
  p { margin: 0 0 1rem; }
  label { display: block; margin: 1rem 0 .25rem; font-weight: 600; }
  input { width: 100%; padding: .55rem .6rem; font: inherit; border: 1px solid #6b6558;
    border-radius: .3rem; }
  input:focus, button:focus { outline: 3px solid #1a5fb4; outline-offset: 2px; }
  .problem { padding: .6rem .8rem; border-left: 4px solid #a4000f; background: #fbeaea;
    color: #7a000b; }
  .actions { display: flex; flex-wrap: wrap; gap: .75rem; margin-top: 1.5rem; }
  button { padding: .6rem 1.2rem; font: inherit; font-weight: 600; border-radius: .3rem;
    cursor: pointer; }
  .primary { background: #1a5fb4; color: #fff; border: 1px solid #1a5fb4; }
  .secondary { background: #fff; color: #1a5fb4; border: 1px solid #1a5fb4; }
  .small { margin-top: 1.25rem; font-size: .875rem; color: #4a463e; }
</style>
</head>
<body>
<header><p class="banner">Demo ID — development only</p></header>
<main>
  <h1>Sign in with Demo ID</h1>
  {% if error %}
  <p class="problem" role="alert">{{ error }}</p>
  {% else %}
  <p>This pretend sign-in service comes with <code>talentconnect run --demo</code>.
    It stands in for Google or Microsoft: Talent Connect receives the name and email below.</p>
  {% if problem %}<p class="problem" role="alert" id="problem">{{ problem }}</p>{% endif %}
  <form method="post" action="{{ action }}" novalidate>
    <input type="hidden" name="csrf_token" value="{{ csrf_token }}">
    <label for="given_name">First name</label>
    <input id="given_name" name="given_name" value="{{ person.given_name }}"
      autocomplete="given-name" required>
    <label for="family_name">Last name</label>
    <input id="family_name" name="family_name" value="{{ person.family_name }}"
      autocomplete="family-name">
    <label for="email">Email</label>
    <input id="email" name="email" type="email" value="{{ person.email }}"
      autocomplete="email" required spellcheck="false">
    <div class="actions">
      <button class="primary" type="submit" name="action" value="continue">Continue</button>
      <button class="secondary" type="submit" name="action" value="cancel">Cancel</button>
    </div>
  </form>
  <p class="small">Use made-up people only: nobody checks these details.</p>
  {% endif %}
</main>
</body>
</html>
"""
