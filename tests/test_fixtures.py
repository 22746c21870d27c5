"""The shared fixtures themselves work on every backend."""

from __future__ import annotations

import smtplib

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailer.sink import MailSink, MemoryStore
from preferences.models import Interest


def test_db_session_round_trips_a_row(db_session: Session) -> None:
    """A row written through `db_session` reads back on this backend."""
    db_session.add(Interest(name="Design", slug="design"))
    db_session.flush()
    assert db_session.scalar(select(Interest.slug)) == "design"


def test_smtp_server_collects_messages(smtp_server: MailSink) -> None:
    """The `smtp_server` fixture is a real SMTP server that keeps what it receives."""
    with smtplib.SMTP(smtp_server.host, smtp_server.port) as client:
        client.sendmail("a@example.com", ["b@example.com"], b"Subject: hi\r\n\r\nbody\r\n")
    assert isinstance(smtp_server.store, MemoryStore)
    (message,) = smtp_server.store.wait_for(1)
    assert message.envelope_to == ("b@example.com",)
    assert message.parsed()["Subject"] == "hi"
