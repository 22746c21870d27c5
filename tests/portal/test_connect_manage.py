"""A way to manage emails from the first email on: the links in the confirmation and
welcome emails, the confirmed and already-confirmed pages, the thank-you page's next steps.
"""

from __future__ import annotations

import re
from email.message import EmailMessage
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mailer.config import SmtpTarget
from mailer.models import OutboxMessage
from mailer.sender import SmtpSender
from mailer.sink import MailSink, MemoryStore
from mailer.worker import OutboxWorker
from portal.config import Settings
from preferences.db import session_scope
from preferences.models import Candidate
from preferences.tokens import LinkPurpose, read_link_token
from tests.conftest import TEST_SECRET

from .helpers import add_interest, csrf_token, emailed_link
from .test_connect import walk_manual

BASE = "http://127.0.0.1:8000"
MANAGE = "Manage your email preferences"


@pytest.fixture
def world(sessions: sessionmaker[Session]) -> dict[str, Any]:
    with session_scope(sessions) as session:
        return {"design": add_interest(session, "Design", position=1).id}


def send_all(sessions: sessionmaker[Session], settings: Settings, sink: MailSink) -> None:
    target = SmtpTarget.from_url(f"{sink.url}?timeout=5")
    worker = OutboxWorker(sessions, lambda: SmtpSender(target), settings.mail_settings())
    worker.run(until_empty=True)


def parts(message: EmailMessage) -> tuple[str, str]:
    """The plain-text and HTML parts of a sent email."""
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def manage_paths(text: str, html: str) -> str:
    """The one preference-center link of an email, the same in both parts; as a path."""
    in_text = set(re.findall(rf"{re.escape(BASE)}(/preferences/[^\s\"<]+)", text))
    in_html = set(re.findall(rf'href="{re.escape(BASE)}(/preferences/[^"]+)"', html))
    assert len(in_text) == 1 and in_text == in_html, (in_text, in_html)
    assert f"{MANAGE}:" in text and MANAGE in html
    return in_text.pop()


def confirm_path(sessions: sessionmaker[Session]) -> str:
    with session_scope(sessions) as session:
        row = session.scalars(
            select(OutboxMessage).where(OutboxMessage.template == "confirmation")
        ).one()
        return emailed_link(session, row, "confirm_url").removeprefix(BASE)


def confirm(client: FlaskClient, path: str) -> Any:
    """Open the confirm link and press its button, as the page lists it."""
    page = client.get(path)
    assert page.status_code == 200
    listed = re.findall(
        r'<input type="hidden" name="(interest|mass_email)" value="([^"]*)"', page.text
    )
    data: dict[str, Any] = {"csrf_token": csrf_token(page.text)}
    for name, value in listed:
        data.setdefault(name, []).append(value)
    return client.post(path, data=data)


def the_candidate(sessions: sessionmaker[Session]) -> tuple[int, str]:
    with session_scope(sessions) as session:
        candidate = session.scalars(select(Candidate)).one()
        return candidate.id, candidate.public_id


def test_confirmation_and_welcome_emails_carry_a_signed_link_to_the_preference_center(
    client: FlaskClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    smtp_server: MailSink,
    world: dict[str, Any],
) -> None:
    """Both emails, in both parts, link to the candidate's own preference center, signed."""
    walk_manual(client, world, mass_email=True)
    send_all(sessions, settings, smtp_server)
    confirm(client, confirm_path(sessions))
    send_all(sessions, settings, smtp_server)
    assert isinstance(smtp_server.store, MemoryStore)
    sent = [m.parsed() for m in smtp_server.store.wait_for(2)]
    assert [m["Subject"] for m in sent][1].startswith("Welcome")
    _, public_id = the_candidate(sessions)
    for message in sent:
        path = manage_paths(*parts(message))
        token = path.removeprefix("/preferences/")
        link = read_link_token([TEST_SECRET], LinkPurpose.PREFERENCES, token)
        assert link.public_id == public_id
        page = client.get(path)
        assert page.status_code == 200 and "ana@example.com" in page.text
        assert "Send me occasional emails" in page.text


def test_the_confirmed_page_offers_managing_emails_and_setting_a_password(
    client: FlaskClient, sessions: sessionmaker[Session], world: dict[str, Any]
) -> None:
    """Once confirmed: a signed link to her preference center, and the way to set a password."""
    walk_manual(client, world)
    done = confirm(client, confirm_path(sessions))
    assert done.status_code == 200 and "You're confirmed" in done.text
    (path,) = re.findall(r'href="http://127\.0\.0\.1:8000(/preferences/[^"]+)"', done.text)
    assert MANAGE in done.text
    assert "ana@example.com" in client.get(path).text
    assert re.search(r'<a [^>]*href="/login/forgot\?first=1"[^>]*>Set a password</a>', done.text)
    first = client.get("/login/forgot?first=1").text
    assert "<h1>Set a password</h1>" in first and "Forgot your password?" not in first


def test_set_a_password_works_for_a_just_confirmed_candidate(
    client: FlaskClient, sessions: sessionmaker[Session], world: dict[str, Any]
) -> None:
    """ "Set a password" leads, by a sign-in link, to the dashboard, where a first one is set."""
    walk_manual(client, world)
    confirm(client, confirm_path(sessions))
    page = client.get("/login/forgot")
    client.post(
        "/login/forgot", data={"csrf_token": csrf_token(page.text), "email": "ana@example.com"}
    )
    with session_scope(sessions) as session:
        row = session.scalars(
            select(OutboxMessage).where(OutboxMessage.template == "login_link")
        ).one()
        path = emailed_link(session, row, "login_url").removeprefix(BASE)
    button = client.get(path)
    assert client.post(path, data={"csrf_token": csrf_token(button.text)}).status_code == 302
    home = client.get("/dashboard")
    assert home.status_code == 200
    r = client.post(
        "/dashboard/password",
        data={
            "csrf_token": csrf_token(home.text),
            "password": "a long enough passphrase",
            "confirm": "a long enough passphrase",
        },
        follow_redirects=True,
    )
    assert "Your password is set" in r.text
    with session_scope(sessions) as session:
        assert session.scalars(select(Candidate)).one().password_hash


def test_a_used_confirm_link_says_already_confirmed_with_the_manage_link(
    client: FlaskClient, sessions: sessionmaker[Session], world: dict[str, Any]
) -> None:
    """Opened again after confirming: "You're already confirmed", no button, the manage link."""
    walk_manual(client, world, mass_email=True)
    path = confirm_path(sessions)
    confirm(client, path)
    again = client.get(path)
    assert again.status_code == 200
    assert "You're already confirmed" in again.text
    assert "Confirm my email" not in again.text and "Nothing left to confirm" not in again.text
    (prefs,) = re.findall(r'href="http://127\.0\.0\.1:8000(/preferences/[^"]+)"', again.text)
    assert client.get(prefs).status_code == 200
    assert 'href="/login/forgot?first=1"' in again.text


def test_an_unconfirmed_link_still_shows_the_button(
    client: FlaskClient, sessions: sessionmaker[Session], world: dict[str, Any]
) -> None:
    """Before confirming, the link shows what it turns on and the button, no manage link yet."""
    walk_manual(client, world)
    page = client.get(confirm_path(sessions))
    assert "Confirm my email and these choices" in page.text
    assert "already confirmed" not in page.text and "/preferences/" not in page.text


@pytest.mark.parametrize("needs_confirmation", [True, False], ids=["double-opt-in", "single"])
def test_the_thank_you_page_suggests_the_next_steps(
    tmp_path: Any,
    database_url: str,
    sessions: sessionmaker[Session],
    world: dict[str, Any],
    needs_confirmation: bool,
) -> None:
    """Next steps: confirm your email (when asked to), manage emails, browse jobs."""
    from portal.app import create_app  # a second app, for DOUBLE_OPT_IN
    from tests.conftest import make_settings

    overrides = {} if needs_confirmation else {"DOUBLE_OPT_IN": "false"}
    app = create_app(make_settings(tmp_path, database_url, **overrides))
    try:
        client = app.test_client()
        walk_manual(client, world)
        page = client.get("/connect/thanks").text
        steps = page.split('class="next-steps"', 1)[1].split("</ol>", 1)[0]
        assert ("Confirm your email" in steps) is needs_confirmation
        assert 'href="/preferences/resend"' in steps and "Manage your emails" in steps
        assert 'href="/jobs"' in steps and "Browse open jobs" in steps
    finally:
        app.extensions["talentconnect"].engine.dispose()
