"""Bulk mail carries RFC 8058 one-click unsubscribe headers; transactional mail does not."""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy.orm import Session, sessionmaker

from mailer.config import MailSettings, SmtpTarget
from mailer.models import MessageKind
from mailer.sender import SmtpSender
from mailer.sink import MailSink, MemoryStore
from mailer.worker import OutboxWorker
from preferences.db import session_scope
from preferences.models import Candidate, ConsentSource, Interest, MassEmail
from preferences.subscriptions import subscribe
from preferences.tokens import LinkPurpose, read_link_token

from .support import SETTINGS, add_candidate, queue

KEYS = ("bulk-header-test-key-" + "k" * 30,)
# RFC 3986 characters: unreserved, reserved and "%" of a percent-encoding.
URI_CHARS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")


def _worker(
    sessions: sessionmaker[Session], sink: MailSink, settings: MailSettings = SETTINGS
) -> OutboxWorker:
    return OutboxWorker(
        sessions,
        lambda: SmtpSender(SmtpTarget(host=sink.host, port=sink.port)),
        dataclasses.replace(settings, secret_keys=KEYS),
        lease=timedelta(minutes=5),
    )


def _uris(header: object) -> list[str]:
    """The <…> entries of an RFC 2369 header, in order."""
    return re.findall(r"<([^>]*)>", str(header))


def _raw_header(data: bytes, name: str) -> bytes:
    """Header `name` as it travelled, folding included."""
    head = data.split(b"\r\n\r\n", 1)[0]
    match = re.search(rb"^" + name.encode() + rb":.*?(?=\r\n(?![ \t]))", head, re.M | re.S)
    assert match is not None, name
    return match.group(0)


def _assert_rfc6068_mailto(url: str, mailbox: str) -> str:
    """Check `url` is a valid RFC 6068 unsubscribe mailto for `mailbox`; return its token."""
    assert URI_CHARS.fullmatch(url), url
    assert re.search(r"%(?![0-9A-F]{2})", url) is None, "malformed percent-encoding"
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.fragment) == ("mailto", "", "")
    assert unquote(parts.path) == mailbox
    fields = parse_qs(parts.query, strict_parsing=True)
    assert list(fields) == ["subject"]
    (subject,) = fields["subject"]
    keyword, token = subject.split(" ")
    assert keyword == "unsubscribe"
    # The token travels in the subject: an SMTP local part holds at most 64 octets.
    assert len(token) > 64
    assert len(mailbox.split("@")[0]) <= 64
    return token


def _one_click_lists(messages: list[EmailMessage], mailbox: str) -> dict[str, object]:
    """Check each bulk message's headers; return List-Id by the list its tokens name."""
    by_list: dict[str, object] = {}
    for message in messages:
        header = message["List-Unsubscribe"]
        if header is None:
            assert message["List-Unsubscribe-Post"] is None
            continue
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        https, mailto = _uris(header)
        assert https.startswith("https://careers.acme.example.com/unsubscribe/")
        token = https.rsplit("/", 1)[1]
        assert _assert_rfc6068_mailto(mailto, mailbox) == token
        link = read_link_token(KEYS, LinkPurpose.ONE_CLICK, token)
        by_list[link.extra["l"]] = message["List-Id"]
    return by_list


def test_alert_and_campaign_carry_one_click_headers_for_their_own_list(
    sessions: sessionmaker[Session], smtp_server: MailSink
) -> None:
    """A job alert's token unsubscribes from its interest, a campaign's from mass email."""
    ana = add_candidate(sessions, "ana@example.com", mass_email=MassEmail.OPTED_IN)
    with session_scope(sessions) as session:
        design = Interest(name="Design", slug="design")
        session.add(design)
        session.flush()
        candidate = session.get(Candidate, ana)
        assert candidate is not None
        subscribe(session, candidate, design, source=ConsentSource.IMPORT, confirmed=True)
        design_id = design.id
    queue(
        sessions,
        "ana@example.com",
        "alert",
        kind=MessageKind.JOB_ALERT,
        candidate_id=ana,
        context={"interest_id": design_id},
    )
    queue(sessions, "ana@example.com", "campaign", kind=MessageKind.CAMPAIGN, candidate_id=ana)
    queue(sessions, "ana@example.com", "welcome", candidate_id=ana)
    assert _worker(sessions, smtp_server).run_once().sent == 3
    assert isinstance(smtp_server.store, MemoryStore)
    received = smtp_server.store.wait_for(3)
    messages = [m.parsed() for m in received]
    by_list = _one_click_lists(messages, "unsubscribe@acme.example.com")
    assert set(by_list) == {f"interest:{design_id}", "mass_email"}
    (welcome,) = [m for m in received if m.parsed()["List-Unsubscribe"] is None]
    assert b"mailto:" not in welcome.data.split(b"\r\n\r\n", 1)[0]
    assert welcome.parsed()["List-Id"] is None


def test_list_unsubscribe_puts_https_first_then_mailto_and_is_never_encoded(
    sessions: sessionmaker[Session], smtp_server: MailSink
) -> None:
    """On the wire: https then mailto, whole URLs folded only between them, no encoded words."""
    ana = add_candidate(sessions, "ana@example.com", mass_email=MassEmail.OPTED_IN)
    queue(sessions, "ana@example.com", "campaign", kind=MessageKind.CAMPAIGN, candidate_id=ana)
    settings = dataclasses.replace(SETTINGS, unsubscribe_mailbox="optout@lists.acme.example.com")
    assert _worker(sessions, smtp_server, settings).run_once().sent == 1
    assert isinstance(smtp_server.store, MemoryStore)
    (received,) = smtp_server.store.wait_for(1)
    raw = _raw_header(received.data, "List-Unsubscribe")
    # Mail providers ignore an RFC 2047-encoded List-Unsubscribe.
    assert b"=?" not in raw
    lines = raw.split(b"\r\n")
    assert lines[0].startswith(b"List-Unsubscribe: <https://careers.acme.example.com/unsubscribe/")
    assert lines[0].endswith(b">,")
    assert lines[1].startswith(b" <mailto:optout@lists.acme.example.com?subject=unsubscribe%20")
    assert all(len(line) <= 998 for line in lines)
    header = received.parsed()["List-Unsubscribe"]
    https, mailto = _uris(header)
    assert https.startswith("https://")
    assert mailto.startswith("mailto:")
    _assert_rfc6068_mailto(mailto, "optout@lists.acme.example.com")
