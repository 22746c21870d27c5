"""A MAIL_FROM display name in UTF-8 or with specials reaches a real relay intact.

Settings are loaded from the environment form (`José Müller, Acme Inc. <…>`,
unquoted) and the worker sends a welcome through aiosmtpd on loopback. To an
ASCII recipient the name travels as RFC 2047 encoded-words, so any relay takes
it, SMTPUTF8 or not; to an internationalized recipient, whose message needs
SMTPUTF8 anyway, it travels as raw UTF-8 (RFC 6532), quoted because of its comma.
"""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Callable
from datetime import timedelta
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from mailer.config import MailSettings
from mailer.message import build_message_bytes, format_mailbox, parse_mailbox
from mailer.sender import SmtpSender
from mailer.worker import OutboxWorker
from portal.config import load_settings
from preferences.clock import FrozenClock

from .support import Delivery, Relay, add_candidate, queue

NAME = "José Müller, Acme Inc."


def _settings(tmp_path: Path, mail_from: str) -> MailSettings:
    return load_settings(
        environ={
            "TALENTCONNECT_INSTANCE_DIR": str(tmp_path / "instance"),
            "TALENTCONNECT_MAIL_FROM": mail_from,
        }
    ).mail_settings()


def _send_welcome(
    sessions: sessionmaker[Session], relay: Relay, settings: MailSettings, to: str
) -> Delivery:
    candidate = add_candidate(sessions, to, first_name="Ana")
    queue(sessions, to, f"welcome:{to}", candidate_id=candidate)
    worker = OutboxWorker(
        sessions, lambda: SmtpSender(relay.target), settings, lease=timedelta(minutes=5)
    )
    assert worker.run_once().sent == 1
    (delivery,) = relay.handler.deliveries
    return delivery


def _from_line(data: bytes) -> bytes:
    head = data.split(b"\r\n\r\n", 1)[0]
    match = re.search(rb"^From:.*?(?=\r\n(?![ \t]))", head, re.M | re.S)
    assert match is not None
    return match.group(0)


def _parsed_from(data: bytes) -> tuple[str, str]:
    # Decoded first: the bytes parser would keep raw UTF-8 as surrogate escapes.
    message: EmailMessage = email.message_from_string(
        data.decode("utf-8"), policy=email.policy.default
    )
    (address,) = message["From"].addresses
    return address.display_name, address.addr_spec


@pytest.mark.parametrize("smtputf8", [True, False])
def test_utf8_name_to_an_ascii_recipient_is_encoded_for_any_relay(
    tmp_path: Path,
    sessions: sessionmaker[Session],
    relay_factory: Callable[..., Relay],
    clock: FrozenClock,
    smtputf8: bool,
) -> None:
    """An unquoted UTF-8 name with a comma goes as encoded-words, with or without SMTPUTF8."""
    settings = _settings(tmp_path, f"{NAME} <careers@acme.example.com>")
    delivery = _send_welcome(
        sessions, relay_factory(smtputf8=smtputf8), settings, "ana@example.com"
    )
    assert "SMTPUTF8" not in delivery.mail_options
    assert delivery.data.isascii()
    assert _from_line(delivery.data).startswith(b"From: =?utf-8?b?")
    assert _parsed_from(delivery.data) == (NAME, "careers@acme.example.com")


def test_utf8_name_to_an_internationalized_recipient_is_raw_utf8_and_quoted(
    tmp_path: Path, sessions: sessionmaker[Session], relay: Relay, clock: FrozenClock
) -> None:
    """With SMTPUTF8 in use the name is written as UTF-8 (RFC 6532), quoted for its comma."""
    settings = _settings(tmp_path, f"{NAME} <careers@acme.example.com>")
    delivery = _send_welcome(sessions, relay, settings, "josé@exämple.test")
    assert "SMTPUTF8" in delivery.mail_options
    assert _from_line(delivery.data) == f'From: "{NAME}" <careers@acme.example.com>'.encode()
    assert _parsed_from(delivery.data) == (NAME, "careers@acme.example.com")


def test_ascii_name_with_specials_is_quoted(
    tmp_path: Path, sessions: sessionmaker[Session], relay: Relay, clock: FrozenClock
) -> None:
    """`Acme, Inc. <…>` arrives as one mailbox, `"Acme, Inc." <…>`, not two broken ones."""
    settings = _settings(tmp_path, "Acme, Inc. <careers@acme.example.com>")
    delivery = _send_welcome(sessions, relay, settings, "ana@example.com")
    assert _from_line(delivery.data) == b'From: "Acme, Inc." <careers@acme.example.com>'
    assert _parsed_from(delivery.data) == ("Acme, Inc.", "careers@acme.example.com")
    # The envelope sender (VERP) stays on the sending domain.
    assert delivery.mail_from.endswith("@acme.example.com")


@pytest.mark.parametrize(
    ("address", "parts"),
    [
        ("Acme, Inc. <careers@acme.example.com>", ("Acme, Inc.", "careers@acme.example.com")),
        ("José Müller <careers@acme.example.com>", ("José Müller", "careers@acme.example.com")),
        ('"A \\"B\\", C" <c@acme.example.com>', ('A "B", C', "c@acme.example.com")),
        ("Team <b> <c@acme.example.com>", ("Team <b>", "c@acme.example.com")),
        ("c@acme.example.com", ("", "c@acme.example.com")),
    ],
)
def test_parse_and_format_mailbox_round_trip(address: str, parts: tuple[str, str]) -> None:
    """Everything before the last <addr> is the name; the formatted form parses back the same."""
    assert parse_mailbox(address) == parts
    assert parse_mailbox(format_mailbox(*parts)) == parts
    assert parseaddr(format_mailbox(*parts)) == parts


def test_message_builder_quotes_an_unquoted_name_with_specials(clock: FrozenClock) -> None:
    """build_message_bytes takes `Acme, Inc. <…>` as one mailbox and quotes its name."""
    message = build_message_bytes(
        from_addr="Acme, Inc. <careers@acme.example.com>",
        to_addr="ana@example.com",
        subject="Hello",
        text="Hi",
        html="<p>Hi</p>",
        message_id_domain="acme.example.com",
    )
    assert _from_line(message.data) == b'From: "Acme, Inc." <careers@acme.example.com>'
