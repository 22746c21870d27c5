"""Constants and types shared by the jobs tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from jobs.models import JobPosting

# The instant the `clock` fixture freezes `now()` at.
T0 = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)

# The `posting` fixture: make a JobPosting relative to T0.
PostingFactory = Callable[..., JobPosting]
