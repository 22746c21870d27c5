"""The one clock domain code reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from preferences import clock
from preferences.clock import FrozenClock, SystemClock, frozen, now, set_clock


def test_now_is_aware_utc() -> None:
    """now() returns an aware datetime in UTC."""
    value = now()
    assert value.tzinfo is not None
    assert value.utcoffset() == timedelta(0)


def test_frozen_stops_time_and_restores_the_previous_clock() -> None:
    """Inside frozen() now() is fixed; afterwards the previous clock is back."""
    before = clock._clock
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    with frozen(at) as fixed:
        assert isinstance(fixed, FrozenClock)
        assert now() == at
        assert now() == at
    assert clock._clock is before


def test_frozen_restores_the_clock_after_an_error() -> None:
    """An exception inside frozen() still puts the previous clock back."""
    before = clock._clock
    with pytest.raises(RuntimeError), frozen(datetime(2026, 1, 1, tzinfo=UTC)):
        raise RuntimeError("boom")
    assert clock._clock is before


def test_advance_moves_the_frozen_clock() -> None:
    """advance() moves a frozen clock forward by exactly the given delta."""
    at = datetime(2026, 1, 1, tzinfo=UTC)
    with frozen(at) as fixed:
        fixed.advance(timedelta(minutes=5, seconds=1))
        assert now() == at + timedelta(minutes=5, seconds=1)


def test_frozen_clock_converts_to_utc() -> None:
    """A frozen time given in another zone reads back as the same instant in UTC."""
    plus_two = timezone(timedelta(hours=2))
    with frozen(datetime(2026, 6, 1, 12, 0, tzinfo=plus_two)):
        value = now()
    assert value == datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
    assert value.utcoffset() == timedelta(0)


def test_frozen_clock_refuses_naive_datetime() -> None:
    """A naive datetime cannot freeze the clock."""
    with pytest.raises(ValueError, match="aware"):
        FrozenClock(datetime(2026, 1, 1))


def test_set_clock_returns_the_clock_it_replaced() -> None:
    """set_clock installs a clock and hands back the old one."""
    replacement = SystemClock()
    previous = set_clock(replacement)
    try:
        assert clock._clock is replacement
    finally:
        assert set_clock(previous) is replacement
