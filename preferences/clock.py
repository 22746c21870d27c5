"""The one clock domain code reads, so tests can freeze time."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the current time as an aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that stands still until moved with `advance`."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._at = at.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._at

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self._at += delta


_clock: Clock = SystemClock()


def now() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return _clock.now()


def set_clock(clock: Clock) -> Clock:
    """Install `clock` and return the one it replaced."""
    global _clock
    previous, _clock = _clock, clock
    return previous


@contextmanager
def frozen(at: datetime) -> Iterator[FrozenClock]:
    """Freeze `now()` at `at` for the duration of the block."""
    clock = FrozenClock(at)
    previous = set_clock(clock)
    try:
        yield clock
    finally:
        set_clock(previous)
