"""The sender worker: claims outbox rows, re-checks, renders and sends them."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from email.policy import Policy
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from mailer.config import MailSettings
from mailer.eligibility import skip_reason
from mailer.errors import MailerError, PermanentSendError, TransientSendError
from mailer.inbound import unsubscribe_mailto
from mailer.message import build_message
from mailer.models import MessageKind, OutboxMessage
from mailer.outbox import claim_batch, mark_failed, mark_retry, mark_sent, mark_skipped
from mailer.render import Renderer
from mailer.sender import Sender
from preferences.clock import now
from preferences.db import session_scope
from preferences.models import Candidate
from preferences.tokens import LinkPurpose, make_link_token

log = logging.getLogger("mailer.worker")

RETRY_BASE = timedelta(minutes=1)
RETRY_CAP = timedelta(hours=1)


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff with jitter: about 1, 2, 4 … minutes, capped at an hour."""
    base = min(RETRY_BASE * (2 ** max(attempts - 1, 0)), RETRY_CAP)
    return base * random.uniform(0.5, 1.5)


class UriListHeader(str):
    """An RFC 2369 header value (``<uri>, <uri>``) that folds only between its URIs.

    The email package would RFC 2047-encode a URL longer than one line, and mail
    providers do not decode encoded words in List-Unsubscribe, so the links would be
    lost. Folding after the comma between URIs is legal and keeps every URL whole.
    """

    name: str
    uris: tuple[str, ...]

    def __new__(cls, name: str, uris: Sequence[str]) -> UriListHeader:
        value = super().__new__(cls, ", ".join(f"<{uri}>" for uri in uris))
        value.name = name
        value.uris = tuple(uris)
        return value

    def fold(self, *, policy: Policy) -> str:
        """Called by the email generator, which treats a value with a `name` as a header."""
        separator = "," + policy.linesep + " "
        return f"{self.name}: {separator.join(f'<{uri}>' for uri in self.uris)}{policy.linesep}"


def default_worker_id() -> str:
    """A name unique to this process on this machine, used as the lease owner."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 100000}"


@dataclass
class BatchResult:
    """What one batch did."""

    claimed: int = 0
    sent: int = 0
    skipped: int = 0
    retried: int = 0
    failed: int = 0
    released: int = 0


class OutboxWorker:
    """Drains the outbox through a `Sender`."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        sender_factory: Callable[[], Sender],
        settings: MailSettings,
        *,
        worker_id: str | None = None,
        batch_size: int = 50,
        lease: timedelta = timedelta(minutes=5),
        renderer: Renderer | None = None,
    ) -> None:
        self._sessions = session_factory
        self._sender_factory = sender_factory
        self._settings = settings
        self.worker_id = worker_id or default_worker_id()
        self._batch_size = batch_size
        self._lease = lease
        self._renderer = renderer or Renderer()
        self._stop = threading.Event()

    def stop(self) -> None:
        """Ask the worker to finish the message in flight and return."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run_once(self) -> BatchResult:
        """Claim one batch and deliver it."""
        with session_scope(self._sessions) as session:
            batch = claim_batch(session, self.worker_id, limit=self._batch_size, lease=self._lease)
            session.expunge_all()
        result = BatchResult(claimed=len(batch))
        if batch:
            asyncio.run(self._deliver(batch, result))
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
                },
            )
        return result

    def run(self, *, poll_interval: float = 2.0, until_empty: bool = False) -> None:
        """Deliver batches until stopped (or, with `until_empty`, until none are due)."""
        log.info("worker started", extra={"worker": self.worker_id})
        while not self._stop.is_set():
            try:
                result = self.run_once()
            except Exception:
                log.exception("batch failed", extra={"worker": self.worker_id})
                result = BatchResult()
                if until_empty:
                    raise
            if result.claimed == 0:
                if until_empty:
                    break
                self._stop.wait(poll_interval)
        log.info("worker stopped", extra={"worker": self.worker_id})

    def _context(self, session: Session, message: OutboxMessage) -> dict[str, Any]:
        s = self._settings
        context: dict[str, Any] = {
            "company_name": s.company_name,
            "base_url": s.base_url,
            "postal_address": s.postal_address,
            "first_name": "",
        }
        if message.candidate_id is not None:
            candidate = session.get(Candidate, message.candidate_id)
            if candidate is not None:
                context["first_name"] = candidate.first_name
        context.update(message.context)
        return context

    def _bulk_headers(self, session: Session, message: OutboxMessage) -> dict[str, str]:
        """RFC 8058 one-click unsubscribe headers for alert and campaign mail."""
        if not message.kind.is_bulk or not self._settings.secret_keys:
            return {}
        candidate = session.get(Candidate, message.candidate_id)
        if candidate is None:
            return {}
        if message.kind is MessageKind.CAMPAIGN:
            list_ref = "mass_email"
        else:
            list_ref = f"interest:{message.context.get('interest_id')}"
        token = make_link_token(
            self._settings.secret_keys, LinkPurpose.ONE_CLICK, candidate, l=list_ref
        )
        domain = self._settings.sending_domain
        return {
            # https first: RFC 8058 one-click needs it; mailto is for clients that only
            # know RFC 2369, answered by `talentconnect inbound serve`.
            "List-Unsubscribe": UriListHeader(
                "List-Unsubscribe",
                (
                    f"{self._settings.base_url}/unsubscribe/{token}",
                    unsubscribe_mailto(self._settings.unsubscribe_address, token),
                ),
            ),
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "List-Id": f"{self._settings.company_name} {list_ref.replace(':', '-')} "
            f"<{list_ref.replace(':', '-')}.{domain}>",
        }

    async def _deliver(self, batch: list[OutboxMessage], result: BatchResult) -> None:
        sender = self._sender_factory()
        try:
            for message in batch:
                if self._stop.is_set():
                    self._release(message)
                    result.released += 1
                    continue
                await self._deliver_one(sender, message, result)
        finally:
            await sender.close()

    def _release(self, message: OutboxMessage) -> None:
        # Shutting down: hand the row straight back instead of waiting out the lease.
        with session_scope(self._sessions) as session:
            mark_retry(session, message.id, self.worker_id, message.last_error, retry_at=now())

    async def _deliver_one(
        self, sender: Sender, message: OutboxMessage, result: BatchResult
    ) -> None:
        fields = {"outbox_id": message.id, "kind": message.kind.value, "attempt": message.attempts}
        with session_scope(self._sessions) as session:
            if message.deliver_until is not None and now() > message.deliver_until:
                # A late login link or alert is worse than none: stale mail is not sent.
                mark_failed(session, message.id, self.worker_id, "expired before it could be sent")
                result.failed += 1
                log.warning("expired", extra=fields)
                return
            reason = skip_reason(session, message)
            if reason is not None:
                mark_skipped(session, message.id, self.worker_id, reason)
                result.skipped += 1
                log.info("skipped", extra={**fields, "reason": reason})
                return
            bulk_headers = self._bulk_headers(session, message)
            try:
                rendered = self._renderer.render(message.template, self._context(session, message))
            except MailerError as exc:
                mark_failed(session, message.id, self.worker_id, f"render failed: {exc}")
                result.failed += 1
                log.error("render failed", extra={**fields, "error": str(exc)})
                return
        email = build_message(
            from_addr=self._settings.mail_from,
            to_addr=message.to_address,
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            message_id_domain=self._settings.sending_domain,
            extra_headers=bulk_headers,
        )
        envelope_from = email["From"].addresses[0].addr_spec
        try:
            await sender.send(email, envelope_from=envelope_from, recipient=message.to_address)
        except PermanentSendError as exc:
            with session_scope(self._sessions) as session:
                mark_failed(session, message.id, self.worker_id, str(exc))
            result.failed += 1
            log.warning("permanent failure", extra={**fields, "error": str(exc)})
            return
        except TransientSendError as exc:
            retry_at = now() + retry_delay(message.attempts)
            with session_scope(self._sessions) as session:
                if message.deliver_until is not None and retry_at > message.deliver_until:
                    mark_failed(
                        session,
                        message.id,
                        self.worker_id,
                        f"gave up after {message.attempts} attempts: {exc}",
                    )
                    result.failed += 1
                    log.warning("gave up", extra={**fields, "error": str(exc)})
                else:
                    mark_retry(session, message.id, self.worker_id, str(exc), retry_at=retry_at)
                    result.retried += 1
                    log.info(
                        "will retry",
                        extra={**fields, "error": str(exc), "retry_at": retry_at.isoformat()},
                    )
            return
        with session_scope(self._sessions) as session:
            if not mark_sent(session, message.id, self.worker_id, email["Message-ID"]):
                log.warning("lease lost before recording the send", extra=fields)
        result.sent += 1
        log.info("sent", extra=fields)
