"""The one clock domain code reads, so tests can freeze time."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Protocol

from preferences.errors import PreferencesError


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

# The instants a stored time given by a person or a program may name: anything else is a typo or
# hostile (year 9999 with a -23:59 offset is past the last instant Python can hold in UTC).
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


class TimeOutOfRange(PreferencesError, ValueError):
    """A time before EARLIEST, from LATEST on, or beyond what a datetime can hold in UTC.

    `late` tells which side it fell off. Also a `ValueError`, which callers that
    check times among other values catch.
    """

    def __init__(self, message: str, *, late: bool) -> None:
        super().__init__(message)
        self.late = late


def utc_in_range(at: datetime) -> datetime:
    """`at` (aware) as UTC if EARLIEST <= at < LATEST; raises `TimeOutOfRange` otherwise."""
    if at.tzinfo is None:
        raise ValueError("utc_in_range needs an aware datetime")
    try:
        utc = at.astimezone(UTC)
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST <= utc < LATEST:
        # Converting overflows only next to year 1 or year 9999.
        late = utc >= LATEST if utc is not None else at.year > 5000
        raise TimeOutOfRange(
            f"{at.isoformat()} is not between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d} (UTC)",
            late=late,
        )
    return utc


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
