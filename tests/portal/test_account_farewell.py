"""Delete my account: the one farewell email that confirms the erasure, end to end."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mailer.config import SmtpTarget
from mailer.models import MessageKind, OutboxMessage, OutboxStatus
from mailer.outbox import enqueue
from mailer.sender import SmtpSender
from mailer.sink import MailSink, MemoryStore
from mailer.worker import ERASED_RECIPIENT, BatchResult, OutboxWorker
from portal.auth.accounts import set_password
from portal.config import Settings
from preferences.db import session_scope
from preferences.models import Candidate, SuppressionReason
from preferences.subscriptions import get_or_create_candidate
from preferences.suppressions import suppress
from tests.mailer.support import start_relay

from .helpers import csrf_token

PASSWORD = "a long enough passphrase"
ADDRESS = "ana@example.com"


@pytest.fixture
def ana(sessions: sessionmaker[Session]) -> str:
    """A member with a password and a welcome still queued; returns her public id."""
    with session_scope(sessions) as session:
        candidate, _ = get_or_create_candidate(session, ADDRESS, first_name="Ana")
        set_password(candidate, PASSWORD)
        session.flush()
        enqueue(
            session,
            kind=MessageKind.WELCOME,
            template="welcome",
            to_address=ADDRESS,
            dedupe_key=f"welcome:{candidate.id}",
            candidate_id=candidate.id,
        )
        return candidate.public_id


def delete_account(client: FlaskClient) -> None:
    page = client.get("/login")
    signed_in = client.post(
        "/login",
        data={
            "csrf_token": csrf_token(page.text),
            "email": ADDRESS,
            "password": PASSWORD,
            "action": "password",
        },
    )
    assert signed_in.status_code == 302
    form = client.get("/dashboard/delete")
    done = client.post(
        "/dashboard/delete", data={"csrf_token": csrf_token(form.text), "confirm": "yes"}
    )
    assert done.status_code == 200 and "Your account is deleted" in done.text


def rows(sessions: sessionmaker[Session]) -> list[OutboxMessage]:
    with sessions() as session:
        found = list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        session.expunge_all()
    return found


def run_worker(sessions: sessionmaker[Session], settings: Settings, sink: MailSink) -> BatchResult:
    target = SmtpTarget(host=sink.host, port=sink.port, timeout=5)
    worker = OutboxWorker(sessions, lambda: SmtpSender(target), settings.mail_settings())
    return worker.run_once()


def store(sink: MailSink) -> MemoryStore:
    assert isinstance(sink.store, MemoryStore)
    return sink.store


def test_deleting_the_account_queues_exactly_one_farewell(
    client: FlaskClient, sessions: sessionmaker[Session], ana: str
) -> None:
    """Erasure drops the pending welcome and queues one farewell: no candidate, only a language."""
    delete_account(client)
    (farewell,) = rows(sessions)
    assert (farewell.kind, farewell.template, farewell.status) == (
        MessageKind.ACCOUNT_DELETED,
        "account_deleted",
        OutboxStatus.PENDING,
    )
    assert (farewell.to_address, farewell.candidate_id, farewell.context) == (
        ADDRESS,
        None,
        {"locale": "en"},
    )
    assert farewell.dedupe_key == f"account-deleted:{ana}"


def test_farewell_reaches_the_original_address_then_the_address_is_gone(
    client: FlaskClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    smtp_server: MailSink,
    ana: str,
) -> None:
    """The worker delivers the farewell to the old address, then keeps only "erased" in its row."""
    delete_account(client)
    assert run_worker(sessions, settings, smtp_server) == BatchResult(claimed=1, sent=1)
    (received,) = store(smtp_server).wait_for(1)
    assert received.envelope_to == (ADDRESS,)
    email = received.parsed()
    assert email["Subject"] == "Your Acme talent community account is deleted"
    assert email["List-Unsubscribe"] is None
    text = next(email.iter_parts()).get_content()
    # The name went with the profile; the greeting does without it.
    assert text.startswith("Hi there,")
    assert "This is the last email we send to this address." in text
    (farewell,) = rows(sessions)
    assert (farewell.status, farewell.to_address) == (OutboxStatus.SENT, ERASED_RECIPIENT)
    with sessions() as session:
        candidate = session.scalars(select(Candidate).where(Candidate.public_id == ana)).one()
        assert candidate.email != ADDRESS


def test_after_the_farewell_the_address_gets_nothing_else(
    client: FlaskClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    smtp_server: MailSink,
    ana: str,
) -> None:
    """Login links are refused and mail queued to the old address later is skipped."""
    delete_account(client)
    run_worker(sessions, settings, smtp_server)
    store(smtp_server).wait_for(1)
    page = client.get("/login")
    client.post(
        "/login", data={"csrf_token": csrf_token(page.text), "email": ADDRESS, "action": "link"}
    )
    with session_scope(sessions) as session:
        enqueue(
            session,
            kind=MessageKind.WELCOME,
            template="welcome",
            to_address=ADDRESS,
            dedupe_key="welcome:late",
        )
        # A second farewell for the same erasure cannot be queued.
        assert not enqueue(
            session,
            kind=MessageKind.ACCOUNT_DELETED,
            template="account_deleted",
            to_address=ADDRESS,
            dedupe_key=f"account-deleted:{ana}",
        )
    assert run_worker(sessions, settings, smtp_server) == BatchResult(claimed=1, skipped=1)
    assert len(store(smtp_server).messages) == 1
    late = {row.dedupe_key: row for row in rows(sessions)}["welcome:late"]
    assert (late.status, late.last_error) == (OutboxStatus.SKIPPED, "address is suppressed")


@pytest.mark.parametrize("reason", [SuppressionReason.HARD_BOUNCE, SuppressionReason.COMPLAINT])
def test_suppressed_address_gets_no_farewell(
    client: FlaskClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    smtp_server: MailSink,
    ana: str,
    reason: SuppressionReason,
) -> None:
    """An address that bounced or complained is not mailed, and no row keeps it."""
    with session_scope(sessions) as session:
        suppress(session, ADDRESS, reason)
    delete_account(client)
    assert rows(sessions) == []
    assert run_worker(sessions, settings, smtp_server) == BatchResult()
    assert store(smtp_server).messages == []


def test_refused_farewell_does_not_keep_the_address(
    client: FlaskClient, sessions: sessionmaker[Session], settings: Settings, ana: str
) -> None:
    """A farewell the relay refuses for good fails, and its row forgets the address all the same."""
    relay = start_relay()
    try:
        relay.handler.rcpt_replies[ADDRESS] = "550 5.1.1 mailbox closed"
        delete_account(client)
        worker = OutboxWorker(sessions, lambda: SmtpSender(relay.target), settings.mail_settings())
        assert worker.run_once() == BatchResult(claimed=1, failed=1)
    finally:
        relay.controller.stop()
    (farewell,) = rows(sessions)
    assert (farewell.status, farewell.last_error) == (
        OutboxStatus.FAILED,
        "550 5.1.1 mailbox closed",
    )
    assert farewell.to_address == ERASED_RECIPIENT
