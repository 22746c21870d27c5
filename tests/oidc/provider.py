"""A real OpenID Connect provider on loopback HTTPS, built from Authlib's server parts.

It serves discovery, an authorization endpoint that signs in one configurable
test user without asking, a token endpoint (authorization code + PKCE, with
OpenID Connect ID tokens signed RS256), JWKS and userinfo. State lives in
memory. `faults` makes it misbehave the ways real providers do.

TLS uses a throwaway CA generated at start; point REQUESTS_CA_BUNDLE at
`ca_path` so the portal's HTTP client trusts it, exactly as it would trust a
real provider's certificate.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
import ssl
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector, current_token
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import AuthorizationCodeMixin, OpenIDCode
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue
from joserfc.jwk import RSAKey
from werkzeug.exceptions import HTTPException
from werkzeug.serving import BaseWSGIServer, make_server

DISCOVERY_PATH = "/.well-known/openid-configuration"
CLIENT_ID = "portal-client"
CLIENT_SECRET = "portal-client-secret"
PORTAL_BASE_URL = "http://127.0.0.1:8000"
SCOPES = ("openid", "email", "profile")


@dataclass
class TestUser:
    """The person who signs in at the provider."""

    sub: str = "248289761001"
    given_name: str = "Ada"
    family_name: str = "Lovelace"
    email: str = "ada.lovelace@example.com"
    email_verified: bool = True
    profile: str = "https://profiles.example.com/ada"

    def claims(self, scope: str) -> dict[str, Any]:
        """The standard claims this user releases for `scope`."""
        scopes = scope.split()
        claims: dict[str, Any] = {"sub": self.sub}
        if "profile" in scopes:
            claims.update(
                given_name=self.given_name,
                family_name=self.family_name,
                name=f"{self.given_name} {self.family_name}",
                profile=self.profile,
            )
        if "email" in scopes:
            claims.update(email=self.email, email_verified=self.email_verified)
        return claims


@dataclass
class Faults:
    """Ways to make the provider misbehave; change them at any time."""

    deny: bool = False  # the user presses Cancel: error=access_denied
    wrong_signing_key: bool = False  # ID tokens signed by a key that isn't in the JWKS
    id_token_claims: dict[str, Any] = field(default_factory=dict)  # merged over the ID token
    omit_nonce: bool = False  # no nonce claim in ID tokens, as LinkedIn does
    no_id_token: bool = False  # a plain OAuth token response without an ID token
    minimal_id_token: bool = False  # only sub in the ID token; the rest from userinfo
    userinfo_claims: dict[str, Any] = field(default_factory=dict)  # merged over userinfo
    discovery_status: int = 200  # anything else answers discovery with that error
    discovery_fields: dict[str, Any] = field(default_factory=dict)  # merged; None deletes
    reject_pkce: bool = False  # refuse code_challenge, as LinkedIn does for web apps
    tenant: str | None = None  # Microsoft-style "{tenantid}" issuer; tokens carry this tid


@dataclass
class _Client(ClientMixin):
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    auth_method: str

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
class _AuthorizationCode(AuthorizationCodeMixin):
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    sub: str
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
class _Token(TokenMixin):
    access_token: str
    client_id: str
    scope: str
    sub: str
    expires_at: float

    def check_client(self, client: _Client) -> bool:
        return client.client_id == self.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return int(self.expires_at - time.time())

    def is_expired(self) -> bool:
        return time.time() >= self.expires_at

    def is_revoked(self) -> bool:
        return False

    def get_user(self) -> str:
        return self.sub

    def get_client(self) -> None:
        return None


class _Server(AuthorizationServer):
    """Authlib's Flask authorization server, holding a reference to its provider."""

    provider: OidcTestProvider


class _CodeGrant(AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    @property
    def provider(self) -> OidcTestProvider:
        server: _Server = self.server
        return server.provider

    def save_authorization_code(self, code: str, request: Any) -> None:
        data = request.payload.data
        self.provider.codes[code] = _AuthorizationCode(
            code=code,
            client_id=request.client.client_id,
            redirect_uri=request.payload.redirect_uri,
            scope=request.scope,
            sub=request.user.sub,
            nonce=data.get("nonce"),
            code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"),
            auth_time=int(time.time()),
            expires_at=time.time() + 300,
        )

    def query_authorization_code(self, code: str, client: _Client) -> _AuthorizationCode | None:
        item = self.provider.codes.get(code)
        if item and item.client_id == client.client_id and item.expires_at > time.time():
            return item
        return None

    def delete_authorization_code(self, authorization_code: _AuthorizationCode) -> None:
        self.provider.codes.pop(authorization_code.code, None)

    def authenticate_user(self, authorization_code: _AuthorizationCode) -> TestUser | None:
        user = self.provider.user
        return user if user.sub == authorization_code.sub else None


class _Pkce(CodeChallenge):
    """PKCE required for every client, S256 only (stricter than CodeChallenge(required=True))."""

    def __init__(self, provider: OidcTestProvider) -> None:
        super().__init__(required=True)
        self.provider = provider

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if self.provider.faults.reject_pkce:
            if data.get("code_challenge") or data.get("code_challenge_method"):
                raise InvalidRequestError("This client may not use PKCE.")
            return
        if not data.get("code_challenge") or data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("PKCE with code_challenge_method=S256 is required.")
        super().validate_code_challenge(grant, redirect_uri)


class _OpenIDCode(OpenIDCode):
    def __init__(self, provider: OidcTestProvider) -> None:
        super().__init__(require_nonce=True)
        self.provider = provider

    def process_token(self, grant: Any, response: Any) -> Any:
        if self.provider.faults.no_id_token:
            return response[1]
        return super().process_token(grant, response)

    def exists_nonce(self, nonce: str, request: Any) -> bool:
        return nonce in self.provider.used_nonces

    def resolve_client_private_key(self, client: _Client) -> RSAKey:
        faults = self.provider.faults
        return self.provider.rogue_key if faults.wrong_signing_key else self.provider.key

    def get_client_algorithm(self, client: _Client) -> str:
        return "RS256"

    def get_encode_header(self, client: _Client) -> dict[str, str]:
        return {"alg": "RS256", "kid": self.provider.kid}

    def get_client_claims(self, client: _Client) -> dict[str, Any]:
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
        if self.provider.faults.omit_nonce:
            claims.pop("nonce", None)
        return claims

    def generate_user_info(self, user: TestUser, scope: str) -> dict[str, Any]:
        # Returned claims are merged last, so fault overrides beat nonce, iss, aud and exp.
        faults = self.provider.faults
        claims = {"sub": user.sub} if faults.minimal_id_token else user.claims(scope)
        if faults.tenant:
            claims["tid"] = faults.tenant
        claims.update(faults.id_token_claims)
        return claims


class _BearerValidator(BearerTokenValidator):
    def __init__(self, provider: OidcTestProvider) -> None:
        super().__init__()
        self.provider = provider

    def authenticate_token(self, token_string: str) -> _Token | None:
        return self.provider.tokens.get(token_string)


class OidcTestProvider:
    """One provider on https://127.0.0.1:<free port>; `start()` it, `stop()` it."""

    def __init__(
        self,
        workdir: Path,
        *,
        client_id: str = CLIENT_ID,
        client_secret: str = CLIENT_SECRET,
        auth_method: str = "client_secret_basic",
        redirect_uris: list[str] | None = None,
        user: TestUser | None = None,
    ) -> None:
        self.workdir = workdir
        self.user = user or TestUser()
        self.faults = Faults()
        self.client = _Client(
            client_id,
            client_secret,
            redirect_uris
            or [
                f"{PORTAL_BASE_URL}/connect/social/{name}/callback"
                for name in ("test", "linkedin", "microsoft", "google")
            ],
            auth_method,
        )
        self.kid = "test-key-1"
        self.key = RSAKey.generate_key(2048, {"kid": self.kid, "use": "sig", "alg": "RS256"})
        # Same kid, different key: a forged token the JWKS can't verify.
        self.rogue_key = RSAKey.generate_key(2048, {"kid": self.kid, "use": "sig", "alg": "RS256"})
        self.codes: dict[str, _AuthorizationCode] = {}
        self.tokens: dict[str, _Token] = {}
        self.used_nonces: set[str] = set()
        self.paths_seen: list[str] = []
        self.authorize_requests: list[dict[str, str]] = []
        self.token_requests: list[dict[str, Any]] = []
        # Exceptions inside the provider; a test that provoked one proves nothing.
        self.errors: list[BaseException] = []
        self.ca_path = workdir / "ca.pem"
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    # -- addresses -------------------------------------------------------------------------

    @property
    def issuer(self) -> str:
        """The issuer in discovery (a template when the provider is multi-tenant)."""
        return f"{self.url}/{{tenantid}}/v2.0" if self.faults.tenant else self.url

    @property
    def token_issuer(self) -> str:
        """The iss claim of ID tokens."""
        return f"{self.url}/{self.faults.tenant}/v2.0" if self.faults.tenant else self.url

    @property
    def discovery_url(self) -> str:
        prefix = f"{self.url}/common/v2.0" if self.faults.tenant else self.url
        return prefix + DISCOVERY_PATH

    def portal_config(self, name: str = "test", **extra: Any) -> dict[str, Any]:
        """An OIDC_PROVIDERS item that points the portal at this provider."""
        item: dict[str, Any] = {
            "name": name,
            "client_id": self.client.client_id,
            "client_secret": self.client.client_secret,
            "discovery_url": self.discovery_url,
        }
        if name not in ("google", "linkedin", "microsoft"):
            item["label"] = "Test ID"
        item.update(extra)
        return item

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Serve on a free loopback port in a daemon thread."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        context = _tls_context(self.workdir, self.ca_path)
        self._server = make_server(
            "127.0.0.1", 0, self._build_app(), threaded=True, ssl_context=context
        )
        self.url = f"https://127.0.0.1:{self._server.server_port}"
        # A short poll interval keeps stop() quick; shutdown waits for the next poll.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="oidc-test-provider",
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

    # -- the browser's side ----------------------------------------------------------------

    def visit(self, authorize_url: str) -> str:
        """Open the authorization URL as the user's browser would; return where it redirects."""
        with requests.Session() as browser:
            response = browser.get(
                authorize_url, allow_redirects=False, verify=str(self.ca_path), timeout=10
            )
        assert response.status_code == 302, (response.status_code, response.text)
        return response.headers["Location"]

    # -- the provider itself ---------------------------------------------------------------

    def _build_app(self) -> Flask:
        app = Flask("oidc_test_provider")
        server = _Server(app, query_client=self._query_client, save_token=self._save_token)
        server.provider = self
        server.register_grant(_CodeGrant, [_Pkce(self), _OpenIDCode(self)])
        require_oauth = ResourceProtector()
        require_oauth.register_token_validator(_BearerValidator(self))

        @app.before_request
        def _record() -> None:
            self.paths_seen.append(request.path)

        @app.errorhandler(Exception)
        def _crash(error: Exception) -> ResponseReturnValue:
            if isinstance(error, HTTPException):
                return error
            self.errors.append(error)
            return "provider crashed", 500

        @app.get(DISCOVERY_PATH)
        @app.get("/<path:_prefix>" + DISCOVERY_PATH)
        def discovery(_prefix: str = "") -> ResponseReturnValue:
            if self.faults.discovery_status != 200:
                return "provider trouble", self.faults.discovery_status
            document = self._discovery_document()
            for key, value in self.faults.discovery_fields.items():
                if value is None:
                    document.pop(key, None)
                else:
                    document[key] = value
            return jsonify(document)

        @app.get("/authorize")
        def authorize() -> ResponseReturnValue:
            self.authorize_requests.append(request.args.to_dict())
            try:
                grant = server.get_consent_grant(end_user=self.user)
            except OAuth2Error as error:
                return jsonify(error=error.error, error_description=error.description), 400
            # Auto-approve, or deny when the test plays a user pressing Cancel.
            user = None if self.faults.deny else self.user
            return server.create_authorization_response(grant=grant, grant_user=user)

        @app.post("/token")
        def token() -> ResponseReturnValue:
            self.token_requests.append(
                {"form": request.form.to_dict(), "authorization": request.authorization}
            )
            return server.create_token_response()

        @app.get("/userinfo")
        @require_oauth("openid")
        def userinfo() -> ResponseReturnValue:
            claims = self.user.claims(current_token.scope)
            claims.update(self.faults.userinfo_claims)
            return jsonify(claims)

        @app.get("/jwks")
        def jwks() -> ResponseReturnValue:
            return jsonify(keys=[self.key.as_dict(private=False)])

        return app

    def _discovery_document(self) -> dict[str, Any]:
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

    def _query_client(self, client_id: str) -> _Client | None:
        return self.client if client_id == self.client.client_id else None

    def _save_token(self, token: dict[str, Any], request: Any) -> None:
        self.tokens[token["access_token"]] = _Token(
            access_token=token["access_token"],
            client_id=request.client.client_id,
            scope=token.get("scope", ""),
            sub=request.user.sub,
            expires_at=time.time() + int(token.get("expires_in", 3600)),
        )


def _tls_context(workdir: Path, ca_path: Path) -> ssl.SSLContext:
    """A server context with a certificate for 127.0.0.1 issued by a throwaway CA."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Talent Connect test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_path = workdir / f"server-{secrets.token_hex(4)}.pem"
    key_path = workdir / f"server-{secrets.token_hex(4)}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return context


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def callback_path(location: str) -> str:
    """The path and query of a redirect back to the portal, for the Flask test client."""
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}" == PORTAL_BASE_URL, location
    return f"{parts.path}?{parts.query}"
