"""Outbox rows never hold a live sign-in, confirmation or preference link, sent or not."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from mailer.config import SmtpTarget
from mailer.links import sign_links
from mailer.models import OutboxMessage, OutboxStatus
from mailer.sender import SmtpSender
from mailer.sink import MailSink, MemoryStore
from mailer.worker import OutboxWorker
from portal.auth.accounts import set_password
from portal.config import Settings
from portal.connect.submit import LinkContext, resend_confirmation
from portal.migrate import upgrade
from preferences.db import make_engine, make_session_factory, session_scope
from preferences.models import ConsentSource, Interest
from preferences.subscriptions import get_or_create_candidate, subscribe
from preferences.tokens import LinkPurpose, make_link_token, read_link_token
from tests.conftest import TEST_SECRET
from tests.portal.helpers import add_interest, csrf_token

# An itsdangerous token: payload.timestamp.signature, URL-safe base64.
TOKEN = re.compile(r"[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{16,}")


def holds_no_link(row: OutboxMessage) -> bool:
    text = json.dumps(row.context)
    return TOKEN.search(text) is None and "http" not in text


def send_all(sessions: sessionmaker[Session], settings: Settings, sink: MailSink) -> None:
    target = SmtpTarget.from_url(f"{sink.url}?timeout=5")
    worker = OutboxWorker(sessions, lambda: SmtpSender(target), settings.mail_settings())
    worker.run(until_empty=True)


def text_of(sink: MailSink, count: int) -> list[str]:
    assert isinstance(sink.store, MemoryStore)
    return [next(m.parsed().iter_parts()).get_content() for m in sink.store.wait_for(count)]


@pytest.fixture
def member(sessions: sessionmaker[Session]) -> None:
    with session_scope(sessions) as session:
        add_interest(session, "Design")
        candidate, _ = get_or_create_candidate(session, "ana@example.com", first_name="Ana")
        set_password(candidate, "a long enough passphrase")


def test_a_sign_in_link_lives_only_in_the_email(
    client: FlaskClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    smtp_server: MailSink,
    member: None,
) -> None:
    """The queued and the sent row hold no link; the emailed one signs in, once."""
    page = client.get("/login")
    client.post(
        "/login",
        data={"csrf_token": csrf_token(page.text), "email": "ana@example.com", "action": "link"},
    )
    with session_scope(sessions) as session:
        row = session.scalars(select(OutboxMessage)).one()
        assert row.template == "login_link" and holds_no_link(row)
    send_all(sessions, settings, smtp_server)
    (text,) = text_of(smtp_server, 1)
    (path,) = re.findall(r"http://127\.0\.0\.1:8000(/login/link/\S+)", text)
    with session_scope(sessions) as session:
        row = session.scalars(select(OutboxMessage)).one()
        assert row.status is OutboxStatus.SENT and holds_no_link(row)
        assert path.rsplit("/", 1)[1] not in json.dumps(row.context)
    button = client.get(path)
    assert button.status_code == 200
    assert client.post(path, data={"csrf_token": csrf_token(button.text)}).status_code == 302
    assert client.get("/dashboard").status_code == 200


def test_confirmation_and_preference_links_stay_out_of_rows(
    client: FlaskClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    smtp_server: MailSink,
    member: None,
) -> None:
    """A preference-link request and a connect confirmation: rows without links, emails with."""
    page = client.get("/preferences/resend")
    client.post(
        "/preferences/resend",
        data={"csrf_token": csrf_token(page.text), "email": "ana@example.com"},
    )
    with session_scope(sessions) as session:
        candidate, _ = get_or_create_candidate(session, "bo@example.com")
        design = session.scalars(select(Interest)).one()
        subscribe(session, candidate, design, source=ConsentSource.CONNECT_FORM)
        links = LinkContext(settings.secret_keys, settings.base_url, settings.upload_dir)
        resend_confirmation(session, "bo@example.com", links)
    send_all(sessions, settings, smtp_server)
    texts = "\n".join(text_of(smtp_server, 2))
    # The preference link, and the confirmation's "Manage your email preferences".
    prefs = re.findall(r"http://127\.0\.0\.1:8000(/preferences/\S+)", texts)
    (confirm,) = re.findall(r"http://127\.0\.0\.1:8000(/connect/confirm/\S+)", texts)
    assert len(prefs) == 2
    assert all(client.get(path).status_code == 200 for path in prefs)
    assert client.get(confirm).status_code == 200
    with session_scope(sessions) as session:
        rows = session.scalars(select(OutboxMessage)).all()
        assert {r.template for r in rows} == {"preference_link", "confirmation"}
        assert all(r.status is OutboxStatus.SENT and holds_no_link(r) for r in rows)


# --- migration 0009 ----------------------------------------------------------------------


@pytest.fixture
def engine_at_0005(empty_database_url: str) -> Iterator[Engine]:
    engine = make_engine(empty_database_url)
    upgrade(engine, "0005")
    yield engine
    engine.dispose()


def test_the_migration_turns_stored_links_into_recipes(
    engine_at_0005: Engine,
) -> None:
    """Links queued or sent before 0009 become recipes that sign into equivalent links."""
    at = datetime(2026, 12, 1, tzinfo=UTC)
    candidates = sa.table(
        "candidates",
        *(
            sa.column(name)
            for name in (
                "id",
                "public_id",
                "email",
                "first_name",
                "last_name",
                "locale",
                "timezone",
                "token_version",
                "status",
                "created_at",
                "updated_at",
            )
        ),
    )
    outbox = sa.table(
        "outbox_messages",
        *(
            sa.column(name)
            for name in (
                "id",
                "dedupe_key",
                "kind",
                "template",
                "candidate_id",
                "to_address",
                "status",
                "attempts",
                "next_attempt_at",
                "last_error",
                "created_at",
            )
        ),
        sa.column("context", sa.JSON()),
    )

    class Ana:
        public_id = "pub-ana"
        token_version = 2

    keys = [TEST_SECRET]
    base = "http://127.0.0.1:8000"
    login = make_link_token(keys, LinkPurpose.LOGIN, Ana(), u="2026-12-01T00:00:00")
    # Long enough for itsdangerous to compress the payload (a token starting with ".").
    confirm = make_link_token(keys, LinkPurpose.CONFIRM_EMAIL, Ana(), m=True, w="wording " * 40)
    assert confirm.startswith(".")
    rows = {
        "login": ("login_link", "sent", {"login_url": f"{base}/login/link/{login}"}),
        "confirm": (
            "confirmation",
            "pending",
            {"confirm_url": f"{base}/connect/confirm/{confirm}", "interests": ["Design"]},
        ),
        "broken": ("preference_link", "failed", {"preferences_url": f"{base}/preferences/x"}),
        "welcome": ("welcome", "sent", {"first_name": "Ana"}),
    }
    with engine_at_0005.begin() as conn:
        conn.execute(
            candidates.insert().values(
                id=1,
                public_id="pub-ana",
                email="ana@example.com",
                first_name="Ana",
                last_name="",
                locale="en",
                timezone="UTC",
                token_version=2,
                status="active",
                created_at=at,
                updated_at=at,
            )
        )
        for key, (template, status, context) in rows.items():
            conn.execute(
                outbox.insert().values(
                    dedupe_key=key,
                    kind="confirmation" if template == "confirmation" else "login_link",
                    template=template,
                    candidate_id=1,
                    to_address="ana@example.com",
                    context=context,
                    status=status,
                    attempts=0,
                    next_attempt_at=at,
                    last_error="",
                    created_at=at,
                )
            )
    upgrade(engine_at_0005)
    factory = make_session_factory(engine_at_0005)
    with session_scope(factory) as session:
        stored = {r.dedupe_key: r for r in session.scalars(select(OutboxMessage))}
    assert all(holds_no_link(row) for row in stored.values())
    assert stored["broken"].context == {"preferences_url": ""}
    assert stored["welcome"].context == {"first_name": "Ana"}
    assert stored["confirm"].context["interests"] == ["Design"]
    for key, name, purpose, claims in (
        ("login", "login_url", LinkPurpose.LOGIN, {"u": "2026-12-01T00:00:00"}),
        ("confirm", "confirm_url", LinkPurpose.CONFIRM_EMAIL, {"m": True, "w": "wording " * 40}),
    ):
        context = dict(stored[key].context)
        sign_links(context, public_id="pub-ana", secret_keys=keys, base_url=base)
        path, _, token = context[name].removeprefix(base).rpartition("/")
        assert path == ("/login/link" if key == "login" else "/connect/confirm")
        data = read_link_token(keys, purpose, token)
        assert (data.public_id, data.token_version, data.extra) == ("pub-ana", 2, claims)
