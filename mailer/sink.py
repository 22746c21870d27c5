"""A development mail sink: a real SMTP server on loopback that keeps every message."""

from __future__ import annotations

import email
import email.policy
import mailbox
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.header import Header, decode_header
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol

from aiosmtpd.controller import Controller

from preferences.clock import now


def _header_text(value: object) -> str:
    """A header value as text; the envelope of SMTPUTF8 mail is raw UTF-8, not RFC 2047."""
    if isinstance(value, Header):
        # The compat32 parser wraps raw 8-bit bytes in a Header of charset unknown-8bit.
        return "".join(
            part.decode("utf-8", "replace") if isinstance(part, bytes) else part
            for part, _charset in decode_header(value)
        )
    return str(value or "")


@dataclass(frozen=True)
class SinkMessage:
    """One message the sink received."""

    key: str
    envelope_from: str
    envelope_to: tuple[str, ...]
    data: bytes
    received_at: datetime = field(default_factory=now)

    def parsed(self) -> EmailMessage:
        parsed: EmailMessage = email.message_from_bytes(self.data, policy=email.policy.default)
        return parsed


class MessageStore(Protocol):
    """Where the sink puts what it receives."""

    def add(self, envelope_from: str, envelope_to: list[str], data: bytes) -> None: ...


class MemoryStore:
    """Keeps messages in a list; for tests."""

    def __init__(self) -> None:
        self.messages: list[SinkMessage] = []
        self._cond = threading.Condition()

    def add(self, envelope_from: str, envelope_to: list[str], data: bytes) -> None:
        with self._cond:
            key = str(len(self.messages) + 1)
            self.messages.append(SinkMessage(key, envelope_from, tuple(envelope_to), data))
            self._cond.notify_all()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[SinkMessage]:
        """Block until at least `count` messages arrived; raise TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"got {len(self.messages)} of {count} messages")
                self._cond.wait(left)
            return list(self.messages)

    def clear(self) -> None:
        with self._cond:
            self.messages.clear()


class MaildirStore:
    """Keeps messages in a Maildir, so any process can list them."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._box = mailbox.Maildir(path, create=True)
        self._lock = threading.Lock()

    def add(self, envelope_from: str, envelope_to: list[str], data: bytes) -> None:
        header = (
            f"X-Sink-Envelope-From: {envelope_from}\r\n"
            f"X-Sink-Envelope-To: {', '.join(envelope_to)}\r\n"
        ).encode()
        with self._lock:
            self._box.add(header + data)

    def list(self, limit: int = 200) -> list[SinkMessage]:
        """Return the newest messages first."""
        box = mailbox.Maildir(self.path, create=True)
        items: list[SinkMessage] = []
        for key in box.iterkeys():
            item = self._load(box, key)
            if item is not None:
                items.append(item)
        items.sort(key=lambda m: m.received_at, reverse=True)
        return items[:limit]

    def get(self, key: str) -> SinkMessage | None:
        box = mailbox.Maildir(self.path, create=True)
        if "/" in key or key not in box:
            return None
        return self._load(box, key)

    @staticmethod
    def _load(box: mailbox.Maildir, key: str) -> SinkMessage | None:
        try:
            msg = box.get_message(key)
        except KeyError:
            return None
        envelope_from = _header_text(msg.get("X-Sink-Envelope-From", ""))
        envelope_to = tuple(
            a.strip()
            for a in _header_text(msg.get("X-Sink-Envelope-To", "")).split(",")
            if a.strip()
        )
        del msg["X-Sink-Envelope-From"]
        del msg["X-Sink-Envelope-To"]
        return SinkMessage(
            key=key,
            envelope_from=envelope_from,
            envelope_to=envelope_to,
            data=msg.as_bytes(),
            received_at=datetime.fromtimestamp(msg.get_date(), UTC),
        )


class _Handler:
    def __init__(self, store: MessageStore) -> None:
        self._store = store

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8")
        self._store.add(envelope.mail_from, list(envelope.rcpt_tos), data)
        return "250 Message accepted for delivery"


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that is free on `host` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class MailSink:
    """An aiosmtpd server on loopback that hands every message to a store.

    It advertises SMTPUTF8, like a modern relay.
    """

    def __init__(self, store: MessageStore, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.store = store
        self.host = host
        self.port = port or free_port(host)
        self._controller = Controller(
            _Handler(store), hostname=host, port=self.port, enable_SMTPUTF8=True
        )

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def start(self) -> MailSink:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()
