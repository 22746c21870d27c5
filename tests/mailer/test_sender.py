"""The aiosmtplib sender against real SMTP servers on loopback."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import pytest

from mailer.config import SmtpTarget
from mailer.errors import PermanentSendError, SendError, TransientSendError
from mailer.message import build_message_bytes
from mailer.sender import SmtpSender, wire_form
from mailer.sink import MailSink, MemoryStore
from preferences.clock import FrozenClock

from .support import Delivery, Relay, closed_port_target

T = TypeVar("T")
SENDER = "careers@acme.example.com"


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def message(to: str) -> bytes:
    return build_message_bytes(
        from_addr=f"Acme Careers <{SENDER}>",
        to_addr=to,
        subject="Hello",
        text="Hello\n",
        html="<p>Hello</p>",
        message_id_domain="acme.example.com",
    ).data


async def send_all(
    sender: SmtpSender, recipients: list[str], data: bytes | None = None
) -> list[SendError | None]:
    """Send one message per recipient (or `data` to each) over one sender; collect outcomes."""
    outcomes: list[SendError | None] = []
    try:
        for recipient in recipients:
            body = message(recipient) if data is None else data
            try:
                await sender.send(body, envelope_from=SENDER, recipient=recipient)
            except SendError as exc:
                outcomes.append(exc)
            else:
                outcomes.append(None)
    finally:
        await sender.close()
    return outcomes


def test_sends_to_the_sink(smtp_server: MailSink, clock: FrozenClock) -> None:
    """A message reaches a real SMTP server with the envelope we gave."""
    sender = SmtpSender(SmtpTarget.from_url(smtp_server.url + "?timeout=5"))
    assert run(send_all(sender, ["ana@example.com"])) == [None]
    assert isinstance(smtp_server.store, MemoryStore)
    (received,) = smtp_server.store.wait_for(1)
    assert received.envelope_from == SENDER
    assert received.envelope_to == ("ana@example.com",)
    assert received.parsed()["Subject"] == "Hello"


def test_the_relay_receives_exactly_the_bytes_given(relay: Relay, clock: FrozenClock) -> None:
    """The bytes handed to send() arrive unchanged, even lines that start with a dot."""
    data = message("ana@example.com").replace(
        b"MIME-Version: 1.0\r\n", b"MIME-Version: 1.0\r\nX-Note: .a dot\r\n"
    )
    data += b".\r\n..two dots\r\n"
    assert run(send_all(SmtpSender(relay.target), ["ana@example.com"], data)) == [None]
    (delivery,) = relay.handler.deliveries
    assert delivery.data == data


def test_lone_line_ends_are_sent_as_crlf_and_a_leading_dot_is_kept(
    relay: Relay, clock: FrozenClock
) -> None:
    """A message with bare LF and CR line ends, a dot first and no final line end arrives
    as CRLF lines with its dots intact, and MAIL FROM declares its size as sent."""
    data = b".starts with a dot\nSubject: mixed\r\rbody\n.dot line\r\nlast line"
    expected = b".starts with a dot\r\nSubject: mixed\r\n\r\nbody\r\n.dot line\r\nlast line\r\n"
    assert run(send_all(SmtpSender(relay.target), ["ana@example.com"], data)) == [None]
    (delivery,) = relay.handler.deliveries
    assert delivery.data == expected
    assert f"SIZE={len(expected)}" in delivery.mail_options


@pytest.mark.parametrize(
    ("message", "payload", "size"),
    [
        (b"a\r\n.b\r\n", b"a\r\n..b\r\n.\r\n", 7),
        (b".a\r\n..b\r\n", b"..a\r\n...b\r\n.\r\n", 9),
        (b"a\r\nb", b"a\r\nb\r\n.\r\n", 6),
        (b"a\nb\r.c", b"a\r\nb\r\n..c\r\n.\r\n", 10),
        (b"", b"\r\n.\r\n", 2),
    ],
    ids=["dot-line", "leading-dots", "no-final-crlf", "lone-lf-and-cr", "empty"],
)
def test_wire_form_matches_smtp_transparency(message: bytes, payload: bytes, size: int) -> None:
    """Dots are doubled at line starts (RFC 5321 4.5.2), line ends become CRLF, and the
    end-of-data line follows; SIZE counts the message before the dots are doubled."""
    assert wire_form(message) == (payload, size)


def test_one_connection_is_reused(relay: Relay, clock: FrozenClock) -> None:
    """Several messages go over one connection to the relay."""
    sender = SmtpSender(relay.target)
    assert run(send_all(sender, ["a@example.com", "b@example.com", "c@example.com"])) == [
        None,
        None,
        None,
    ]
    assert relay.handler.connections == 1
    assert [d.rcpt_tos for d in relay.handler.deliveries] == [
        ("a@example.com",),
        ("b@example.com",),
        ("c@example.com",),
    ]


@pytest.mark.parametrize(
    ("stage", "reply", "kind", "code", "text"),
    [
        ("rcpt", "550 5.1.1 no such user", PermanentSendError, 550, "550 5.1.1 no such user"),
        ("rcpt", "451 4.3.0 try later", TransientSendError, 451, "451 4.3.0 try later"),
        ("data", "451 4.3.0 try later", TransientSendError, 451, "451 4.3.0 try later"),
        (
            "data",
            "554 5.7.1 rejected as spam",
            PermanentSendError,
            554,
            "554 5.7.1 rejected as spam",
        ),
        ("rcpt", "452 4.2.2 mailbox full", TransientSendError, 452, "452 4.2.2 mailbox full"),
    ],
)
def test_relay_answers_are_classified(
    relay: Relay,
    clock: FrozenClock,
    stage: str,
    reply: str,
    kind: type[SendError],
    code: int,
    text: str,
) -> None:
    """5xx answers raise PermanentSendError and 4xx TransientSendError, with code and text."""
    replies = relay.handler.rcpt_replies if stage == "rcpt" else relay.handler.data_replies
    replies["bad@example.com"] = reply
    outcomes = run(send_all(SmtpSender(relay.target), ["bad@example.com", "ok@example.com"]))
    bad, ok = outcomes
    assert type(bad) is kind
    assert bad is not None
    assert (bad.code, str(bad)) == (code, text)
    # The connection survives a refusal: the next message goes out on it.
    assert ok is None
    assert [d.rcpt_tos for d in relay.handler.deliveries] == [("ok@example.com",)]
    assert relay.handler.connections == 1


def test_relay_down_is_transient(clock: FrozenClock) -> None:
    """A relay nobody listens on is a transient failure naming the relay."""
    target = closed_port_target()
    (outcome,) = run(send_all(SmtpSender(target), ["ana@example.com"]))
    assert type(outcome) is TransientSendError
    assert str(outcome).startswith(f"cannot reach the relay 127.0.0.1:{target.port}: ")


def test_dropped_connection_is_transient_and_the_next_send_reconnects(
    relay: Relay, clock: FrozenClock
) -> None:
    """A connection cut mid-message is transient, and the next message reconnects and goes out."""
    relay.handler.drop_on_data.add("dropped@example.com")
    dropped, ok = run(send_all(SmtpSender(relay.target), ["dropped@example.com", "ok@example.com"]))
    assert type(dropped) is TransientSendError
    assert str(dropped).startswith("connection to the relay failed: ")
    assert ok is None
    assert [d.rcpt_tos for d in relay.handler.deliveries] == [("ok@example.com",)]
    assert relay.handler.connections == 2


def test_internationalized_recipient_uses_smtputf8(relay: Relay, clock: FrozenClock) -> None:
    """A non-ASCII recipient is sent with the SMTPUTF8 parameter when the relay offers it."""
    assert run(send_all(SmtpSender(relay.target), ["josé@exämple.test"])) == [None]
    (delivery,) = relay.handler.deliveries
    assert delivery.rcpt_tos == ("josé@exämple.test",)
    assert "SMTPUTF8" in delivery.mail_options
    # The header block is raw UTF-8, so the body is declared 8-bit too.
    assert "BODY=8BITMIME" in delivery.mail_options
    assert "To: josé@exämple.test".encode() in delivery.data


def test_ascii_recipient_does_not_ask_for_smtputf8(relay: Relay, clock: FrozenClock) -> None:
    """An ASCII recipient is sent without the SMTPUTF8 parameter."""
    run(send_all(SmtpSender(relay.target), ["ana@example.com"]))
    (delivery,) = relay.handler.deliveries
    assert "SMTPUTF8" not in delivery.mail_options
    assert not any(option.upper().startswith("BODY=") for option in delivery.mail_options)


def test_utf8_header_bytes_ask_for_smtputf8(
    relay_factory: Callable[..., Relay], clock: FrozenClock
) -> None:
    """Raw UTF-8 in the bytes needs SMTPUTF8 even for ASCII addresses; without it, it fails."""
    data = message("ana@example.com").replace(b"Subject: Hello", "Subject: Grüße".encode())
    relay = relay_factory()
    assert run(send_all(SmtpSender(relay.target), ["ana@example.com"], data)) == [None]
    (delivery,) = relay.handler.deliveries
    assert "SMTPUTF8" in delivery.mail_options
    plain = relay_factory(smtputf8=False)
    (outcome,) = run(send_all(SmtpSender(plain.target), ["ana@example.com"], data))
    assert type(outcome) is PermanentSendError
    assert plain.handler.deliveries == []


def test_internationalized_recipient_without_smtputf8_is_permanent(
    relay_factory: Callable[..., Relay], clock: FrozenClock
) -> None:
    """Without SMTPUTF8 at the relay a non-ASCII recipient fails permanently; ASCII still goes."""
    relay = relay_factory(smtputf8=False)
    intl, ok = run(send_all(SmtpSender(relay.target), ["josé@exämple.test", "ana@example.com"]))
    assert type(intl) is PermanentSendError
    assert str(intl) == "the relay does not offer SMTPUTF8, needed for josé@exämple.test"
    assert ok is None
    assert [d.rcpt_tos for d in relay.handler.deliveries] == [("ana@example.com",)]


def test_close_without_connecting_is_harmless() -> None:
    """Closing a sender that never connected does nothing."""
    sender = SmtpSender(closed_port_target())
    run(sender.close())
    run(sender.close())


def test_silent_relay_times_out_as_transient(clock: FrozenClock) -> None:
    """A relay that accepts the connection but never greets fails in time, as transient."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()  # the kernel completes the handshake; nobody ever speaks
        target = SmtpTarget(host="127.0.0.1", port=listener.getsockname()[1], timeout=0.3)
        started = time.monotonic()
        (outcome,) = run(send_all(SmtpSender(target), ["ana@example.com"]))
    assert type(outcome) is TransientSendError
    assert str(outcome).endswith("no answer in time")
    # Without the timeout the send would wait for ever; the bound leaves a loaded machine room.
    assert time.monotonic() - started < 20


def test_relay_stalling_after_data_times_out_and_the_next_send_reconnects(
    relay: Relay, clock: FrozenClock
) -> None:
    """A relay that goes quiet after the message is a timeout; the next send reconnects."""
    stalls = [True]

    def stall_once(_delivery: Delivery) -> None:
        if stalls.pop() if stalls else False:
            time.sleep(1.0)  # the relay's answer to the message comes too late

    relay.handler.on_delivery = stall_once
    target = SmtpTarget(host=relay.target.host, port=relay.target.port, timeout=0.3)
    sender = SmtpSender(target)

    async def send_twice() -> list[SendError | None]:
        (first,) = await send_all(sender, ["ana@example.com"])
        await asyncio.sleep(1.0)  # the stalled relay is free again
        return [first, *await send_all(sender, ["bob@example.com"])]

    first, second = run(send_twice())
    assert type(first) is TransientSendError
    assert "did not answer in time" in str(first)
    assert second is None
    assert relay.handler.connections == 2
