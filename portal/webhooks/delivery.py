"""The webhook worker's database side: fan-out, claiming, outcomes, endpoint health, pruning.

Nothing here opens a socket (`portal.webhooks.worker` does the HTTP). One worker round is:

1. **Fan out** (`expand_events`): new events become one `WebhookDelivery` per enabled
   endpoint that wants their type, in the transaction that marks them expanded. On
   PostgreSQL one worker at a time fans out (a transaction-level advisory lock), so events
   are fanned out in id order and a candidate's later event never overtakes an earlier one.
2. **Claim** (`claim_deliveries`): due deliveries under a lease, `FOR UPDATE SKIP LOCKED`
   on PostgreSQL. A delivery waits while an earlier event of the same candidate is still
   pending or sending to the same endpoint: per endpoint, one candidate's events go in order.
3. **Load** (`load_batch`): the events, the endpoints' URLs and signing keys, and (for
   endpoints that include contact data) the addresses of active candidates, per batch.
4. **Record** (`record_outcomes`): every delivery's fate in one executemany, guarded by the
   lease owner; one `WebhookAttempt` per HTTP attempt; the endpoints' health, and disabling
   an endpoint that has failed for WEBHOOK_DISABLE_AFTER_DAYS (its admins are emailed once).

The console's and the API's actions on deliveries (`redeliver`, `send_test_event`) are here
too: they only queue work for the next round.
"""

from __future__ import annotations

import email.utils
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    Table,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, aliased, selectinload

from mailer.i18n import LOCALE_KEY, SOURCE_LOCALE
from mailer.models import MessageKind
from mailer.outbox import enqueue
from portal.webhooks.endpoints import signing_keys
from portal.webhooks.models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from portal.webhooks.payloads import payload_bytes
from portal.webhooks.sealing import SecretSeal, SecretUnreadable
from preferences.clock import now
from preferences.db import among
from preferences.events import EventType, WebhookEvent
from preferences.models import Candidate, CandidateStatus, RecruiterRole, RecruiterUser
from preferences.text import TextKind, scrub_text

log = logging.getLogger("portal.webhooks")

# One fan-out at a time per PostgreSQL database (pg_try_advisory_xact_lock).
EXPAND_LOCK_KEY = 0x7C_5C_4E_D0_3E_B0_01
# Retry delays after the 1st, 2nd … failed attempt; the last one repeats. ±20 % jitter.
RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
    timedelta(hours=1),
    timedelta(hours=2),
    timedelta(hours=4),
    timedelta(hours=8),
)
JITTER = 0.2
# The longest Retry-After we honour (a receiver asking for a week gets six hours).
RETRY_AFTER_CAP = timedelta(hours=6)
MAX_ERROR = 500
ADMIN_TEMPLATE = "webhook_disabled"  # one of mailer.render.STAFF_TEMPLATES

_DELIVERIES = cast(Table, WebhookDelivery.__table__)
_ATTEMPTS = cast(Table, WebhookAttempt.__table__)
_ENDPOINTS = cast(Table, WebhookEndpoint.__table__)
_WAITING = (DeliveryStatus.PENDING, DeliveryStatus.SENDING)


# --------------------------------------------------------------------------- fan-out


def _insert(session: Session) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def _fan_out_lock(session: Session) -> bool:
    """On PostgreSQL, whether this transaction may fan out now; SQLite has one writer."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    got = session.execute(
        text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": EXPAND_LOCK_KEY}
    ).scalar()
    return bool(got)


def expand_events(session: Session, limit: int = 1000) -> int:
    """Fan up to `limit` new events (oldest first) out into deliveries; return how many events.

    Each event gets one delivery per enabled endpoint that wants its type and existed when
    it happened (an endpoint added later does not receive the past). Mark them expanded in
    the same transaction; events no endpoint wants are simply marked.
    """
    if not _fan_out_lock(session):
        return 0
    rows = session.execute(
        select(
            WebhookEvent.id,
            WebhookEvent.type,
            WebhookEvent.candidate_key,
            WebhookEvent.occurred_at,
        )
        .where(WebhookEvent.expanded_at.is_(None))
        .order_by(WebhookEvent.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not rows:
        return 0
    endpoints = session.execute(
        select(WebhookEndpoint.id, WebhookEndpoint.event_types, WebhookEndpoint.created_at).where(
            WebhookEndpoint.enabled.is_(True)
        )
    ).all()
    at = now()
    deliveries: list[dict[str, Any]] = []
    for event in rows:
        if event.type == EventType.WEBHOOK_TEST.value:
            continue  # queued for its one endpoint by send_test_event
        for endpoint in endpoints:
            wanted = not endpoint.event_types or event.type in endpoint.event_types
            if wanted and endpoint.created_at <= event.occurred_at:
                deliveries.append(
                    {
                        "endpoint_id": endpoint.id,
                        "event_id": event.id,
                        "candidate_key": event.candidate_key,
                        "status": DeliveryStatus.PENDING,
                        "attempts": 0,
                        "next_attempt_at": at,
                        "created_at": at,
                        "retry_from": at,
                    }
                )
    if deliveries:
        statement = (
            _insert(session)(_DELIVERIES)
            .on_conflict_do_nothing(index_elements=["endpoint_id", "event_id"])
            .execution_options(synchronize_session=False)
        )
        session.connection().execute(statement, deliveries)
    session.execute(
        update(WebhookEvent)
        .where(among(session, WebhookEvent.id, [r.id for r in rows]))
        .values(expanded_at=at)
        .execution_options(synchronize_session=False)
    )
    return len(rows)


# --------------------------------------------------------------------------- admin actions


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


# --------------------------------------------------------------------------- claiming


@dataclass(frozen=True)
class Claimed:
    """One leased delivery, as the worker needs it (no ORM object crosses threads)."""

    id: int
    endpoint_id: int
    event_id: int
    attempts: int
    retry_from: datetime


def _due(at: datetime) -> Any:
    return or_(
        and_(
            WebhookDelivery.status == DeliveryStatus.PENDING, WebhookDelivery.next_attempt_at <= at
        ),
        and_(WebhookDelivery.status == DeliveryStatus.SENDING, WebhookDelivery.lease_until < at),
    )


def _earlier_waiting() -> Any:
    """An earlier event of the same candidate still on its way to the same endpoint."""
    earlier = aliased(WebhookDelivery)
    return exists().where(
        earlier.endpoint_id == WebhookDelivery.endpoint_id,
        earlier.candidate_key == WebhookDelivery.candidate_key,
        earlier.event_id < WebhookDelivery.event_id,
        earlier.status.in_(_WAITING),
    )


def _to_endpoint(session: Session) -> Any:
    """Deliveries that may go now as far as their endpoint goes, or None when none may.

    Enabled endpoints take everything; a disabled one only its test events. The endpoint
    ids are read first (a handful), so the claim scans deliveries alone.
    """
    enabled: list[int] = []
    disabled: list[int] = []
    for endpoint_id, on in session.execute(select(WebhookEndpoint.id, WebhookEndpoint.enabled)):
        (enabled if on else disabled).append(endpoint_id)
    clauses = []
    if enabled:
        clauses.append(among(session, WebhookDelivery.endpoint_id, enabled))
    if disabled:
        test = exists().where(
            WebhookEvent.id == WebhookDelivery.event_id,
            WebhookEvent.type == EventType.WEBHOOK_TEST.value,
        )
        clauses.append(and_(among(session, WebhookDelivery.endpoint_id, disabled), test))
    return or_(*clauses) if clauses else None


def claim_deliveries(
    session: Session, owner: str, *, limit: int, lease: timedelta
) -> list[Claimed]:
    """Lease up to `limit` due deliveries to `owner` (status sending) and return them.

    Due: sending under an expired lease (its worker died: the at-least-once window), then
    pending with next_attempt_at reached, earliest first. Only to enabled endpoints, except
    the test event, which an admin may send to a disabled one. A candidate's delivery
    waits while an earlier one to the same endpoint is pending or sending.

    Each of the two looks is one ordered scan of `ix_webhook_deliveries_due` that stops
    after `limit` rows pass, `FOR UPDATE SKIP LOCKED` on PostgreSQL so workers share the
    queue; on SQLite the transaction holds the one write lock.
    """
    at = now()
    endpoint_ok = _to_endpoint(session)
    if endpoint_ok is None:
        return []
    in_order = or_(WebhookDelivery.candidate_key.is_(None), ~_earlier_waiting())
    ids = list(
        session.scalars(
            select(WebhookDelivery.id)
            .where(
                WebhookDelivery.status == DeliveryStatus.SENDING,
                WebhookDelivery.lease_until < at,
                endpoint_ok,
                in_order,
            )
            .order_by(WebhookDelivery.lease_until)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if len(ids) < limit:
        ids += session.scalars(
            select(WebhookDelivery.id)
            .where(
                WebhookDelivery.status == DeliveryStatus.PENDING,
                WebhookDelivery.next_attempt_at <= at,
                endpoint_ok,
                in_order,
            )
            .order_by(WebhookDelivery.next_attempt_at)
            .limit(limit - len(ids))
            .with_for_update(skip_locked=True)
        )
    if not ids:
        return []
    rows = session.execute(
        update(WebhookDelivery)
        .where(among(session, WebhookDelivery.id, ids), _due(at))
        .values(
            status=DeliveryStatus.SENDING,
            lease_owner=owner,
            lease_until=at + lease,
            attempts=WebhookDelivery.attempts + 1,
        )
        .returning(
            WebhookDelivery.id,
            WebhookDelivery.endpoint_id,
            WebhookDelivery.event_id,
            WebhookDelivery.attempts,
            WebhookDelivery.retry_from,
        )
        .execution_options(synchronize_session=False)
    ).all()
    return sorted(
        (Claimed(r.id, r.endpoint_id, r.event_id, r.attempts, r.retry_from) for r in rows),
        key=lambda c: c.id,
    )


def work_waiting(session: Session) -> tuple[bool, bool]:
    """(an event waits to be fanned out, a delivery may be due): two index probes.

    For a read-only look before the write transactions, so an idle worker never takes
    SQLite's write lock. "May be due" ignores endpoints and order; the claim decides.
    """
    at = now()
    unexpanded = exists().where(WebhookEvent.expanded_at.is_(None))
    due = exists().where(_due(at))
    row = session.execute(select(unexpanded, due)).one()
    return bool(row[0]), bool(row[1])


# --------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class Target:
    """An endpoint as one batch sends to it."""

    id: int
    public_id: str
    url: str
    keys: tuple[bytes, ...]
    # Why nothing can be signed for it (a secret no key opens); sending it fails with this.
    unsignable: str | None = None


@dataclass(frozen=True)
class Request:
    """One HTTP request to make: what to send where, and the delivery it is for."""

    claimed: Claimed
    target: Target
    message_id: str
    body: bytes
    event_type: str


def _target(endpoint: WebhookEndpoint, seal: SecretSeal, at: datetime) -> Target:
    try:
        keys = tuple(signing_keys(endpoint, seal, at))
    except SecretUnreadable as exc:
        return Target(endpoint.id, endpoint.public_id, endpoint.url, (), unsignable=str(exc))
    return Target(endpoint.id, endpoint.public_id, endpoint.url, keys)


def load_batch(session: Session, claimed: Sequence[Claimed], seal: SecretSeal) -> list[Request]:
    """The requests of a claimed batch, read in three queries (events, endpoints, addresses).

    The body holds the candidate's address only for an endpoint that includes contact data,
    and only while the candidate exists and is active. `seal` opens the signing secrets.
    """
    events = {
        e.id: e
        for e in session.scalars(
            select(WebhookEvent).where(
                among(session, WebhookEvent.id, {c.event_id for c in claimed})
            )
        )
    }
    endpoints = {
        e.id: e
        for e in session.scalars(
            select(WebhookEndpoint)
            .where(among(session, WebhookEndpoint.id, {c.endpoint_id for c in claimed}))
            .options(selectinload(WebhookEndpoint.secrets))
        )
    }
    at = now()
    targets = {e.id: _target(e, seal, at) for e in endpoints.values()}
    wanted = {
        events[c.event_id].candidate_key
        for c in claimed
        if c.event_id in events
        and c.endpoint_id in endpoints
        and endpoints[c.endpoint_id].include_contact_data
        and events[c.event_id].candidate_key is not None
    }
    emails: dict[str, str] = {}
    if wanted:
        emails = {
            public_id: address
            for public_id, address in session.execute(
                select(Candidate.public_id, Candidate.email).where(
                    among(session, Candidate.public_id, wanted),
                    Candidate.status == CandidateStatus.ACTIVE,
                )
            )
        }
    requests: list[Request] = []
    for c in claimed:
        event = events.get(c.event_id)
        endpoint = endpoints.get(c.endpoint_id)
        if event is None or endpoint is None:  # deleted meanwhile: cascades take the delivery
            continue
        email_address = None
        if endpoint.include_contact_data and event.candidate_key is not None:
            email_address = emails.get(event.candidate_key)
        requests.append(
            Request(
                claimed=c,
                target=targets[endpoint.id],
                message_id=event.public_id,
                body=payload_bytes(event, email_address),
                event_type=event.type,
            )
        )
    return requests


# --------------------------------------------------------------------------- outcomes


def retry_delay(attempt: int) -> timedelta:
    """The wait after failed attempt number `attempt` (1-based): 5 s, 30 s, 2 min … 8 h, ±20 %."""
    base = RETRY_DELAYS[min(max(attempt, 1), len(RETRY_DELAYS)) - 1]
    return base * random.uniform(1 - JITTER, 1 + JITTER)


def parse_retry_after(value: str | None, at: datetime) -> timedelta | None:
    """A Retry-After header (seconds, or an HTTP date) as a wait from `at`, capped at 6 h."""
    if not value:
        return None
    value = value.strip()
    wait: timedelta | None = None
    if value.isdigit():
        wait = timedelta(seconds=min(int(value[:9]), int(RETRY_AFTER_CAP.total_seconds())))
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        wait = max(timedelta(0), when - at)
    return min(wait, RETRY_AFTER_CAP)


@dataclass(frozen=True)
class Result:
    """What one HTTP attempt came to (the worker fills it in)."""

    succeeded: bool
    status_code: int | None
    error: str | None
    duration_ms: int
    attempted_at: datetime
    # Whether another attempt may succeed (5xx, 429, network errors and timeouts).
    retryable: bool = False
    retry_after: timedelta | None = None
    # Not sent at all: the worker stopped first; the delivery goes straight back.
    released: bool = False


@dataclass(frozen=True)
class Outcome:
    """A delivery's new state after its attempt, recorded with its batch."""

    claimed: Claimed
    status: DeliveryStatus
    next_attempt_at: datetime
    result: Result
    finished_at: datetime | None = None


def decide(claimed: Claimed, result: Result, retry_window: timedelta) -> Outcome:
    """The delivery's next state: delivered, retried later, or failed for good.

    Retries go on until `retry_from + retry_window`; the last is scheduled at that moment,
    so a receiver down for the whole window still gets one try at its end.
    """
    at = result.attempted_at
    if result.released:
        return Outcome(claimed, DeliveryStatus.PENDING, at, result)
    if result.succeeded:
        return Outcome(claimed, DeliveryStatus.DELIVERED, at, result, finished_at=at)
    if not result.retryable:
        return Outcome(claimed, DeliveryStatus.FAILED, at, result, finished_at=at)
    deadline = claimed.retry_from + retry_window
    if at >= deadline:
        return Outcome(claimed, DeliveryStatus.FAILED, at, result, finished_at=at)
    wait = result.retry_after if result.retry_after is not None else retry_delay(claimed.attempts)
    return Outcome(claimed, DeliveryStatus.PENDING, min(at + wait, deadline), result)


_RECORD = (
    _DELIVERIES.update()
    .where(
        _DELIVERIES.c.id == bindparam("b_id"),
        _DELIVERIES.c.lease_owner == bindparam("b_owner"),
        _DELIVERIES.c.status == DeliveryStatus.SENDING,
    )
    .values(
        status=bindparam("b_status"),
        attempts=bindparam("b_attempts"),
        next_attempt_at=bindparam("b_next"),
        finished_at=bindparam("b_finished"),
        last_status_code=bindparam("b_code"),
        last_error=bindparam("b_error"),
        last_duration_ms=bindparam("b_ms"),
        lease_owner=None,
        lease_until=None,
    )
)


def _clip(error: str | None) -> str | None:
    if error is None:
        return None
    # Receivers' replies are text from elsewhere: PostgreSQL refuses a NUL in them.
    return scrub_text(error, TextKind.LINE)[:MAX_ERROR]


@dataclass(frozen=True)
class AdminNotice:
    """What the admins' email about a disabled endpoint says."""

    base_context: dict[str, Any]
    console_url: str


@dataclass
class Recorded:
    """What recording a batch changed beyond the deliveries."""

    disabled: list[str] = field(default_factory=list)


def record_outcomes(
    session: Session,
    owner: str,
    outcomes: Sequence[Outcome],
    *,
    disable_after: timedelta,
    notice: AdminNotice | None = None,
) -> Recorded:
    """Record a batch: deliveries (those `owner` still holds), attempts, endpoint health.

    An endpoint whose failures have run for `disable_after` without a success is disabled
    by one conditional UPDATE, so of several workers exactly one disables it and queues the
    admins' email (`notice`).
    """
    recorded = Recorded()
    if not outcomes:
        return recorded
    connection = session.connection()
    connection.execute(
        _RECORD,
        [
            {
                "b_id": o.claimed.id,
                "b_owner": owner,
                "b_status": o.status,
                # A released delivery was never tried: its attempt is handed back too.
                "b_attempts": o.claimed.attempts - (1 if o.result.released else 0),
                "b_next": o.next_attempt_at,
                "b_finished": o.finished_at,
                "b_code": o.result.status_code,
                "b_error": _clip(o.result.error),
                "b_ms": o.result.duration_ms,
            }
            for o in outcomes
        ],
    )
    tried = [o for o in outcomes if not o.result.released]
    if not tried:
        return recorded
    connection.execute(
        insert(_ATTEMPTS),
        [
            {
                "delivery_id": o.claimed.id,
                "endpoint_id": o.claimed.endpoint_id,
                "attempt": o.claimed.attempts,
                "attempted_at": o.result.attempted_at,
                "succeeded": o.result.succeeded,
                "status_code": o.result.status_code,
                "error": _clip(o.result.error),
                "duration_ms": o.result.duration_ms,
            }
            for o in tried
        ],
    )
    _record_health(session, tried)
    recorded.disabled = disable_failing(session, disable_after, notice, tried)
    return recorded


def _record_health(session: Session, tried: Sequence[Outcome]) -> None:
    """Per endpoint: a success ends its failing run; a failure starts one if none is running."""
    runs: dict[int, tuple[datetime | None, datetime | None]] = {}
    for o in sorted(tried, key=lambda o: o.result.attempted_at):
        success, failing = runs.get(o.claimed.endpoint_id, (None, None))
        if o.result.succeeded:
            success, failing = o.result.attempted_at, None
        elif failing is None:
            failing = o.result.attempted_at
        runs[o.claimed.endpoint_id] = (success, failing)
    for endpoint, (success, failing) in runs.items():
        if success is not None:
            values: dict[str, Any] = {"failing_since": failing, "last_success_at": success}
            condition = WebhookEndpoint.id == endpoint
        else:
            values = {"failing_since": failing}
            condition = and_(
                WebhookEndpoint.id == endpoint, WebhookEndpoint.failing_since.is_(None)
            )
        session.execute(
            update(WebhookEndpoint)
            .where(condition)
            .values(**values)
            .execution_options(synchronize_session=False)
        )


def disable_failing(
    session: Session,
    disable_after: timedelta,
    notice: AdminNotice | None,
    tried: Sequence[Outcome] | None = None,
) -> list[str]:
    """Disable the enabled endpoints failing since `disable_after` ago; email the admins once.

    `tried`: look only at the endpoints of these outcomes (all endpoints when None).
    Returns the public ids of the endpoints disabled.
    """
    at = now()
    cutoff = at - disable_after
    conditions = [
        WebhookEndpoint.enabled.is_(True),
        WebhookEndpoint.failing_since.is_not(None),
        WebhookEndpoint.failing_since <= cutoff,
    ]
    if tried is not None:
        conditions.append(
            among(session, WebhookEndpoint.id, {o.claimed.endpoint_id for o in tried})
        )
    candidates = session.execute(
        select(WebhookEndpoint.id, WebhookEndpoint.failing_since).where(*conditions)
    ).all()
    disabled: list[str] = []
    for endpoint_id, failing_since in candidates:
        if failing_since is None:
            continue
        reason = f"failing since {failing_since.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
        row = session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint_id, *conditions[:3])
            .values(enabled=False, disabled_at=at, disabled_reason=reason)
            .returning(WebhookEndpoint.public_id, WebhookEndpoint.url, WebhookEndpoint.description)
            .execution_options(synchronize_session=False)
        ).first()
        if row is None:  # another worker got there first
            continue
        disabled.append(row.public_id)
        log.warning(
            "webhook endpoint disabled",
            extra={"endpoint": row.public_id, "failing_since": failing_since.isoformat()},
        )
        if notice is not None:
            notify_admins(
                session,
                notice,
                endpoint_public_id=row.public_id,
                url=row.url,
                description=row.description,
                failing_since=failing_since,
                disabled_at=at,
            )
    return disabled


def admin_addresses(session: Session) -> list[str]:
    """The addresses of every active admin recruiter."""
    return list(
        session.scalars(
            select(RecruiterUser.email)
            .where(RecruiterUser.role == RecruiterRole.ADMIN, RecruiterUser.active.is_(True))
            .order_by(RecruiterUser.id)
        )
    )


def notify_admins(
    session: Session,
    notice: AdminNotice,
    *,
    endpoint_public_id: str,
    url: str,
    description: str,
    failing_since: datetime,
    disabled_at: datetime,
) -> int:
    """Queue the "endpoint disabled" email to every active admin; return how many queued.

    The dedupe key names the endpoint and the moment it was disabled: one email per admin
    per disabling, however often this is called.
    """
    stamp = disabled_at.astimezone(UTC).strftime("%Y%m%dT%H%M%S%f")
    context = {
        **notice.base_context,
        # Mail to recruiters is in English, like the console (not the installation's default).
        LOCALE_KEY: SOURCE_LOCALE,
        "endpoint_url": url,
        "endpoint_description": description,
        "failing_since": f"{failing_since.astimezone(UTC):%Y-%m-%d %H:%M} UTC",
        "disabled_at": f"{disabled_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC",
        "webhooks_url": notice.console_url,
    }
    queued = 0
    for address in admin_addresses(session):
        queued += enqueue(
            session,
            kind=MessageKind.WEBHOOK_DISABLED,
            template=ADMIN_TEMPLATE,
            to_address=address,
            dedupe_key=f"webhook-disabled:{endpoint_public_id}:{stamp}:{address}",
            context=context,
        )
    return queued


# --------------------------------------------------------------------------- housekeeping


def prune_events(session: Session, keep: timedelta, *, limit: int = 5000) -> int:
    """Delete up to `limit` events older than `keep` whose deliveries have all finished.

    Their deliveries and attempts go with them (ON DELETE CASCADE). Returns how many.
    """
    cutoff = now() - keep
    waiting = exists().where(
        WebhookDelivery.event_id == WebhookEvent.id, WebhookDelivery.status.in_(_WAITING)
    )
    ids = list(
        session.scalars(
            select(WebhookEvent.id)
            .where(
                WebhookEvent.occurred_at < cutoff,
                WebhookEvent.expanded_at.is_not(None),
                ~waiting,
            )
            .order_by(WebhookEvent.id)
            .limit(limit)
        )
    )
    if not ids:
        return 0
    session.execute(
        delete(WebhookEvent)
        .where(among(session, WebhookEvent.id, ids))
        .execution_options(synchronize_session=False)
    )
    return len(ids)


def queue_counts(session: Session) -> dict[str, int]:
    """Deliveries by status, and events not yet fanned out (for logs and the bench)."""
    counts = {s.value: 0 for s in DeliveryStatus}
    for status, count in session.execute(
        select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status)
    ):
        counts[DeliveryStatus(status).value] = count
    counts["unexpanded"] = (
        session.scalar(
            select(func.count()).select_from(WebhookEvent).where(WebhookEvent.expanded_at.is_(None))
        )
        or 0
    )
    return counts


__all__ = [
    "AdminNotice",
    "Claimed",
    "Outcome",
    "Request",
    "Result",
    "Target",
    "claim_deliveries",
    "decide",
    "expand_events",
    "load_batch",
    "parse_retry_after",
    "prune_events",
    "record_outcomes",
    "retry_delay",
]
