"""Building the bytes of one email."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime

import pytest

from mailer.message import build_message, needs_smtputf8
from preferences.clock import FrozenClock

from .support import T0

FROM = "Acme Careers <careers@acme.example.com>"


def build(**overrides: str) -> EmailMessage:
    values = {
        "from_addr": FROM,
        "to_addr": "ana@example.com",
        "subject": "Welcome to the Acme talent community",
        "text": "Hi Ana,\n\nWelcome.\n",
        "html": "<p>Hi Ana,</p><p>Welcome.</p>",
        "message_id_domain": "acme.example.com",
    }
    values.update(overrides)
    return build_message(**values)  # type: ignore[arg-type]


def reparse(message: EmailMessage) -> EmailMessage:
    # Serialized with \n so the parsed parts compare without the wire's CRLFs.
    parsed: EmailMessage = email.message_from_bytes(
        message.as_bytes(policy=message.policy.clone(linesep="\n")), policy=email.policy.default
    )
    return parsed


def test_message_is_multipart_alternative_text_then_html(clock: FrozenClock) -> None:
    """The message is multipart/alternative with the plain part first and HTML second."""
    message = reparse(build())
    assert message.get_content_type() == "multipart/alternative"
    parts = list(message.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert parts[0].get_content() == "Hi Ana,\n\nWelcome.\n"
    assert parts[1].get_content() == "<p>Hi Ana,</p><p>Welcome.</p>\n"
    assert all(p.get_content_charset() == "utf-8" for p in parts)


def test_each_required_header_appears_exactly_once(clock: FrozenClock) -> None:
    """From, To, Subject, Date and Message-ID each appear once in the serialized message."""
    raw = build().as_bytes()
    assert b"\r\n\r\n" in raw
    headers = raw.split(b"\r\n\r\n", 1)[0]
    names = [
        line.split(b":", 1)[0].lower() for line in headers.split(b"\r\n") if line[:1].isalpha()
    ]
    assert b"content-type" in names
    for name in (b"from", b"to", b"subject", b"date", b"message-id"):
        assert names.count(name) == 1, name
    message = reparse(build())
    assert message["From"] == FROM
    assert message["To"] == "ana@example.com"
    assert message["Subject"] == "Welcome to the Acme talent community"


def test_date_is_the_frozen_now(clock: FrozenClock) -> None:
    """The Date header is now(), in UTC."""
    assert parsedate_to_datetime(str(reparse(build())["Date"])) == T0


def test_message_id_is_unique_and_on_the_from_domain(clock: FrozenClock) -> None:
    """Message-ID is a <...@domain> id on the sending domain, new for every message."""
    first = str(build()["Message-ID"])
    second = str(build()["Message-ID"])
    for value in (first, second):
        assert value.startswith("<")
        assert value.endswith("@acme.example.com>")
    assert first != second


def test_extra_headers_are_added(clock: FrozenClock) -> None:
    """Extra headers such as List-Unsubscribe are added once each."""
    message = reparse(
        build(
            extra_headers={  # type: ignore[arg-type]
                "List-Unsubscribe": "<https://careers.acme.example.com/u/abc>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            }
        )
    )
    assert message.get_all("List-Unsubscribe") == ["<https://careers.acme.example.com/u/abc>"]
    assert message.get_all("List-Unsubscribe-Post") == ["List-Unsubscribe=One-Click"]


def test_non_ascii_subject_and_body_round_trip(clock: FrozenClock) -> None:
    """Non-ASCII subject and bodies survive serialization intact."""
    message = reparse(build(subject="Bienvenue, José — 2 postes à Zürich", text="Grüße\n"))
    assert message["Subject"] == "Bienvenue, José — 2 postes à Zürich"
    assert next(message.iter_parts()).get_content() == "Grüße\n"


def test_ascii_recipient_gets_a_7bit_clean_header_block(clock: FrozenClock) -> None:
    """With ASCII addresses, non-ASCII header text is RFC 2047 encoded, not raw UTF-8."""
    headers = build(subject="Grüße").as_bytes().split(b"\r\n\r\n", 1)[0]
    assert b"Subject:" in headers
    assert headers.isascii()
    assert b"=?utf-8?" in headers


def test_internationalized_recipient_keeps_utf8_headers(clock: FrozenClock) -> None:
    """An internationalized recipient is written as UTF-8 in To, as SMTPUTF8 requires."""
    message = build(to_addr="josé@exämple.test")
    assert getattr(message.policy, "utf8", False) is True
    raw = message.as_bytes()
    assert "To: josé@exämple.test".encode() in raw
    assert reparse(message)["To"] == "josé@exämple.test"


@pytest.mark.parametrize(
    ("addresses", "expected"),
    [
        (("ana@example.com",), False),
        (("ana@example.com", "careers@acme.example.com"), False),
        (("josé@example.com",), True),
        (("ana@exämple.test",), True),
        (("ana@example.com", "josé@example.com"), True),
        ((), False),
    ],
)
def test_needs_smtputf8(addresses: tuple[str, ...], expected: bool) -> None:
    """SMTPUTF8 is needed exactly when some address has a non-ASCII character."""
    assert needs_smtputf8(*addresses) is expected
