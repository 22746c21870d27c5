"""Reading the webhook events a test's changes wrote (`preferences.events.WebhookEvent`)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from preferences.events import WebhookEvent

Fact = tuple[str, str | None, dict[str, Any], str | None]


def stored_events(source: Session | sessionmaker[Session], *types: str) -> list[Fact]:
    """(type, candidate key, data, source) of each stored event (of `types`), oldest first."""
    query = select(WebhookEvent).order_by(WebhookEvent.id)
    if types:
        query = query.where(WebhookEvent.type.in_(types))
    if isinstance(source, Session):
        rows = source.scalars(query).all()
        return [(e.type, e.candidate_key, dict(e.data), e.source) for e in rows]
    with source() as session:
        rows = session.scalars(query).all()
        return [(e.type, e.candidate_key, dict(e.data), e.source) for e in rows]


def types_of(facts: list[Fact]) -> list[str]:
    return [fact[0] for fact in facts]


def assert_no_personal_data(facts: list[Fact], *personal: str) -> None:
    """No event's data or source holds an address, a name or other text from `personal`."""
    for fact in facts:
        text = json.dumps([fact[2], fact[3]], ensure_ascii=False).lower()
        assert "@" not in text, fact
        for value in personal:
            assert value.lower() not in text, (value, fact)
