"""Candidate sign-in (password, login link), the dashboard and signing out everywhere."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mailer.models import OutboxMessage
from portal.auth.accounts import set_password
from portal.views.auth import BAD_LOGIN, EMPTY_LOGIN, LINK_SENT
from preferences.db import session_scope
from preferences.models import (
    Candidate,
    ConsentEvent,
    ConsentSource,
    Subscription,
    SubscriptionStatus,
)
from preferences.subscriptions import get_or_create_candidate, subscribe
from preferences.tokens import LinkPurpose, make_link_token
from tests.conftest import TEST_SECRET

from .helpers import add_interest, add_job, csrf_token, emailed_link, without_tokens

PASSWORD = "a long enough passphrase"


@pytest.fixture
def member(sessions: sessionmaker[Session]) -> dict[str, Any]:
    with session_scope(sessions) as session:
        design = add_interest(session, "Design")
        add_job(session, "Product Designer", interests=[design])
        candidate, _ = get_or_create_candidate(session, "ana@example.com", first_name="Ana")
        set_password(candidate, PASSWORD)
        subscribe(session, candidate, design, source=ConsentSource.CONNECT_FORM, confirmed=True)
        return {"id": candidate.id, "design": design.id}


def post_login(client: FlaskClient, **form: str) -> Any:
    page = client.get("/login")
    return client.post("/login", data={"csrf_token": csrf_token(page.text), **form})


def test_password_login_opens_the_dashboard_with_recommendations(
    client: FlaskClient, member: dict[str, Any]
) -> None:
    """The right password signs in; the dashboard greets and recommends matching jobs."""
    r = post_login(client, email="ANA@example.com", password=PASSWORD, action="password")
    assert r.status_code == 302 and r.headers["Location"].endswith("/dashboard")
    page = client.get("/dashboard")
    assert page.status_code == 200
    assert "Welcome back, Ana" in page.text and "Product Designer" in page.text
    assert "Manage your email subscriptions" in page.text
    assert ">Dashboard</a>" in page.text


def test_wrong_password_and_unknown_address_get_the_same_answer(
    client: FlaskClient, member: dict[str, Any]
) -> None:
    """A bad password and an unknown address are indistinguishable."""
    a = post_login(client, email="ana@example.com", password="wrong password!", action="password")
    b = post_login(client, email="nobody@example.com", password=PASSWORD, action="password")
    assert a.status_code == b.status_code == 400
    assert escape(BAD_LOGIN) in a.text
    # Only the echoed address (the visitor's own input) differs.
    assert without_tokens(a.text.replace("ana@example.com", "X")) == without_tokens(
        b.text.replace("nobody@example.com", "X")
    )
    assert client.get("/dashboard").status_code == 302


def test_login_without_a_password_asks_for_one_and_sends_nothing(
    client: FlaskClient, sessions: sessionmaker[Session], member: dict[str, Any]
) -> None:
    """Log in (Enter's button) with no password says so, trims the address, and mails nothing."""
    r = post_login(client, email="  ana@example.com ", password="", action="password")
    assert r.status_code == 400
    assert escape(EMPTY_LOGIN) in r.text and escape(BAD_LOGIN) not in r.text
    assert 'value="ana@example.com"' in r.text
    with session_scope(sessions) as session:
        assert session.scalars(select(OutboxMessage)).all() == []
    r = post_login(client, email=" ana@example.com ", password=PASSWORD, action="password")
    assert r.status_code == 302 and r.headers["Location"].endswith("/dashboard")


def test_login_link_requests_answer_the_same_and_mail_only_members(
    client: FlaskClient, sessions: sessionmaker[Session], member: dict[str, Any]
) -> None:
    """Asking for a link says the same for any address; only a member gets an email."""
    a = post_login(client, email="ana@example.com", action="link")
    b = post_login(client, email="nobody@example.com", action="link")
    assert a.status_code == b.status_code == 200
    assert escape(LINK_SENT) in a.text
    assert without_tokens(a.text.replace("ana@example.com", "X")) == without_tokens(
        b.text.replace("nobody@example.com", "X")
    )
    with session_scope(sessions) as session:
        rows = session.scalars(select(OutboxMessage)).all()
        assert [(r.template, r.to_address) for r in rows] == [("login_link", "ana@example.com")]


def test_login_link_works_once(
    client: FlaskClient, sessions: sessionmaker[Session], member: dict[str, Any]
) -> None:
    """The emailed link signs in on POST (GET only shows a button) and cannot be reused."""
    post_login(client, email="ana@example.com", action="link")
    with session_scope(sessions) as session:
        url = emailed_link(session, session.scalars(select(OutboxMessage)).one(), "login_url")
    path = url.removeprefix("http://127.0.0.1:8000")
    page = client.get(path)
    assert page.status_code == 200 and client.get("/dashboard").status_code == 302
    r = client.post(path, data={"csrf_token": csrf_token(page.text)})
    assert r.status_code == 302 and client.get("/dashboard").status_code == 200
    other = client.application.test_client()
    again = other.get(path)
    assert again.status_code == 400 and "doesn" in again.text


def test_dashboard_needs_a_session(client: FlaskClient, member: dict[str, Any]) -> None:
    """Every dashboard page sends a visitor without a session to the login page."""
    for path in ("/dashboard", "/dashboard/preferences", "/dashboard/profile"):
        r = client.get(path)
        assert r.status_code == 302 and r.headers["Location"].endswith("/login"), path


def test_manage_subscriptions_from_the_dashboard_records_dashboard_consent(
    client: FlaskClient, sessions: sessionmaker[Session], member: dict[str, Any]
) -> None:
    """Log in -> Dashboard -> Manage your email subscriptions -> change -> Save."""
    post_login(client, email="ana@example.com", password=PASSWORD, action="password")
    page = client.get("/dashboard/preferences")
    assert page.status_code == 200
    assert "Send me occasional emails: newsletters, events, hiring news" in page.text
    r = client.post(
        "/dashboard/preferences",
        data={"csrf_token": csrf_token(page.text), "confirm_mass_email_off": "yes"},
    )
    assert r.status_code == 200 and "Stopped job alerts for Design." in r.text
    assert 'action="/dashboard/preferences/undo"' in r.text
    with session_scope(sessions) as session:
        sub = session.scalars(select(Subscription)).one()
        assert sub.status is SubscriptionStatus.UNSUBSCRIBED
        last = session.scalars(select(ConsentEvent).order_by(ConsentEvent.id.desc())).first()
        assert last is not None and last.source is ConsentSource.DASHBOARD


def test_undo_from_the_dashboard_records_dashboard_consent(
    client: FlaskClient, sessions: sessionmaker[Session], member: dict[str, Any]
) -> None:
    """Undo after a dashboard Save restores the choice; its consent event says dashboard."""
    post_login(client, email="ana@example.com", password=PASSWORD, action="password")
    page = client.get("/dashboard/preferences")
    saved = client.post(
        "/dashboard/preferences",
        data={"csrf_token": csrf_token(page.text), "confirm_mass_email_off": "yes"},
    )
    assert 'action="/dashboard/preferences/undo"' in saved.text
    undo = re.search(r'name="undo" value="([^"]+)"', saved.text)
    assert undo is not None
    assert client.post("/dashboard/preferences/undo", data={"undo": undo[1]}).status_code == 400
    r = client.post(
        "/dashboard/preferences/undo",
        data={"csrf_token": csrf_token(saved.text), "undo": undo[1]},
    )
    assert r.status_code == 200 and "Undone." in r.text
    assert "Started job alerts for Design" in r.text
    with session_scope(sessions) as session:
        sub = session.scalars(select(Subscription)).one()
        assert sub.status is SubscriptionStatus.SUBSCRIBED
        last = session.scalars(select(ConsentEvent).order_by(ConsentEvent.id.desc())).first()
        assert last is not None and last.source is ConsentSource.DASHBOARD
    # A tampered undo token changes nothing and says so.
    bad = client.post(
        "/dashboard/preferences/undo",
        data={"csrf_token": csrf_token(r.text), "undo": undo[1][:-3] + "AAA"},
    )
    assert bad.status_code == 400


def test_dashboard_undo_needs_a_session(client: FlaskClient) -> None:
    """Without a login the dashboard Undo sends the visitor to log in and changes nothing."""
    token = csrf_token(client.get("/login").text)
    r = client.post("/dashboard/preferences/undo", data={"csrf_token": token, "undo": "x"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/login")


def test_profile_edit_keeps_values_on_error_and_saves(
    client: FlaskClient, sessions: sessionmaker[Session], member: dict[str, Any]
) -> None:
    """A bad phone is a field error with values kept; a good form saves."""
    post_login(client, email="ana@example.com", password=PASSWORD, action="password")
    page = client.get("/dashboard/profile")
    token = csrf_token(page.text)
    bad = client.post(
        "/dashboard/profile",
        data={"csrf_token": token, "first_name": "Ana", "last_name": "Silva", "phone": "abc"},
    )
    assert bad.status_code == 400 and 'value="Silva"' in bad.text
    ok = client.post(
        "/dashboard/profile",
        data={
            "csrf_token": token,
            "first_name": "Ana",
            "last_name": "Silva",
            "phone": "+49 30 901820",
            "location": "Berlin",
        },
    )
    assert ok.status_code == 302
    with session_scope(sessions) as session:
        candidate = session.get(Candidate, member["id"])
        assert candidate is not None
        assert (candidate.last_name, candidate.phone_e164) == ("Silva", "+4930901820")


def test_sign_out_everywhere_ends_sessions_and_revokes_links(
    app: Flask, sessions: sessionmaker[Session], member: dict[str, Any]
) -> None:
    """Bumping the token version ends other sessions and old preference links."""
    first, second = app.test_client(), app.test_client()
    for client in (first, second):
        post_login(client, email="ana@example.com", password=PASSWORD, action="password")
    with session_scope(sessions) as session:
        candidate = session.get(Candidate, member["id"])
        assert candidate is not None
        link = make_link_token([TEST_SECRET], LinkPurpose.PREFERENCES, candidate)
    assert first.get(f"/preferences/{link}").status_code == 200
    page = first.get("/dashboard")
    first.post("/dashboard/signout-everywhere", data={"csrf_token": csrf_token(page.text)})
    assert second.get("/dashboard").status_code == 302
    assert first.get(f"/preferences/{link}").status_code == 400


def test_dashboard_forms_need_csrf(client: FlaskClient, member: dict[str, Any]) -> None:
    """Login and dashboard posts without a CSRF token are refused."""
    assert client.post("/login", data={"email": "ana@example.com"}).status_code == 400
    post_login(client, email="ana@example.com", password=PASSWORD, action="password")
    for path in ("/dashboard/preferences", "/dashboard/profile", "/dashboard/password"):
        assert client.post(path, data={}).status_code == 400, path


def test_download_my_data_is_a_json_attachment_with_consent_history(
    client: FlaskClient, member: dict[str, Any]
) -> None:
    """Download my data returns everything stored, consent history included, as a file."""
    post_login(client, email="ana@example.com", password=PASSWORD, action="password")
    r = client.get("/dashboard/export")
    assert r.status_code == 200 and r.mimetype == "application/json"
    assert "attachment" in r.headers["Content-Disposition"]
    data = r.get_json()
    assert data["profile"]["email"] == "ana@example.com"
    assert [e["source"] for e in data["consent_history"]] == ["connect_form"]
    assert "password_hash" not in r.text


def test_delete_my_account_erases_and_signs_out(
    client: FlaskClient, sessions: sessionmaker[Session], member: dict[str, Any]
) -> None:
    """Deleting needs the confirmation box; then the account is erased and suppressed."""
    from preferences.models import CandidateStatus
    from preferences.suppressions import is_suppressed

    post_login(client, email="ana@example.com", password=PASSWORD, action="password")
    page = client.get("/dashboard/delete")
    refused = client.post("/dashboard/delete", data={"csrf_token": csrf_token(page.text)})
    assert refused.status_code == 400
    done = client.post(
        "/dashboard/delete", data={"csrf_token": csrf_token(page.text), "confirm": "yes"}
    )
    assert done.status_code == 200 and "Your account is deleted" in done.text
    assert client.get("/dashboard").status_code == 302
    with session_scope(sessions) as session:
        candidate = session.get(Candidate, member["id"])
        assert candidate is not None and candidate.status is CandidateStatus.DELETED
        assert candidate.email != "ana@example.com" and candidate.first_name == ""
        assert is_suppressed(session, "Ana@Example.com")
    again = post_login(client, email="ana@example.com", password=PASSWORD, action="password")
    assert again.status_code == 400
