"""The development mail viewer shows internationalized addresses as they were sent.

A message to `josé@exämple.test` goes through the real sender (SMTPUTF8, raw UTF-8
headers, RFC 6532) to the development mail sink, and the viewer lists it and shows its
headers and envelope in Unicode: no replacement characters, no mojibake.
"""

from __future__ import annotations

import asyncio
import html
import threading

from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from mailer.config import SmtpTarget
from mailer.message import build_message_bytes
from mailer.sender import SmtpSender
from mailer.sink import MaildirStore, MailSink
from portal.auth.recruiters import set_recruiter
from portal.config import Settings
from preferences.models import RecruiterRole
from tests.portal.helpers import login

RECIPIENT = "josé@exämple.test"
SENDER = "José Müller, Acme <careers@acme.example.com>"
PASSWORD = "p" * 20


def send_through_sink(settings: Settings, to: str = RECIPIENT) -> MaildirStore:
    """Send one message to `to` with the real sender into the instance's mail sink."""
    settings.instance_dir.mkdir(parents=True, exist_ok=True)
    store = MaildirStore(settings.mail_sink_dir)
    sink = MailSink(store).start()
    try:
        message = build_message_bytes(
            from_addr=SENDER,
            to_addr=f"José Ñúñez <{to}>",
            subject="Bienvenue, José",
            text="Hola José\n",
            html="<p>Hola José</p>",
            message_id_domain="acme.example.com",
        )
        assert message.smtputf8

        async def send() -> None:
            sender = SmtpSender(SmtpTarget(host=sink.host, port=sink.port))
            try:
                await sender.send(
                    message.data, envelope_from="bounces@acme.example.com", recipient=to
                )
            finally:
                await sender.close()

        # In a thread of its own: Playwright's sync API keeps an event loop running here.
        errors: list[BaseException] = []

        def deliver() -> None:
            try:
                asyncio.run(send())
            except BaseException as exc:  # re-raised below, in the test's thread
                errors.append(exc)

        thread = threading.Thread(target=deliver)
        thread.start()
        thread.join(timeout=30)
        if errors:
            raise errors[0]
    finally:
        sink.stop()
    return store


def admin_client(client: FlaskClient, sessions: sessionmaker[Session]) -> FlaskClient:
    with sessions.begin() as session:
        set_recruiter(session, "boss@acme.example.com", password=PASSWORD, role=RecruiterRole.ADMIN)
    login(client, "boss@acme.example.com", PASSWORD)
    return client


def test_the_mail_list_shows_an_internationalized_recipient(
    client: FlaskClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    send_through_sink(settings)
    page = admin_client(client, sessions).get("/admin/mail")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "\ufffd" not in text
    assert RECIPIENT in text
    assert "Bienvenue, José" in text


def test_the_message_page_shows_internationalized_headers_and_envelope(
    client: FlaskClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    store = send_through_sink(settings)
    (item,) = store.list()
    page = admin_client(client, sessions).get(f"/admin/mail/{item.key}")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "\ufffd" not in text
    assert "Ã" not in text  # UTF-8 read as Latin-1
    assert f"<dt>To</dt><dd>José Ñúñez <{RECIPIENT}></dd>" in text
    assert "José Müller, Acme" in text
    assert f"<dt>Envelope to</dt><dd>{RECIPIENT}</dd>" in text
    assert "<dt>Envelope from</dt><dd>bounces@acme.example.com</dd>" in text
    assert "Hola José" in text
