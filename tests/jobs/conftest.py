"""Fixtures for the jobs tests: a frozen clock and a posting factory."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from jobs.models import JobPosting
from preferences.clock import FrozenClock, frozen
from preferences.models import Interest

from .support import T0, PostingFactory


@pytest.fixture
def clock() -> Iterator[FrozenClock]:
    with frozen(T0) as fixed:
        yield fixed


@pytest.fixture
def interests(db_session: Session) -> dict[str, Interest]:
    rows = {
        slug: Interest(name=name, slug=slug, position=position)
        for position, (slug, name) in enumerate(
            [("engineering", "Engineering"), ("design", "Design"), ("sales", "Sales")]
        )
    }
    db_session.add_all(rows.values())
    db_session.flush()
    return rows


@pytest.fixture
def posting(db_session: Session, clock: FrozenClock) -> PostingFactory:
    """Make a posting `age` before T0 (closed `closed_in` after T0 if given)."""
    counter = iter(range(1, 10_000))

    def make(
        title: str,
        *,
        age: timedelta = timedelta(days=1),
        closed_in: timedelta | None = None,
        location: str = "",
        description: str = "",
        interests: list[Interest] | None = None,
    ) -> JobPosting:
        job = JobPosting(
            reference=f"REF-{next(counter):04d}",
            title=title,
            description=description,
            location=location,
            apply_url="https://jobs.example.com/apply",
            posted_at=T0 - age,
            closed_at=T0 + closed_in if closed_in is not None else None,
            interests=interests or [],
        )
        db_session.add(job)
        db_session.flush()
        return job

    return make
