"""Managing webhook endpoints: validation, creation, changes, secret rotation.

The console's Webhooks page and the REST API both call these; the checks (and their
messages) are the same whichever way an admin comes.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.errors import PortalError
from portal.resumes.netguard import (
    UrlRefused,
    check_outbound_url,
    host_key_of_entry,
    is_public_ip,
)
from portal.webhooks.models import (
    MAX_DESCRIPTION,
    MAX_URL,
    WebhookEndpoint,
    WebhookSecret,
)
from portal.webhooks.sealing import SecretSeal
from portal.webhooks.signing import new_secret, secret_key
from preferences.clock import now
from preferences.events import SUBSCRIBABLE_TYPES
from preferences.text import is_clean_line

ALLOWED_HOSTS_SETTING = "TALENTCONNECT_WEBHOOK_ALLOWED_HOSTS"
EVENT_TYPE_NAMES: tuple[str, ...] = tuple(t.value for t in SUBSCRIBABLE_TYPES)


class WebhookError(PortalError):
    """A webhook request that can't be carried out; the message says why."""


class InvalidEndpoint(WebhookError):
    """An endpoint's fields break a rule; `fields` names each one."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {text}" for name, text in fields.items()))
        self.fields = fields


@dataclass(frozen=True)
class EndpointInput:
    """An endpoint as typed in the console or sent to the API (checked by `validate_endpoint`)."""

    url: str
    description: str = ""
    # Empty: every event type.
    event_types: Sequence[str] = field(default_factory=tuple)
    enabled: bool = True
    include_contact_data: bool = False


def allowed_keys(allowed_hosts: Collection[str]) -> set[str]:
    """WEBHOOK_ALLOWED_HOSTS as the host keys `check_outbound_url` compares."""
    return {host_key_of_entry(h) for h in allowed_hosts}


def check_endpoint_url(url: str, allowed_hosts: Collection[str]) -> str:
    """Refuse a receiver URL we never call; return its host key (`UrlRefused` otherwise).

    A host written as a private, loopback or otherwise non-public IP address is refused
    here, when the admin types it, unless it is an allowed host; a name that resolves to
    one is refused when the worker connects.
    """
    allowed = allowed_keys(allowed_hosts)
    key = check_outbound_url(url, allowed, ALLOWED_HOSTS_SETTING)
    if key not in allowed:
        try:
            literal = ipaddress.ip_address((urlsplit(url).hostname or "").split("%", 1)[0])
        except ValueError:
            literal = None
        if literal is not None and not is_public_ip(literal):
            raise UrlRefused(
                f"{literal} is not a public address; webhooks go to public hosts only, "
                f"or to hosts listed in {ALLOWED_HOSTS_SETTING}"
            )
    return key


def validate_endpoint(data: EndpointInput, allowed_hosts: Collection[str]) -> EndpointInput:
    """The input with its text trimmed, or InvalidEndpoint naming every problem."""
    problems: dict[str, str] = {}
    url = data.url.strip()
    if not url:
        problems["url"] = "enter the receiver's URL, starting with https://"
    elif len(url) > MAX_URL or not is_clean_line(url):
        problems["url"] = f"must be one line of at most {MAX_URL} characters"
    else:
        try:
            check_endpoint_url(url, allowed_hosts)
        except UrlRefused as exc:
            problems["url"] = str(exc)
    description = " ".join(data.description.split())
    if len(description) > MAX_DESCRIPTION or not is_clean_line(description or "-"):
        problems["description"] = f"must be one line of at most {MAX_DESCRIPTION} characters"
    types: list[str] = []
    for name in data.event_types:
        if name not in EVENT_TYPE_NAMES:
            problems["event_types"] = (
                f"{str(name)[:60]!r} is not an event type; use {', '.join(EVENT_TYPE_NAMES)}"
            )
            break
        if name not in types:
            types.append(name)
    if problems:
        raise InvalidEndpoint(problems)
    return EndpointInput(
        url=url,
        description=description,
        event_types=tuple(types),
        enabled=bool(data.enabled),
        include_contact_data=bool(data.include_contact_data),
    )


def create_endpoint(
    session: Session, data: EndpointInput, allowed_hosts: Collection[str], seal: SecretSeal
) -> tuple[WebhookEndpoint, str]:
    """Add an endpoint with a new signing secret, stored sealed; return it and the secret
    (shown once)."""
    checked = validate_endpoint(data, allowed_hosts)
    endpoint = WebhookEndpoint(
        url=checked.url,
        description=checked.description,
        event_types=list(checked.event_types),
        enabled=checked.enabled,
        include_contact_data=checked.include_contact_data,
    )
    secret = new_secret()
    endpoint.secrets.append(WebhookSecret(sealed=seal.seal(secret)))
    session.add(endpoint)
    session.flush()
    return endpoint, secret


def update_endpoint(
    session: Session,
    endpoint: WebhookEndpoint,
    data: EndpointInput,
    allowed_hosts: Collection[str],
) -> WebhookEndpoint:
    """Change an endpoint's fields. Enabling a disabled one starts its health afresh."""
    checked = validate_endpoint(data, allowed_hosts)
    if checked.enabled and not endpoint.enabled:
        endpoint.failing_since = None
        endpoint.disabled_at = None
        endpoint.disabled_reason = None
    elif not checked.enabled and endpoint.enabled:
        endpoint.disabled_at = now()
        endpoint.disabled_reason = "disabled by an admin"
    endpoint.url = checked.url
    endpoint.description = checked.description
    endpoint.event_types = list(checked.event_types)
    endpoint.enabled = checked.enabled
    endpoint.include_contact_data = checked.include_contact_data
    session.flush()
    return endpoint


def find_endpoint(session: Session, public_id: str) -> WebhookEndpoint | None:
    # An id from a URL may hold anything; PostgreSQL refuses a NUL in a query parameter.
    if not public_id.isascii() or not public_id.isprintable() or len(public_id) > 32:
        return None
    return session.scalar(select(WebhookEndpoint).where(WebhookEndpoint.public_id == public_id))


def list_endpoints(session: Session) -> list[WebhookEndpoint]:
    """Every endpoint, oldest first."""
    return list(session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def delete_endpoint(session: Session, endpoint: WebhookEndpoint) -> None:
    """Remove an endpoint with its secrets, deliveries and attempts."""
    session.delete(endpoint)
    session.flush()


def rotate_secret(
    session: Session, endpoint: WebhookEndpoint, grace: timedelta, seal: SecretSeal
) -> str:
    """Add a new signing secret (stored sealed); the current ones keep signing for `grace`,
    then stop.

    A secret already due to expire sooner keeps its earlier time. Returns the new secret.
    """
    at = now()
    until = at + grace
    for old in endpoint.secrets:
        if old.expires_at is None or old.expires_at > until:
            old.expires_at = until
    secret = new_secret()
    endpoint.secrets.append(WebhookSecret(sealed=seal.seal(secret), created_at=at))
    session.flush()
    return secret


def active_secrets(endpoint: WebhookEndpoint, at: datetime | None = None) -> list[WebhookSecret]:
    """The secrets that sign now, newest first."""
    when = at or now()
    live = [s for s in endpoint.secrets if s.expires_at is None or s.expires_at > when]
    return sorted(live, key=lambda s: s.id, reverse=True)


def signing_keys(
    endpoint: WebhookEndpoint, seal: SecretSeal, at: datetime | None = None
) -> list[bytes]:
    """The HMAC keys of `active_secrets`; SecretUnreadable if no key opens one."""
    return [secret_key(seal.unseal(s.sealed)) for s in active_secrets(endpoint, at)]
