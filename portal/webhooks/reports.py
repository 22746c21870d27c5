"""What the console shows of webhook endpoints: success rates and recent deliveries.

Read-only queries over the worker's records (`WebhookAttempt`, `WebhookDelivery`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from portal.webhooks.models import WebhookAttempt, WebhookDelivery
from preferences.clock import now
from preferences.events import WebhookEvent

HEALTH_WINDOW = timedelta(days=7)
RECENT_DELIVERIES = 50


@dataclass(frozen=True)
class EndpointHealth:
    """An endpoint's HTTP attempts in the window, and how many of them succeeded."""

    attempts: int = 0
    succeeded: int = 0

    @property
    def percent(self) -> int | None:
        """The success rate in whole percent, rounded down (100 only when all succeeded)."""
        if not self.attempts:
            return None
        return self.succeeded * 100 // self.attempts


def endpoint_health(
    session: Session,
    endpoint_ids: Collection[int] | None = None,
    *,
    since: datetime | None = None,
) -> dict[int, EndpointHealth]:
    """Attempts and successes per endpoint since `since` (default: the last 7 days).

    One grouped query for every endpoint (or those in `endpoint_ids`); an endpoint with
    no attempts in the window is absent from the result.
    """
    start = since if since is not None else now() - HEALTH_WINDOW
    query = (
        select(
            WebhookAttempt.endpoint_id,
            func.count(),
            func.sum(case((WebhookAttempt.succeeded.is_(True), 1), else_=0)),
        )
        .where(WebhookAttempt.attempted_at >= start)
        .group_by(WebhookAttempt.endpoint_id)
    )
    if endpoint_ids is not None:
        if not endpoint_ids:
            return {}
        query = query.where(WebhookAttempt.endpoint_id.in_(list(endpoint_ids)))
    return {
        endpoint_id: EndpointHealth(attempts=int(attempts), succeeded=int(succeeded or 0))
        for endpoint_id, attempts, succeeded in session.execute(query)
    }


@dataclass(frozen=True)
class DeliveryLine:
    """One delivery as the endpoint page lists it, with its event's type and id."""

    delivery: WebhookDelivery
    event_type: str
    event_id: str  # the `webhook-id` header receivers deduplicate by


def recent_deliveries(
    session: Session, endpoint_id: int, limit: int = RECENT_DELIVERIES
) -> list[DeliveryLine]:
    """The endpoint's latest deliveries, newest first."""
    rows = session.execute(
        select(WebhookDelivery, WebhookEvent.type, WebhookEvent.public_id)
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.endpoint_id == endpoint_id)
        .order_by(WebhookDelivery.id.desc())
        .limit(limit)
    )
    return [DeliveryLine(delivery, type_, public_id) for delivery, type_, public_id in rows]
