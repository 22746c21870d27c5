"""The webhook worker: fans events out, claims deliveries, POSTs them signed, records results.

Each round (`WebhookWorker.run_once`) fans out new events, claims a batch of due deliveries
under a lease, reads what to send in one read-only transaction, makes the requests on a
pool of `concurrency` threads (each with its own keep-alive connections), and records every
outcome in one transaction (`portal.webhooks.delivery`). No transaction is open while a
request is on its way.

Requests follow the Standard Webhooks specification: `webhook-id` is the event's id (the
same on every retry, so receivers can deduplicate), `webhook-timestamp` the attempt's time,
`webhook-signature` one `v1,` signature per active secret. Connections go through the SSRF
guard of resume import and feeds (public addresses only, except the hosts in
WEBHOOK_ALLOWED_HOSTS, which may also use http://), redirects are not followed, and each
request has WEBHOOK_TIMEOUT_SECONDS in all: a receiver that drips its answer is cut off.

At least once: a worker killed mid-batch leaves its deliveries leased; when the lease
expires another worker sends them again, with the same `webhook-id`. A stopped worker
(SIGTERM) lets the requests in flight finish, hands the unsent ones straight back, records
everything and returns.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import requests
from sqlalchemy import exists, select
from sqlalchemy.orm import Session, sessionmaker

from portal.resumes.netguard import AddressRefused, FetchGuard, UrlRefused, guarded_session
from portal.webhooks.delivery import (
    AdminNotice,
    Request,
    Result,
    claim_deliveries,
    decide,
    expand_events,
    load_batch,
    parse_retry_after,
    prune_events,
    record_outcomes,
    work_waiting,
)
from portal.webhooks.endpoints import allowed_keys, check_endpoint_url
from portal.webhooks.models import DeliveryStatus, WebhookDelivery
from portal.webhooks.sealing import secret_seal
from portal.webhooks.signing import signature_header
from preferences.clock import now
from preferences.db import read_only_work, session_scope

log = logging.getLogger("portal.webhooks.worker")

USER_AGENT = "TalentConnect-Webhooks/1"
# How much of a receiver's answer is read (the first part is kept as the error of a failure);
# a longer answer closes the connection instead of being read to its end.
MAX_ANSWER = 64 * 1024
ANSWER_IN_ERROR = 200
# Events fanned out per round.
EXPAND_LIMIT = 2000
# How often a worker prunes old events (seconds of its own run time).
PRUNE_SECONDS = 600.0
# How often the watchdog looks for requests past their deadline.
WATCH_SECONDS = 0.1


@dataclass(frozen=True)
class WebhookPolicy:
    """The settings a webhook worker delivers by."""

    allowed_hosts: tuple[str, ...] = ()
    timeout: float = 10.0
    retry_window: timedelta = timedelta(hours=72)
    disable_after: timedelta = timedelta(days=5)
    keep: timedelta = timedelta(days=30)
    concurrency: int = 16
    # The admins' email when an endpoint is disabled (none: nobody is emailed).
    notice: AdminNotice | None = None
    # SECRET_KEYS, which open the stored signing secrets (`portal.webhooks.sealing`).
    secret_keys: tuple[str, ...] = ()


def webhook_policy(settings: Any) -> WebhookPolicy:
    """The policy of a `portal.config.Settings`."""
    mail = settings.mail_settings()
    return WebhookPolicy(
        allowed_hosts=tuple(settings.webhook_allowed_hosts),
        timeout=float(settings.webhook_timeout_seconds),
        retry_window=timedelta(hours=settings.webhook_retry_hours),
        disable_after=timedelta(days=settings.webhook_disable_after_days),
        keep=timedelta(days=settings.webhook_keep_days),
        concurrency=int(settings.webhook_concurrency),
        secret_keys=tuple(settings.secret_keys),
        notice=AdminNotice(
            base_context=mail.base_context(""),
            console_url=f"{settings.base_url}/admin/webhooks",
        ),
    )


def default_worker_id() -> str:
    """A name unique to this process and thread on this machine, used as the lease owner."""
    return f"{socket.gethostname()}:{os.getpid()}:wh{threading.get_ident() % 100000}"


class RequestGuard(FetchGuard):
    """One sending thread's connection policy, with a deadline per request, not per guard.

    It lives as long as the thread (its connections are kept alive between requests);
    `arm` starts a request's deadline and `disarm` ends it. The worker's watchdog calls
    `expire` on a request past its deadline, which shuts the thread's sockets down.
    """

    def __init__(self, timeout: float, private_ok: Collection[str]) -> None:
        super().__init__(timeout, private_ok)
        self._open: set[socket.socket] = set()
        self.due: float | None = None

    def remaining(self) -> float:
        if self.due is None:
            return self.timeout
        return max(0.001, self.due - time.monotonic())

    def track(self, sock: socket.socket) -> None:
        with self._lock:
            # Only the sockets still open are kept: a guard lives for days.
            self._open = {s for s in self._open if s.fileno() != -1}
            self._open.add(sock)
            self._sockets = list(self._open)
        if self.expired:
            self.expire()

    def arm(self) -> None:
        with self._lock:
            self.expired = False
            self.due = time.monotonic() + self.timeout

    def disarm(self) -> None:
        with self._lock:
            self.due = None

    def overdue(self, at: float) -> bool:
        with self._lock:
            return self.due is not None and at >= self.due and not self.expired


@dataclass
class _Sender:
    guard: RequestGuard
    session: requests.Session


@dataclass
class BatchResult:
    """What one round did."""

    expanded: int = 0
    claimed: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    released: int = 0

    @property
    def idle(self) -> bool:
        return self.expanded == 0 and self.claimed == 0


class WebhookWorker:
    """Delivers webhook events until stopped, `concurrency` requests at a time."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        policy: WebhookPolicy,
        *,
        worker_id: str | None = None,
        batch_size: int = 200,
        lease: timedelta | None = None,
    ) -> None:
        self._sessions = session_factory
        self.policy = policy
        self._seal = secret_seal(policy.secret_keys)  # ValueError without SECRET_KEYS
        self.worker_id = worker_id or default_worker_id()
        self._batch_size = batch_size
        concurrency = max(1, policy.concurrency)
        if lease is None:
            # Long enough for a whole batch of receivers that each take the full timeout.
            rounds = math.ceil(batch_size / concurrency) + 1
            lease = max(timedelta(minutes=5), timedelta(seconds=2 * rounds * policy.timeout))
        self._lease = lease
        self._concurrency = concurrency
        self._private_ok = tuple(allowed_keys(policy.allowed_hosts))
        self._stop = threading.Event()
        self._local = threading.local()
        self._senders: list[_Sender] = []
        self._senders_lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._watchdog: threading.Thread | None = None
        self._last_prune = time.monotonic()

    # ------------------------------------------------------------------ control

    def stop(self) -> None:
        """Let the requests in flight finish, hand the rest of the batch back, and return."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def close(self) -> None:
        """Stop the sending threads and the watchdog, and close their connections."""
        self._stop.set()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        if self._watchdog is not None:
            self._watchdog.join(timeout=5)
            self._watchdog = None
        with self._senders_lock:
            for sender in self._senders:
                sender.session.close()
            self._senders.clear()

    def _start(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                max_workers=self._concurrency, thread_name_prefix="webhook-send"
            )
        if self._watchdog is None:
            self._watchdog = threading.Thread(
                target=self._watch, name="webhook-watchdog", daemon=True
            )
            self._watchdog.start()
        return self._pool

    def _watch(self) -> None:
        """Cut off every request past its deadline (a receiver dripping bytes included)."""
        while not self._stop.wait(WATCH_SECONDS):
            at = time.monotonic()
            with self._senders_lock:
                senders = list(self._senders)
            for sender in senders:
                if sender.guard.overdue(at):
                    sender.guard.expire()
        # Stopping: requests in flight still get their deadline.
        while self._pool is not None:
            at = time.monotonic()
            with self._senders_lock:
                senders = list(self._senders)
            for sender in senders:
                if sender.guard.overdue(at):
                    sender.guard.expire()
            time.sleep(WATCH_SECONDS)

    # ------------------------------------------------------------------ the loop

    def run(self, *, poll_interval: float = 1.0, until_empty: bool = False) -> None:
        """Deliver until stopped, or with `until_empty` until nothing is left to do now.

        "Nothing left" means no event to fan out, no delivery due, and none being sent by
        another worker (whose success may let a candidate's next event go); deliveries
        waiting for a later retry are left for the next run.
        """
        log.info(
            "webhook worker started",
            extra={
                "worker": self.worker_id,
                "concurrency": self._concurrency,
                "batch_size": self._batch_size,
                "lease_s": int(self._lease.total_seconds()),
            },
        )
        try:
            while not self._stop.is_set():
                try:
                    result = self.run_once()
                    self._maybe_prune()
                except Exception:
                    log.exception("webhook batch failed", extra={"worker": self.worker_id})
                    if until_empty:
                        raise
                    self._stop.wait(poll_interval)
                    continue
                if not result.idle:
                    continue
                if until_empty:
                    if not self._others_busy():
                        break
                    self._stop.wait(min(poll_interval, 0.05))
                else:
                    self._stop.wait(poll_interval)
        finally:
            self.close()
        log.info("webhook worker stopped", extra={"worker": self.worker_id})

    def _others_busy(self) -> bool:
        """Whether a delivery is being sent (by another worker) or is due right now."""
        at = now()
        with read_only_work(), session_scope(self._sessions) as session:
            return bool(
                session.scalar(
                    select(
                        exists().where(
                            (WebhookDelivery.status == DeliveryStatus.SENDING)
                            | (
                                (WebhookDelivery.status == DeliveryStatus.PENDING)
                                & (WebhookDelivery.next_attempt_at <= at)
                            )
                        )
                    )
                )
            )

    def _maybe_prune(self) -> None:
        if time.monotonic() - self._last_prune < PRUNE_SECONDS:
            return
        self._last_prune = time.monotonic()
        self.prune()

    def prune(self) -> int:
        """Delete the events (with deliveries and attempts) past WEBHOOK_KEEP_DAYS; how many."""
        total = 0
        while not self._stop.is_set():
            with session_scope(self._sessions) as session:
                pruned = prune_events(session, self.policy.keep, limit=2000)
            total += pruned
            if pruned < 2000:
                break
        if total:
            log.info("webhook events pruned", extra={"worker": self.worker_id, "events": total})
        return total

    def run_once(self) -> BatchResult:
        """One round: fan out, claim a batch, send it, record it."""
        result = BatchResult()
        # Look before writing: an idle worker never takes SQLite's write lock.
        with read_only_work(), session_scope(self._sessions) as session:
            unexpanded, due = work_waiting(session)
        if unexpanded:
            with session_scope(self._sessions) as session:
                result.expanded = expand_events(session, EXPAND_LIMIT)
            due = True
        if self._stop.is_set() or not due:
            return result
        # One transaction claims and reads the batch (the reads are a few index lookups);
        # it commits before the first request goes out.
        with session_scope(self._sessions) as session:
            claimed = claim_deliveries(
                session, self.worker_id, limit=self._batch_size, lease=self._lease
            )
            batch = load_batch(session, claimed, self._seal) if claimed else []
        result.claimed = len(claimed)
        if not claimed:
            return result
        pool = self._start()
        results = list(pool.map(self._send, batch))
        outcomes = [
            decide(request.claimed, outcome, self.policy.retry_window)
            for request, outcome in zip(batch, results, strict=True)
        ]
        with session_scope(self._sessions) as session:
            recorded = record_outcomes(
                session,
                self.worker_id,
                outcomes,
                disable_after=self.policy.disable_after,
                notice=self.policy.notice,
            )
        for outcome in outcomes:
            if outcome.result.released:
                result.released += 1
            elif outcome.status is DeliveryStatus.DELIVERED:
                result.delivered += 1
            elif outcome.status is DeliveryStatus.FAILED:
                result.failed += 1
            else:
                result.retried += 1
        log.info(
            "webhook batch done",
            extra={
                "worker": self.worker_id,
                "expanded": result.expanded,
                "claimed": result.claimed,
                "delivered": result.delivered,
                "retried": result.retried,
                "failed": result.failed,
                "released": result.released,
                "disabled": ",".join(recorded.disabled) or "-",
            },
        )
        return result

    # ------------------------------------------------------------------ sending

    def _sender(self) -> _Sender:
        sender: _Sender | None = getattr(self._local, "sender", None)
        if sender is None:
            guard = RequestGuard(self.policy.timeout, self._private_ok)
            sender = _Sender(guard, guarded_session(guard, plain_http=True))
            sender.session.headers.clear()
            self._local.sender = sender
            with self._senders_lock:
                self._senders.append(sender)
        return sender

    def _send(self, request: Request) -> Result:
        """POST one delivery; never raises."""
        at = now()
        if self._stop.is_set():
            return Result(False, None, None, 0, at, released=True)
        fields = {
            "worker": self.worker_id,
            "endpoint": request.target.public_id,
            "webhook_id": request.message_id,
            "attempt": request.claimed.attempts,
        }
        try:
            check_endpoint_url(request.target.url, self.policy.allowed_hosts)
        except UrlRefused as exc:
            log.warning("webhook refused", extra={**fields, "error": str(exc)})
            return Result(False, None, f"not sent: {exc}", 0, at)
        if request.target.unsignable is not None:
            # Retried: putting the key back into SECRET_KEYS mends it.
            log.error("webhook unsigned", extra={**fields, "error": request.target.unsignable})
            error = f"not sent: {request.target.unsignable}"
            return Result(False, None, error, 0, at, retryable=True)
        timestamp = int(at.timestamp())
        headers = {
            "webhook-id": request.message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature_header(
                request.target.keys, request.message_id, timestamp, request.body
            ),
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "accept": "*/*",
            "accept-encoding": "identity",
        }
        sender = self._sender()
        guard = sender.guard
        timeout = self.policy.timeout
        started = time.perf_counter()
        guard.arm()
        try:
            response = sender.session.post(
                request.target.url,
                data=request.body,
                headers=headers,
                timeout=(timeout, timeout),
                allow_redirects=False,
                stream=True,
            )
            with response:
                answer = _read_answer(response)
            if guard.expired:
                # Cut off by the watchdog: whatever was parsed of the answer is not one.
                raise TimeoutError
            code = response.status_code
            retry_after = response.headers.get("Retry-After")
        except AddressRefused as exc:
            result = Result(
                False,
                None,
                f"{exc}; list the host in TALENTCONNECT_WEBHOOK_ALLOWED_HOSTS to allow it",
                _ms(started),
                at,
            )
            log.warning("webhook refused", extra={**fields, "error": result.error})
            return result
        except Exception as exc:
            error = _network_error(exc, guard.expired, timeout)
            log.info("webhook attempt failed", extra={**fields, "error": error})
            return Result(False, None, error, _ms(started), at, retryable=True)
        finally:
            guard.disarm()
        duration = _ms(started)
        if 200 <= code < 300:
            log.debug("webhook delivered", extra={**fields, "status": code, "ms": duration})
            return Result(True, code, None, duration, at)
        if 300 <= code < 400:
            error = f"HTTP {code}: redirects are not followed"
        else:
            error = f"HTTP {code}" + (f": {answer}" if answer else "")
        retryable = code >= 500 or code == 429
        wait = None
        if code in (429, 503):
            wait = parse_retry_after(retry_after, at)
        log.info(
            "webhook attempt failed",
            extra={**fields, "status": code, "ms": duration, "retryable": retryable},
        )
        return Result(False, code, error, duration, at, retryable=retryable, retry_after=wait)


def _ms(started: float) -> int:
    return max(0, round((time.perf_counter() - started) * 1000))


def _read_answer(response: requests.Response) -> str:
    """The start of the answer's body, as text; a long answer is not read to its end."""
    kept = b""
    size = 0
    for chunk in response.iter_content(8192):
        size += len(chunk)
        if len(kept) < ANSWER_IN_ERROR * 4:
            kept += chunk[: ANSWER_IN_ERROR * 4]
        if size > MAX_ANSWER:
            break  # the connection is closed with the response, not reused
    text = kept.decode("utf-8", errors="replace")
    return " ".join(text.split())[:ANSWER_IN_ERROR]


def _network_error(exc: BaseException, expired: bool, timeout: float) -> str:
    """A short, secret-free description of a failed request (no URL: its query may hold one)."""
    if expired or isinstance(exc, requests.Timeout | TimeoutError | socket.timeout):
        return f"timed out after {timeout:g} s"
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, TimeoutError):
            return f"timed out after {timeout:g} s"
        if isinstance(current, OSError) and current.strerror:
            return f"connection failed: {current.strerror}"
        for nested in (
            getattr(current, "reason", None),
            current.__cause__,
            current.__context__,
            *current.args,
        ):
            if isinstance(nested, BaseException):
                todo.append(nested)
    return f"connection failed: {type(exc).__name__}"
