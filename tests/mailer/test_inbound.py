"""Unsubscribe requests by email: the mailto: of List-Unsubscribe, over a real SMTP listener."""

from __future__ import annotations

import dataclasses
import logging
import re
import signal
import smtplib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mailer.config import SmtpTarget
from mailer.inbound import (
    InboundHandler,
    InboundListener,
    UnsubscribeOutcome,
    UnsubscribeRoute,
    process_unsubscribe_request,
    token_candidates,
    unsubscribe_mailto,
)
from mailer.models import MessageKind
from mailer.sender import SmtpSender
from mailer.sink import MailSink, MemoryStore, free_port
from mailer.worker import OutboxWorker
from preferences.clock import frozen, now
from preferences.db import make_engine, make_session_factory, session_scope
from preferences.models import (
    Candidate,
    ConsentEvent,
    ConsentSource,
    Interest,
    InterestStatus,
    MassEmailStatus,
    Subscription,
)
from preferences.subscriptions import opt_in_mass_email, subscribe
from preferences.tokens import LIFETIMES, LinkPurpose, make_link_token
from tests.portal.helpers import clean_env, running_cli

from .support import SETTINGS, add_candidate, queue

KEYS = ("inbound-test-key-" + "k" * 32,)
MAILBOX = "unsubscribe@acme.example.com"


@dataclass(frozen=True)
class Ana:
    """The seeded candidate: subscribed to Design and opted in to mass email."""

    candidate_id: int
    design_id: int


@dataclass(frozen=True)
class State:
    """Everything an unsubscribe request may change, read from the database."""

    design: str
    mass_email: str
    events: list[tuple[str, str, str, dict[str, object]]]


@pytest.fixture
def ana(sessions: sessionmaker[Session]) -> Ana:
    candidate_id = add_candidate(sessions, "ana@example.com", first_name="Ana")
    with session_scope(sessions) as session:
        candidate = session.get_one(Candidate, candidate_id)
        design = Interest(name="Design", slug="design")
        session.add(design)
        session.flush()
        subscribe(session, candidate, design, source=ConsentSource.CONNECT_FORM, confirmed=True)
        opt_in_mass_email(session, candidate, source=ConsentSource.CONNECT_FORM)
        return Ana(candidate_id, design.id)


@pytest.fixture
def listener(sessions: sessionmaker[Session]) -> Iterator[InboundListener]:
    """The real inbound listener on a free loopback port, taking the unsubscribe mailbox."""
    handler = InboundHandler(sessions, [UnsubscribeRoute(MAILBOX, KEYS)])
    running = InboundListener(handler).start()
    try:
        yield running
    finally:
        running.stop()


def state(sessions: sessionmaker[Session], ana: Ana) -> State:
    with sessions() as session:
        sub = session.scalars(
            select(Subscription).where(Subscription.candidate_id == ana.candidate_id)
        ).one()
        mass = session.get_one(MassEmailStatus, ana.candidate_id)
        events = session.scalars(select(ConsentEvent).order_by(ConsentEvent.id))
        return State(
            design=sub.status.value,
            mass_email=mass.status.value,
            events=[(e.scope.value, e.action.value, e.source.value, e.detail) for e in events],
        )


def token_for(
    sessions: sessionmaker[Session],
    ana: Ana,
    list_ref: str,
    purpose: LinkPurpose = LinkPurpose.ONE_CLICK,
) -> str:
    with sessions() as session:
        candidate = session.get_one(Candidate, ana.candidate_id)
        return make_link_token(KEYS, purpose, candidate, l=list_ref)


def send(
    port: int,
    *,
    subject: str | None,
    body: str = "",
    to: str = MAILBOX,
    sender: str = "ana@example.com",
) -> None:
    """Send one message the way a mail client would."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    if subject is not None:
        message["Subject"] = subject
    message.set_content(body or "Sent from my phone")
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.send_message(message)


def send_mailto(listener: InboundListener, mailto: str) -> None:
    """Act on a mailto: URL like a mail client: its address and subject, an empty body."""
    parts = urlsplit(mailto)
    assert parts.scheme == "mailto"
    (subject,) = parse_qs(parts.query)["subject"]
    send(listener.port, subject=subject, to=unquote(parts.path))


def outcomes(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        str(getattr(r, "outcome", ""))
        for r in caplog.records
        if r.name == "mailer.inbound" and r.getMessage().startswith("unsubscribe request")
    ]


def test_mailto_links_from_real_bulk_mail_unsubscribe_by_email(
    sessions: sessionmaker[Session],
    ana: Ana,
    smtp_server: MailSink,
    listener: InboundListener,
) -> None:
    """The mailto: of an alert and of a campaign, sent back, unsubscribe exactly those lists."""
    queue(
        sessions,
        "ana@example.com",
        "alert",
        kind=MessageKind.JOB_ALERT,
        candidate_id=ana.candidate_id,
        context={"interest_id": ana.design_id},
    )
    queue(
        sessions,
        "ana@example.com",
        "campaign",
        kind=MessageKind.CAMPAIGN,
        candidate_id=ana.candidate_id,
    )
    worker = OutboxWorker(
        sessions,
        lambda: SmtpSender(SmtpTarget(host=smtp_server.host, port=smtp_server.port)),
        dataclasses.replace(SETTINGS, secret_keys=KEYS),
        lease=timedelta(minutes=5),
    )
    assert worker.run_once().sent == 2
    assert isinstance(smtp_server.store, MemoryStore)
    mailtos = {}
    for received in smtp_server.store.wait_for(2):
        parsed = received.parsed()
        (mailto,) = re.findall(r"<(mailto:[^>]*)>", str(parsed["List-Unsubscribe"]))
        mailtos[str(parsed["List-Id"]).split()[1]] = mailto
    before = state(sessions, ana)
    assert (before.design, before.mass_email) == ("subscribed", "opted_in")

    send_mailto(listener, mailtos[f"interest-{ana.design_id}"])
    after_alert = state(sessions, ana)
    assert (after_alert.design, after_alert.mass_email) == ("unsubscribed", "opted_in")
    assert after_alert.events[len(before.events) :] == [
        ("interest", "withdraw", "one_click", {"via": "email"})
    ]

    send_mailto(listener, mailtos["mass_email"])
    after_campaign = state(sessions, ana)
    assert (after_campaign.design, after_campaign.mass_email) == ("unsubscribed", "opted_out")
    assert after_campaign.events[len(after_alert.events) :] == [
        ("mass_email", "withdraw", "one_click", {"via": "email"})
    ]


@pytest.mark.parametrize("list_ref", ["interest", "mass_email"])
def test_resending_a_request_changes_nothing_and_records_nothing_new(
    sessions: sessionmaker[Session],
    ana: Ana,
    listener: InboundListener,
    list_ref: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A second identical request is accepted and is a no-op: no new consent event."""
    caplog.set_level(logging.INFO, logger="mailer.inbound")
    ref = f"interest:{ana.design_id}" if list_ref == "interest" else "mass_email"
    subject = f"unsubscribe {token_for(sessions, ana, ref)}"
    send(listener.port, subject=subject)
    once = state(sessions, ana)
    send(listener.port, subject=subject)
    assert state(sessions, ana) == once
    assert outcomes(caplog) == ["unsubscribed", "already_unsubscribed"]


def test_a_token_in_the_body_is_the_fallback(
    sessions: sessionmaker[Session], ana: Ana, listener: InboundListener
) -> None:
    """A client that drops the subject still works when the token is in the body."""
    token = token_for(sessions, ana, "mass_email")
    send(listener.port, subject="Please remove me", body=f"unsubscribe {token}\n\n-- \nAna")
    assert state(sessions, ana).mass_email == "opted_out"


def test_a_still_percent_encoded_subject_is_understood(
    sessions: sessionmaker[Session], ana: Ana, listener: InboundListener
) -> None:
    """A client that copies the mailto: subject without decoding it still unsubscribes."""
    token = token_for(sessions, ana, "mass_email")
    send(listener.port, subject=f"unsubscribe%20{token}")
    assert state(sessions, ana).mass_email == "opted_out"


def _signed_long_ago(
    sessions: sessionmaker[Session], ana: Ana, monkeypatch: pytest.MonkeyPatch
) -> str:
    """A genuine one-click token signed just past its lifetime ago."""

    lifetime = timedelta(seconds=LIFETIMES[LinkPurpose.ONE_CLICK] + 60)
    with frozen(now() - lifetime):
        return token_for(sessions, ana, "mass_email")


def _revoked(sessions: sessionmaker[Session], ana: Ana) -> str:
    token = token_for(sessions, ana, "mass_email")
    with session_scope(sessions) as session:
        session.get_one(Candidate, ana.candidate_id).token_version += 1
    return token


def _tampered(sessions: sessionmaker[Session], ana: Ana) -> str:
    payload, stamp, signature = token_for(sessions, ana, "mass_email").rsplit(".", 2)
    # Change the signature's first character: the last one has bits base64 ignores.
    return f"{payload}.{stamp}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"


BAD_REQUESTS = {
    "tampered": (lambda s, a, m: f"unsubscribe {_tampered(s, a)}", "invalid_token"),
    "preferences-link token": (
        lambda s, a, m: f"unsubscribe {token_for(s, a, 'mass_email', LinkPurpose.PREFERENCES)}",
        "invalid_token",
    ),
    "expired": (lambda s, a, m: f"unsubscribe {_signed_long_ago(s, a, m)}", "expired_token"),
    "revoked": (lambda s, a, m: f"unsubscribe {_revoked(s, a)}", "invalid_token"),
    "unknown list": (
        lambda s, a, m: f"unsubscribe {token_for(s, a, 'interest:999999')}",
        "unknown_list",
    ),
    "garbage subject": (lambda s, a, m: "unsubscribe me please ☺ " + "x.y.z " * 50, "no_token"),
    "token-shaped garbage": (
        lambda s, a, m: "unsubscribe " + "eyJhIjoxfQ.aaaaaa." + "A" * 43,
        "invalid_token",
    ),
    "no subject": (lambda s, a, m: None, "no_token"),
}


@pytest.mark.parametrize("kind", sorted(BAD_REQUESTS))
def test_a_bad_request_changes_nothing_and_is_logged(
    sessions: sessionmaker[Session],
    ana: Ana,
    listener: InboundListener,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    kind: str,
) -> None:
    """Tampered, other-purpose, expired, revoked, unknown-list or no token: accepted, ignored."""
    caplog.set_level(logging.INFO, logger="mailer.inbound")
    make_subject, expected = BAD_REQUESTS[kind]
    subject = make_subject(sessions, ana, monkeypatch)
    before = state(sessions, ana)
    send(listener.port, subject=subject)  # accepted (250): nothing to bounce back
    assert state(sessions, ana) == before
    assert outcomes(caplog) == [expected]
    (record,) = [r for r in caplog.records if r.getMessage() == "unsubscribe request ignored"]
    assert (record.levelno, getattr(record, "outcome", None)) == (logging.WARNING, expected)


def test_a_retired_interest_is_not_changed(
    sessions: sessionmaker[Session],
    ana: Ana,
    listener: InboundListener,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A token for an interest retired since the mail went out is ignored, as on the web."""
    caplog.set_level(logging.INFO, logger="mailer.inbound")
    token = token_for(sessions, ana, f"interest:{ana.design_id}")
    with session_scope(sessions) as session:
        session.get_one(Interest, ana.design_id).status = InterestStatus.RETIRED
    before = state(sessions, ana)
    send(listener.port, subject=f"unsubscribe {token}")
    assert state(sessions, ana) == before
    assert outcomes(caplog) == ["list_unavailable"]


def test_other_recipients_are_refused_at_rcpt_with_550(
    sessions: sessionmaker[Session], ana: Ana, listener: InboundListener
) -> None:
    """Mail for any address but the unsubscribe mailbox is refused before DATA."""
    token = token_for(sessions, ana, "mass_email")
    before = state(sessions, ana)
    for address in ("careers@acme.example.com", "bounces+1@acme.example.com", "x@other.test"):
        with pytest.raises(smtplib.SMTPRecipientsRefused) as info:
            send(listener.port, subject=f"unsubscribe {token}", to=address)
        ((code, _text),) = info.value.recipients.values()
        assert code == 550
    assert state(sessions, ana) == before


def test_the_mailbox_matches_without_regard_to_case(
    sessions: sessionmaker[Session], ana: Ana, listener: InboundListener
) -> None:
    """`Unsubscribe@ACME.example.com` is the same mailbox."""
    send(
        listener.port,
        subject=f"unsubscribe {token_for(sessions, ana, 'mass_email')}",
        to="Unsubscribe@ACME.example.com",
    )
    assert state(sessions, ana).mass_email == "opted_out"


def test_the_pure_function_ignores_other_recipients_and_unparseable_bytes(
    sessions: sessionmaker[Session], ana: Ana
) -> None:
    """Called directly: a valid token for another recipient, or binary junk, changes nothing."""
    token = token_for(sessions, ana, "mass_email")
    raw = f"From: ana@example.com\r\nSubject: unsubscribe {token}\r\n\r\nbye\r\n".encode()
    before = state(sessions, ana)
    with session_scope(sessions) as session:
        assert (
            process_unsubscribe_request(
                session,
                raw,
                recipients=["careers@acme.example.com"],
                mailbox=MAILBOX,
                secret_keys=KEYS,
            )
            is UnsubscribeOutcome.NOT_FOR_THIS_MAILBOX
        )
        junk = b"\xff\xfe\x00Subject: \x80\x81\r\n\r\n" + bytes(range(256)) * 4
        assert (
            process_unsubscribe_request(
                session, junk, recipients=[MAILBOX], mailbox=MAILBOX, secret_keys=KEYS
            )
            is UnsubscribeOutcome.NO_TOKEN
        )
    assert state(sessions, ana) == before
    with session_scope(sessions) as session:
        outcome = process_unsubscribe_request(
            session, raw, recipients=[MAILBOX], mailbox=MAILBOX, secret_keys=KEYS
        )
    assert outcome is UnsubscribeOutcome.UNSUBSCRIBED
    assert state(sessions, ana).mass_email == "opted_out"


def test_a_database_failure_asks_the_sender_to_retry(
    tmp_path: Path, sessions: sessionmaker[Session], ana: Ana
) -> None:
    """When the database cannot take the change, DATA answers 451 so the message is retried."""
    token = token_for(sessions, ana, "mass_email")
    # A real database without the tables: every query fails.
    empty = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    handler = InboundHandler(make_session_factory(empty), [UnsubscribeRoute(MAILBOX, KEYS)])
    broken = InboundListener(handler).start()
    try:
        with pytest.raises(smtplib.SMTPDataError) as info:
            send(broken.port, subject=f"unsubscribe {token}")
        assert info.value.smtp_code == 451
    finally:
        broken.stop()
        empty.dispose()
    assert state(sessions, ana).mass_email == "opted_in"


@pytest.mark.parametrize(
    "mailbox",
    ["unsubscribe@acme.example.com", "opt-out+jobs@lists.acme.example.com", "o'brien@x.test"],
)
def test_the_mailto_url_is_rfc_6068_and_round_trips(mailbox: str) -> None:
    """Address and subject survive a urllib parse; the token is found again in the subject."""
    token = "eyJjIjoiYWJjIiwidiI6MX0." + "abcDEF" + "." + "Z" * 43
    url = unsubscribe_mailto(mailbox, token)
    parts = urlsplit(url)
    assert parts.scheme == "mailto"
    assert " " not in url
    assert unquote(parts.path) == mailbox
    assert parse_qs(parts.query) == {"subject": [f"unsubscribe {token}"]}
    assert token_candidates(parse_qs(parts.query)["subject"][0]) == [token]


@pytest.mark.parametrize(
    "token",
    ["eyJjIjoiYWJjIiwidiI6MX0.abcDEF.Z-_~9", "", "a+b/c=", "has space", "é.ü", "50%?&#"],
)
def test_the_mailto_url_is_the_whole_subject_quoted(token: str) -> None:
    """Quoting the subject's start once and adding a URL-safe token writes what quoting
    the whole subject writes; any other token is quoted as before."""
    for mailbox in ("unsubscribe@acme.example.com", "o'brien,x@x.test"):
        whole = quote(f"unsubscribe {token}", safe="")
        address = quote(mailbox, safe="!$'()*+;:@")
        assert unsubscribe_mailto(mailbox, token) == f"mailto:{address}?subject={whole}"


def test_inbound_serve_command_unsubscribes_and_stops_on_sigterm(
    database_url: str, sessions: sessionmaker[Session], ana: Ana, tmp_path: Path
) -> None:
    """`talentconnect inbound serve` applies a request, then exits 0 on SIGTERM."""
    port = free_port()
    env = clean_env(
        INSTANCE_DIR=str(tmp_path / "instance"),
        DATABASE_URL=database_url,
        SECRET_KEYS=",".join(KEYS),
        UNSUBSCRIBE_MAILBOX="leave@acme.example.com",
    )
    with running_cli(["inbound", "serve", "--port", str(port)], env=env, cwd=tmp_path) as proc:
        proc.wait_for_output(r"inbound listener listening", timeout=30)
        assert "unsubscribe_mailbox=leave@acme.example.com" in proc.stderr()
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            send(port, subject="hello", to=MAILBOX)
        token = token_for(sessions, ana, "mass_email")
        send(port, subject=f"unsubscribe {token}", to="leave@acme.example.com")
        proc.signal(signal.SIGTERM)
        assert proc.wait(15) == 0, proc.output()
        assert "Traceback" not in proc.output()
        assert re.search(r"msg=stopped\b", proc.stderr()), proc.stderr()
    assert state(sessions, ana).mass_email == "opted_out"
