"""The suppression list."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from preferences.addresses import address_hash
from preferences.clock import FrozenClock
from preferences.db import make_session_factory, session_scope
from preferences.errors import InvalidEmail
from preferences.models import HashSalt, Suppression, SuppressionReason
from preferences.suppressions import is_suppressed, suppress, suppression_salt

from .support import T0


def test_suppress_stores_only_the_hash(db_session: Session, clock: FrozenClock) -> None:
    """A suppression keeps the salted address hash, reason, detail and time, never the address."""
    row = suppress(db_session, "Ana@Example.com", SuppressionReason.HARD_BOUNCE, "550 5.1.1")
    salt = suppression_salt(db_session)
    assert salt is not None
    assert row.address_hash == address_hash("ana@example.com", salt)
    assert row.address_hash != address_hash("ana@example.com")
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


def test_salt_is_made_once_and_kept(engine: Engine) -> None:
    """The first suppression makes the installation's salt; later sessions reuse it."""
    factory: sessionmaker[Session] = make_session_factory(engine)
    with session_scope(factory) as session:
        assert suppression_salt(session) is None
        assert is_suppressed(session, "ana@example.com") is False
        assert session.scalar(select(func.count()).select_from(HashSalt)) == 0
        suppress(session, "ana@example.com", SuppressionReason.MANUAL)
        first = suppression_salt(session)
    with session_scope(factory) as session:
        assert len(first or "") == 64
        assert suppression_salt(session, create=True) == first
        suppress(session, "bob@example.com", SuppressionReason.MANUAL)
        assert is_suppressed(session, "ANA@example.com") is True
        assert session.scalar(select(func.count()).select_from(HashSalt)) == 1


def test_salts_differ_between_installations(db_session: Session) -> None:
    """The salt is random, so the stored hash is not a plain hash of the address."""
    suppress(db_session, "ana@example.com", SuppressionReason.MANUAL)
    salt = suppression_salt(db_session)
    assert salt is not None
    assert address_hash("ana@example.com", salt) != address_hash("ana@example.com", "0" * 64)


def test_unsalted_rows_from_before_the_salt_still_match(db_session: Session) -> None:
    """A suppression stored as plain SHA-256 before revision 0002 still blocks the address."""
    suppress(db_session, "bob@example.com", SuppressionReason.MANUAL)  # makes the salt
    db_session.add(
        Suppression(address_hash=address_hash("ana@example.com"), reason=SuppressionReason.MANUAL)
    )
    db_session.flush()
    assert is_suppressed(db_session, "Ana@Example.com") is True
    again = suppress(db_session, "ana@example.com", SuppressionReason.COMPLAINT)
    assert again.reason is SuppressionReason.MANUAL
    assert db_session.scalar(select(func.count()).select_from(Suppression)) == 2
