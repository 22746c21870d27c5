"""The audit log: recording events, refusing personal data, and append-only storage."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from preferences.audit import record_audit, recruiter_actor
from preferences.clock import FrozenClock
from preferences.db import make_session_factory, session_scope
from preferences.errors import AppendOnlyViolation
from preferences.models import AuditEvent

from .support import T0


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def event_id(factory: sessionmaker[Session]) -> int:
    """One committed audit event."""
    with session_scope(factory) as session:
        return record_audit(
            session, actor="system", action="candidate.erased", subject="abc123", detail={"n": 1}
        ).id


def read_event(factory: sessionmaker[Session], event_id: int) -> tuple[object, ...]:
    with factory() as session:
        event = session.get(AuditEvent, event_id)
        assert event is not None
        return (event.occurred_at, event.actor, event.action, event.subject, event.detail)


def test_record_audit_stores_the_event(db_session: Session, clock: FrozenClock) -> None:
    """record_audit flushes one row with actor, action, subject, detail and the current time."""
    event = record_audit(
        db_session,
        actor=recruiter_actor(7),
        action="candidate.exported",
        subject="pub-id",
        detail={"format": "json"},
    )
    assert event.id is not None
    db_session.expire_all()
    stored = db_session.scalars(select(AuditEvent)).one()
    assert (stored.occurred_at, stored.actor, stored.action, stored.subject, stored.detail) == (
        T0,
        "recruiter:7",
        "candidate.exported",
        "pub-id",
        {"format": "json"},
    )


def test_detail_defaults_to_empty(db_session: Session) -> None:
    """An event without detail stores an empty object."""
    event = record_audit(db_session, actor="candidate", action="candidate.erased", subject="x")
    assert event.detail == {}


@pytest.mark.parametrize("actor", ["", "recruiter", "recruiter:", "recruiter:abc", "admin", "Cand"])
def test_unknown_actor_is_refused(db_session: Session, actor: str) -> None:
    """Only "candidate", "system" and "recruiter:<id>" are actors."""
    with pytest.raises(ValueError, match="actor"):
        record_audit(db_session, actor=actor, action="candidate.erased", subject="x")


@pytest.mark.parametrize("action", ["", "erased", "Candidate.Erased", "candidate.", "a b.c"])
def test_malformed_action_is_refused(db_session: Session, action: str) -> None:
    """Actions are dotted lowercase names such as candidate.erased."""
    with pytest.raises(ValueError, match="action"):
        record_audit(db_session, actor="system", action=action, subject="x")


@pytest.mark.parametrize("subject", ["", "ana@example.com", "x" * 65])
def test_address_or_empty_subject_is_refused(db_session: Session, subject: str) -> None:
    """A subject is an opaque identifier: never empty, never an email address."""
    with pytest.raises(ValueError, match="subject"):
        record_audit(db_session, actor="system", action="candidate.erased", subject=subject)
    assert db_session.scalar(select(func.count()).select_from(AuditEvent)) == 0


def test_updating_an_audit_event_is_refused(factory: sessionmaker[Session], event_id: int) -> None:
    """Changing a stored audit event through the ORM raises and leaves the row unchanged."""
    before = read_event(factory, event_id)
    refused = pytest.raises(AppendOnlyViolation, match=f"audit event {event_id} is append-only")
    with refused, session_scope(factory) as session:
        event = session.get(AuditEvent, event_id)
        assert event is not None
        event.actor = "candidate"
        session.flush()
    assert read_event(factory, event_id) == before


def test_deleting_an_audit_event_is_refused(factory: sessionmaker[Session], event_id: int) -> None:
    """Deleting a stored audit event through the ORM raises and keeps the row."""
    refused = pytest.raises(AppendOnlyViolation, match=f"audit event {event_id} is append-only")
    with refused, session_scope(factory) as session:
        event = session.get(AuditEvent, event_id)
        assert event is not None
        session.delete(event)
        session.flush()
    with factory() as session:
        assert session.get(AuditEvent, event_id) is not None
