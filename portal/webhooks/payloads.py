"""The body of a webhook: the Standard Webhooks envelope of one event, as sent and signed."""

from __future__ import annotations

import json
from typing import Any

from preferences.events import WebhookEvent


def payload(event: WebhookEvent, email: str | None = None) -> dict[str, Any]:
    """The JSON body of an event: `type`, `timestamp` and `data` (the spec's envelope).

    `data` starts with the candidate's public id (when the event has a candidate), then the
    event's own fields and its source; `email` is added only for endpoints that include
    contact data.
    """
    data: dict[str, Any] = {}
    if event.candidate_key is not None:
        data["candidate_id"] = event.candidate_key
    data.update(event.data or {})
    if event.source is not None:
        data.setdefault("source", event.source)
    if email is not None:
        data["email"] = email
    return {
        "type": event.type,
        "timestamp": event.occurred_at.isoformat().replace("+00:00", "Z"),
        "data": data,
    }


def payload_bytes(event: WebhookEvent, email: str | None = None) -> bytes:
    """`payload` as the exact bytes sent and signed (compact UTF-8 JSON)."""
    return json.dumps(payload(event, email), ensure_ascii=False, separators=(",", ":")).encode()
