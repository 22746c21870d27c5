"""Webhook endpoints, their signing secrets, and the deliveries of events to them.

Events themselves are `preferences.events.WebhookEvent`, written beside the change they
report; the worker fans each out into one `WebhookDelivery` per endpoint that wants its
type, and records every HTTP attempt as a `WebhookAttempt`.
"""

from __future__ import annotations

import enum
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from preferences.clock import now
from preferences.db import Base, UTCDateTime, enum_column

ENDPOINT_ID_PREFIX = "ep_"
MAX_URL = 2000
MAX_DESCRIPTION = 200


def new_endpoint_id() -> str:
    return ENDPOINT_ID_PREFIX + secrets.token_hex(8)


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"  # due at next_attempt_at (first try or a retry)
    SENDING = "sending"  # claimed by a worker until lease_until
    DELIVERED = "delivered"  # a 2xx answer
    FAILED = "failed"  # a 4xx (not 429), or retried past WEBHOOK_RETRY_HOURS


class WebhookEndpoint(Base):
    """A receiver of events: its URL, the event types it wants, and its health."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_endpoint_id)
    url: Mapped[str] = mapped_column(String(MAX_URL))
    description: Mapped[str] = mapped_column(String(MAX_DESCRIPTION), default="")
    # Event type names (`preferences.events.EventType`); empty means every type.
    event_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Whether payloads carry the candidate's email address.
    include_contact_data: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now, onupdate=now)
    # Start of the current run of failed attempts (none since the last success).
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    disabled_reason: Mapped[str | None] = mapped_column(String(300))

    secrets: Mapped[list[WebhookSecret]] = relationship(
        back_populates="endpoint",
        cascade="all, delete-orphan",
        order_by="WebhookSecret.id",
        passive_deletes=True,
    )

    def wants(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types


class WebhookSecret(Base):
    """A signing secret (`whsec_<base64>`); after a rotation the old one signs until expires_at."""

    __tablename__ = "webhook_secrets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True
    )
    # The secret sealed under SECRET_KEYS (`portal.webhooks.sealing`); `whsec_…` in plain
    # text if an earlier release stored it and it hasn't been sealed since.
    sealed: Mapped[str] = mapped_column("secret", String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    endpoint: Mapped[WebhookEndpoint] = relationship(back_populates="secrets")


class WebhookDelivery(Base):
    """One event on its way to one endpoint, retried until it succeeds or is given up."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_deliveries_endpoint_event"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        # Per endpoint, a candidate's events go in order: the claim looks for earlier ones.
        Index("ix_webhook_deliveries_order", "endpoint_id", "candidate_key", "event_id"),
        Index("ix_webhook_deliveries_event", "event_id"),
        # The console's recent deliveries of one endpoint, newest first.
        Index("ix_webhook_deliveries_endpoint_recent", "endpoint_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(ForeignKey("webhook_events.id", ondelete="CASCADE"))
    candidate_key: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[DeliveryStatus] = mapped_column(
        enum_column(DeliveryStatus, "webhook_delivery_status"), default=DeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    last_duration_ms: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    # Retries go on until WEBHOOK_RETRY_HOURS after this (its creation, or a Redeliver).
    retry_from: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebhookAttempt(Base):
    """One HTTP attempt of a delivery: what the console's health and history show."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_endpoint_at", "endpoint_id", "attempted_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    attempt: Mapped[int] = mapped_column(Integer)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    succeeded: Mapped[bool] = mapped_column(Boolean, default=False)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)


def as_dict(endpoint: WebhookEndpoint) -> dict[str, Any]:
    """An endpoint as the API shows it (never its secrets)."""
    return {
        "id": endpoint.public_id,
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": list(endpoint.event_types or []),
        "enabled": endpoint.enabled,
        "include_contact_data": endpoint.include_contact_data,
        "created_at": endpoint.created_at.isoformat(),
        "failing_since": endpoint.failing_since.isoformat() if endpoint.failing_since else None,
        "disabled_reason": endpoint.disabled_reason,
    }
