"""Core models: candidates, interests, subscriptions, consent and suppressions."""

from __future__ import annotations

import enum
import re
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from preferences.clock import now
from preferences.db import Base, UTCDateTime, enum_column
from preferences.errors import AppendOnlyViolation


def new_public_id() -> str:
    """Return an unguessable identifier that is safe to put in links."""
    return secrets.token_urlsafe(16)


# A resume file's name in the upload folder (`Resume.storage_name`): 32 lowercase hex
# digits, which can never climb out of that folder.
_RESUME_STORAGE_NAME = re.compile(r"[0-9a-f]{32}")


def new_resume_storage_name() -> str:
    """Return a random name to store a resume file under."""
    return secrets.token_hex(16)


def is_resume_storage_name(name: object) -> bool:
    """Whether `name` has the shape `new_resume_storage_name` gives, so is safe as a file name."""
    return isinstance(name, str) and _RESUME_STORAGE_NAME.fullmatch(name) is not None


class CandidateStatus(enum.StrEnum):
    ACTIVE = "active"
    DELETED = "deleted"


class InterestStatus(enum.StrEnum):
    ACTIVE = "active"
    RETIRED = "retired"


class SubscriptionStatus(enum.StrEnum):
    UNCONFIRMED = "unconfirmed"
    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"


class Frequency(enum.StrEnum):
    INSTANT = "instant"
    DAILY = "daily"
    WEEKLY = "weekly"


class MassEmail(enum.StrEnum):
    OPTED_IN = "opted_in"
    OPTED_OUT = "opted_out"


class ConsentScope(enum.StrEnum):
    INTEREST = "interest"
    MASS_EMAIL = "mass_email"
    SAVED_SEARCH = "saved_search"
    # Staying in the talent pool when asked before the retention period ends.
    RETENTION = "retention"


class ConsentAction(enum.StrEnum):
    GRANT = "grant"
    CONFIRM = "confirm"
    CHANGE = "change"
    WITHDRAW = "withdraw"


class ConsentSource(enum.StrEnum):
    CONNECT_FORM = "connect_form"
    PREFERENCE_CENTER = "preference_center"
    ONE_CLICK = "one_click"
    DASHBOARD = "dashboard"
    ADMIN = "admin"
    BOUNCE = "bounce"
    COMPLAINT = "complaint"
    IMPORT = "import"
    # The "Keep me" button of a re-permission email (preferences.retention).
    REPERMISSION = "repermission"
    # A change made through the REST API on the candidate's behalf (the token's name in
    # the event's detail).
    API = "api"


class SuppressionReason(enum.StrEnum):
    HARD_BOUNCE = "hard_bounce"
    COMPLAINT = "complaint"
    MANUAL = "manual"
    ERASURE = "erasure"
    # Anonymized when the retention period ended unanswered; the person may join again
    # themselves, but no import or recruiter may add them back.
    RETENTION_EXPIRED = "retention_expired"


class ResumeSource(enum.StrEnum):
    UPLOAD = "upload"
    DRIVE = "drive"
    DROPBOX = "dropbox"


class Candidate(Base):
    """A person in the talent community."""

    __tablename__ = "candidates"
    __table_args__ = (
        # The retention run: active candidates by last activity.
        Index("ix_candidates_status_last_active", "status", "last_active_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    first_name: Mapped[str] = mapped_column(String(100), default="")
    last_name: Mapped[str] = mapped_column(String(100), default="")
    phone_e164: Mapped[str | None] = mapped_column(String(20))
    location: Mapped[str | None] = mapped_column(String(200))
    linkedin_url: Mapped[str | None] = mapped_column(String(500))
    github_url: Mapped[str | None] = mapped_column(String(500))
    portfolio_url: Mapped[str | None] = mapped_column(String(500))
    locale: Mapped[str] = mapped_column(String(35), default="en")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    token_version: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[CandidateStatus] = mapped_column(
        enum_column(CandidateStatus, "candidate_status"), default=CandidateStatus.ACTIVE
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now, onupdate=now)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the person last did something that shows they want to be here (joining,
    # confirming, signing in, saving preferences, answering a re-permission email...);
    # retention counts from it. Opening mail or a one-click unsubscribe never moves it.
    last_active_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=now)
    # ISO 3166 alpha-2, from the phone's region or a stated location when either is known
    # (`preferences.countries`); picks a country's retention period.
    country: Mapped[str | None] = mapped_column(String(2))

    subscriptions: Mapped[list[Subscription]] = relationship(
        back_populates="candidate", cascade="all, delete-orphan"
    )
    mass_email: Mapped[MassEmailStatus | None] = relationship(
        back_populates="candidate", cascade="all, delete-orphan"
    )
    resumes: Mapped[list[Resume]] = relationship(
        back_populates="candidate", cascade="all, delete-orphan"
    )

    @property
    def display_name(self) -> str:
        full = f"{self.first_name} {self.last_name}".strip()
        return full or self.email


class Resume(Base):
    """An uploaded resume, stored under a random name outside the web root."""

    __tablename__ = "resumes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    candidate_id: Mapped[int] = mapped_column(
        ForeignKey("candidates.id", ondelete="CASCADE"), index=True
    )
    storage_name: Mapped[str] = mapped_column(String(64), unique=True)
    original_filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    parsed_fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    source: Mapped[ResumeSource] = mapped_column(
        enum_column(ResumeSource, "resume_source"), default=ResumeSource.UPLOAD
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)

    candidate: Mapped[Candidate] = relationship(back_populates="resumes")


class Interest(Base):
    """An area of interest candidates subscribe to and jobs are tagged with."""

    __tablename__ = "interests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    details: Mapped[str] = mapped_column(Text, default="")
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    position: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[InterestStatus] = mapped_column(
        enum_column(InterestStatus, "interest_status"), default=InterestStatus.ACTIVE
    )
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("interests.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)

    merged_into: Mapped[Interest | None] = relationship(remote_side=[id])


class InterestTranslation(Base):
    """An interest's name and details in one more language than the default.

    The default language's (DEFAULT_LOCALE's) are `Interest.name` and `Interest.details`;
    a row here holds another supported locale's, and a locale without one falls back to
    them. `details` may be empty: the default language's details are shown then.
    """

    __tablename__ = "interest_translations"
    __table_args__ = (
        UniqueConstraint("interest_id", "locale"),
        # A name is unique within its language, as `Interest.name` is within the default.
        UniqueConstraint("locale", "name"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    interest_id: Mapped[int] = mapped_column(ForeignKey("interests.id", ondelete="CASCADE"))
    locale: Mapped[str] = mapped_column(String(35))
    name: Mapped[str] = mapped_column(String(120))
    details: Mapped[str] = mapped_column(Text, default="")


class Subscription(Base):
    """A candidate's job-alert subscription to one interest."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        UniqueConstraint("candidate_id", "interest_id"),
        # Serves the alert matcher: subscribers of an interest by state and frequency.
        Index("ix_subscriptions_interest_status_frequency", "interest_id", "status", "frequency"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id", ondelete="CASCADE"))
    interest_id: Mapped[int] = mapped_column(ForeignKey("interests.id", ondelete="CASCADE"))
    status: Mapped[SubscriptionStatus] = mapped_column(
        enum_column(SubscriptionStatus, "subscription_status"),
        default=SubscriptionStatus.UNCONFIRMED,
    )
    frequency: Mapped[Frequency] = mapped_column(
        enum_column(Frequency, "alert_frequency"), default=Frequency.DAILY
    )
    paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now, onupdate=now)

    candidate: Mapped[Candidate] = relationship(back_populates="subscriptions")
    interest: Mapped[Interest] = relationship()


class SavedSearch(Base):
    """A candidate's job-alert subscription to a job search ("Email me jobs like this").

    It lives beside the interest subscriptions and follows their rules (status, frequency,
    pause, consent events). The search itself is plain data here; `jobs.search_criteria`
    reads and words it, and `jobs.alerts` matches it in SQL.
    """

    __tablename__ = "saved_searches"
    __table_args__ = (
        # One saved search per candidate and search; `jobs.search_criteria.criteria_key`.
        UniqueConstraint("candidate_id", "criteria_key"),
        Index("ix_saved_searches_status_frequency", "status", "frequency"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id", ondelete="CASCADE"))
    criteria_key: Mapped[str] = mapped_column(String(64))
    query: Mapped[str] = mapped_column(String(200), default="")
    location: Mapped[str] = mapped_column(String(120), default="")
    # A `jobs.posting_fields.Workplace` / `EmploymentType` value, or None for any.
    workplace: Mapped[str | None] = mapped_column(String(20))
    employment_type: Mapped[str | None] = mapped_column(String(20))
    interest_id: Mapped[int | None] = mapped_column(
        ForeignKey("interests.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[SubscriptionStatus] = mapped_column(
        enum_column(SubscriptionStatus, "subscription_status"),
        default=SubscriptionStatus.UNCONFIRMED,
    )
    frequency: Mapped[Frequency] = mapped_column(
        enum_column(Frequency, "alert_frequency"), default=Frequency.DAILY
    )
    paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now, onupdate=now)

    interest: Mapped[Interest | None] = relationship()


class MassEmailStatus(Base):
    """A candidate's opt-in to mass email, kept apart from interest alerts."""

    __tablename__ = "mass_email_statuses"

    candidate_id: Mapped[int] = mapped_column(
        ForeignKey("candidates.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[MassEmail] = mapped_column(
        enum_column(MassEmail, "mass_email_status"), default=MassEmail.OPTED_OUT
    )
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now, onupdate=now)

    candidate: Mapped[Candidate] = relationship(back_populates="mass_email")


class ConsentEvent(Base):
    """One grant, confirmation, change or withdrawal of consent. Append only."""

    __tablename__ = "consent_events"
    __table_args__ = (Index("ix_consent_events_candidate_occurred", "candidate_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id", ondelete="CASCADE"))
    scope: Mapped[ConsentScope] = mapped_column(enum_column(ConsentScope, "consent_scope"))
    interest_id: Mapped[int | None] = mapped_column(
        ForeignKey("interests.id", ondelete="SET NULL"), index=True
    )
    # SAVED_SEARCH events; the search's words are kept in `detail`, so the record still
    # reads after the saved search is deleted.
    saved_search_id: Mapped[int | None] = mapped_column(
        ForeignKey("saved_searches.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[ConsentAction] = mapped_column(enum_column(ConsentAction, "consent_action"))
    source: Mapped[ConsentSource] = mapped_column(enum_column(ConsentSource, "consent_source"))
    wording_version: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ip_address: Mapped[str | None] = mapped_column(String(45))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)


@event.listens_for(ConsentEvent, "before_update")
def _refuse_consent_update(_mapper: Any, _conn: Any, target: ConsentEvent) -> None:
    raise AppendOnlyViolation(f"consent event {target.id} is append-only")


@event.listens_for(ConsentEvent, "before_delete")
def _refuse_consent_delete(_mapper: Any, _conn: Any, target: ConsentEvent) -> None:
    raise AppendOnlyViolation(f"consent event {target.id} is append-only")


class Suppression(Base):
    """An address that must never be mailed again, stored only as a hash."""

    __tablename__ = "suppressions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    address_hash: Mapped[str] = mapped_column(String(64), unique=True)
    reason: Mapped[SuppressionReason] = mapped_column(
        enum_column(SuppressionReason, "suppression_reason")
    )
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)


class ConsentWording(Base):
    """One version of a consent text, exactly as shown, in one language. Never changed.

    A changed text (new words, a new company name, a new translation) is a new row with a
    new `version`; consent events name the version they were given under
    (`ConsentEvent.wording_version`), so the words a person agreed to can always be shown.
    """

    __tablename__ = "consent_wordings"
    __table_args__ = (UniqueConstraint("kind", "locale", "sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # "<kind>.<locale>.<n>", n counting the versions of that kind and language from 1.
    version: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    locale: Mapped[str] = mapped_column(String(35))
    text: Mapped[str] = mapped_column(Text)
    # SHA-256 of the text's UTF-8 bytes.
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)


@event.listens_for(ConsentWording, "before_update")
def _refuse_wording_update(_mapper: Any, _conn: Any, target: ConsentWording) -> None:
    raise AppendOnlyViolation(f"consent wording {target.version} is never rewritten")


class LegalHold(Base):
    """A recruiter's hold on a candidate: while it stands, retention never expires them."""

    __tablename__ = "legal_holds"
    __table_args__ = (Index("ix_legal_holds_candidate_released", "candidate_id", "released_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(Text)
    placed_by: Mapped[int | None] = mapped_column(
        ForeignKey("recruiter_users.id", ondelete="SET NULL")
    )
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    released_by: Mapped[int | None] = mapped_column(
        ForeignKey("recruiter_users.id", ondelete="SET NULL")
    )
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class NoticeKind(enum.StrEnum):
    REPERMISSION = "repermission"
    REMINDER = "reminder"


class RetentionNotice(Base):
    """A re-permission email (or its reminder) queued for one expiry of one candidate.

    `based_on` is the `last_active_at` the expiry was counted from: unique with the
    candidate and kind, so a run repeated or resumed never asks twice for one expiry,
    and activity since (a new `last_active_at`) starts a new expiry. Rows stay after
    anonymization (they hold no personal data) so the monthly figures keep their numbers.
    """

    __tablename__ = "retention_notices"
    __table_args__ = (
        UniqueConstraint("candidate_id", "kind", "based_on"),
        # Open notices by expiry (reminders, anonymization): answered and expired ones,
        # which pile up over the years, are not in it.
        Index(
            "ix_retention_notices_open",
            "kind",
            "expires_at",
            postgresql_where=text("answered_at IS NULL AND expired_at IS NULL"),
            sqlite_where=text("answered_at IS NULL AND expired_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id", ondelete="CASCADE"))
    kind: Mapped[NoticeKind] = mapped_column(enum_column(NoticeKind, "notice_kind"))
    based_on: Mapped[datetime] = mapped_column(UTCDateTime())
    # When the candidate is anonymized if they do not answer.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RetentionRun(Base):
    """One run of the retention job, with what it did (or, dry, would do)."""

    __tablename__ = "retention_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    dry_run: Mapped[bool] = mapped_column(default=False)
    # "cli", "scheduler".
    trigger: Mapped[str] = mapped_column(String(32), default="cli")
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)


class RecruiterRole(enum.StrEnum):
    ADMIN = "admin"
    RECRUITER = "recruiter"


class RecruiterUser(Base):
    """A member of the company's recruiting team who signs in to the console."""

    __tablename__ = "recruiter_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[RecruiterRole] = mapped_column(
        enum_column(RecruiterRole, "recruiter_role"), default=RecruiterRole.RECRUITER
    )
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class HashSalt(Base):
    """A random per-installation salt, one row per purpose, made once and never changed.

    It lives in the database, not in the settings, so it survives secret-key
    rotation: changing it would orphan every hash made with it.
    """

    __tablename__ = "hash_salts"

    purpose: Mapped[str] = mapped_column(String(32), primary_key=True)
    salt: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)


class AuditEvent(Base):
    """Who did what to whom, for privacy-relevant actions. Append only; no personal data."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_subject_occurred", "subject", "occurred_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now, index=True)
    # "candidate", "system" or "recruiter:<id>".
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    # An opaque identifier such as a candidate's public_id; never an address.
    subject: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


@event.listens_for(AuditEvent, "before_update")
def _refuse_audit_update(_mapper: Any, _conn: Any, target: AuditEvent) -> None:
    raise AppendOnlyViolation(f"audit event {target.id} is append-only")


@event.listens_for(AuditEvent, "before_delete")
def _refuse_audit_delete(_mapper: Any, _conn: Any, target: AuditEvent) -> None:
    raise AppendOnlyViolation(f"audit event {target.id} is append-only")


class LoginSession(Base):
    """One signed-in browser: the cookie holds a random id whose SHA-256 is `id_hash`.

    A session belongs to a candidate or to a recruiter, never both. Signing out sets
    `ended_at`, so a copy of the cookie stops working too (see `preferences.sessions`).
    """

    __tablename__ = "login_sessions"
    __table_args__ = (
        CheckConstraint("(candidate_id IS NULL) <> (recruiter_id IS NULL)", name="one_principal"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    id_hash: Mapped[str] = mapped_column(String(64), unique=True)
    candidate_id: Mapped[int | None] = mapped_column(
        ForeignKey("candidates.id", ondelete="CASCADE"), index=True
    )
    recruiter_id: Mapped[int | None] = mapped_column(
        ForeignKey("recruiter_users.id", ondelete="CASCADE"), index=True
    )
    # The candidate's token_version at sign-in: "sign me out everywhere" bumps it.
    token_version: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    # When an emailed sign-in link started this session (it may then set a password).
    link_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
