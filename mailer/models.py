"""Campaigns and the outbox: every email is one small outbox row."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mailer.classify import BounceCategory
from preferences.clock import now
from preferences.db import Base, UTCDateTime, enum_column


class CampaignStatus(enum.StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    SENT = "sent"
    CANCELLED = "cancelled"
    # Stopped by the sender-reputation alarm (mailer.reputation): its unsent rows are
    # held until a recruiter resumes or cancels it.
    PAUSED = "paused"


class Campaign(Base):
    """A mass email to candidates who opted in to mass email."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    audience: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[CampaignStatus] = mapped_column(
        enum_column(CampaignStatus, "campaign_status"), default=CampaignStatus.DRAFT
    )
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("recruiter_users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    # Its subject and body in other languages; `subject` and `body` above are the
    # default, written in DEFAULT_LOCALE, for everyone whose language has none.
    variants: Mapped[list[CampaignVariant]] = relationship(
        back_populates="campaign",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="CampaignVariant.locale",
    )


class CampaignVariant(Base):
    """A campaign's subject and body in one language (mailer.campaign_admin picks it).

    A recipient whose `Candidate.locale` matches `locale` (by language: "es-MX"
    gets "es") receives this subject and body instead of the campaign's default.
    """

    __tablename__ = "campaign_variants"
    __table_args__ = (UniqueConstraint("campaign_id", "locale"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    locale: Mapped[str] = mapped_column(String(35))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    campaign: Mapped[Campaign] = relationship(back_populates="variants")


class MessageKind(enum.StrEnum):
    """What caused a message; bulk kinds carry unsubscribe headers."""

    JOB_ALERT = "job_alert"
    CAMPAIGN = "campaign"
    CONFIRMATION = "confirmation"
    LOGIN_LINK = "login_link"
    WELCOME = "welcome"
    RESUME_NUDGE = "resume_nudge"
    ACCOUNT_DELETED = "account_deleted"
    INTEREST_MERGED = "interest_merged"
    # Asks whether to stay before the retention period ends (and its reminder).
    REPERMISSION = "repermission"
    # Tells the admins a webhook endpoint was disabled after failing for days.
    WEBHOOK_DISABLED = "webhook_disabled"

    @property
    def is_bulk(self) -> bool:
        return self in (MessageKind.JOB_ALERT, MessageKind.CAMPAIGN)


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    SKIPPED = "skipped"
    FAILED = "failed"
    # Out of the queue while its campaign is paused; back to pending on resume.
    HELD = "held"


class OutboxMessage(Base):
    """One email to send; rendered only at send time, so rows stay small."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        # The claim query: due pending rows, and expired leases of sending rows.
        Index("ix_outbox_messages_claim", "status", "next_attempt_at"),
        # A candidate's mail (and the ON DELETE CASCADE from candidates), and the
        # per-address caps: one candidate's recent rows of some kinds (mailer.outbox).
        Index("ix_outbox_messages_candidate_kind_created", "candidate_id", "kind", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Binary ("C") collation on PostgreSQL, so its unique index also serves prefix
    # LIKEs: a campaign's or an alert run's rows are picked by key prefix (reports,
    # cancelling). SQLite's default collation is binary already.
    dedupe_key: Mapped[str] = mapped_column(
        String(200).with_variant(String(200, collation="C"), "postgresql"), unique=True
    )
    kind: Mapped[MessageKind] = mapped_column(enum_column(MessageKind, "message_kind"))
    template: Mapped[str] = mapped_column(String(64))
    # CASCADE: mail queued for a candidate goes when the candidate row goes, so an
    # erased person is never mailed from a stale row.
    candidate_id: Mapped[int | None] = mapped_column(
        ForeignKey("candidates.id", ondelete="CASCADE")
    )
    to_address: Mapped[str] = mapped_column(String(320))
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[OutboxStatus] = mapped_column(
        enum_column(OutboxStatus, "outbox_status"), default=OutboxStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    deliver_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class BounceScore(Base):
    """An address's soft-bounce score, in the manner of Mailman's bounce scoring.

    Keyed by the same salted hash as suppressions, so no address is stored. Each
    soft bounce adds to `score` at most once a day; a bounce after more than the
    stale period starts it afresh; reaching the threshold suppresses the address.
    """

    __tablename__ = "bounce_scores"

    address_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    score: Mapped[float] = mapped_column(Float, default=0.0)
    # Soft bounces counted into the score since it last started afresh.
    bounces: Mapped[int] = mapped_column(Integer, default=0)
    last_bounce_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)


class BounceEvent(Base):
    """One classified delivery failure of one outbox row (`mailer.classify`).

    Written for every bounce, from a DSN or from the relay's answer at send time, so
    reports can count failures by kind, by receiving domain and by send, and the
    sender-reputation alarm can count policy rejections. One row per outbox row and
    category: reading the same DSN twice records it once.
    """

    __tablename__ = "bounce_events"
    __table_args__ = (UniqueConstraint("outbox_id", "category"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    outbox_id: Mapped[int] = mapped_column(
        ForeignKey("outbox_messages.id", ondelete="CASCADE"), index=True
    )
    category: Mapped[BounceCategory] = mapped_column(enum_column(BounceCategory, "bounce_category"))
    # The receiving domain (the part after @ of the recipient), never the address.
    domain: Mapped[str] = mapped_column(String(255), index=True)
    status: Mapped[str] = mapped_column(String(16), default="")
    # The server's text, addresses in it reduced to their domain.
    diagnostic: Mapped[str] = mapped_column(String(200), default="")
    # "dsn" (a bounce message) or "smtp" (the relay's answer at send time).
    via: Mapped[str] = mapped_column(String(8))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now, index=True)


class SendAlarm(Base):
    """The sender-reputation alarm of one send (a campaign or an alert run).

    `send_key` is the send's dedupe-key prefix (`campaign:12:`, `alert-run:7:`).
    Rates are measured since the last resume: `base_policy` and `base_handed` are
    the counts at that moment, so a resumed campaign starts a fresh sample.
    """

    __tablename__ = "send_alarms"

    send_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Policy rejections and messages handed to the relay when the alarm last rose.
    policy: Mapped[int] = mapped_column(Integer, default=0)
    handed: Mapped[int] = mapped_column(Integer, default=0)
    base_policy: Mapped[int] = mapped_column(Integer, default=0)
    base_handed: Mapped[int] = mapped_column(Integer, default=0)
