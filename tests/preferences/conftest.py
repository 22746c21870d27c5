"""Fixtures for the preferences tests: a frozen clock, a candidate and interests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from preferences.clock import FrozenClock, frozen
from preferences.models import Candidate, Interest, InterestStatus
from preferences.subscriptions import get_or_create_candidate

from .support import T0


@pytest.fixture
def clock() -> Iterator[FrozenClock]:
    """`now()` stands still at T0 until the test advances it."""
    with frozen(T0) as fixed:
        yield fixed


@pytest.fixture
def candidate(db_session: Session, clock: FrozenClock) -> Candidate:
    created, _ = get_or_create_candidate(db_session, "ana@example.com", first_name="Ana")
    return created


@pytest.fixture
def interest(db_session: Session) -> Interest:
    row = Interest(name="Engineering", slug="engineering")
    db_session.add(row)
    db_session.flush()
    return row


@pytest.fixture
def retired_interest(db_session: Session) -> Interest:
    row = Interest(name="Old Stuff", slug="old-stuff", status=InterestStatus.RETIRED)
    db_session.add(row)
    db_session.flush()
    return row


@pytest.fixture
def merged_interest(db_session: Session, interest: Interest) -> Interest:
    row = Interest(name="Software", slug="software", merged_into_id=interest.id)
    db_session.add(row)
    db_session.flush()
    return row
