"""The suppression list."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from preferences.addresses import address_hash
from preferences.clock import FrozenClock
from preferences.errors import InvalidEmail
from preferences.models import Suppression, SuppressionReason
from preferences.suppressions import is_suppressed, suppress

from .support import T0


def test_suppress_stores_only_the_hash(db_session: Session, clock: FrozenClock) -> None:
    """A suppression keeps the address hash, reason, detail and time, never the address."""
    row = suppress(db_session, "Ana@Example.com", SuppressionReason.HARD_BOUNCE, "550 5.1.1")
    assert row.address_hash == address_hash("ana@example.com")
    assert (row.reason, row.detail, row.created_at) == (
        SuppressionReason.HARD_BOUNCE,
        "550 5.1.1",
        T0,
    )
    stored = db_session.execute(select(Suppression.__table__)).one()
    assert "ana@example.com" not in repr(tuple(stored)).lower()


@pytest.mark.parametrize("spelling", ["ana@example.com", "ANA@EXAMPLE.COM", "  ana@Example.com "])
def test_is_suppressed_matches_any_spelling(db_session: Session, spelling: str) -> None:
    """Once suppressed, every spelling of the address is suppressed."""
    suppress(db_session, "Ana@Example.com", SuppressionReason.COMPLAINT)
    assert is_suppressed(db_session, spelling) is True


def test_is_suppressed_is_false_for_other_addresses(db_session: Session) -> None:
    """An address not on the list is not suppressed."""
    suppress(db_session, "ana@example.com", SuppressionReason.MANUAL)
    assert is_suppressed(db_session, "bob@example.com") is False
    assert is_suppressed(db_session, "ana@example.org") is False


def test_internationalized_address_can_be_suppressed(db_session: Session) -> None:
    """Internationalized addresses are suppressed across composed and decomposed spellings."""
    suppress(db_session, "josé@exämple.test", SuppressionReason.HARD_BOUNCE)
    assert is_suppressed(db_session, "JOSE\u0301@EXA\u0308MPLE.TEST") is True


def test_suppress_twice_keeps_the_first_entry(db_session: Session, clock: FrozenClock) -> None:
    """Suppressing an address again returns the original entry unchanged."""
    first = suppress(db_session, "ana@example.com", SuppressionReason.HARD_BOUNCE, "bounce")
    again = suppress(db_session, "ANA@example.com", SuppressionReason.COMPLAINT, "complaint")
    assert again is first
    assert (again.reason, again.detail) == (SuppressionReason.HARD_BOUNCE, "bounce")
    assert db_session.scalar(select(func.count()).select_from(Suppression)) == 1


def test_suppression_hash_is_unique_in_the_database(db_session: Session) -> None:
    """The database refuses two suppression rows for one hash."""
    digest = address_hash("ana@example.com")
    db_session.add(Suppression(address_hash=digest, reason=SuppressionReason.MANUAL))
    db_session.flush()
    db_session.add(Suppression(address_hash=digest, reason=SuppressionReason.ERASURE))
    with pytest.raises(IntegrityError):
        db_session.flush()


def test_suppress_refuses_invalid_address(db_session: Session) -> None:
    """An invalid address cannot be suppressed."""
    with pytest.raises(InvalidEmail):
        suppress(db_session, "nobody", SuppressionReason.MANUAL)
