"""Helpers for the mailer tests: committed seed data and a scriptable SMTP relay."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mailer.config import MailSettings, SmtpTarget
from mailer.models import Campaign, MessageKind, OutboxMessage
from mailer.outbox import DEFAULT_DELIVER_WITHIN, enqueue
from mailer.sink import free_port
from preferences.db import session_scope
from preferences.models import Candidate, CandidateStatus, MassEmail, MassEmailStatus

T0 = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)

SETTINGS = MailSettings(
    mail_from="Acme Careers <careers@acme.example.com>",
    company_name="Acme",
    base_url="https://careers.acme.example.com",
    postal_address="1 Test Street, Testville",
)


def add_candidate(
    sessions: sessionmaker[Session],
    email: str,
    *,
    first_name: str = "",
    status: CandidateStatus = CandidateStatus.ACTIVE,
    mass_email: MassEmail | None = None,
    verified: bool = False,
) -> int:
    """Commit a candidate and return its id; `verified`: the address is confirmed."""
    with session_scope(sessions) as session:
        candidate = Candidate(email=email, first_name=first_name, status=status)
        if verified:
            candidate.email_verified_at = T0
        session.add(candidate)
        session.flush()
        if mass_email is not None:
            session.add(MassEmailStatus(candidate_id=candidate.id, status=mass_email))
        return candidate.id


def queue(
    sessions: sessionmaker[Session],
    to: str,
    key: str,
    *,
    kind: MessageKind = MessageKind.WELCOME,
    template: str = "welcome",
    candidate_id: int | None = None,
    context: dict[str, Any] | None = None,
    deliver_within: timedelta = DEFAULT_DELIVER_WITHIN,
) -> bool:
    """Commit one outbox row; a campaign row without a `campaign_id` gets a new campaign."""
    with session_scope(sessions) as session:
        if kind is MessageKind.CAMPAIGN and "campaign_id" not in (context or {}):
            campaign = Campaign(name="News", subject="News from Acme", body="Hello.")
            session.add(campaign)
            session.flush()
            context = {**(context or {}), "campaign_id": campaign.id}
        return enqueue(
            session,
            kind=kind,
            template=template,
            to_address=to,
            dedupe_key=key,
            candidate_id=candidate_id,
            context=context,
            deliver_within=deliver_within,
        )


def outbox(sessions: sessionmaker[Session]) -> dict[str, OutboxMessage]:
    """Every outbox row, fresh from the database, by dedupe key."""
    with sessions() as session:
        rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        session.expunge_all()
    return {row.dedupe_key: row for row in rows}


@dataclass(frozen=True)
class Delivery:
    """One message a scripted relay accepted."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    mail_options: tuple[str, ...]
    data: bytes


@dataclass
class ScriptedHandler:
    """An aiosmtpd handler whose answers each test chooses, per recipient.

    `rcpt_replies` answer RCPT TO, `data_replies` answer DATA, and a recipient in
    `drop_on_data` has its connection cut at DATA once. `mail_replies` answer the
    next MAIL FROM commands, one each, in order; after a 421 the relay closes the
    connection, as RFC 5321 says a relay shutting down does. Everything else is
    accepted and recorded.
    """

    mail_replies: list[str] = field(default_factory=list)
    rcpt_replies: dict[str, str] = field(default_factory=dict)
    data_replies: dict[str, str] = field(default_factory=dict)
    drop_on_data: set[str] = field(default_factory=set)
    on_delivery: Callable[[Delivery], None] | None = None
    deliveries: list[Delivery] = field(default_factory=list)
    connections: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        with self._lock:
            self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]
    ) -> str:
        with self._lock:
            reply = self.mail_replies.pop(0) if self.mail_replies else None
        if reply is None:
            envelope.mail_from = address
            envelope.mail_options.extend(mail_options)
            return "250 OK"
        if reply.startswith("421"):
            await server.push(reply)
            server.transport.close()
        return reply

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        reply = self.rcpt_replies.get(address)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        for recipient in envelope.rcpt_tos:
            if recipient in self.drop_on_data:
                self.drop_on_data.discard(recipient)
                server.transport.close()
                return "421 4.4.2 connection dropped"
            if recipient in self.data_replies:
                return self.data_replies[recipient]
        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8")
        delivery = Delivery(
            mail_from=envelope.mail_from,
            rcpt_tos=tuple(envelope.rcpt_tos),
            mail_options=tuple(envelope.mail_options),
            data=data,
        )
        with self._lock:
            self.deliveries.append(delivery)
        if self.on_delivery is not None:
            self.on_delivery(delivery)
        return "250 2.0.0 accepted"


@dataclass
class Relay:
    """A running scripted relay on loopback."""

    handler: ScriptedHandler
    controller: Controller
    host: str
    port: int

    @property
    def target(self) -> SmtpTarget:
        return SmtpTarget(host=self.host, port=self.port, timeout=5)


def start_relay(*, smtputf8: bool = True) -> Relay:
    """Start a scripted relay; it offers SMTPUTF8 only when asked to."""
    handler = ScriptedHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, enable_SMTPUTF8=smtputf8)
    controller.start()
    return Relay(handler=handler, controller=controller, host="127.0.0.1", port=port)


def closed_port_target() -> SmtpTarget:
    """A relay address nothing listens on."""
    return SmtpTarget(host="127.0.0.1", port=free_port(), timeout=5)
