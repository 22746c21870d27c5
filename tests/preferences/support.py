"""Constants and small readers shared by the preferences tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from preferences.models import ConsentEvent

# The instant the `clock` fixture freezes `now()` at.
T0 = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def consent_events(session: Session, candidate_id: int | None = None) -> list[ConsentEvent]:
    """The consent events (of one candidate, if given) in the order they were written."""
    stmt = select(ConsentEvent).order_by(ConsentEvent.id)
    if candidate_id is not None:
        stmt = stmt.where(ConsentEvent.candidate_id == candidate_id)
    return list(session.scalars(stmt))


def event_facts(event: ConsentEvent) -> dict[str, Any]:
    """Everything an event records but its candidate and id."""
    return {
        "scope": event.scope,
        "interest_id": event.interest_id,
        "action": event.action,
        "source": event.source,
        "wording_version": event.wording_version,
        "detail": event.detail,
        "ip_address": event.ip_address,
        "occurred_at": event.occurred_at,
    }
