"""Sessions end on the server: a replayed cookie after logout, password changes, expiry."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mailer.models import OutboxMessage
from portal.app import create_app
from portal.auth.accounts import check_password, set_password
from preferences.clock import frozen, now
from preferences.db import session_scope
from preferences.models import Candidate, LoginSession
from preferences.subscriptions import get_or_create_candidate
from tests.conftest import make_settings
from tests.portal.helpers import csrf_token, emailed_link, login

PASSWORD = "a long enough passphrase"
NEW_PASSWORD = "another long passphrase"


@pytest.fixture
def member(sessions: sessionmaker[Session]) -> int:
    """A candidate with a password; returns their id."""
    with session_scope(sessions) as session:
        candidate, _ = get_or_create_candidate(session, "ana@example.com", first_name="Ana")
        set_password(candidate, PASSWORD)
        return candidate.id


@pytest.fixture
def linked_only(sessions: sessionmaker[Session]) -> int:
    """A candidate without a password (they sign in by link or a social account)."""
    with session_scope(sessions) as session:
        candidate, _ = get_or_create_candidate(session, "bo@example.com", first_name="Bo")
        return candidate.id


def sign_in(client: FlaskClient, email: str = "ana@example.com", password: str = PASSWORD) -> None:
    page = client.get("/login")
    r = client.post(
        "/login",
        data={
            "csrf_token": csrf_token(page.text),
            "email": email,
            "password": password,
            "action": "password",
        },
    )
    assert r.status_code == 302 and r.headers["Location"].endswith("/dashboard")


def sign_in_by_link(
    client: FlaskClient, sessions: sessionmaker[Session], email: str = "bo@example.com"
) -> None:
    page = client.get("/login")
    client.post(
        "/login", data={"csrf_token": csrf_token(page.text), "email": email, "action": "link"}
    )
    with session_scope(sessions) as session:
        row = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
        assert row is not None
        path = emailed_link(session, row, "login_url").removeprefix("http://127.0.0.1:8000")
    button = client.get(path)
    r = client.post(path, data={"csrf_token": csrf_token(button.text)})
    assert r.status_code == 302 and r.headers["Location"].endswith("/dashboard")


def copy_of(app: Flask, client: FlaskClient) -> FlaskClient:
    """Another browser holding a copy of `client`'s session cookie."""
    cookie = client.get_cookie("tc_session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("tc_session", cookie.value)
    return thief


def change_password(client: FlaskClient, **form: str) -> list[str]:
    """Post the dashboard's password form; return the messages the dashboard then shows."""
    page = client.get("/dashboard")
    r = client.post("/dashboard/password", data={"csrf_token": csrf_token(page.text), **form})
    assert r.status_code == 302 and r.headers["Location"].endswith("/dashboard")
    shown = client.get("/dashboard").text
    return [
        m
        for m in (
            "Enter your current password.",
            "That isn&#39;t your current password. Nothing was changed.",
            "To set a password, sign in with a link we email you",
            "Your password is set. You&#39;re signed out on every other device.",
        )
        if m in shown
    ]


def password_works(sessions: sessionmaker[Session], password: str, email: str) -> bool:
    with session_scope(sessions) as session:
        return check_password(session, email, password) is not None


def test_a_candidate_cookie_replayed_after_logout_gets_the_login_page(
    app: Flask, client: FlaskClient, member: int
) -> None:
    """Log out ends the session on the server: a copied cookie no longer opens the dashboard."""
    sign_in(client)
    thief = copy_of(app, client)
    assert thief.get("/dashboard").status_code == 200
    page = client.get("/dashboard")
    assert client.post("/logout", data={"csrf_token": csrf_token(page.text)}).status_code == 302
    for path in ("/dashboard", "/dashboard/preferences", "/dashboard/export"):
        r = thief.get(path)
        assert r.status_code == 302 and r.headers["Location"].endswith("/login"), path
    assert client.get("/dashboard").status_code == 302


def test_a_recruiter_cookie_replayed_after_logout_gets_the_login_page(
    app: Flask, client: FlaskClient, recruiter: tuple[str, str]
) -> None:
    """The console's log out ends the session on the server, for every copy of the cookie."""
    assert login(client, *recruiter).status_code == 302
    thief = copy_of(app, client)
    assert thief.get("/admin/").status_code == 200
    token = csrf_token(client.get("/admin/").text)
    assert client.post("/admin/logout", data={"csrf_token": token}).status_code == 302
    for path in ("/admin/", "/admin/interests/", "/admin/reports/"):
        r = thief.get(path)
        assert r.status_code == 302 and "/admin/login" in r.headers["Location"], path


def test_the_cookie_names_a_session_not_a_person(
    app: Flask, client: FlaskClient, sessions: sessionmaker[Session], member: int
) -> None:
    """The signed cookie holds a random session id; no candidate id or token version."""
    sign_in(client)
    cookie = client.get_cookie("tc_session")
    assert cookie is not None
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    data = serializer.loads(cookie.value)
    assert set(data) <= {"sid", "principal", "_permanent", "csrf_token", "_flashes"}
    assert "candidate" not in data and [v for v in data.values() if type(v) is int] == []
    with session_scope(sessions) as session:
        (row,) = session.scalars(select(LoginSession)).all()
        assert row.candidate_id == member and row.id_hash != data["sid"]


def test_changing_the_password_asks_for_the_current_one(
    client: FlaskClient, sessions: sessionmaker[Session], member: int
) -> None:
    """Without the current password, or with a wrong one, nothing changes; with it, it does."""
    sign_in(client)
    page = client.get("/dashboard").text
    assert 'name="current_password"' in page and 'autocomplete="current-password"' in page
    new = {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert change_password(client, **new) == ["Enter your current password."]
    assert change_password(client, current_password="wrong password!", **new) == [
        "That isn&#39;t your current password. Nothing was changed."
    ]
    assert password_works(sessions, PASSWORD, "ana@example.com")
    assert not password_works(sessions, NEW_PASSWORD, "ana@example.com")
    assert change_password(client, current_password=PASSWORD, **new) == [
        "Your password is set. You&#39;re signed out on every other device."
    ]
    assert password_works(sessions, NEW_PASSWORD, "ana@example.com")
    assert not password_works(sessions, PASSWORD, "ana@example.com")


def test_a_password_change_ends_every_other_session(
    app: Flask, sessions: sessionmaker[Session], member: int
) -> None:
    """The browser that changed the password stays signed in; every other one is signed out."""
    here, phone = app.test_client(), app.test_client()
    sign_in(here)
    sign_in(phone)
    thief = copy_of(app, phone)
    change_password(here, current_password=PASSWORD, password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    assert here.get("/dashboard").status_code == 200
    for other in (phone, thief):
        r = other.get("/dashboard")
        assert r.status_code == 302 and r.headers["Location"].endswith("/login")
    with session_scope(sessions) as session:
        rows = session.scalars(select(LoginSession).order_by(LoginSession.id)).all()
        assert [r.ended_at is None for r in rows] == [True, False]


def test_a_sign_in_link_lets_a_candidate_set_a_password_for_ten_minutes(
    client: FlaskClient, sessions: sessionmaker[Session], linked_only: int
) -> None:
    """Signed in by an emailed link: no current password asked for 10 minutes, then it is."""
    with frozen(now()) as clock:
        sign_in_by_link(client, sessions)
        page = client.get("/dashboard").text
        assert 'name="current_password"' not in page and "Set a password" in page
        clock.advance(timedelta(minutes=9))
        assert change_password(client, password=PASSWORD, confirm=PASSWORD) == [
            "Your password is set. You&#39;re signed out on every other device."
        ]
        assert password_works(sessions, PASSWORD, "bo@example.com")
        clock.advance(timedelta(minutes=2))
        assert 'name="current_password"' in client.get("/dashboard").text
        assert change_password(client, password=NEW_PASSWORD, confirm=NEW_PASSWORD) == [
            "Enter your current password."
        ]
        assert password_works(sessions, PASSWORD, "bo@example.com")


def test_without_a_recent_link_no_first_password_can_be_set(
    client: FlaskClient, sessions: sessionmaker[Session], linked_only: int
) -> None:
    """Without a password and without a recent sign-in link, a session can't set one."""
    with frozen(now()) as clock:
        sign_in_by_link(client, sessions)
        clock.advance(timedelta(minutes=11))
        page = client.get("/dashboard").text
        assert "Email me a sign-in link" in page and 'name="password"' not in page
        assert change_password(client, password=PASSWORD, confirm=PASSWORD) == [
            "To set a password, sign in with a link we email you"
        ]
    with session_scope(sessions) as session:
        candidate = session.get(Candidate, linked_only)
        assert candidate is not None and candidate.password_hash is None


def test_sign_out_everywhere_ends_every_session_on_the_server(
    app: Flask, sessions: sessionmaker[Session], member: int
) -> None:
    """ "Sign me out everywhere" ends this browser's session and every other one."""
    here, phone = app.test_client(), app.test_client()
    sign_in(here)
    sign_in(phone)
    thief = copy_of(app, here)
    page = here.get("/dashboard")
    here.post("/dashboard/signout-everywhere", data={"csrf_token": csrf_token(page.text)})
    for browser in (here, phone, thief):
        assert browser.get("/dashboard").status_code == 302
    with session_scope(sessions) as session:
        rows = session.scalars(select(LoginSession)).all()
        assert len(rows) == 2 and all(r.ended_at is not None for r in rows)


def test_a_session_lasts_31_days_at_most(client: FlaskClient, member: int) -> None:
    """The server ends a session 31 days after sign-in, however often it is used."""
    with frozen(now()) as clock:
        sign_in(client)
        clock.advance(timedelta(days=30))
        assert client.get("/dashboard").status_code == 200
        clock.advance(timedelta(days=1, minutes=1))
        assert client.get("/dashboard").status_code == 302


def test_deactivating_a_recruiter_ends_their_sessions(
    app: Flask, sessions: sessionmaker[Session], recruiter: tuple[str, str]
) -> None:
    """Deactivation ends the recruiter's session rows, not only their next request."""
    from portal.auth.recruiters import set_recruiter
    from portal.console.recruiter_admin import deactivate
    from preferences.models import RecruiterRole

    client = app.test_client()
    login(client, *recruiter)
    with session_scope(sessions) as session:
        boss = set_recruiter(
            session, "boss@acme.example.com", password="p" * 20, role=RecruiterRole.ADMIN
        )
        (row,) = session.scalars(select(LoginSession)).all()
        assert row.recruiter_id is not None
        deactivate(session, row.recruiter_id, by=boss.id)
    with session_scope(sessions) as session:
        (row,) = session.scalars(select(LoginSession)).all()
        assert row.ended_at is not None
    assert client.get("/admin/").status_code == 302


def test_resetting_a_recruiters_password_ends_their_sessions(
    client: FlaskClient, sessions: sessionmaker[Session], recruiter: tuple[str, str]
) -> None:
    """A password reset (the CLI, the demo's start) signs the recruiter out everywhere."""
    from portal.auth.recruiters import set_recruiter

    email, password = recruiter
    login(client, email, password)
    assert client.get("/admin/").status_code == 200
    with session_scope(sessions) as session:
        set_recruiter(session, email, password="a brand new password")
    r = client.get("/admin/")
    assert r.status_code == 302 and "/admin/login" in r.headers["Location"]


def test_a_deleted_account_leaves_no_sessions(
    app: Flask, client: FlaskClient, sessions: sessionmaker[Session], member: int
) -> None:
    """Erasure removes the candidate's session rows; a copied cookie opens nothing."""
    sign_in(client)
    thief = copy_of(app, client)
    page = client.get("/dashboard/delete")
    client.post("/dashboard/delete", data={"csrf_token": csrf_token(page.text), "confirm": "yes"})
    assert thief.get("/dashboard").status_code == 302
    with session_scope(sessions) as session:
        assert session.scalars(select(LoginSession)).all() == []


def test_guessing_the_current_password_is_rate_limited(
    tmp_path: Path, database_url: str, member: int
) -> None:
    """Past CONNECT_RATE_LIMIT the password form answers 429 and changes nothing."""
    app = create_app(make_settings(tmp_path, database_url, CONNECT_RATE_LIMIT="2 per minute"))
    app.config["TESTING"] = True
    try:
        client = app.test_client()
        sign_in(client)
        token = csrf_token(client.get("/dashboard").text)
        form = {"csrf_token": token, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
        statuses = [
            client.post("/dashboard/password", data={**form, "current_password": guess}).status_code
            for guess in ("guess one!!", "guess two!!", PASSWORD)
        ]
        assert statuses == [302, 302, 429]
        factory = app.extensions["talentconnect"].sessions
        with session_scope(factory) as session:
            assert check_password(session, "ana@example.com", PASSWORD) is not None
    finally:
        app.extensions["talentconnect"].engine.dispose()
