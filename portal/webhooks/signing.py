"""Standard Webhooks signatures: `whsec_` secrets and the `v1,` HMAC-SHA256 header value.

What is signed is `{webhook-id}.{webhook-timestamp}.{body}`, with the secret's base64-decoded
bytes as the key. Several secrets (during a rotation) give several signatures, separated by
spaces; a receiver accepts the request if any of them matches a secret it knows.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Iterable

SECRET_PREFIX = "whsec_"  # noqa: S105 (the spec's marker, not a secret)
SECRET_BYTES = 32


def new_secret() -> str:
    """A fresh signing secret in the spec's `whsec_<base64>` form."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The HMAC key a `whsec_` secret stands for; ValueError if it is not one."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("a webhook secret starts with whsec_")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("a webhook secret is whsec_ followed by base64") from None
    if len(key) < 24 or len(key) > 64:
        raise ValueError("a webhook secret holds 24 to 64 bytes")
    return key


def sign(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    """One `v1,<base64>` signature of `body` under `key`."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signature_header(keys: Iterable[bytes], message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: one signature per key, space-separated."""
    return " ".join(sign(key, message_id, timestamp, body) for key in keys)
