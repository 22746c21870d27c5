"""The suppression list: addresses that must never be mailed again.

An address is stored only as HMAC-SHA256 of its normalized form, keyed by a
random per-installation salt kept in `hash_salts` (purpose "suppression").
The salt is made by migration 0002, or on the first `suppress` in a database
built without migrations, and never changes. So the same address always yields
the same hash here (lookups stay one indexed query), but the stored hashes
cannot be matched against plain SHA-256 lists of addresses from elsewhere.

Rows written before the salt existed hold plain SHA-256; lookups try that too,
so an old bounce or complaint keeps blocking mail.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, event, insert, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from preferences.addresses import address_hash, normalize_email, normalized_hash
from preferences.clock import now
from preferences.db import among
from preferences.errors import InvalidEmail
from preferences.models import Candidate, HashSalt, Suppression, SuppressionReason

SUPPRESSION_SALT = "suppression"


def suppression_salt(session: Session, *, create: bool = False) -> str | None:
    """Return the installation's suppression salt, making it first if `create` is set."""
    row = session.get(HashSalt, SUPPRESSION_SALT)
    if row is not None or not create:
        return row.salt if row is not None else None
    try:
        with session.begin_nested():
            session.add(HashSalt(purpose=SUPPRESSION_SALT, salt=secrets.token_hex(32)))
    except IntegrityError:
        pass  # Another transaction made it first; theirs is read below.
    made = session.get(HashSalt, SUPPRESSION_SALT)
    assert made is not None
    return made.salt


def _digests(session: Session, address: str, *, create: bool) -> list[str]:
    """The hashes `address` may be stored under: salted first, then the pre-salt form."""
    normalized = normalize_email(address)
    salt = suppression_salt(session, create=create)
    legacy = address_hash(normalized)
    return [address_hash(normalized, salt), legacy] if salt is not None else [legacy]


def is_suppressed(session: Session, address: str) -> bool:
    """Return whether `address` is on the suppression list."""
    digests = _digests(session, address, create=False)
    return (
        session.scalar(select(Suppression.id).where(Suppression.address_hash.in_(digests)).limit(1))
        is not None
    )


def suppression_reason(session: Session, address: str) -> SuppressionReason | None:
    """Why `address` is on the suppression list, or None when it is not."""
    digests = _digests(session, address, create=False)
    return session.scalar(
        select(Suppression.reason).where(Suppression.address_hash.in_(digests)).limit(1)
    )


def suppressions_among(session: Session, addresses: Iterable[str]) -> dict[str, SuppressionReason]:
    """Which of `addresses` are suppressed, and why: one query for a whole send batch.

    The addresses must already be normalized (the outbox stores them so); hashing
    them directly skips re-validating each one, which is most of a lookup's cost.
    """
    salt = suppression_salt(session)
    by_digest: dict[str, str] = {}
    for address in set(addresses):
        by_digest[normalized_hash(address)] = address
        if salt is not None:
            by_digest[normalized_hash(address, salt)] = address
    if not by_digest:
        return {}
    rows = session.execute(
        select(Suppression.address_hash, Suppression.reason).where(
            among(session, Suppression.address_hash, by_digest)
        )
    )
    return {by_digest[digest]: reason for digest, reason in rows}


def suppress(
    session: Session, address: str, reason: SuppressionReason, detail: str = ""
) -> Suppression:
    """Put `address` on the suppression list; an existing entry is kept as it is."""
    digests = _digests(session, address, create=True)
    existing = session.scalars(
        select(Suppression).where(Suppression.address_hash.in_(digests)).limit(1)
    ).first()
    if existing is not None:
        return existing
    row = Suppression(address_hash=digests[0], reason=reason, detail=detail)
    session.add(row)
    session.flush()
    return row


def suppress_many(
    session: Session, addresses: Iterable[str], reason: SuppressionReason, detail: str = ""
) -> int:
    """`suppress` each of `addresses` in three statements; returns how many were added.

    Addresses that cannot be normalized are skipped: they cannot be mailed either.
    """
    salt = suppression_salt(session, create=True)
    assert salt is not None
    wanted: dict[str, list[str]] = {}
    for address in addresses:
        try:
            normalized = normalize_email(address)
        except InvalidEmail:
            continue
        salted = normalized_hash(normalized, salt)
        wanted[salted] = [salted, normalized_hash(normalized)]
    if not wanted:
        return 0
    every = [digest for digests in wanted.values() for digest in digests]
    known = set(
        session.scalars(
            select(Suppression.address_hash).where(among(session, Suppression.address_hash, every))
        )
    )
    new = [
        {"address_hash": salted, "reason": reason, "detail": detail, "created_at": now()}
        for salted, digests in wanted.items()
        if not known.intersection(digests)
    ]
    if new:
        session.execute(insert(Suppression), new)
    return len(new)


def lift_suppression(session: Session, address: str, reasons: Iterable[SuppressionReason]) -> bool:
    """Take `address` off the list if it is there for one of `reasons`; returns whether it was.

    For a fresh opt-in by the person themselves (a retention expiry never blocks them).
    """
    digests = _digests(session, address, create=False)
    result = session.execute(
        delete(Suppression).where(
            Suppression.address_hash.in_(digests), Suppression.reason.in_(list(reasons))
        )
    )
    return bool(getattr(result, "rowcount", 0))


@event.listens_for(Session, "before_flush")
def _own_confirmation_lifts_expiry(session: Session, _context: Any, _instances: Any) -> None:
    """A candidate whose address becomes verified (their own confirmation link, or a
    provider's verified sign-up) is a fresh opt-in: a `retention_expired` entry for the
    address goes. Erasure, bounce, complaint and manual entries stay."""
    for obj in list(session.new) + list(session.dirty):
        if not isinstance(obj, Candidate) or obj.email_verified_at is None:
            continue
        if obj not in session.new and not inspect(obj).attrs.email_verified_at.history.added:
            continue
        with session.no_autoflush, contextlib.suppress(InvalidEmail):
            lift_suppression(session, obj.email, [SuppressionReason.RETENTION_EXPIRED])
