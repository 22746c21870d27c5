"""Building the bytes of one email, directly, without the `email` package.

The message is multipart/alternative (text/plain, then text/html), both parts
UTF-8 in base64. Base64 rather than 8bit or quoted-printable because it is
7-bit clean on every relay (no 8BITMIME needed), has no 998-octet line limit to
police (MJML output has very long lines), and no hop rewrites it, so a DKIM body
hash survives transport (a relay without 8BITMIME would re-encode 8bit and break
it). `binascii` does it in microseconds; the email package's quoted-printable
costs about 2.5 ms a message. Bulk mail names the start its text or HTML shares with
other messages (`text_prefix`, `html_prefix`: a shared render's text before its first
personal value, `mailer.render`): that start is encoded once per process and each
message encodes only the rest, the same bytes as encoding the whole.

Headers are written by hand, each exactly once, with CRLF line ends. A value
holding CR, LF or another control character is refused with `HeaderError`, so
no caller can inject a header. Non-ASCII text in Subject, display names and
extra headers becomes RFC 2047 encoded-words, unless the message needs SMTPUTF8
(an internationalized address), where RFC 6532 allows raw UTF-8. ASCII values are
never encoded, only folded at their spaces: `List-Unsubscribe` must stay
readable, and ``<uri>, <uri>`` folds between its URIs.

Addresses (`parse_mailbox`) may carry a display name, quoted or not: an unquoted
one may hold UTF-8 (RFC 6532) and specials such as the comma and full stop of
``Acme, Inc. <careers@acme.example.com>``. The name is written as a quoted string
when it holds specials, and as encoded-words where raw UTF-8 is not allowed.
"""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime, parseaddr
from functools import lru_cache

from mailer.errors import MailerError
from preferences.clock import now

# RFC 2047 keeps a line holding encoded-words within 76 characters (RFC 5322 says 78
# for any line); no line may pass 998 octets.
_FOLD_AT = 76
_MAX_LINE = 998
# 36 bytes make an encoded-word of 60 characters, which fits after "Subject: " or any
# other header name on the first line.
_ENCODED_WORD_BYTES = 36
# Set by build_message_bytes itself; an extra header may not repeat them.
_OWN_HEADERS = frozenset(
    {
        "from",
        "to",
        "subject",
        "date",
        "message-id",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
    }
)
# Tab is folding white space; every other control character is refused.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_FIELD_NAME = re.compile(r"[!-9;-~]+")
# RFC 5322 specials: a display name holding one must be a quoted string.
_SPECIALS = re.compile(r'[][()<>@,;:\\".]')
# `display name <addr-spec>`: the name is everything before the last "<".
_ANGLE_ADDRESS = re.compile(r"(.*?)\s*<([^<>]*)>", re.S)


class HeaderError(MailerError, ValueError):
    """A header name or value that cannot be written safely."""


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """The wire form of one message, ready for SMTP DATA (and for DKIM signing).

    Every line of `data` ends in CRLF: no header value may hold CR or LF, and the
    parts are base64 lines.
    """

    data: bytes
    message_id: str
    # Raw UTF-8 in the header block: the relay must offer SMTPUTF8.
    smtputf8: bool


def needs_smtputf8(*addresses: str) -> bool:
    """Return whether any address has non-ASCII characters."""
    return any(not a.isascii() for a in addresses)


def addr_spec(address: str) -> str:
    """The bare `local@domain` of an address that may carry a display name."""
    return _split_address(address)[1]


def parse_mailbox(address: str) -> tuple[str, str]:
    """(display name, addr-spec) of `Name <addr>`, `"Name" <addr>` or a bare `addr`.

    Everything before the final ``<addr>`` is the display name: unquoted, it is
    taken as typed (white space collapsed), so UTF-8 and specials need no quotes.
    Raises `HeaderError` for something that is not one address.
    """
    return _split_address(address)


def format_mailbox(name: str, spec: str) -> str:
    """`name <spec>` with the name quoted when it is more than plain ASCII words; raw UTF-8.

    The form every parser reads back (email.utils, email-validator), used for settings.
    """
    _check("display name", name)
    if not name:
        return spec
    if _SPECIALS.search(name) or not name.isascii():
        name = _quoted(name)
    return f"{name} <{spec}>"


def uri_list(uris: Sequence[str]) -> str:
    """An RFC 2369 value such as List-Unsubscribe: ``<uri>, <uri>``.

    Written unencoded and folded only at the space after each comma, so every
    URI stays whole on its line: mail providers ignore an encoded List-Unsubscribe.
    """
    for uri in uris:
        if not uri.isascii() or any(c in uri for c in " <>,") or _CONTROL.search(uri):
            raise HeaderError(f"{uri!r} is not a URI that can go in a header")
    return ", ".join(f"<{uri}>" for uri in uris)


def build_message_bytes(
    *,
    from_addr: str,
    to_addr: str,
    subject: str,
    text: str,
    html: str,
    message_id_domain: str,
    extra_headers: Mapping[str, str] | None = None,
    text_prefix: str = "",
    html_prefix: str = "",
) -> OutgoingMessage:
    """Return a multipart/alternative message (text first, then HTML) as CRLF bytes.

    `From`, `To`, `Subject`, `Date`, `Message-ID` and `MIME-Version` each appear
    exactly once; `extra_headers` (List-Id, List-Unsubscribe, …) follow them.
    `text_prefix` and `html_prefix`: a start of `text` and `html` other messages share,
    whose encoding is kept (module docstring); the bytes are the same without them.
    """
    utf8 = needs_smtputf8(addr_spec(from_addr), addr_spec(to_addr))
    message_id = f"<{secrets.token_hex(16)}@{_id_domain(message_id_domain)}>"
    boundary = f"=_{secrets.token_hex(12)}"
    lines = [
        _fold("From", _mailbox(from_addr, utf8)),
        _fold("To", _mailbox(to_addr, utf8)),
        _fold("Subject", _unstructured("Subject", subject, utf8)),
        f"Date: {_date(now())}\r\n",
        f"Message-ID: {message_id}\r\n",
    ]
    seen: set[str] = set()
    for name, value in (extra_headers or {}).items():
        key = name.lower()
        if not _FIELD_NAME.fullmatch(name) or key in _OWN_HEADERS or key in seen:
            raise HeaderError(f"{name!r} cannot be added as an extra header")
        seen.add(key)
        lines.append(_fold(name, _unstructured(name, value, utf8)))
    lines.append("MIME-Version: 1.0\r\n")
    lines.append(f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n')
    head = "".join(lines).encode("utf-8" if utf8 else "ascii")
    delimiter = f"\r\n--{boundary}\r\n".encode("ascii")
    data = b"".join(
        (
            head,
            delimiter[2:],
            _part("text/plain", text, text_prefix),
            delimiter,
            _part("text/html", html, html_prefix),
            f"\r\n--{boundary}--\r\n".encode("ascii"),
        )
    )
    return OutgoingMessage(data=data, message_id=message_id, smtputf8=utf8)


def _part(content_type: str, content: str, prefix: str = "") -> bytes:
    head = (
        f'Content-Type: {content_type}; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n"
    ).encode("ascii")
    # Text is encoded in its canonical form, with CRLF line breaks (RFC 2046). Rendered
    # templates have only LF: one replace, not three.
    if "\r" in content:
        content = content.replace("\r\n", "\n").replace("\r", "\n")
    elif len(prefix) >= _SHARED_PREFIX_MIN and content.startswith(prefix):
        # LF to CRLF and UTF-8 work character by character, so the prefix's bytes start
        # the content's; its whole lines are encoded already.
        lines, rest = _encoded_prefix(prefix)
        return head + lines + _base64_lines(rest + _canonical(content[len(prefix) :]))
    return head + _base64_lines(_canonical(content))


def _canonical(content: str) -> bytes:
    return content.replace("\n", "\r\n").encode("utf-8")


def _base64_lines(data: bytes) -> bytes:
    """`data` in base64, in lines of 76 characters (RFC 2045), each ending in CRLF."""
    encoded = base64.b64encode(data)
    lines = [encoded[i : i + 76] for i in range(0, len(encoded), 76)]
    lines.append(b"")
    return b"\r\n".join(lines)


# A line of base64 holds 57 bytes; a shorter shared start is not worth a cache entry.
_LINE_BYTES = 57
_SHARED_PREFIX_MIN = 4 * _LINE_BYTES


@lru_cache(maxsize=128)
def _encoded_prefix(prefix: str) -> tuple[bytes, bytes]:
    """The whole base64 lines of `prefix` (LF-only text), and its bytes left after them."""
    data = _canonical(prefix)
    whole = len(data) - len(data) % _LINE_BYTES
    return _base64_lines(data[:whole]), data[whole:]


@lru_cache(maxsize=4)
def _date_at(second: datetime) -> str:
    return format_datetime(second)


def _date(at: datetime) -> str:
    """The Date value of `at` (to the second, as the header has it), formatted once a second."""
    return _date_at(at.replace(microsecond=0))


def _check(name: str, value: str) -> None:
    if _CONTROL.search(value):
        raise HeaderError(f"{name} must not contain a line break or control character")


@lru_cache(maxsize=64)
def _id_domain(domain: str) -> str:
    _check("Message-ID domain", domain)
    # Message-ID is a dot-atom: an internationalized domain goes in as its A-label.
    try:
        ascii_domain = domain if domain.isascii() else domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise HeaderError(f"{domain!r} is not a domain for Message-ID") from None
    if not re.fullmatch(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*", ascii_domain):
        raise HeaderError(f"{domain!r} is not a domain for Message-ID")
    return ascii_domain


def _split_address(address: str) -> tuple[str, str]:
    """(display name, addr-spec) of an address; a bare address skips the parser."""
    if "@" in address and not any(c in address for c in ' \t<>"(),;:\\'):
        _check("address", address)
        return "", address
    return _parse_address(address)


@lru_cache(maxsize=256)
def _parse_address(address: str) -> tuple[str, str]:
    # Cached: the From address is the same for every message, and parsing is slow.
    _check("address", address)
    angle = _ANGLE_ADDRESS.fullmatch(address.strip())
    if angle is not None and '"' not in angle.group(1):
        # `Acme, Inc. <…>` or `José Müller <…>`: parseaddr would split at the comma.
        name, spec = " ".join(angle.group(1).split()), angle.group(2).strip()
    else:
        name, spec = parseaddr(address)
    if "@" not in spec or any(c.isspace() for c in spec):
        raise HeaderError(f"{address!r} is not an email address")
    return name, spec


def _quoted(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _mailbox(address: str, utf8: bool) -> str:
    """`Name <addr>` with the name quoted or encoded as needed, or the bare address."""
    name, spec = _split_address(address)
    if not name:
        return spec
    if (utf8 or name.isascii()) and "=?" not in name:
        if _SPECIALS.search(name):
            name = _quoted(name)
        return f"{name} <{spec}>"
    # A display name is a phrase: encode it whole, never partly inside quotes.
    return " ".join(_encoded_words(name)) + f" <{spec}>"


def _unstructured(name: str, value: str, utf8: bool) -> str:
    """The value with each run of non-ASCII words as encoded-words; ASCII kept as is."""
    _check(name, value)
    if (value.isascii() or utf8) and "=?" not in value:
        return value
    out: list[str] = []
    run: list[str] = []
    for word in value.split(" "):
        # A literal "=?" would be read as the start of an encoded-word: encode it too.
        if (word.isascii() or utf8) and "=?" not in word:
            if run:
                out.extend(_encoded_words(" ".join(run)))
                run = []
            out.append(word)
        else:
            run.append(word)
    if run:
        out.extend(_encoded_words(" ".join(run)))
    return " ".join(out)


def _encoded_words(text: str) -> list[str]:
    """`text` as RFC 2047 B encoded-words of 60 characters at most, split between characters.

    Readers drop the white space between adjacent encoded-words, so the words
    join back into `text`.
    """
    words: list[str] = []
    chunk = b""
    for char in text:
        encoded = char.encode("utf-8")
        if len(chunk) + len(encoded) > _ENCODED_WORD_BYTES:
            words.append(f"=?utf-8?b?{base64.b64encode(chunk).decode('ascii')}?=")
            chunk = b""
        chunk += encoded
    words.append(f"=?utf-8?b?{base64.b64encode(chunk).decode('ascii')}?=")
    return words


def _fold(name: str, value: str) -> str:
    """`Name: value` + CRLF, folded before spaces to keep lines within 76 characters.

    A word is never split, so a long URI stays whole on a longer line.
    """
    line = f"{name}: {value}"
    if len(line) <= _FOLD_AT:
        return line + "\r\n"
    out = [f"{name}:"]
    width = len(name) + 1
    for word in value.split(" "):
        piece = " " + word
        size = len(piece.encode("utf-8"))
        if size > _MAX_LINE - 1:
            raise HeaderError(f"{name} has a word too long for one header line")
        # Fold only before a real word: a line of nothing but white space is not allowed.
        if word and width > len(name) + 1 and width + size > _FOLD_AT:
            out.append("\r\n")
            width = 0
        out.append(piece)
        width += size
    out.append("\r\n")
    return "".join(out)
