"""Job feeds from applicant tracking systems: the feeds, their interest rules, their syncs,
and which posting each feed's external id became."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from jobs.models import JobPosting
from preferences.clock import now
from preferences.db import Base, UTCDateTime, enum_column
from preferences.models import Interest


class FeedKind(enum.StrEnum):
    GREENHOUSE = "greenhouse"
    LEVER = "lever"
    JSON = "json"
    CSV = "csv"


class RuleField(enum.StrEnum):
    """What a rule looks at: the posting's department, its team, or a keyword in its text."""

    DEPARTMENT = "department"
    TEAM = "team"
    KEYWORD = "keyword"


class SyncStatus(enum.StrEnum):
    OK = "ok"
    NOT_MODIFIED = "not_modified"
    FAILED = "failed"


class Feed(Base):
    """One source of postings: an ATS job board or a JSON/CSV file at a URL."""

    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Lowercase letters, digits and hyphens; the prefix of its postings' references.
    name: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[FeedKind] = mapped_column(enum_column(FeedKind, "feed_kind"))
    url: Mapped[str] = mapped_column(String(1000))
    enabled: Mapped[bool] = mapped_column(default=True)
    interval_minutes: Mapped[int] = mapped_column(Integer, default=60)
    # Validators of the last response processed, sent back to get a 304 when unchanged.
    etag: Mapped[str | None] = mapped_column(String(200))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)

    rules: Mapped[list[FeedRule]] = relationship(
        back_populates="feed", cascade="all, delete-orphan", order_by="FeedRule.id"
    )

    @property
    def failing(self) -> bool:
        """Three failed syncs in a row (and no success since)."""
        return self.consecutive_failures >= FAILING_AFTER


FAILING_AFTER = 3


class FeedRule(Base):
    """Postings of the feed whose department, team or text matches `value` get `interest`."""

    __tablename__ = "feed_rules"
    __table_args__ = (UniqueConstraint("feed_id", "field", "value", "interest_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"))
    field: Mapped[RuleField] = mapped_column(enum_column(RuleField, "feed_rule_field"))
    value: Mapped[str] = mapped_column(String(120))
    interest_id: Mapped[int] = mapped_column(ForeignKey("interests.id", ondelete="CASCADE"))

    feed: Mapped[Feed] = relationship(back_populates="rules")
    interest: Mapped[Interest] = relationship()


class FeedSync(Base):
    """One sync of a feed and its report."""

    __tablename__ = "feed_syncs"
    __table_args__ = (Index("ix_feed_syncs_feed_started", "feed_id", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[SyncStatus] = mapped_column(enum_column(SyncStatus, "feed_sync_status"))
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    closed: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    # [[where ("id 123" or "line 4"), reason], ...]
    rejected: Mapped[list[Any]] = mapped_column(JSON, default=list)
    error: Mapped[str] = mapped_column(Text, default="")


class FeedPosting(Base):
    """The posting a feed's external id became; (feed, external id) is unique."""

    __tablename__ = "feed_postings"
    __table_args__ = (UniqueConstraint("feed_id", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(100))
    job_id: Mapped[int] = mapped_column(
        ForeignKey("job_postings.id", ondelete="CASCADE"), unique=True
    )
    # Set when the posting left the feed and the sync closed it; cleared if it comes back.
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    job: Mapped[JobPosting] = relationship()
