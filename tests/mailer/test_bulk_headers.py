"""Bulk mail carries RFC 8058 one-click unsubscribe headers; transactional mail does not."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from mailer.config import SmtpTarget
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


def _worker(sessions: sessionmaker[Session], sink: MailSink) -> OutboxWorker:
    return OutboxWorker(
        sessions,
        lambda: SmtpSender(SmtpTarget(host=sink.host, port=sink.port)),
        dataclasses.replace(SETTINGS, secret_keys=KEYS),
        lease=timedelta(minutes=5),
    )


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
    messages = [m.parsed() for m in smtp_server.store.wait_for(3)]
    by_list: dict[str, object] = {}
    for message in messages:
        header = message["List-Unsubscribe"]
        if header is None:
            assert message["List-Unsubscribe-Post"] is None
            continue
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        url = str(header).strip("<>")
        assert url.startswith("https://careers.acme.example.com/unsubscribe/")
        link = read_link_token(KEYS, LinkPurpose.ONE_CLICK, url.rsplit("/", 1)[1])
        by_list[link.extra["l"]] = message["List-Id"]
    assert set(by_list) == {f"interest:{design_id}", "mass_email"}
