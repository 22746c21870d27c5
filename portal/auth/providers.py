"""Social sign-in providers as settings: the OIDC_PROVIDERS list, validated.

Flask-free, so the settings loader (`portal.config`) can import it at the top: it
turns the raw list into typed `OidcProviderConfig`s, filling in the presets for
Google, LinkedIn and Microsoft. The sign-in flow itself is `portal.auth.oidc`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

DEFAULT_SCOPES = "openid email profile"
DISCOVERY_SUFFIX = "/.well-known/openid-configuration"

_NAME_RE: Final = re.compile(r"[a-z][a-z0-9_-]{0,31}")
_SCOPE_RE: Final = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
_ALLOWED_KEYS: Final = frozenset(
    {"name", "label", "client_id", "client_secret", "discovery_url", "scopes"}
)


@dataclass(frozen=True)
class OidcProviderConfig:
    """One social sign-in provider, validated from the OIDC_PROVIDERS setting."""

    name: str
    label: str
    client_id: str
    client_secret: str = field(repr=False)
    discovery_url: str
    scopes: str = DEFAULT_SCOPES
    use_pkce: bool = True
    # None: choose from the discovery document's token_endpoint_auth_methods_supported.
    client_auth_method: str | None = None
    # False tolerates an ID token without a nonce (a nonce that is present must still match).
    require_nonce_claim: bool = True
    # iss values accepted besides the discovered issuer.
    extra_issuers: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Preset:
    label: str
    discovery_url: str
    use_pkce: bool = True
    client_auth_method: str | None = None
    require_nonce_claim: bool = True
    extra_issuers: tuple[str, ...] = ()


PRESETS: Final[Mapping[str, _Preset]] = {
    # Google documents both forms of its issuer in ID tokens.
    "google": _Preset(
        "Google",
        "https://accounts.google.com" + DISCOVERY_SUFFIX,
        extra_issuers=("accounts.google.com",),
    ),
    # LinkedIn's web flow wants the secret in the POST body without saying so in its
    # discovery document, answers 401 to a PKCE verifier from a confidential client, and
    # leaves the nonce out of its ID tokens.
    "linkedin": _Preset(
        "LinkedIn",
        "https://www.linkedin.com/oauth" + DISCOVERY_SUFFIX,
        use_pkce=False,
        client_auth_method="client_secret_post",
        require_nonce_claim=False,
    ),
    "microsoft": _Preset(
        "Microsoft", "https://login.microsoftonline.com/common/v2.0" + DISCOVERY_SUFFIX
    ),
}


def parse_provider_configs(items: list[Any]) -> tuple[OidcProviderConfig, ...]:
    """Validate the OIDC_PROVIDERS setting; raise ValueError saying what is wrong."""
    if not isinstance(items, list):
        raise ValueError("must be a list of providers")
    configs: list[OidcProviderConfig] = []
    seen: set[str] = set()
    for index, item in enumerate(items, start=1):
        config = _parse_one(index, item)
        if config.name in seen:
            raise ValueError(f"provider {config.name!r} is listed twice")
        seen.add(config.name)
        configs.append(config)
    return tuple(configs)


def _parse_one(index: int, item: Any) -> OidcProviderConfig:
    if not isinstance(item, Mapping):
        raise ValueError(f"provider #{index} must be an object with name, client_id, …")
    name = item.get("name")
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise ValueError(
            f"provider #{index}: name must be a lower-case slug like 'google' "
            "(letters, digits, - or _, up to 32 characters)"
        )
    where = f"provider {name!r}"
    unknown = sorted(str(k) for k in item if k not in _ALLOWED_KEYS)
    if unknown:
        raise ValueError(
            f"{where}: unknown key(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(sorted(_ALLOWED_KEYS))}"
        )
    client_id = _text(item, "client_id", where)
    if not client_id:
        raise ValueError(f"{where}: client_id is required")
    client_secret = _text(item, "client_secret", where)
    label = _text(item, "label", where)
    discovery_url = _text(item, "discovery_url", where)
    preset = PRESETS.get(name)
    if preset is None:
        if not discovery_url or not label:
            raise ValueError(
                f"{where}: a provider other than {', '.join(PRESETS)} needs discovery_url and label"
            )
    elif not client_secret:
        raise ValueError(f"{where}: client_secret is required for {preset.label}")
    discovery_url = discovery_url or (preset.discovery_url if preset else "")
    problem = url_problem(discovery_url)
    if problem:
        raise ValueError(f"{where}: discovery_url {problem}")
    if not urlsplit(discovery_url).path.endswith(DISCOVERY_SUFFIX):
        raise ValueError(f"{where}: discovery_url must end with {DISCOVERY_SUFFIX}")
    return OidcProviderConfig(
        name=name,
        label=label or (preset.label if preset else name),
        client_id=client_id,
        client_secret=client_secret,
        discovery_url=discovery_url,
        scopes=_scopes(item.get("scopes", DEFAULT_SCOPES), where),
        use_pkce=preset.use_pkce if preset else True,
        client_auth_method=preset.client_auth_method if preset else None,
        require_nonce_claim=preset.require_nonce_claim if preset else True,
        extra_issuers=preset.extra_issuers if preset else (),
    )


def _text(item: Mapping[str, Any], key: str, where: str) -> str:
    value = item.get(key, "")
    if not isinstance(value, str):
        raise ValueError(f"{where}: {key} must be a string")
    return value.strip()


def _scopes(raw: Any, where: str) -> str:
    if isinstance(raw, str):
        scopes = raw.split()
    elif isinstance(raw, list) and all(isinstance(s, str) for s in raw):
        scopes = [s.strip() for s in raw]
    else:
        raise ValueError(f"{where}: scopes must be a string like {DEFAULT_SCOPES!r} or a list")
    for scope in scopes:
        if not _SCOPE_RE.fullmatch(scope):
            raise ValueError(f"{where}: {scope!r} is not a valid scope")
    if "openid" not in scopes:
        raise ValueError(f"{where}: scopes must include openid")
    return " ".join(dict.fromkeys(scopes))


def url_problem(url: str) -> str | None:
    """Why `url` can't be a provider URL: https, or http on a loopback host for local tests."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return f"{url!r} must be an absolute https:// URL"
    if parts.username or parts.password or parts.fragment:
        return f"{url!r} must not contain credentials or a #fragment"
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        return f"{url!r} must use https:// (http:// is allowed only for 127.0.0.1, ::1, localhost)"
    return None


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
