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

import ipaddress
import secrets
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue
from joserfc.jwk import RSAKey
from werkzeug.exceptions import HTTPException

from portal.auth.demo_id import OidcClient, OidcProviderCore, Person

DISCOVERY_PATH = "/.well-known/openid-configuration"
CLIENT_ID = "portal-client"
CLIENT_SECRET = "portal-client-secret"
PORTAL_BASE_URL = "http://127.0.0.1:8000"


@dataclass
class TestUser(Person):
    """The person who signs in at the provider."""

    sub: str = "248289761001"
    given_name: str = "Ada"
    family_name: str = "Lovelace"
    email: str = "ada.lovelace@example.com"
    email_verified: bool = True
    profile: str = "https://profiles.example.com/ada"


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


class OidcTestProvider(OidcProviderCore):
    """One provider on https://127.0.0.1:<free port>; `start()` it, `stop()` it.

    The provider itself is the product's (`portal.auth.demo_id.OidcProviderCore`); this
    one signs its user in without asking, serves TLS, records what it was asked, and
    misbehaves as `faults` say.
    """

    thread_name = "oidc-test-provider"

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
        client = OidcClient(
            client_id,
            client_secret,
            redirect_uris
            or [
                f"{PORTAL_BASE_URL}/connect/social/{name}/callback"
                for name in ("test", "linkedin", "microsoft", "google")
            ],
            auth_method,
        )
        super().__init__(client, kid="test-key-1")
        self.workdir = workdir
        self.user = user or TestUser()
        self.faults = Faults()
        # Same kid, different key: a forged token the JWKS can't verify.
        self.rogue_key = RSAKey.generate_key(2048, {"kid": self.kid, "use": "sig", "alg": "RS256"})
        self.paths_seen: list[str] = []
        self.authorize_requests: list[dict[str, str]] = []
        self.token_requests: list[dict[str, Any]] = []
        # Exceptions inside the provider; a test that provoked one proves nothing.
        self.errors: list[BaseException] = []
        self.ca_path = workdir / "ca.pem"

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

    # -- TLS and faults (the core's hooks) -------------------------------------------------

    def ssl_context(self) -> ssl.SSLContext:
        self.workdir.mkdir(parents=True, exist_ok=True)
        return _tls_context(self.workdir, self.ca_path)

    def signing_key(self) -> RSAKey:
        return self.rogue_key if self.faults.wrong_signing_key else self.key

    def check_pkce(self, data: Mapping[str, Any]) -> None:
        if not self.faults.reject_pkce:
            super().check_pkce(data)
        elif data.get("code_challenge") or data.get("code_challenge_method"):
            raise InvalidRequestError("This client may not use PKCE.")

    def issues_id_tokens(self) -> bool:
        return not self.faults.no_id_token

    def code_claims(self, claims: dict[str, Any]) -> dict[str, Any]:
        if self.faults.omit_nonce:
            claims.pop("nonce", None)
        return claims

    def id_token_claims(self, person: Person, scope: str) -> dict[str, Any]:
        # Merged last, so fault overrides beat nonce, iss, aud and exp.
        faults = self.faults
        claims = {"sub": person.sub} if faults.minimal_id_token else person.claims(scope)
        if faults.tenant:
            claims["tid"] = faults.tenant
        claims.update(faults.id_token_claims)
        return claims

    def userinfo_claims(self, person: Person, scope: str) -> dict[str, Any]:
        claims = person.claims(scope)
        claims.update(self.faults.userinfo_claims)
        return claims

    def discovery_response(self) -> ResponseReturnValue:
        if self.faults.discovery_status != 200:
            return "provider trouble", self.faults.discovery_status
        document = self.discovery_document()
        for key, value in self.faults.discovery_fields.items():
            if value is None:
                document.pop(key, None)
            else:
                document[key] = value
        return jsonify(document)

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

    def build_app(self) -> Flask:
        app = super().build_app()

        @app.before_request
        def _record() -> None:
            self.paths_seen.append(request.path)
            if request.path == "/token":
                self.token_requests.append(
                    {"form": request.form.to_dict(), "authorization": request.authorization}
                )

        @app.errorhandler(Exception)
        def _crash(error: Exception) -> ResponseReturnValue:
            if isinstance(error, HTTPException):
                return error
            self.errors.append(error)
            return "provider crashed", 500

        @app.get("/<path:_prefix>" + DISCOVERY_PATH)
        def prefixed_discovery(_prefix: str) -> ResponseReturnValue:
            return self.discovery_response()

        return app

    def add_authorize(self, app: Flask, server: AuthorizationServer) -> None:
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
