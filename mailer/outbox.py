"""The outbox: queueing, claiming and recording the fate of email rows.

Rows are claimed in batches under a lease. On PostgreSQL the claim uses
`FOR UPDATE SKIP LOCKED`, so any number of workers share the queue; on SQLite
the single conditional UPDATE is atomic because SQLite has one writer.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Integer,
    Select,
    String,
    Table,
    and_,
    bindparam,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from mailer.models import MessageKind, OutboxMessage, OutboxStatus
from preferences.addresses import normalize_email
from preferences.clock import now
from preferences.db import UTCDateTime, among
from preferences.models import Candidate
from preferences.text import TextKind, scrub_text

log = logging.getLogger("mailer.outbox")

DEFAULT_DELIVER_WITHIN = timedelta(days=3)

# Mail that anyone can have sent to an address by typing it into a form: sign-in and
# preference links, and confirmations. Per-address caps count these kinds together.
VISITOR_MAIL_KINDS: tuple[MessageKind, ...] = (MessageKind.LOGIN_LINK, MessageKind.CONFIRMATION)


@dataclass(frozen=True)
class Hold:
    """A `ContextSource`'s answer for a row that must wait, not go or be skipped.

    The worker records the row as held: out of the queue, neither sent nor lost,
    until whatever holds it (a paused campaign) lets it go again.
    """

    reason: str


def enqueue(
    session: Session,
    *,
    kind: MessageKind,
    template: str,
    to_address: str,
    dedupe_key: str,
    candidate_id: int | None = None,
    context: dict[str, Any] | None = None,
    deliver_within: timedelta = DEFAULT_DELIVER_WITHIN,
) -> bool:
    """Queue one email in the caller's transaction. Returns False for a duplicate key.

    The same `dedupe_key` never queues twice, even when two processes race.
    """
    at = now()
    values = {
        "dedupe_key": dedupe_key,
        "kind": kind,
        "template": template,
        "to_address": normalize_email(to_address),
        "candidate_id": candidate_id,
        "context": context or {},
        "status": OutboxStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": at,
        "deliver_until": at + deliver_within,
        "last_error": "",
        "created_at": at,
    }
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        stmt: Any = pg_insert(OutboxMessage).values(values)
    elif dialect == "sqlite":
        stmt = sqlite_insert(OutboxMessage).values(values)
    else:  # pragma: no cover - only the two supported backends
        raise RuntimeError(f"unsupported database backend {dialect}")
    # RETURNING, not rowcount: for this ORM-enabled insert on PostgreSQL rowcount
    # reports 1 even when the conflict clause inserted nothing.
    stmt = stmt.on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(OutboxMessage.id)
    return session.execute(stmt).first() is not None


def enqueue_select(
    session: Session,
    rows: Select[*tuple[Any, ...]],
    *,
    kind: MessageKind,
    template: str,
    context: dict[str, Any] | None = None,
    deliver_within: timedelta = DEFAULT_DELIVER_WITHIN,
) -> int:
    """Queue one email per row of `rows` in one INSERT ... SELECT; returns how many.

    `rows` selects three columns, in order: the dedupe key, the candidate id and the
    (normalized) address; a key already queued is skipped. Every message gets the same
    `context`; what differs per message comes from its kind's send-time context source
    (`mailer.worker.ContextSource`). No row travels through Python, so a whole audience
    queues in SQL.
    """
    at = now()
    moment = UTCDateTime()
    source = rows.add_columns(
        literal(kind.value, String()),
        literal(template, String()),
        literal(context or {}, JSON()),
        literal(OutboxStatus.PENDING.value, String()),
        literal(0, Integer()),
        literal(at, moment),
        literal(at + deliver_within, moment),
        literal("", String()),
        literal(at, moment),
    )
    columns = [
        "dedupe_key",
        "candidate_id",
        "to_address",
        "kind",
        "template",
        "context",
        "status",
        "attempts",
        "next_attempt_at",
        "deliver_until",
        "last_error",
        "created_at",
    ]
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.flush()
    statement = (
        insert(_TABLE)
        .from_select(columns, source)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        # RETURNING, not rowcount: psycopg reports -1 for an INSERT ... SELECT.
        .returning(_TABLE.c.id)
    )
    return len(session.execute(statement).all())


@dataclass(frozen=True)
class MailCap:
    """At most `amount` messages to one address within any `window`."""

    amount: int
    window: timedelta


def recent_mail_query(
    candidate_id: int, kinds: Collection[MessageKind], since: Sequence[datetime]
) -> Select[*tuple[int, ...]]:
    """One count per time in `since`: the candidate's rows of `kinds` queued from then on.

    All counts come from one range scan of `ix_outbox_messages_candidate_kind_created`,
    bounded by the earliest time, so it costs the same with a million candidates.
    """
    created = OutboxMessage.created_at
    return select(*(func.count().filter(created >= at) for at in since)).where(
        OutboxMessage.candidate_id == candidate_id,
        OutboxMessage.kind.in_(list(kinds)),
        created >= min(since),
    )


def under_caps(
    session: Session,
    candidate_id: int,
    caps: Sequence[MailCap],
    kinds: Collection[MessageKind] = VISITOR_MAIL_KINDS,
) -> bool:
    """Whether one more message of `kinds` to the candidate stays within every cap.

    Rows count from when they were queued, whatever became of them. On PostgreSQL
    the candidate's row is locked first, so two requests at once cannot both take
    the last place (SQLite has one writer already).
    """
    if not caps:
        return True
    session.execute(select(Candidate.id).where(Candidate.id == candidate_id).with_for_update())
    at = now()
    counts = session.execute(
        recent_mail_query(candidate_id, kinds, [at - cap.window for cap in caps])
    ).one()
    return all(count < cap.amount for count, cap in zip(counts, caps, strict=True))


def enqueue_capped(
    session: Session,
    caps: Sequence[MailCap],
    *,
    kind: MessageKind,
    template: str,
    to_address: str,
    dedupe_key: str,
    candidate_id: int,
    context: dict[str, Any] | None = None,
) -> bool:
    """`enqueue` mail a visitor asked for, unless the address has had its cap of such mail.

    Returns whether a row was queued. Past a cap nothing is queued and only a log
    line tells; the caller answers the visitor the same either way.
    """
    if not under_caps(session, candidate_id, caps):
        log.info(
            "address mail cap reached",
            extra={"candidate_id": candidate_id, "template": template},
        )
        return False
    return enqueue(
        session,
        kind=kind,
        template=template,
        to_address=to_address,
        dedupe_key=dedupe_key,
        candidate_id=candidate_id,
        context=context,
    )


def _claimable(at: datetime) -> Any:
    return or_(
        and_(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= at),
        and_(
            OutboxMessage.status == OutboxStatus.SENDING,
            OutboxMessage.lease_expires_at < at,
        ),
    )


def claim_batch(
    session: Session, owner: str, *, limit: int, lease: timedelta
) -> list[OutboxMessage]:
    """Lease up to `limit` due rows to `owner` and return them.

    A row whose lease expired (its worker died) is claimable again; this is
    the at-least-once window documented in docs/ARCHITECTURE.md.
    """
    at = now()
    # Lock the ids first, then update exactly those. As one statement,
    # `UPDATE … WHERE id IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)`, PostgreSQL
    # may re-run the subquery per row (nested-loop semi join), skip the rows it just
    # updated, and so lease far more than `limit` rows.
    ids = list(
        session.scalars(
            select(OutboxMessage.id)
            .where(_claimable(at))
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if not ids:
        return []
    # The leased rows come back whole from RETURNING: no second read.
    claimed = session.scalars(
        update(OutboxMessage)
        .where(among(session, OutboxMessage.id, ids), _claimable(at))
        .values(
            status=OutboxStatus.SENDING,
            lease_owner=owner,
            lease_expires_at=at + lease,
            attempts=OutboxMessage.attempts + 1,
        )
        .returning(OutboxMessage)
        .execution_options(synchronize_session=False, populate_existing=True)
    ).all()
    return sorted(claimed, key=lambda row: row.id)


def _finish(session: Session, row_id: int, owner: str, **values: Any) -> bool:
    if "last_error" in values:
        values["last_error"] = scrub_text(values["last_error"], TextKind.TEXT)
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == row_id,
            OutboxMessage.lease_owner == owner,
            OutboxMessage.status == OutboxStatus.SENDING,
        )
        .values(lease_owner=None, lease_expires_at=None, **values)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def mark_sent(session: Session, message_id: int, owner: str, smtp_message_id: str) -> bool:
    """Record a delivered row. Returns False if the lease was lost meanwhile."""
    return _finish(
        session,
        message_id,
        owner,
        status=OutboxStatus.SENT,
        sent_at=now(),
        message_id=smtp_message_id,
        last_error="",
    )


def mark_skipped(session: Session, message_id: int, owner: str, reason: str) -> bool:
    """Record a row not sent because the recipient may no longer get it."""
    return _finish(session, message_id, owner, status=OutboxStatus.SKIPPED, last_error=reason)


def mark_failed(session: Session, message_id: int, owner: str, error: str) -> bool:
    """Record a permanent failure."""
    return _finish(session, message_id, owner, status=OutboxStatus.FAILED, last_error=error)


def mark_retry(
    session: Session, message_id: int, owner: str, error: str, *, retry_at: datetime
) -> bool:
    """Put a row back in the queue for another attempt at `retry_at`."""
    return _finish(
        session,
        message_id,
        owner,
        status=OutboxStatus.PENDING,
        next_attempt_at=retry_at,
        last_error=error,
    )


@dataclass(frozen=True)
class Outcome:
    """The fate of one leased row, recorded with the rest of its batch by `record_outcomes`."""

    id: int
    status: OutboxStatus
    next_attempt_at: datetime
    last_error: str = ""
    message_id: str | None = None
    sent_at: datetime | None = None
    # Replaces the stored address, e.g. after the farewell to an erased candidate.
    to_address: str | None = None


_TABLE = cast(Table, OutboxMessage.__table__)
_RECORD = (
    _TABLE.update()
    .where(
        _TABLE.c.id == bindparam("b_id"),
        _TABLE.c.lease_owner == bindparam("b_owner"),
        _TABLE.c.status == OutboxStatus.SENDING,
    )
    .values(
        status=bindparam("b_status"),
        next_attempt_at=bindparam("b_next"),
        last_error=bindparam("b_error"),
        message_id=func.coalesce(bindparam("b_message_id"), _TABLE.c.message_id),
        sent_at=func.coalesce(bindparam("b_sent_at", type_=UTCDateTime()), _TABLE.c.sent_at),
        to_address=func.coalesce(bindparam("b_to", type_=String()), _TABLE.c.to_address),
        lease_owner=None,
        lease_expires_at=None,
    )
)


def record_outcomes(session: Session, owner: str, outcomes: Sequence[Outcome]) -> None:
    """Record a batch's results in one executemany; rows whose lease `owner` lost are left alone."""
    if not outcomes:
        return
    session.connection().execute(
        _RECORD,
        [
            {
                "b_id": o.id,
                "b_owner": owner,
                "b_status": o.status,
                "b_next": o.next_attempt_at,
                # Relay replies are text from elsewhere: PostgreSQL refuses a NUL in them.
                "b_error": scrub_text(o.last_error, TextKind.TEXT),
                "b_message_id": o.message_id,
                "b_sent_at": o.sent_at,
                "b_to": o.to_address,
            }
            for o in outcomes
        ],
    )


@dataclass(frozen=True)
class OutboxReport:
    """Counts by status, the oldest pending row and recent errors."""

    counts: dict[str, int]
    oldest_pending_at: datetime | None
    recent_errors: list[tuple[int, str, str]]


def count_queued(session: Session) -> int:
    """Messages waiting in the outbox to be sent (pending or being sent), in one COUNT query."""
    return (
        session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING)))
        )
        or 0
    )


def outbox_report(session: Session, *, errors: int = 10) -> OutboxReport:
    """Summarize the outbox for operators."""
    counts: Counter[str] = Counter()
    for status, count in session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    ):
        counts[status.value] = count
    oldest = session.scalar(
        select(func.min(OutboxMessage.created_at)).where(
            OutboxMessage.status == OutboxStatus.PENDING
        )
    )
    recent = session.execute(
        select(OutboxMessage.id, OutboxMessage.status, OutboxMessage.last_error)
        .where(OutboxMessage.last_error != "")
        .order_by(OutboxMessage.id.desc())
        .limit(errors)
    ).all()
    return OutboxReport(
        counts={s.value: counts.get(s.value, 0) for s in OutboxStatus},
        oldest_pending_at=oldest,
        recent_errors=[(r.id, r.status.value, r.last_error) for r in recent],
    )
