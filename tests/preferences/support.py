"""Constants shared by the preferences tests."""

from __future__ import annotations

from datetime import UTC, datetime

# The instant the `clock` fixture freezes `now()` at.
T0 = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
