"""Email address normalization and the hash used for suppressions."""

from __future__ import annotations

import hashlib
import hmac

from email_validator import EmailNotValidError, validate_email

from preferences.errors import InvalidEmail


def normalize_email(raw: str) -> str:
    """Return the canonical form of an address, or raise `InvalidEmail`.

    Internationalized addresses are kept in Unicode (NFC, IDNA-normalized
    domain). The local part is lower-cased as well: mailbox providers treat it
    case-insensitively in practice, and one person must map to one candidate.
    """
    candidate = raw.strip()
    if not candidate:
        raise InvalidEmail(raw, "the address is empty")
    try:
        # test_environment admits the RFC 6761 `.test` domain, which demo and
        # staging data use; such mail simply does not deliver.
        info = validate_email(candidate, check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        raise InvalidEmail(raw, str(exc)) from exc
    local, _, domain = info.normalized.rpartition("@")
    return f"{local.lower()}@{domain.lower()}"


def address_hash(address: str, salt: str | None = None) -> str:
    """Return the hex digest of a normalized address, for suppressions.

    With `salt` it is HMAC-SHA256 keyed by the salt, which is what suppressions
    store; without, the plain SHA-256 that suppressions made before revision
    0002 used, kept so those rows still match.
    """
    return normalized_hash(normalize_email(address), salt)


def normalized_hash(normalized: str, salt: str | None = None) -> str:
    """`address_hash` of an address already in `normalize_email`'s form (not checked)."""
    raw = normalized.encode("utf-8")
    if salt is None:
        return hashlib.sha256(raw).hexdigest()
    return hmac.new(salt.encode("utf-8"), raw, hashlib.sha256).hexdigest()
