"""Webhook signing secrets at rest: sealed under keys derived from SECRET_KEYS.

The worker needs each secret itself to sign (an HMAC key), so it can't be stored as a
hash like a password. It is stored sealed instead: Fernet (AES-128-CBC with
HMAC-SHA256) under a key derived by HKDF-SHA256 from each `SECRET_KEYS` entry, so a
copy of the database or a backup holds no secret a receiver trusts.

As with signed links, the first key seals and every key unseals: a new key put first
still reads what the old one sealed. `talentconnect db seal-secrets` seals every
stored secret under the first key (and `db upgrade` does it after migrating), after
which the old key may go. A secret an earlier release stored in plain text (`whsec_…`)
is read as it is until then.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from portal.errors import PortalError
from portal.webhooks.models import WebhookSecret
from portal.webhooks.signing import SECRET_PREFIX
from preferences.db import session_scope

log = logging.getLogger("portal.webhooks.sealing")

SEALED_PREFIX = "sealed:v1:"
# What the derived keys are for: a SECRET_KEYS entry yields other keys for other uses.
_PURPOSE = b"talentconnect webhook signing secrets v1"
# Secrets re-sealed per transaction by `seal_stored_secrets`.
_BATCH = 500


class SecretUnreadable(PortalError):
    """A stored signing secret none of SECRET_KEYS opens; the message says what to do."""


def _fernet(secret_key: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_PURPOSE).derive(
        secret_key.encode("utf-8")
    )
    return Fernet(base64.urlsafe_b64encode(derived))


class SecretSeal:
    """Seals signing secrets under the first of `secret_keys`; opens them with any."""

    def __init__(self, secret_keys: Sequence[str]) -> None:
        if not secret_keys:
            raise ValueError("sealing needs at least one of SECRET_KEYS")
        self._first = _fernet(secret_keys[0])
        self._any = MultiFernet([self._first, *(_fernet(k) for k in secret_keys[1:])])

    def seal(self, secret: str) -> str:
        """`secret` as stored: sealed under the first key."""
        return SEALED_PREFIX + self._first.encrypt(secret.encode("utf-8")).decode("ascii")

    def unseal(self, stored: str) -> str:
        """The secret a stored value holds; SecretUnreadable if no key opens it."""
        if stored.startswith(SECRET_PREFIX):
            return stored  # stored in plain text by an earlier release
        if not stored.startswith(SEALED_PREFIX):
            raise SecretUnreadable("a stored webhook secret is neither sealed nor a whsec_ secret")
        try:
            return self._any.decrypt(stored[len(SEALED_PREFIX) :].encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise SecretUnreadable(
                "a webhook signing secret was sealed with a key that is no longer in "
                "TALENTCONNECT_SECRET_KEYS: put that key back (after the first), or rotate "
                "the endpoint's secret"
            ) from None

    def is_current(self, stored: str) -> bool:
        """Whether `stored` is sealed under the first key (nothing left to re-seal)."""
        if not stored.startswith(SEALED_PREFIX):
            return False
        try:
            self._first.decrypt(stored[len(SEALED_PREFIX) :].encode("ascii"))
        except (InvalidToken, UnicodeError):
            return False
        return True


@lru_cache(maxsize=8)
def secret_seal(secret_keys: tuple[str, ...]) -> SecretSeal:
    """The seal of a settings' `secret_keys` (deriving the keys once per process)."""
    return SecretSeal(secret_keys)


@dataclass(frozen=True)
class SealReport:
    """What `seal_stored_secrets` did."""

    sealed: int = 0  # re-sealed under the first key (were plain, or under a later key)
    current: int = 0  # already under the first key
    unreadable: int = 0  # no key opens them: left as they are


def seal_stored_secrets(sessions: sessionmaker[Session], seal: SecretSeal) -> SealReport:
    """Seal every stored signing secret under the first key, a batch per transaction.

    Secrets no key opens are left as they are, counted and logged.
    """
    sealed = current = unreadable = 0
    after = 0
    while True:
        with session_scope(sessions) as session:
            rows = list(
                session.scalars(
                    select(WebhookSecret)
                    .where(WebhookSecret.id > after)
                    .order_by(WebhookSecret.id)
                    .limit(_BATCH)
                )
            )
            if not rows:
                return SealReport(sealed, current, unreadable)
            for row in rows:
                if seal.is_current(row.sealed):
                    current += 1
                    continue
                try:
                    row.sealed = seal.seal(seal.unseal(row.sealed))
                except SecretUnreadable:
                    unreadable += 1
                    log.warning(
                        "webhook secret unreadable",
                        extra={"secret_id": row.id, "endpoint_id": row.endpoint_id},
                    )
                    continue
                sealed += 1
            after = rows[-1].id
