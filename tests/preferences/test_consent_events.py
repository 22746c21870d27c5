"""Consent events are append-only and subscriptions are unique per interest."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from preferences.db import make_session_factory, session_scope
from preferences.errors import AppendOnlyViolation
from preferences.models import (
    Candidate,
    ConsentAction,
    ConsentEvent,
    ConsentScope,
    ConsentSource,
    Interest,
    Subscription,
    SubscriptionStatus,
)
from preferences.subscriptions import get_or_create_candidate, opt_in_mass_email


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def event_id(factory: sessionmaker[Session]) -> int:
    """One committed mass-email grant."""
    with session_scope(factory) as session:
        candidate, _ = get_or_create_candidate(session, "ana@example.com")
        opt_in_mass_email(session, candidate, source=ConsentSource.CONNECT_FORM)
        event = session.scalars(select(ConsentEvent)).one()
        return event.id


def read_event(factory: sessionmaker[Session], event_id: int) -> tuple[object, ...]:
    with factory() as session:
        event = session.get(ConsentEvent, event_id)
        assert event is not None
        return (event.scope, event.action, event.source, event.wording_version, event.detail)


def test_updating_a_consent_event_is_refused(factory: sessionmaker[Session], event_id: int) -> None:
    """Changing a stored consent event through the ORM raises and leaves the row unchanged."""
    before = read_event(factory, event_id)
    refused = pytest.raises(AppendOnlyViolation, match=f"consent event {event_id} is append-only")
    with refused, session_scope(factory) as session:
        event = session.get(ConsentEvent, event_id)
        assert event is not None
        event.source = ConsentSource.ADMIN
        event.detail = {"forged": True}
        session.flush()
    assert read_event(factory, event_id) == before
    assert before[2] is ConsentSource.CONNECT_FORM


def test_deleting_a_consent_event_is_refused(factory: sessionmaker[Session], event_id: int) -> None:
    """Deleting a stored consent event through the ORM raises and the row stays."""
    with pytest.raises(AppendOnlyViolation), session_scope(factory) as session:
        event = session.get(ConsentEvent, event_id)
        assert event is not None
        session.delete(event)
        session.flush()
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(ConsentEvent)) == 1
        assert session.get(ConsentEvent, event_id) is not None


def test_appending_more_events_is_allowed(factory: sessionmaker[Session], event_id: int) -> None:
    """Append-only still lets new events be added alongside old ones."""
    with session_scope(factory) as session:
        candidate = session.scalars(select(Candidate)).one()
        session.add(
            ConsentEvent(
                candidate_id=candidate.id,
                scope=ConsentScope.MASS_EMAIL,
                action=ConsentAction.WITHDRAW,
                source=ConsentSource.ONE_CLICK,
                wording_version="x",
            )
        )
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(ConsentEvent)) == 2


def test_subscription_is_unique_per_candidate_and_interest(db_session: Session) -> None:
    """The database refuses a second subscription row for the same candidate and interest."""
    candidate, _ = get_or_create_candidate(db_session, "ana@example.com")
    interest = Interest(name="Engineering", slug="engineering")
    other = Interest(name="Design", slug="design")
    db_session.add_all([interest, other])
    db_session.flush()
    db_session.add(Subscription(candidate_id=candidate.id, interest_id=interest.id))
    db_session.add(Subscription(candidate_id=candidate.id, interest_id=other.id))
    db_session.flush()
    db_session.add(
        Subscription(
            candidate_id=candidate.id,
            interest_id=interest.id,
            status=SubscriptionStatus.SUBSCRIBED,
        )
    )
    with pytest.raises(IntegrityError):
        db_session.flush()


def test_interest_slug_is_unique(db_session: Session) -> None:
    """Two interests cannot share a slug."""
    db_session.add(Interest(name="Engineering", slug="engineering"))
    db_session.flush()
    db_session.add(Interest(name="Engineering 2", slug="engineering"))
    with pytest.raises(IntegrityError):
        db_session.flush()
