"""The inbound mail listener: unsubscribe requests sent by email.

Bulk mail lists ``<mailto:UNSUBSCRIBE_MAILBOX?subject=unsubscribe%20TOKEN>`` after
the https one-click URL in `List-Unsubscribe` (RFC 2369, RFC 8058). A mail client
that uses it sends a message to that mailbox with the signed one-click token in the
Subject. The token cannot go into the address: an SMTP local part holds at most 64
octets and the token is longer. The listener verifies the token and applies exactly
the unsubscribe the one-click POST applies (`preferences.lists`), recorded with
source `one_click` and the detail ``{"via": "email"}``.

Each recipient is routed to an `InboundRoute`. An address that no route claims is
refused at RCPT with 550, so the listener never accepts mail it cannot use. VERP
bounces (``bounces+…``) are another route, `mailer.bounces.BounceRoute`.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import enum
import functools
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Protocol
from urllib.parse import quote, unquote

from aiosmtpd.controller import Controller
from sqlalchemy.orm import Session, sessionmaker

from mailer.sink import free_port
from preferences.db import session_scope
from preferences.lists import (
    ListUnavailable,
    UnknownList,
    one_click_unsubscribe,
    read_one_click_link,
)
from preferences.tokens import InvalidLink, LinkExpired

log = logging.getLogger("mailer.inbound")

UNSUBSCRIBE_SUBJECT = "unsubscribe"
VIA_EMAIL = "email"
# Requests are a few lines; DSNs (the bounce route) may quote a whole message.
MAX_MESSAGE_BYTES = 10 * 1024 * 1024
# Only so much of a body is searched for a token, and only so many candidates are
# checked, so a large or hostile message costs little.
MAX_BODY_CHARS = 100_000
MAX_TOKEN_CANDIDATES = 20

# A run of the characters of a signed token (URL-safe base64 and "."), long enough to
# be one; a real token has at least three dot-separated parts.
_TOKEN_RUN = re.compile(r"[A-Za-z0-9_.\-]{40,2000}")
# What RFC 6068 lets stand unencoded in the address of a mailto: URL (besides
# letters, digits and "-._~", which `quote` always keeps). "," separates addresses.
_MAILTO_ADDRESS_SAFE = "!$'()*+;:@"


# Characters `quote` never encodes: a token of only these is its own encoding.
_UNRESERVED = re.compile(r"[A-Za-z0-9_.\-~]*")


def unsubscribe_mailto(mailbox: str, token: str) -> str:
    """The RFC 6068 ``mailto:`` URL of an unsubscribe request carrying `token`."""
    if _UNRESERVED.fullmatch(token):
        # A signed token always is (URL-safe base64 and dots): quote the rest once.
        return _mailto_start(mailbox) + token
    return _mailto_start(mailbox) + quote(token, safe="")


@functools.lru_cache(maxsize=16)
def _mailto_start(mailbox: str) -> str:
    # `quote` encodes character by character, so the subject's start quotes on its own.
    address = quote(mailbox, safe=_MAILTO_ADDRESS_SAFE)
    return f"mailto:{address}?subject={quote(f'{UNSUBSCRIBE_SUBJECT} ', safe='')}"


def same_address(a: str, b: str) -> bool:
    """Whether two addresses name the same mailbox (case does not matter in practice)."""
    return a.strip().strip("<>").lower() == b.strip().strip("<>").lower()


class UnsubscribeOutcome(enum.StrEnum):
    """What one unsubscribe request by email did."""

    UNSUBSCRIBED = "unsubscribed"
    ALREADY_UNSUBSCRIBED = "already_unsubscribed"
    NOT_FOR_THIS_MAILBOX = "not_for_this_mailbox"
    UNREADABLE = "unreadable_message"
    NO_TOKEN = "no_token"  # noqa: S105 - an outcome, not a secret
    INVALID_TOKEN = "invalid_token"  # noqa: S105 - an outcome, not a secret
    EXPIRED_TOKEN = "expired_token"  # noqa: S105 - an outcome, not a secret
    UNKNOWN_LIST = "unknown_list"
    LIST_UNAVAILABLE = "list_unavailable"


def _parse(raw: bytes) -> EmailMessage:
    parsed: EmailMessage = email.message_from_bytes(raw, policy=email.policy.default)
    return parsed


def _subject(message: EmailMessage) -> str:
    try:
        return str(message.get("Subject", "") or "")
    except Exception:  # a malformed header is treated as no subject
        return ""


def _body_text(message: EmailMessage) -> str:
    """The text parts of `message`, up to MAX_BODY_CHARS."""
    texts: list[str] = []
    size = 0
    for part in message.walk():
        if part.get_content_maintype() != "text" or part.is_attachment():
            continue
        try:
            content = part.get_content()
        except Exception:  # unknown charset or broken encoding: skip the part
            log.debug("unreadable text part skipped", exc_info=True)
            continue
        if isinstance(content, str):
            texts.append(content[: MAX_BODY_CHARS - size])
            size += len(texts[-1])
        if size >= MAX_BODY_CHARS:
            break
    return "\n".join(texts)


def token_candidates(text: str) -> list[str]:
    """Strings in `text` that look like signed tokens, in order, without repeats.

    The percent-decoded text is searched too, for clients that put the mailto:
    subject in without decoding it.
    """
    found: list[str] = []
    for variant in (text, unquote(text)):
        for run in _TOKEN_RUN.findall(variant):
            token = run.rstrip(".")  # a sentence may end right after the token
            if token.count(".") >= 2 and token not in found:
                found.append(token)
    return found


def find_tokens(raw: bytes) -> list[str]:
    """Token candidates of a raw message: the Subject's first, then the body's."""
    message = _parse(raw)
    candidates = token_candidates(_subject(message))
    candidates += [t for t in token_candidates(_body_text(message)) if t not in candidates]
    return candidates[:MAX_TOKEN_CANDIDATES]


def process_unsubscribe_request(
    session: Session,
    raw: bytes,
    *,
    recipients: Sequence[str],
    mailbox: str,
    secret_keys: Sequence[str],
) -> UnsubscribeOutcome:
    """Apply the unsubscribe request in the raw message `raw`, if it is a valid one.

    It is one when a recipient is `mailbox` and a one-click token signed with one of
    `secret_keys` is in the Subject (or, failing that, in the body). It then does
    what the one-click POST does, with the consent detail ``{"via": "email"}``;
    repeating it changes nothing. A missing, tampered, expired, revoked or
    other-purpose token changes nothing and is logged; parse problems never raise.
    Database errors do, so the listener can ask the sender to retry. Flushes, never
    commits.
    """
    if not any(same_address(r, mailbox) for r in recipients):
        return _ignored(UnsubscribeOutcome.NOT_FOR_THIS_MAILBOX)
    try:
        candidates = find_tokens(raw)
    except Exception:  # the email package rarely raises, but a request must never crash us
        log.debug("unreadable unsubscribe request", exc_info=True)
        return _ignored(UnsubscribeOutcome.UNREADABLE)
    if not candidates:
        return _ignored(UnsubscribeOutcome.NO_TOKEN)
    failure = UnsubscribeOutcome.INVALID_TOKEN
    for token in candidates:
        try:
            link = read_one_click_link(session, secret_keys, token)
        except LinkExpired:
            failure = UnsubscribeOutcome.EXPIRED_TOKEN
            continue
        except InvalidLink:
            continue
        fields: dict[str, Any] = {"candidate": link.candidate.public_id}
        try:
            target = link.resolve(session)
        except ListUnavailable:
            return _ignored(UnsubscribeOutcome.LIST_UNAVAILABLE, **fields)
        except UnknownList:
            return _ignored(UnsubscribeOutcome.UNKNOWN_LIST, **fields)
        changed = one_click_unsubscribe(session, link.candidate, target, detail={"via": VIA_EMAIL})
        outcome = (
            UnsubscribeOutcome.UNSUBSCRIBED if changed else UnsubscribeOutcome.ALREADY_UNSUBSCRIBED
        )
        log.info(
            "unsubscribe request applied",
            extra={"outcome": outcome.value, "list": str(target.ref), **fields},
        )
        return outcome
    return _ignored(failure, candidates=len(candidates))


def _ignored(outcome: UnsubscribeOutcome, **fields: Any) -> UnsubscribeOutcome:
    log.warning("unsubscribe request ignored", extra={"outcome": outcome.value, **fields})
    return outcome


@dataclass(frozen=True)
class InboundMessage:
    """One message as received: the envelope, and the recipients one route accepted."""

    envelope_from: str
    recipients: tuple[str, ...]
    data: bytes


class InboundRoute(Protocol):
    """One kind of mail the listener takes, chosen by recipient address."""

    @property
    def name(self) -> str:
        """A short name for logs."""
        ...

    def accepts(self, recipient: str) -> bool:
        """Whether mail to `recipient` is for this route (checked at RCPT)."""
        ...

    def handle(self, session: Session, message: InboundMessage) -> str:
        """Process `message` in `session` (committed afterwards); return the outcome."""
        ...


@dataclass(frozen=True)
class UnsubscribeRoute:
    """Unsubscribe requests to the configured mailbox."""

    mailbox: str
    secret_keys: tuple[str, ...]
    name: str = "unsubscribe"

    def accepts(self, recipient: str) -> bool:
        return same_address(recipient, self.mailbox)

    def handle(self, session: Session, message: InboundMessage) -> str:
        return process_unsubscribe_request(
            session,
            message.data,
            recipients=message.recipients,
            mailbox=self.mailbox,
            secret_keys=self.secret_keys,
        ).value


class InboundHandler:
    """The aiosmtpd handler: refuses unknown recipients, hands each message to its route."""

    def __init__(self, session_factory: sessionmaker[Session], routes: Sequence[InboundRoute]):
        self._sessions = session_factory
        self._routes = tuple(routes)

    def route_for(self, recipient: str) -> InboundRoute | None:
        return next((route for route in self._routes if route.accepts(recipient)), None)

    def deliver(self, envelope_from: str, recipients: Sequence[str], data: bytes) -> list[str]:
        """Hand `data` to the route of each recipient, one transaction per route."""
        outcomes: list[str] = []
        for route in self._routes:
            mine = tuple(r for r in recipients if self.route_for(r) is route)
            if not mine:
                continue
            message = InboundMessage(envelope_from, mine, data)
            with session_scope(self._sessions) as session:
                outcome = route.handle(session, message)
            log.info("inbound message handled", extra={"route": route.name, "outcome": outcome})
            outcomes.append(outcome)
        return outcomes

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if self.route_for(address) is None:
            log.info("recipient refused", extra={"recipient": address})
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        try:
            # The database work blocks; keep the SMTP event loop free for other clients.
            await asyncio.to_thread(
                self.deliver, envelope.mail_from or "", list(envelope.rcpt_tos), data
            )
        except Exception:
            log.exception("inbound message failed")
            # Temporary: the sending server keeps the message and tries again later.
            return "451 4.3.0 Temporary failure, please try again later"
        return "250 2.0.0 OK"


class InboundListener:
    """An aiosmtpd server for an `InboundHandler`, on its own thread."""

    def __init__(self, handler: InboundHandler, *, host: str = "127.0.0.1", port: int = 0):
        self.handler = handler
        self.host = host
        self.port = port or free_port(host)
        self._controller = Controller(
            handler,
            hostname=host,
            port=self.port,
            enable_SMTPUTF8=True,
            data_size_limit=MAX_MESSAGE_BYTES,
        )

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def start(self) -> InboundListener:
        """Bind and start serving; raises OSError when the port is taken."""
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()
