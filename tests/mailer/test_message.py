"""Building the bytes of one email: structure, headers, encodings and refusals."""

from __future__ import annotations

import email
import email.policy
import re
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from typing import Any

import pytest

from mailer import message as builder
from mailer.message import (
    HeaderError,
    OutgoingMessage,
    addr_spec,
    build_message_bytes,
    needs_smtputf8,
    uri_list,
)
from preferences.clock import FrozenClock

from .support import T0

FROM = "Acme Careers <careers@acme.example.com>"
REQUIRED = ("from", "to", "subject", "date", "message-id", "mime-version", "content-type")


def build(**overrides: Any) -> OutgoingMessage:
    values: dict[str, Any] = {
        "from_addr": FROM,
        "to_addr": "ana@example.com",
        "subject": "Welcome to the Acme talent community",
        "text": "Hi Ana,\n\nWelcome.\n",
        "html": "<p>Hi Ana,</p><p>Welcome.</p>",
        "message_id_domain": "acme.example.com",
    }
    values.update(overrides)
    return build_message_bytes(**values)


def parse(message: OutgoingMessage) -> EmailMessage:
    parsed: EmailMessage = email.message_from_bytes(message.data, policy=email.policy.default)
    return parsed


def head(message: OutgoingMessage) -> bytes:
    return message.data.split(b"\r\n\r\n", 1)[0]


def names(message: OutgoingMessage) -> list[str]:
    """Header field names in the top-level header block, in order (continuations skipped)."""
    return [
        line.split(b":", 1)[0].decode().lower()
        for line in head(message).split(b"\r\n")
        if line[:1] not in (b" ", b"\t")
    ]


def raw_header(message: OutgoingMessage, name: str) -> bytes:
    """Header `name` as written, folding included, without its final CRLF."""
    match = re.search(
        rb"^" + name.encode() + rb":.*?(?=\r\n(?![ \t]))", head(message) + b"\r\n", re.M | re.S
    )
    assert match is not None, name
    return match.group(0)


def text_of(part: EmailMessage) -> str:
    # Text is sent in canonical CRLF form; compare it as the reader sees it.
    content: str = part.get_content()
    return content.replace("\r\n", "\n")


def test_message_is_multipart_alternative_text_then_html(clock: FrozenClock) -> None:
    """The message is multipart/alternative: UTF-8 base64 text/plain first, then text/html."""
    message = parse(build())
    assert message.get_content_type() == "multipart/alternative"
    assert not message.defects
    parts = list(message.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert [text_of(p) for p in parts] == ["Hi Ana,\n\nWelcome.\n", "<p>Hi Ana,</p><p>Welcome.</p>"]
    assert all(p.get_content_charset() == "utf-8" for p in parts)
    assert all(p["Content-Transfer-Encoding"] == "base64" for p in parts)
    assert all(not p.defects for p in parts)


def test_each_required_header_appears_exactly_once(clock: FrozenClock) -> None:
    """From, To, Subject, Date, Message-ID, MIME-Version and Content-Type appear once each."""
    message = build(
        extra_headers={
            "List-Id": "Acme mass-email <mass-email.acme.example.com>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
    )
    found = names(message)
    for name in REQUIRED:
        assert found.count(name) == 1, name
    assert sorted(found) == sorted([*REQUIRED, "list-id", "list-unsubscribe-post"])
    parsed = parse(message)
    assert parsed["From"] == FROM
    assert parsed["To"] == "ana@example.com"
    assert parsed["Subject"] == "Welcome to the Acme talent community"
    assert parsed["MIME-Version"] == "1.0"


def test_lines_end_in_crlf_and_stay_short(clock: FrozenClock) -> None:
    """Every line ends in CRLF; body lines are base64 of at most 76 characters."""
    message = build(text="line\n" * 400, html="<p>" + "x" * 5000 + "</p>\r\n<p>y</p>\r")
    assert message.data.endswith(b"\r\n")
    assert message.data.count(b"\n") == message.data.count(b"\r\n")
    assert b"\r" not in message.data.replace(b"\r\n", b"")
    assert message.data.isascii()
    body_lines = message.data.split(b"\r\n\r\n", 1)[1].split(b"\r\n")
    assert max(len(line) for line in body_lines) == 76
    parts = list(parse(message).iter_parts())
    # Any line break in the source (LF, CRLF or CR) travels as CRLF.
    assert text_of(parts[1]) == "<p>" + "x" * 5000 + "</p>\n<p>y</p>\n"


def test_date_is_the_frozen_now(clock: FrozenClock) -> None:
    """The Date header is now(), in UTC."""
    assert parsedate_to_datetime(str(parse(build())["Date"])) == T0


def test_message_id_is_unique_and_on_the_sending_domain(clock: FrozenClock) -> None:
    """Message-ID is a <…@domain> id on the sending domain, new each time, and returned too."""
    first, second = build(), build()
    for message in (first, second):
        assert re.fullmatch(r"<[0-9a-f]{32}@acme\.example\.com>", message.message_id)
        assert parse(message)["Message-ID"] == message.message_id
    assert first.message_id != second.message_id


def test_internationalized_message_id_domain_uses_its_a_label(clock: FrozenClock) -> None:
    """An internationalized sending domain goes into Message-ID in its xn-- form."""
    message = build(message_id_domain="exämple.test")
    assert message.message_id.endswith("@xn--exmple-cua.test>")


def test_extra_headers_are_added_once_each(clock: FrozenClock) -> None:
    """Extra headers such as List-Unsubscribe are written once each, unchanged."""
    message = parse(
        build(
            extra_headers={
                "List-Unsubscribe": "<https://careers.acme.example.com/u/abc>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            }
        )
    )
    assert message.get_all("List-Unsubscribe") == ["<https://careers.acme.example.com/u/abc>"]
    assert message.get_all("List-Unsubscribe-Post") == ["List-Unsubscribe=One-Click"]


@pytest.mark.parametrize("name", ["From", "subject", "Message-ID", "MIME-Version", "Content-Type"])
def test_extra_headers_cannot_repeat_the_builders_own(clock: FrozenClock, name: str) -> None:
    """An extra header may not add a second From, Subject, Message-ID or MIME header."""
    with pytest.raises(HeaderError, match="cannot be added"):
        build(extra_headers={name: "x"})


def test_non_ascii_subject_and_body_round_trip(clock: FrozenClock) -> None:
    """Non-ASCII subject and bodies survive serialization intact."""
    subject = "Bienvenue, José — 2 postes à Zürich"
    message = parse(build(subject=subject, text="Grüße\n", html="<p>Straße 5 · 北京</p>"))
    assert message["Subject"] == subject
    assert [text_of(p) for p in message.iter_parts()] == ["Grüße\n", "<p>Straße 5 · 北京</p>"]


def test_ascii_recipient_gets_a_7bit_clean_header_block(clock: FrozenClock) -> None:
    """With ASCII addresses, non-ASCII header text is RFC 2047 encoded, not raw UTF-8."""
    message = build(
        from_addr="Acme Zürich <careers@acme.example.com>",
        subject="Grüße",
        extra_headers={"List-Id": "Müller GmbH mass-email <mass-email.acme.example.com>"},
    )
    assert not message.smtputf8
    assert message.data.isascii()
    assert b"Subject: =?utf-8?b?" in head(message)
    parsed = parse(message)
    assert parsed["Subject"] == "Grüße"
    assert parsed["From"].addresses[0].display_name == "Acme Zürich"
    assert parsed["From"].addresses[0].addr_spec == "careers@acme.example.com"
    # Only the words that need it are encoded: the list id itself stays readable.
    unfolded = head(message).replace(b"\r\n ", b" ")
    assert b"?= GmbH mass-email <mass-email.acme.example.com>\r\n" in unfolded
    assert parsed["List-Id"] == "Müller GmbH mass-email <mass-email.acme.example.com>"


def test_long_non_ascii_subject_uses_short_encoded_words(clock: FrozenClock) -> None:
    """A long non-ASCII subject becomes short encoded-words on lines of 76 characters at most."""
    subject = "Ваши новые вакансии: старший инженер данных и ещё двенадцать предложений в Москве"
    message = build(subject=subject)
    words = re.findall(rb"=\?utf-8\?b\?[^?]*\?=", head(message))
    assert len(words) > 2
    assert all(len(word) <= 75 for word in words)
    assert all(len(line) <= 76 for line in head(message).split(b"\r\n"))
    assert parse(message)["Subject"] == subject


def test_long_ascii_subject_is_folded_not_encoded(clock: FrozenClock) -> None:
    """A long ASCII subject is folded at spaces into short lines and is never encoded."""
    subject = " ".join(["Senior Data Engineer"] * 12)
    message = build(subject=subject)
    raw = raw_header(message, "Subject")
    assert raw.count(b"\r\n ") >= 2
    assert b"=?" not in raw
    assert all(len(line) <= 76 for line in raw.split(b"\r\n"))
    assert parse(message)["Subject"] == subject


def test_display_name_with_specials_is_quoted(clock: FrozenClock) -> None:
    """A display name holding a comma or a quote is written as a quoted string."""
    message = build(from_addr='"Acme, Inc. \\"Careers\\"" <careers@acme.example.com>')
    assert b'From: "Acme, Inc. \\"Careers\\"" <careers@acme.example.com>\r\n' in head(message)
    parsed = parse(message)["From"].addresses[0]
    assert (parsed.display_name, parsed.addr_spec) == (
        'Acme, Inc. "Careers"',
        "careers@acme.example.com",
    )


def test_literal_encoded_word_text_is_kept_literal(clock: FrozenClock) -> None:
    """Subject text that looks like an encoded-word is encoded itself, so it reads back as typed."""
    subject = "Try =?utf-8?q?hello?= today"
    assert parse(build(subject=subject))["Subject"] == subject


def test_internationalized_recipient_keeps_utf8_headers(clock: FrozenClock) -> None:
    """An internationalized recipient makes a UTF-8 header block, as SMTPUTF8 allows."""
    message = build(to_addr="josé@exämple.test", subject="Grüße")
    assert message.smtputf8
    assert "To: josé@exämple.test\r\n".encode() in message.data
    assert "Subject: Grüße\r\n".encode() in message.data
    parsed = parse(message)
    assert parsed["To"] == "josé@exämple.test"
    assert parsed["Subject"] == "Grüße"


def test_non_ascii_display_name_alone_does_not_need_smtputf8(clock: FrozenClock) -> None:
    """Only addresses decide SMTPUTF8: a non-ASCII display name is encoded instead."""
    message = build(to_addr="José Núñez <jose@example.com>")
    assert not message.smtputf8
    assert message.data.isascii()
    assert parse(message)["To"].addresses[0].display_name == "José Núñez"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("subject", "Hello\r\nBcc: victim@example.com"),
        ("subject", "Hello\nBcc: victim@example.com"),
        ("subject", "Hello\rBcc: victim@example.com"),
        ("subject", "Hello\x00"),
        ("from_addr", "Acme <careers@acme.example.com>\r\nBcc: victim@example.com"),
        ("to_addr", "ana@example.com\nBcc: victim@example.com"),
        ("to_addr", "Ana\r\n <ana@example.com>"),
        ("message_id_domain", "acme.example.com>\r\nBcc: victim@example.com"),
    ],
)
def test_line_breaks_in_header_values_are_refused(
    clock: FrozenClock, field: str, value: str
) -> None:
    """CR, LF or another control character in any header value raises HeaderError."""
    with pytest.raises(HeaderError):
        build(**{field: value})


@pytest.mark.parametrize(
    "headers",
    [
        {"List-Id": "Acme\r\nBcc: victim@example.com"},
        {"List-Id": "Acme\nBcc: victim@example.com"},
        {"X-Evil\r\nBcc": "victim@example.com"},
        {"Bad Name": "x"},
        {"Bad:Name": "x"},
    ],
)
def test_injection_through_extra_headers_is_refused(
    clock: FrozenClock, headers: dict[str, str]
) -> None:
    """An extra header cannot smuggle a line break in its value or a bad character in its name."""
    with pytest.raises(HeaderError):
        build(extra_headers=headers)


def test_uri_list_folds_only_between_uris_and_is_never_encoded(clock: FrozenClock) -> None:
    """List-Unsubscribe is ``<https…>,`` then `` <mailto…>`` on the next line, no encoded-words."""
    https = "https://careers.acme.example.com/unsubscribe/" + "t" * 150
    mailto = "mailto:unsubscribe@acme.example.com?subject=unsubscribe%20" + "t" * 150
    message = build(extra_headers={"List-Unsubscribe": uri_list([https, mailto])})
    raw = raw_header(message, "List-Unsubscribe")
    assert raw == f"List-Unsubscribe: <{https}>,\r\n <{mailto}>".encode()
    assert parse(message)["List-Unsubscribe"] == f"<{https}>, <{mailto}>"


def test_short_uri_list_stays_on_one_line(clock: FrozenClock) -> None:
    """A List-Unsubscribe that fits in 76 characters is not folded at all."""
    message = build(extra_headers={"List-Unsubscribe": uri_list(["https://a.example/u/1"])})
    assert b"\r\nList-Unsubscribe: <https://a.example/u/1>\r\n" in head(message)


@pytest.mark.parametrize(
    "uri", ["https://a.example/u 1", "https://a.example/<x>", "https://ä.example/u", "a\r\nb"]
)
def test_uri_list_refuses_what_cannot_go_in_a_header(uri: str) -> None:
    """A URI with spaces, angle brackets, non-ASCII or a line break is refused."""
    with pytest.raises(HeaderError):
        uri_list([uri])


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("ana@example.com", "ana@example.com"),
        ("Acme Careers <careers@acme.example.com>", "careers@acme.example.com"),
        ('"Acme, Inc." <careers@acme.example.com>', "careers@acme.example.com"),
        ("josé@exämple.test", "josé@exämple.test"),
    ],
)
def test_addr_spec(address: str, expected: str) -> None:
    """addr_spec drops the display name and keeps the bare address."""
    assert addr_spec(address) == expected


@pytest.mark.parametrize("address", ["not an address", "", "Acme <careers>"])
def test_addr_spec_refuses_non_addresses(address: str) -> None:
    """Something without an @ address is refused."""
    with pytest.raises(HeaderError):
        addr_spec(address)


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


@pytest.mark.parametrize("cut", [0, 1, 56, 57, 58, 228, 229, 300, 341, 342, 400])
def test_a_shared_prefix_encodes_to_the_same_bytes_as_the_whole(
    clock: FrozenClock, monkeypatch: pytest.MonkeyPatch, cut: int
) -> None:
    """A text and HTML built with a shared prefix named (at any cut, across multi-byte
    characters and line ends) are the very bytes built without it; a prefix the text does
    not start with, or a text with CR, is ignored."""
    monkeypatch.setattr("mailer.message.secrets.token_hex", lambda n: "ab" * n)
    body = "".join(f"Línea {n}: ünïcödé ✓ {'x' * (n % 7)}\n" for n in range(40))
    html = "<p>" + body.replace("\n", "</p>\n<p>") + "</p>"
    plain = build(text=body, html=html)
    hinted = build(text=body, html=html, text_prefix=body[:cut], html_prefix=html[:cut])
    assert hinted.data == plain.data
    hits = builder._encoded_prefix.cache_info().hits
    again = build(text=body, html=html, text_prefix=body[:cut], html_prefix=html[:cut])
    assert again.data == plain.data
    # From 4 lines of base64 on, the prefix's encoding is the one kept.
    assert builder._encoded_prefix.cache_info().hits == hits + (2 if cut >= 228 else 0)
    other = "Z" + body
    assert build(text=other, html=html, text_prefix=body[:cut]).data == (
        build(text=other, html=html).data
    )
    crlf = body.replace("\n", "\r\n")
    assert build(text=crlf, html=html, text_prefix=crlf[:cut]).data == plain.data
