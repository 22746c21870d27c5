"""The sender worker: claims outbox rows in batches, re-checks, renders, signs and sends them.

One batch goes through four steps:

1. **Claim** up to `batch_size` due rows under a lease (`claim_batch`), and commit.
2. **Check and prepare**, in one read: every row's recipient is re-checked
   (`check_batch`), and the send-time context is loaded for the whole batch
   (candidates here; job digests and campaigns through `ContextSource`s).
3. **Send** over a pool of `connections` reused SMTP connections. Each connection
   renders (Jinja; bulk mail from one shared render per digest or campaign content,
   `Renderer.render_shared`), builds the bytes, DKIM-signs them and sends, so one
   message's CPU work overlaps the others' network waits; a token bucket holds the
   process to `rate` messages per second.
4. **Record** every row's outcome in one transaction (`record_outcomes`).

At-least-once window: a worker killed between 3 and 4 leaves its rows leased;
when the lease expires another worker claims them and sends them again. So at most
one batch per killed worker may be sent twice, and nothing is lost. A stopped
worker (SIGTERM) finishes the sends in flight, hands unsent rows straight back,
records everything and exits.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from mailer.bounces import ReportKind, Target, record_bounce, smtp_report
from mailer.campaigns import campaign_parts
from mailer.config import MailSettings
from mailer.eligibility import BatchCheck, check_batch
from mailer.errors import MailerError, PermanentSendError, TransientSendError
from mailer.i18n import SOURCE_LOCALE, message_locales
from mailer.inbound import unsubscribe_mailto
from mailer.links import LinkNotSigned, sign_links
from mailer.message import build_message_bytes, uri_list
from mailer.models import MessageKind, OutboxMessage, OutboxStatus
from mailer.outbox import Hold, Outcome, claim_batch, record_outcomes
from mailer.render import Renderer
from mailer.reputation import check_sends, recipient_domain, release_unpaused
from mailer.retention import retention_context
from mailer.sender import Sender
from mailer.sends import send_key
from mailer.verp import verp_address
from preferences.clock import now
from preferences.db import session_scope
from preferences.lists import alert_list_ref
from preferences.tokens import LinkOwner, LinkPurpose, make_link_token

log = logging.getLogger("mailer.worker")

RETRY_BASE = timedelta(minutes=1)
RETRY_CAP = timedelta(hours=1)
# Kept in place of the address once the farewell to an erased candidate is sent
# (or failed, expired or skipped for good).
ERASED_RECIPIENT = "erased"


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff with jitter: about 1, 2, 4 … minutes, capped at an hour."""
    base = min(RETRY_BASE * (2 ** max(attempts - 1, 0)), RETRY_CAP)
    return base * random.uniform(0.5, 1.5)


def default_worker_id() -> str:
    """A name unique to this process on this machine, used as the lease owner."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 100000}"


class ContextSource(Protocol):
    """Send-time context for one kind of message, loaded for a whole batch at once.

    Returns, per outbox id, the extra template context, or a string: the reason
    the row must be skipped (for example, every job in a digest has closed), or a
    `Hold`: the row waits out of the queue (its campaign is paused).
    Packages that `mailer` may not import (jobs) plug in this way.
    """

    def __call__(
        self, session: Session, messages: Sequence[OutboxMessage], settings: MailSettings
    ) -> Mapping[int, dict[str, Any] | str | Hold]: ...


@dataclass
class BatchResult:
    """What one batch did."""

    claimed: int = 0
    sent: int = 0
    skipped: int = 0
    retried: int = 0
    failed: int = 0
    released: int = 0
    held: int = 0


@dataclass
class _Batch:
    """What a batch has settled so far, recorded together at its end."""

    result: BatchResult
    outcomes: list[Outcome] = field(default_factory=list)
    # Rows the relay refused the recipient or message of (5xx to RCPT or DATA): bounces,
    # classified and acted on like DSNs when the batch is recorded.
    bounces: list[tuple[OutboxMessage, PermanentSendError]] = field(default_factory=list)
    # Rows held because their campaign is paused.
    held: list[int] = field(default_factory=list)
    # Rows still to send, each with its context.
    jobs: list[_Job] = field(default_factory=list)


@dataclass
class _Job:
    """One row ready to send: its context is complete, rendering happens on its connection."""

    message: OutboxMessage
    context: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    # The reader's language (mailer.i18n.message_locale).
    locale: str = SOURCE_LOCALE


class RateLimiter:
    """A token bucket: at most `rate` acquisitions per second, with bursts of one second."""

    def __init__(self, rate: float) -> None:
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._next = 0.0

    async def acquire(self) -> None:
        if not self._interval:
            return
        at = time.monotonic()
        # Allow up to one second of unused capacity to be spent at once.
        slot = max(self._next, at - 1.0)
        self._next = slot + self._interval
        if slot > at:
            await asyncio.sleep(slot - at)


class OutboxWorker:
    """Drains the outbox through a pool of `Sender`s (one per SMTP connection)."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        sender_factory: Callable[[], Sender],
        settings: MailSettings,
        *,
        worker_id: str | None = None,
        batch_size: int = 100,
        lease: timedelta = timedelta(minutes=5),
        renderer: Renderer | None = None,
        connections: int = 4,
        rate: float = 0.0,
        context_sources: Mapping[MessageKind, ContextSource] | None = None,
    ) -> None:
        self._sessions = session_factory
        self._sender_factory = sender_factory
        self._settings = settings
        self.worker_id = worker_id or default_worker_id()
        self._batch_size = batch_size
        self._lease = lease
        self._renderer = renderer or Renderer(locales=settings.locales)
        self._connections = max(1, connections)
        self._limiter = RateLimiter(rate)
        self._sources: dict[MessageKind, ContextSource] = {
            MessageKind.CAMPAIGN: campaign_parts,
            MessageKind.REPERMISSION: retention_context,
            **(context_sources or {}),
        }
        self._stop = threading.Event()

    def stop(self) -> None:
        """Ask the worker to finish the sends in flight, hand back the rest, and return."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run_once(self) -> BatchResult:
        """Claim one batch and deliver it over a fresh connection pool."""
        return asyncio.run(self._run_once_async())

    async def _run_once_async(self) -> BatchResult:
        pool = [self._sender_factory() for _ in range(self._connections)]
        try:
            state = self._claim_and_prepare()
            if state.result.claimed:
                await self._send_all(pool, state)
                self._record(state)
            return state.result
        finally:
            await _close(pool)

    def run(self, *, poll_interval: float = 2.0, until_empty: bool = False) -> None:
        """Deliver batches until stopped (or, with `until_empty`, until none are due).

        The connection pool lives as long as the loop, so connections are reused
        across batches.
        """
        asyncio.run(self._run_async(poll_interval, until_empty))

    async def _run_async(self, poll_interval: float, until_empty: bool) -> None:
        log.info(
            "worker started",
            extra={"worker": self.worker_id, "connections": self._connections},
        )
        pool = [self._sender_factory() for _ in range(self._connections)]
        try:
            while not self._stop.is_set():
                # The database work runs on the loop's thread: moving it to a thread
                # measured slower (the GIL makes the sends wait for it anyway).
                try:
                    state = self._claim_and_prepare()
                    if state.result.claimed:
                        await self._send_all(pool, state)
                        self._record(state)
                except Exception:
                    log.exception("batch failed", extra={"worker": self.worker_id})
                    if until_empty:
                        raise
                    state = _Batch(BatchResult())
                if state.result.claimed == 0:
                    if until_empty:
                        break
                    # Idle: close the connections rather than hold them open at the relay.
                    await _close(pool)
                    await asyncio.to_thread(self._stop.wait, poll_interval)
        finally:
            await _close(pool)
        log.info("worker stopped", extra={"worker": self.worker_id})

    def _claim_and_prepare(self) -> _Batch:
        """Lease the next batch and check it (a thread of its own in `run`)."""
        with session_scope(self._sessions) as session:
            batch = claim_batch(session, self.worker_id, limit=self._batch_size, lease=self._lease)
            session.expunge_all()
        state = _Batch(BatchResult(claimed=len(batch)))
        if batch:
            state.jobs = self._prepare(batch, state)
        return state

    async def _send_all(self, pool: list[Sender], state: _Batch) -> None:
        queue = list(reversed(state.jobs))
        await asyncio.gather(*(self._drain(sender, queue, state) for sender in pool))

    def _record(self, state: _Batch) -> None:
        """Record a batch's outcomes and bounces in one transaction.

        A bounce at send time goes through the same classifier and actions as a
        DSN; the sends that met policy rejections then have their alarm checked.
        """
        with session_scope(self._sessions) as session:
            record_outcomes(session, self.worker_id, state.outcomes)
            policy_sends: list[str] = []
            for message, error in state.bounces:
                target = Target(message.to_address, message.candidate_id, message.id)
                report = smtp_report(error.code, str(error))
                outcome = record_bounce(session, target, report, self._settings, via="smtp")
                log.info(
                    "bounce at send time",
                    extra={
                        **_fields(message),
                        "outcome": outcome.value,
                        "category": report.category.value if report.category else "-",
                        "status": report.status or "-",
                        "domain": recipient_domain(message.to_address),
                    },
                )
                key = send_key(message.dedupe_key)
                if report.kind is ReportKind.POLICY and key is not None:
                    policy_sends.append(key)
            if policy_sends:
                check_sends(session, policy_sends, self._settings)
            if state.held:
                # A campaign resumed while this batch was out must not leave them held.
                release_unpaused(session, state.held)
        result = state.result
        log.info(
            "batch done",
            extra={
                "worker": self.worker_id,
                "claimed": result.claimed,
                "sent": result.sent,
                "skipped": result.skipped,
                "retried": result.retried,
                "failed": result.failed,
                "released": result.released,
                "held": result.held,
            },
        )

    # ------------------------------------------------------------------ preparing

    def _prepare(self, batch: list[OutboxMessage], state: _Batch) -> list[_Job]:
        """Re-check every row and load its context; rows that may not go are settled here."""
        at = now()
        jobs: list[_Job] = []
        outcomes, result = state.outcomes, state.result
        with session_scope(self._sessions) as session:
            check = check_batch(session, batch)
            # The check read each candidate's language already: no second query.
            locales = message_locales(
                session,
                batch,
                self._settings.locales,
                stored={cid: owner.locale for cid, owner in check.candidates.items()},
            )
            extras: dict[int, dict[str, Any] | str | Hold] = {}
            for kind, source in self._sources.items():
                of_kind = [m for m in batch if m.kind is kind and m.id not in check.skip]
                if of_kind:
                    extras.update(source(session, of_kind, self._settings))
        for message in batch:
            fields = _fields(message)
            if message.deliver_until is not None and at > message.deliver_until:
                # A late login link or alert is worse than none: stale mail is not sent.
                outcomes.append(
                    _final(message, OutboxStatus.FAILED, "expired before it could be sent")
                )
                result.failed += 1
                log.warning("expired", extra=fields)
                continue
            reason = check.skip.get(message.id)
            extra = extras.get(message.id)
            if reason is None and isinstance(extra, Hold):
                outcomes.append(
                    Outcome(
                        id=message.id,
                        status=OutboxStatus.HELD,
                        next_attempt_at=message.next_attempt_at,
                        last_error=extra.reason,
                    )
                )
                state.held.append(message.id)
                result.held += 1
                log.info("held", extra={**fields, "reason": extra.reason})
                continue
            if reason is None and isinstance(extra, str):
                reason = extra
            if reason is not None:
                outcomes.append(_final(message, OutboxStatus.SKIPPED, reason))
                result.skipped += 1
                log.info("skipped", extra={**fields, "reason": reason})
                continue
            context = self._base_context(message, check)
            if isinstance(extra, dict):
                context.update(extra)
            owner = check.candidates.get(message.candidate_id or 0)
            try:
                # Rows keep how to sign their links, never a live link (mailer.links).
                sign_links(
                    context,
                    public_id=owner.public_id if owner is not None else None,
                    secret_keys=self._settings.secret_keys,
                    base_url=self._settings.base_url,
                )
            except LinkNotSigned as exc:
                outcomes.append(_final(message, OutboxStatus.FAILED, f"link not signed: {exc}"))
                result.failed += 1
                log.error("link not signed", extra={**fields, "error": str(exc)})
                continue
            job = _Job(message, context, locale=locales.get(message.id, SOURCE_LOCALE))
            if message.kind.is_bulk and owner is not None:
                self._add_bulk_parts(job, owner)
            jobs.append(job)
        return jobs

    def _base_context(self, message: OutboxMessage, check: BatchCheck) -> dict[str, Any]:
        first_name = check.first_names.get(message.candidate_id or 0, "")
        context = self._settings.base_context(first_name)
        context.update(message.context)
        return context

    def _add_bulk_parts(self, job: _Job, owner: LinkOwner) -> None:
        """RFC 8058 headers, and the footer's Manage preferences and Unsubscribe links."""
        s = self._settings
        if not s.secret_keys:
            return
        message = job.message
        if message.kind is MessageKind.CAMPAIGN:
            list_ref = "mass_email"
        else:
            list_ref = alert_list_ref(message.context)
        token = make_link_token(s.secret_keys, LinkPurpose.ONE_CLICK, owner, l=list_ref)
        unsubscribe_url = f"{s.base_url}/unsubscribe/{token}"
        preferences = make_link_token(s.secret_keys, LinkPurpose.PREFERENCES, owner)
        job.context.setdefault("unsubscribe_url", unsubscribe_url)
        job.context.setdefault("preferences_url", f"{s.base_url}/preferences/{preferences}")
        list_id = list_ref.replace(":", "-")
        job.headers = {
            # https first: RFC 8058 one-click needs it; mailto is for clients that only
            # know RFC 2369, answered by `talentconnect inbound serve`.
            "List-Unsubscribe": uri_list(
                (unsubscribe_url, unsubscribe_mailto(s.unsubscribe_address, token))
            ),
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "List-Id": f"{s.company_name} {list_id} <{list_id}.{s.sending_domain}>",
        }

    # ------------------------------------------------------------------ sending

    async def _drain(self, sender: Sender, queue: list[_Job], state: _Batch) -> None:
        """One connection's loop: take the next job, render, sign and send it."""
        while queue:
            job = queue.pop()
            if self._stop.is_set():
                # Shutting down: hand the row straight back instead of waiting out the lease.
                state.outcomes.append(_retry(job.message, job.message.last_error, now()))
                state.result.released += 1
                continue
            await self._limiter.acquire()
            await self._send(sender, job, state)

    def _build(self, job: _Job) -> tuple[bytes, str]:
        message = job.message
        if message.kind.is_bulk:
            # Readers of one digest or campaign share all but a few values: one render
            # serves them all (mailer.render, "Shared renders").
            rendered = self._renderer.render_shared(message.template, job.context, job.locale)
        else:
            rendered = self._renderer.render(message.template, job.context, job.locale)
        outgoing = build_message_bytes(
            from_addr=self._settings.mail_from,
            to_addr=message.to_address,
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            message_id_domain=self._settings.sending_domain,
            extra_headers=job.headers,
            text_prefix=rendered.text_prefix,
            html_prefix=rendered.html_prefix,
        )
        dkim = self._settings.dkim
        # The relay gets exactly the bytes the signature covers.
        data = outgoing.data if dkim is None else dkim.sign(outgoing.data, crlf=True)
        return data, outgoing.message_id

    async def _send(self, sender: Sender, job: _Job, state: _Batch) -> None:
        message = job.message
        outcomes, result = state.outcomes, state.result
        fields = _fields(message)
        try:
            data, message_id = self._build(job)
        except MailerError as exc:
            outcomes.append(_final(message, OutboxStatus.FAILED, f"render failed: {exc}"))
            result.failed += 1
            log.error("render failed", extra={**fields, "error": str(exc)})
            return
        try:
            await sender.send(
                data,
                envelope_from=verp_address(self._settings, message.id),
                recipient=message.to_address,
            )
        except PermanentSendError as exc:
            outcomes.append(_final(message, OutboxStatus.FAILED, str(exc)))
            if exc.bounce:
                state.bounces.append((message, exc))
            result.failed += 1
            log.warning("permanent failure", extra={**fields, "error": str(exc)})
            return
        except TransientSendError as exc:
            retry_at = now() + retry_delay(message.attempts)
            if message.deliver_until is not None and retry_at > message.deliver_until:
                error = f"gave up after {message.attempts} attempts: {exc}"
                outcomes.append(_final(message, OutboxStatus.FAILED, error))
                result.failed += 1
                log.warning("gave up", extra={**fields, "error": str(exc)})
            else:
                outcomes.append(_retry(message, str(exc), retry_at))
                result.retried += 1
                log.info(
                    "will retry",
                    extra={**fields, "error": str(exc), "retry_at": retry_at.isoformat()},
                )
            return
        farewell = message.kind is MessageKind.ACCOUNT_DELETED
        outcomes.append(
            Outcome(
                id=message.id,
                status=OutboxStatus.SENT,
                next_attempt_at=message.next_attempt_at,
                message_id=message_id,
                sent_at=now(),
                # The erased person's address goes once their farewell is out.
                to_address=ERASED_RECIPIENT if farewell else None,
            )
        )
        result.sent += 1
        log.debug("sent", extra=fields)


def _fields(message: OutboxMessage) -> dict[str, Any]:
    return {"outbox_id": message.id, "kind": message.kind.value, "attempt": message.attempts}


def _final(message: OutboxMessage, status: OutboxStatus, error: str) -> Outcome:
    # A farewell that will never be sent must not keep the erased person's address either.
    farewell = message.kind is MessageKind.ACCOUNT_DELETED
    return Outcome(
        id=message.id,
        status=status,
        next_attempt_at=message.next_attempt_at,
        last_error=error,
        to_address=ERASED_RECIPIENT if farewell else None,
    )


def _retry(message: OutboxMessage, error: str, retry_at: Any) -> Outcome:
    return Outcome(
        id=message.id, status=OutboxStatus.PENDING, next_attempt_at=retry_at, last_error=error
    )


async def _close(pool: list[Sender]) -> None:
    for sender in pool:
        await sender.close()
