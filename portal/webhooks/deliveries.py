"""Deliveries of events to endpoints: the payload, Redeliver and Send test event.

The worker's side (fan-out, claiming, sending, retries, endpoint health) builds on these.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from portal.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from preferences.clock import now
from preferences.events import EventType, WebhookEvent


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


def redeliver(session: Session, delivery: WebhookDelivery) -> bool:
    """Send a delivered or failed delivery again (same event, same webhook-id), now.

    Its retries start afresh. A delivery still on its way is left alone: returns False.
    """
    if delivery.status in (DeliveryStatus.PENDING, DeliveryStatus.SENDING):
        return False
    at = now()
    delivery.status = DeliveryStatus.PENDING
    delivery.next_attempt_at = at
    delivery.retry_from = at
    delivery.finished_at = None
    delivery.lease_owner = None
    delivery.lease_until = None
    session.flush()
    return True


def send_test_event(session: Session, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Queue a `webhook.test` event for this endpoint only (also when it is disabled)."""
    at = now()
    event = WebhookEvent(
        type=EventType.WEBHOOK_TEST.value,
        data={"endpoint_id": endpoint.public_id, "message": "a test event from Talent Connect"},
        source="admin",
        occurred_at=at,
        expanded_at=at,  # never fanned out to other endpoints
    )
    session.add(event)
    session.flush()
    delivery = WebhookDelivery(
        endpoint_id=endpoint.id,
        event_id=event.id,
        candidate_key=None,
        next_attempt_at=at,
        retry_from=at,
    )
    session.add(delivery)
    session.flush()
    return delivery
