"""The retention run: re-permission emails, reminders and anonymization, once a day.

Each run, at `now()`:

1. **Ask:** every active candidate without a legal hold whose policy expiry falls
   within REPERMISSION_DAYS, and who has no re-permission notice for their current
   `last_active_at`, gets a `RetentionNotice` and a re-permission email. The notice's
   `expires_at` is the later of the policy's expiry and REPERMISSION_DAYS from now,
   so nobody is anonymized without having had that long to answer.
2. **Remind:** an unanswered notice within `reminder_days` of its expiry, at least a
   day old, gets one reminder (a notice of kind REMINDER and a second email).
3. **Anonymize:** an unanswered notice whose expiry has passed, of a candidate still
   inactive since it (same `last_active_at`) and not on hold, anonymizes the
   candidate as an erasure does (`preferences.privacy.erase_candidates`), with the
   address suppressed for `retention_expired`, an audit event per candidate, and the
   notices marked expired.

Everything is selected in SQL and written in chunks, one transaction per chunk, so
memory stays bounded by the chunk size and a crash loses at most the chunk in
flight. Runs are idempotent: the notices' unique (candidate, kind, based_on), the
outbox's dedupe keys and the "not yet" conditions of each step mean a repeated or
resumed run neither asks twice for one expiry nor anonymizes anyone twice. A dry run
counts what each step would do and writes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from typing import cast as typed

from sqlalchemy import String, Table, and_, cast, func, insert, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from mailer.config import MailSettings
from mailer.links import signed_link
from mailer.models import MessageKind, OutboxMessage
from mailer.outbox import enqueue_select
from preferences.audit import ACTOR_SYSTEM, record_audit
from preferences.clock import now
from preferences.db import among
from preferences.models import (
    AuditEvent,
    Candidate,
    CandidateStatus,
    NoticeKind,
    RetentionNotice,
    RetentionRun,
    SuppressionReason,
)
from preferences.privacy import erase_candidates
from preferences.retention import RetentionPolicy, current_open_notice, on_hold
from preferences.tokens import LinkPurpose

log = logging.getLogger("mailer.retention")

TEMPLATE = "repermission"
# A retention email's outbox key: this, then its notice's id.
KEY_PREFIX = "retention:"
# Candidates handled per transaction.
CHUNK = 2000
# A reminder goes only for a notice at least this old (REPERMISSION_DAYS is at least 8).
REMINDER_MIN_AGE = timedelta(days=1)
# The run's steps, in order, as named in its counts and progress.
STEPS = ("repermission_queued", "reminders_queued", "anonymized")

_CANDIDATES = typed(Table, Candidate.__table__)
_NOTICES = typed(Table, RetentionNotice.__table__)
_RUNS = typed(Table, RetentionRun.__table__)
_AUDIT = typed(Table, AuditEvent.__table__)

# (step, done, total): called after each chunk.
OnProgress = Callable[[str, int, int], None]


@dataclass
class RunReport:
    """What a run did (or, dry, would do)."""

    at: datetime
    dry_run: bool
    run_id: int | None = None
    counts: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        verb = "would queue" if self.dry_run else "queued"
        return (
            f"{verb} {self.counts.get('repermission_queued', 0)} re-permission emails and "
            f"{self.counts.get('reminders_queued', 0)} reminders; "
            f"{'would anonymize' if self.dry_run else 'anonymized'} "
            f"{self.counts.get('anonymized', 0)}; "
            f"{self.counts.get('held', 0)} past expiry held by a legal hold"
        )


def _active() -> Any:
    return _CANDIDATES.c.status == CandidateStatus.ACTIVE


def _asked_for_current_expiry(kind: NoticeKind) -> Any:
    """SQL: the candidate has a notice of `kind` for their current last activity."""
    # An alias: the enclosing query may select from the notices too.
    asked = _NOTICES.alias("asked")
    return (
        select(asked.c.id)
        .where(
            asked.c.candidate_id == _CANDIDATES.c.id,
            asked.c.kind == kind,
            asked.c.based_on == _CANDIDATES.c.last_active_at,
        )
        .exists()
    )


def _due_to_ask(policy: RetentionPolicy, at: datetime) -> Any:
    return and_(
        _active(),
        _CANDIDATES.c.last_active_at.is_not(None),
        policy.expired_by(at + timedelta(days=policy.repermission_days)),
        ~on_hold(),
        ~_asked_for_current_expiry(NoticeKind.REPERMISSION),
    )


def _open_notices(at_most: datetime) -> Any:
    """SQL: unanswered re-permission notices for the current expiry, expiring by `at_most`."""
    return and_(current_open_notice(), _NOTICES.c.expires_at <= at_most, _active(), ~on_hold())


def _due_to_remind(policy: RetentionPolicy, at: datetime) -> Any:
    return and_(
        _open_notices(at + timedelta(days=policy.reminder_days)),
        _NOTICES.c.expires_at > at,
        _NOTICES.c.queued_at <= at - REMINDER_MIN_AGE,
        ~_asked_for_current_expiry(NoticeKind.REMINDER),
    )


def _due_to_expire(at: datetime) -> Any:
    return _open_notices(at)


def _held_past_expiry(policy: RetentionPolicy, at: datetime) -> Any:
    return and_(_active(), policy.expired_by(at), on_hold())


def _count(session: Session, condition: Any, *, notices: bool = False) -> int:
    query = select(func.count()).select_from(_CANDIDATES)
    if notices:
        query = (
            select(func.count())
            .select_from(_NOTICES)
            .join(_CANDIDATES, _CANDIDATES.c.id == _NOTICES.c.candidate_id)
        )
    return int(session.scalar(query.where(condition)) or 0)


def _queue_mail(session: Session, kind: NoticeKind, at: datetime, rows: Sequence[Any]) -> None:
    """Queue the email of each notice of `kind` this run just made for `rows` (in SQL).

    The key names the notice, so one notice is one email however often a run repeats;
    the context is made at send time (`retention_context`).
    """
    if not rows:
        return
    enqueue_select(
        session,
        select(
            literal(KEY_PREFIX) + cast(_NOTICES.c.id, String),
            _CANDIDATES.c.id,
            _CANDIDATES.c.email,
        )
        .select_from(_NOTICES)
        .join(_CANDIDATES, _CANDIDATES.c.id == _NOTICES.c.candidate_id)
        .where(
            _NOTICES.c.kind == kind,
            _NOTICES.c.queued_at == at,
            _NOTICES.c.candidate_id.between(rows[0].id, rows[-1].id),
        ),
        kind=MessageKind.REPERMISSION,
        template=TEMPLATE,
    )


def _insert_notices(session: Session, notices: list[dict[str, Any]]) -> None:
    """Insert notices, skipping any a concurrent run made first (the unique key holds).

    No RETURNING: a plain executemany is pipelined by psycopg and parsed once, where a
    multi-row statement with thousands of parameters is parsed afresh every time. The
    mail each notice brings is keyed by the same expiry, so it is never queued twice.
    """
    if not notices:
        return
    dialect = session.get_bind().dialect.name
    upsert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = upsert(_NOTICES).on_conflict_do_nothing(
        index_elements=["candidate_id", "kind", "based_on"]
    )
    session.execute(stmt, notices)


_PERSON = (_CANDIDATES.c.id, _CANDIDATES.c.last_active_at, _CANDIDATES.c.country)


def _ask_chunk(
    session: Session, policy: RetentionPolicy, at: datetime, after: int
) -> Sequence[Any]:
    rows = session.execute(
        select(*_PERSON)
        .where(_due_to_ask(policy, at), _CANDIDATES.c.id > after)
        .order_by(_CANDIDATES.c.id)
        .limit(CHUNK)
    ).all()
    if not rows:
        return rows
    soonest = at + timedelta(days=policy.repermission_days)
    expiry = {row.id: max(policy.expiry(row.last_active_at, row.country), soonest) for row in rows}
    _insert_notices(
        session,
        [
            {
                "candidate_id": row.id,
                "kind": NoticeKind.REPERMISSION,
                "based_on": row.last_active_at,
                "expires_at": expiry[row.id],
                "queued_at": at,
            }
            for row in rows
        ],
    )
    _queue_mail(session, NoticeKind.REPERMISSION, at, rows)
    return rows


def _remind_chunk(
    session: Session, policy: RetentionPolicy, at: datetime, after: int
) -> Sequence[Any]:
    rows = session.execute(
        select(*_PERSON, _NOTICES.c.expires_at)
        .select_from(_NOTICES)
        .join(_CANDIDATES, _CANDIDATES.c.id == _NOTICES.c.candidate_id)
        .where(_due_to_remind(policy, at), _CANDIDATES.c.id > after)
        .order_by(_CANDIDATES.c.id)
        .limit(CHUNK)
    ).all()
    if not rows:
        return rows
    _insert_notices(
        session,
        [
            {
                "candidate_id": row.id,
                "kind": NoticeKind.REMINDER,
                "based_on": row.last_active_at,
                "expires_at": row.expires_at,
                "queued_at": at,
            }
            for row in rows
        ],
    )
    _queue_mail(session, NoticeKind.REMINDER, at, rows)
    return rows


def _expire_chunk(
    session: Session, at: datetime, upload_dir: Path, run_id: int | None
) -> Sequence[Any]:
    rows = session.execute(
        select(_CANDIDATES.c.id, _CANDIDATES.c.public_id, _CANDIDATES.c.last_active_at)
        .select_from(_NOTICES)
        .join(_CANDIDATES, _CANDIDATES.c.id == _NOTICES.c.candidate_id)
        .where(_due_to_expire(at))
        # The open notices' index order: each chunk's rows leave the set it reads.
        .order_by(_NOTICES.c.expires_at)
        .limit(CHUNK)
    ).all()
    if not rows:
        return rows
    ids = [row.id for row in rows]
    session.execute(
        update(_NOTICES)
        .where(
            _NOTICES.c.candidate_id.in_(ids),
            _NOTICES.c.expired_at.is_(None),
            _NOTICES.c.answered_at.is_(None),
        )
        .values(expired_at=at)
    )
    erase_candidates(
        session, ids, upload_dir=upload_dir, reason=SuppressionReason.RETENTION_EXPIRED
    )
    detail = {"reason": SuppressionReason.RETENTION_EXPIRED.value, "run": run_id}
    session.execute(
        insert(_AUDIT),
        [
            {
                "occurred_at": at,
                "actor": ACTOR_SYSTEM,
                "action": "candidate.anonymized",
                "subject": row.public_id,
                "detail": detail,
            }
            for row in rows
        ],
    )
    return rows


def _fill_missing_activity(session: Session) -> None:
    """A row written without `last_active_at` (outside the ORM) counts from its creation."""
    session.execute(
        update(_CANDIDATES)
        .where(_CANDIDATES.c.last_active_at.is_(None), _active())
        .values(last_active_at=_CANDIDATES.c.created_at)
    )


def run_retention(
    session_factory: sessionmaker[Session],
    policy: RetentionPolicy,
    *,
    upload_dir: Path,
    dry_run: bool = False,
    trigger: str = "cli",
    on_progress: OnProgress | None = None,
) -> RunReport:
    """Run the three steps once (see the module docstring); returns the counts."""
    at = now()
    report = RunReport(at=at, dry_run=dry_run)
    with session_factory() as session:
        report.counts["held"] = _count(session, _held_past_expiry(policy, at))
        totals = {
            "repermission_queued": _count(session, _due_to_ask(policy, at)),
            "reminders_queued": _count(session, _due_to_remind(policy, at), notices=True),
            "anonymized": _count(session, _due_to_expire(at), notices=True),
        }
    if dry_run:
        report.counts.update(totals)
        log.info("retention dry run", extra={"at": at.isoformat(), **report.counts})
        return report

    with session_factory.begin() as session:
        run = RetentionRun(started_at=at, dry_run=False, trigger=trigger, counts={})
        session.add(run)
        session.flush()
        report.run_id = run.id
        _fill_missing_activity(session)
    try:
        _step(
            session_factory,
            report,
            "repermission_queued",
            totals,
            lambda s, after: _ask_chunk(s, policy, at, after),
            on_progress,
        )
        _step(
            session_factory,
            report,
            "reminders_queued",
            totals,
            lambda s, after: _remind_chunk(s, policy, at, after),
            on_progress,
        )
        _step(
            session_factory,
            report,
            "anonymized",
            totals,
            lambda s, _after: _expire_chunk(s, at, upload_dir, report.run_id),
            on_progress,
        )
    except Exception as error:
        _finish(session_factory, report, error=f"{type(error).__name__}: {error}")
        raise
    _finish(session_factory, report)
    log.info(
        "retention run finished",
        extra={"run": report.run_id, "at": at.isoformat(), **report.counts},
    )
    return report


def _step(
    session_factory: sessionmaker[Session],
    report: RunReport,
    step: str,
    totals: dict[str, int],
    chunk: Callable[[Session, int], Sequence[Any]],
    on_progress: OnProgress | None,
) -> None:
    """Run `chunk` until it finds nothing, one transaction each; ids only move forward."""
    done, after = 0, 0
    report.counts[step] = 0
    while True:
        with session_factory.begin() as session:
            rows = chunk(session, after)
        if not rows:
            break
        done += len(rows)
        after = rows[-1].id
        report.counts[step] = done
        if on_progress is not None:
            on_progress(step, done, max(done, totals.get(step, 0)))


def _finish(
    session_factory: sessionmaker[Session], report: RunReport, error: str | None = None
) -> None:
    with session_factory.begin() as session:
        session.execute(
            update(_RUNS)
            .where(_RUNS.c.id == report.run_id)
            .values(finished_at=now(), counts=dict(report.counts), error=error)
        )
        record_audit(
            session,
            actor=ACTOR_SYSTEM,
            action="retention.run",
            subject=f"retention-run-{report.run_id}",
            detail={"counts": dict(report.counts), **({"error": error} if error else {})},
        )


def ran_today(session: Session, at: datetime | None = None) -> bool:
    """Whether a (not dry) run finished since midnight UTC of `at`'s day."""
    moment = at or now()
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return (
        session.scalar(
            select(_RUNS.c.id)
            .where(
                _RUNS.c.dry_run.is_(False),
                _RUNS.c.started_at >= midnight,
                _RUNS.c.finished_at.is_not(None),
                _RUNS.c.error.is_(None),
            )
            .limit(1)
        )
        is not None
    )


def _notice_id(message: OutboxMessage) -> int | None:
    key = message.dedupe_key
    if not key.startswith(KEY_PREFIX) or not key[len(KEY_PREFIX) :].isdigit():
        return None
    return int(key[len(KEY_PREFIX) :])


def retention_context(
    session: Session, messages: Sequence[OutboxMessage], settings: MailSettings
) -> dict[int, dict[str, Any] | str]:
    """Send-time context of re-permission emails and reminders, for a batch at once.

    The links are made for the candidate as they are now; a notice answered, expired or
    overtaken by newer activity since it was queued means the email is skipped.
    Rows queued otherwise (a key that names no notice) keep their own context.
    """
    by_notice = {nid: m.id for m in messages if (nid := _notice_id(m)) is not None}
    if not by_notice:
        return {}
    rows = session.execute(
        select(
            _NOTICES.c.id,
            _NOTICES.c.kind,
            _NOTICES.c.based_on,
            _NOTICES.c.expires_at,
            _NOTICES.c.answered_at,
            _NOTICES.c.expired_at,
            _CANDIDATES.c.public_id,
            _CANDIDATES.c.token_version,
            _CANDIDATES.c.last_active_at,
        )
        .join(_CANDIDATES, _CANDIDATES.c.id == _NOTICES.c.candidate_id)
        .where(among(session, _NOTICES.c.id, by_notice))
    )
    found: dict[int, dict[str, Any] | str] = {
        message_id: "its retention notice no longer exists" for message_id in by_notice.values()
    }
    for row in rows:
        message_id = by_notice[row.id]
        if row.answered_at is not None:
            found[message_id] = "the candidate already answered"
        elif row.expired_at is not None:
            found[message_id] = "the retention period already ended"
        elif row.last_active_at != row.based_on:
            found[message_id] = "the candidate was active since it was queued"
        else:
            found[message_id] = {
                "keep_url": signed_link(LinkPurpose.STAY, "/stay/", row),
                "preferences_url": signed_link(LinkPurpose.PREFERENCES, "/preferences/", row),
                "expires_on": row.expires_at.date().isoformat(),
                "reminder": row.kind == NoticeKind.REMINDER,
            }
    return found
