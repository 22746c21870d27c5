"""The suppression list: addresses that must never be mailed again."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from preferences.addresses import address_hash
from preferences.models import Suppression, SuppressionReason


def is_suppressed(session: Session, address: str) -> bool:
    """Return whether `address` is on the suppression list."""
    digest = address_hash(address)
    return (
        session.scalar(select(Suppression.id).where(Suppression.address_hash == digest)) is not None
    )


def suppress(
    session: Session, address: str, reason: SuppressionReason, detail: str = ""
) -> Suppression:
    """Put `address` on the suppression list; an existing entry is kept as it is."""
    digest = address_hash(address)
    existing = session.scalar(select(Suppression).where(Suppression.address_hash == digest))
    if existing is not None:
        return existing
    row = Suppression(address_hash=digest, reason=reason, detail=detail)
    session.add(row)
    session.flush()
    return row
