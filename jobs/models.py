"""Job postings, alert schedules, alert runs and digest items."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    DDL,
    Column,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from jobs.posting_fields import EmploymentType, SalaryPeriod, Workplace
from jobs.search_ddl import postgresql_create, postgresql_drop, sqlite_create, sqlite_drop
from preferences.clock import now
from preferences.db import Base, UTCDateTime, enum_column
from preferences.models import Interest

job_interests = Table(
    "job_interests",
    Base.metadata,
    Column("job_id", ForeignKey("job_postings.id", ondelete="CASCADE"), primary_key=True),
    Column("interest_id", ForeignKey("interests.id", ondelete="CASCADE"), primary_key=True),
    # The matcher walks from an interest to its jobs; job search counts an interest's open
    # postings as the range of its newest job ids.
    Index("ix_job_interests_interest_jobs", "interest_id", "job_id"),
)

schedule_interests = Table(
    "alert_schedule_interests",
    Base.metadata,
    Column("schedule_id", ForeignKey("alert_schedules.id", ondelete="CASCADE"), primary_key=True),
    Column("interest_id", ForeignKey("interests.id", ondelete="CASCADE"), primary_key=True),
)


class JobPosting(Base):
    """An open (or closed) position shown on the career portal."""

    __tablename__ = "job_postings"
    __table_args__ = (
        Index("ix_job_postings_open", "closed_at", "posted_at"),
        # The lowest open id, where a keyword search starts reading the full-text matches.
        Index("ix_job_postings_open_ids", "closed_at", "id"),
        # Job search (jobs.search) reads open postings and their facts from these two
        # indexes alone, never from the wide rows: newest first from the first, in the order
        # its counts group them from the second.
        Index(
            "ix_job_postings_open_facts",
            "closed_at",
            "posted_at",
            "workplace",
            "employment_type",
            "location",
            "id",
        ),
        Index(
            "ix_job_postings_open_groups",
            "closed_at",
            "workplace",
            "employment_type",
            "location",
            "posted_at",
            "id",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    location: Mapped[str] = mapped_column(String(200), default="")
    apply_url: Mapped[str] = mapped_column(String(1000))
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    # When the posting stops being open: a recruiter's close, or else valid_through.
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now, onupdate=now)
    # What people filter on (jobs.posting_fields); all optional.
    employment_type: Mapped[EmploymentType | None] = mapped_column(
        enum_column(EmploymentType, "employment_type")
    )
    workplace: Mapped[Workplace | None] = mapped_column(enum_column(Workplace, "workplace"))
    department: Mapped[str] = mapped_column(String(120), default="", server_default="")
    salary_min: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    salary_max: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    salary_currency: Mapped[str | None] = mapped_column(String(3))
    salary_period: Mapped[SalaryPeriod | None] = mapped_column(
        enum_column(SalaryPeriod, "salary_period")
    )
    valid_through: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # BCP 47; None: the company's language (DEFAULT_LOCALE).
    language: Mapped[str | None] = mapped_column(String(35))

    interests: Mapped[list[Interest]] = relationship(
        secondary=job_interests, order_by=Interest.position
    )

    @property
    def is_open(self) -> bool:
        """Published (posted_at has come) and not closed."""
        at = now()
        return self.posted_at <= at and (self.closed_at is None or self.closed_at > at)


def _listen_ddl(when: str, statements: list[str], dialect: str) -> None:
    for statement in statements:
        # DDL() formats its text with %, so a literal % must be doubled.
        ddl = DDL(statement.replace("%", "%%")).execute_if(dialect=dialect)
        event.listen(JobPosting.__table__, when, ddl)


# The search index (jobs.search_ddl) has no model; `create_all` builds it as migration 0014 does.
_listen_ddl("after_create", sqlite_create(), "sqlite")
_listen_ddl("after_create", postgresql_create(), "postgresql")
_listen_ddl("before_drop", sqlite_drop(), "sqlite")
_listen_ddl("before_drop", postgresql_drop(), "postgresql")


class FrequencyClass(enum.StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    BOTH = "both"


class AlertSchedule(Base):
    """When to send interest-matched job-alert digests, and to whom."""

    __tablename__ = "alert_schedules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    all_interests: Mapped[bool] = mapped_column(default=True)
    frequency_class: Mapped[FrequencyClass] = mapped_column(
        enum_column(FrequencyClass, "frequency_class"), default=FrequencyClass.DAILY
    )
    # A five-field cron expression; "daily at 08:00" is stored as "0 8 * * *".
    cron: Mapped[str] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now, onupdate=now)

    interests: Mapped[list[Interest]] = relationship(secondary=schedule_interests)


class AlertRunStatus(enum.StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class AlertRun(Base):
    """One firing of an alert schedule and what it produced."""

    __tablename__ = "alert_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    schedule_id: Mapped[int | None] = mapped_column(
        ForeignKey("alert_schedules.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[AlertRunStatus] = mapped_column(
        enum_column(AlertRunStatus, "alert_run_status"), default=AlertRunStatus.RUNNING
    )
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    candidates_matched: Mapped[int] = mapped_column(Integer, default=0)
    digests_queued: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    # Why a run that matched nobody queued nothing, with counts (`jobs.alerts`).
    explanation: Mapped[str] = mapped_column(Text, default="", server_default="")


class DigestItem(Base):
    """A job sent (or queued) to a candidate; unique per pair, so alerts are idempotent."""

    __tablename__ = "digest_items"
    __table_args__ = (UniqueConstraint("candidate_id", "job_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id", ondelete="CASCADE"))
    job_id: Mapped[int] = mapped_column(
        ForeignKey("job_postings.id", ondelete="CASCADE"), index=True
    )
    alert_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("alert_runs.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
