"""The recruiters page (admins only) and one-time login links."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from portal.auth.recruiters import set_recruiter
from portal.console.recruiter_admin import LOGIN_LINK_MAX_AGE, make_login_link_token
from preferences import clock
from preferences.db import session_scope
from preferences.models import AuditEvent, RecruiterRole, RecruiterUser
from tests.conftest import TEST_SECRET
from tests.portal.helpers import (
    CONFIRMED,
    RECRUITER_EMAIL,
    RECRUITER_PASSWORD,
    ask_first,
    confirm,
    csrf_token,
    login,
)

ADMIN_EMAIL = "ada.admin@acme.example.com"
LINK_RE = re.compile(r'value="(https?://[^"]*/admin/login/[^"]+)"')


@pytest.fixture
def admin(sessions: sessionmaker[Session]) -> tuple[str, str]:
    with session_scope(sessions) as s:
        set_recruiter(s, ADMIN_EMAIL, password=RECRUITER_PASSWORD, role=RecruiterRole.ADMIN)
    return ADMIN_EMAIL, RECRUITER_PASSWORD


def _accounts(sessions: sessionmaker[Session]) -> list[tuple[str, str, bool]]:
    with sessions() as s:
        rows = s.execute(
            select(RecruiterUser.email, RecruiterUser.role, RecruiterUser.active).order_by(
                RecruiterUser.email
            )
        )
        return [(e, r.value, a) for e, r, a in rows]


def _admin_token(client: FlaskClient, admin: tuple[str, str]) -> str:
    assert login(client, *admin).status_code == 302
    page = client.get("/admin/recruiters")
    assert page.status_code == 200
    return csrf_token(page.text)


def test_recruiters_page_is_for_admins_only(
    client: FlaskClient, recruiter: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    """Signed out redirects to login; a recruiter gets 403 on every admin page and action."""
    assert client.get("/admin/recruiters").status_code == 302
    assert login(client, *recruiter).status_code == 302
    assert client.get("/admin/recruiters").status_code == 403
    token = csrf_token(client.get("/admin/interests/").text)
    before = _accounts(sessions)
    response = client.post(
        "/admin/recruiters", data={"csrf_token": token, "email": "x@acme.example.com"}
    )
    assert response.status_code == 403
    assert client.post("/admin/recruiters/1/role", data={"csrf_token": token}).status_code == 403
    for data in ({"csrf_token": token}, {"csrf_token": token, "confirm": "yes"}):
        assert client.post("/admin/recruiters/1/deactivate", data=data).status_code == 403
    assert _accounts(sessions) == before
    assert "/admin/recruiters" not in client.get("/admin/").text


def test_admin_invites_and_the_link_signs_in_once(
    app: Flask, client: FlaskClient, admin: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    """Inviting shows a one-time link; it signs the new recruiter in once, then is refused."""
    token = _admin_token(client, admin)
    page = client.get("/admin/recruiters")
    assert "Company settings" in page.text and "TALENTCONNECT_POSTAL_ADDRESS" in page.text
    response = client.post(
        "/admin/recruiters",
        data={"csrf_token": token, "email": "New.Person@Acme.example.com", "role": "recruiter"},
    )
    assert response.status_code == 200
    match = LINK_RE.search(response.text)
    assert match is not None
    path = match.group(1).split("localhost", 1)[1]
    assert ("new.person@acme.example.com", "recruiter", True) in _accounts(sessions)

    other = app.test_client()
    landing = other.get(path)
    assert landing.status_code == 200 and "new.person@acme.example.com" in landing.text
    assert other.get("/admin/").status_code == 302  # GET alone signs nobody in
    signed = other.post(path, data={"csrf_token": csrf_token(landing.text)})
    assert signed.status_code == 302 and signed.headers["Location"] == "/admin/"
    assert "signed in as new.person@acme.example.com" in other.get("/admin/").text

    third = app.test_client()
    again = third.get(path)
    assert again.status_code == 400 and "already used" in again.text


def test_login_link_refuses_tampered_expired_and_inactive(
    app: Flask, client: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    """A changed, expired or deactivated-account link is refused with a clear message."""
    with session_scope(sessions) as s:
        user = set_recruiter(s, RECRUITER_EMAIL, password=RECRUITER_PASSWORD)
        token = make_login_link_token([TEST_SECRET], user)
        user_id = user.id
    assert client.get(f"/admin/login/{token[:-2]}xx").status_code == 400
    assert "not valid" in client.get(f"/admin/login/{token[:-2]}xx").text
    with clock.frozen(clock.now() + timedelta(seconds=LOGIN_LINK_MAX_AGE + 60)):
        expired = client.get(f"/admin/login/{token}")
    assert expired.status_code == 400 and "expired" in expired.text
    with session_scope(sessions) as s:
        s.get_one(RecruiterUser, user_id).active = False
    gone = client.get(f"/admin/login/{token}")
    assert gone.status_code == 400 and "no longer active" in gone.text


def test_change_role_and_deactivate(
    client: FlaskClient,
    admin: tuple[str, str],
    recruiter: tuple[str, str],
    sessions: sessionmaker[Session],
) -> None:
    """An admin promotes and deactivates others; a deactivated recruiter can't log in."""
    token = _admin_token(client, admin)
    with sessions() as s:
        rita = s.scalars(select(RecruiterUser).where(RecruiterUser.email == RECRUITER_EMAIL)).one()
    url = f"/admin/recruiters/{rita.id}"
    assert (
        client.post(f"{url}/role", data={"csrf_token": token, "role": "admin"}).status_code == 302
    )
    assert (RECRUITER_EMAIL, "admin", True) in _accounts(sessions)
    response = client.post(f"{url}/role", data={"csrf_token": token, "role": "boss"})
    assert response.status_code == 400 and "Choose a known role." in response.text
    confirmed = {"csrf_token": token, **CONFIRMED}
    assert client.post(f"{url}/deactivate", data=confirmed).status_code == 302
    assert (RECRUITER_EMAIL, "admin", False) in _accounts(sessions)
    assert login(client.application.test_client(), *recruiter).status_code == 400


def test_admin_cannot_lock_everyone_out_and_bad_invites_store_nothing(
    client: FlaskClient, admin: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    """Self-deactivation, demoting the last admin, a taken or bad address: refused, unchanged."""
    token = _admin_token(client, admin)
    with sessions() as s:
        me = s.scalar(select(RecruiterUser.id).where(RecruiterUser.email == ADMIN_EMAIL))
    before = _accounts(sessions)
    response = client.post(f"/admin/recruiters/{me}/deactivate", data={"csrf_token": token})
    assert response.status_code == 400 and "deactivate your own account" in response.text
    response = client.post(
        f"/admin/recruiters/{me}/deactivate",
        data={"csrf_token": token, **CONFIRMED},
    )
    assert response.status_code == 400 and "deactivate your own account" in response.text
    response = client.post(
        f"/admin/recruiters/{me}/role", data={"csrf_token": token, "role": "recruiter"}
    )
    assert response.status_code == 400 and "always be an active admin" in response.text
    response = client.post(
        "/admin/recruiters", data={"csrf_token": token, "email": ADMIN_EMAIL.upper()}
    )
    assert response.status_code == 400 and "already exists" in response.text
    response = client.post("/admin/recruiters", data={"csrf_token": token, "email": "not-an-email"})
    assert response.status_code == 400 and "Enter a valid email address" in response.text
    response = client.post("/admin/recruiters", data={"email": "csrf@acme.example.com"})
    assert response.status_code == 400
    assert _accounts(sessions) == before
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(RecruiterUser)) == 1


def _deactivations(sessions: sessionmaker[Session]) -> list[tuple[str, str]]:
    with sessions() as s:
        rows = s.execute(
            select(AuditEvent.actor, AuditEvent.subject).where(
                AuditEvent.action == "recruiter.deactivated"
            )
        )
        return [(actor, subject) for actor, subject in rows]


def test_deactivate_asks_first_and_changes_nothing(
    app: Flask,
    client: FlaskClient,
    admin: tuple[str, str],
    recruiter: tuple[str, str],
    sessions: sessionmaker[Session],
) -> None:
    """Deactivate asks first (still active, signed in); unticked it says so; ticked it acts."""
    rita = app.test_client()
    assert login(rita, *recruiter).status_code == 302
    token = _admin_token(client, admin)
    with sessions() as s:
        rita_id = s.scalars(
            select(RecruiterUser.id).where(RecruiterUser.email == RECRUITER_EMAIL)
        ).one()
        admin_id = s.scalars(
            select(RecruiterUser.id).where(RecruiterUser.email == ADMIN_EMAIL)
        ).one()
    listing = client.get("/admin/recruiters")
    assert f'data-confirm="Deactivate {RECRUITER_EMAIL}?' in listing.text
    assert "/static/confirm.js" in listing.text
    url = f"/admin/recruiters/{rita_id}/deactivate"
    said, unticked = ask_first(client, url, token)
    assert "Deactivate this recruiter account?" in said and "Nothing has changed yet." in said
    assert RECRUITER_EMAIL in said
    assert "signed out of the console at once, on every device" in said
    assert "can no longer sign in, with their password or with a one-time login link" in said
    assert "This can't be undone" in said
    assert 'name="confirm" value="yes"' in said and 'name="step" value="confirm"' in said
    assert "Tick the box to confirm. Nothing has been deactivated." in unticked
    assert (RECRUITER_EMAIL, "recruiter", True) in _accounts(sessions)
    assert _deactivations(sessions) == []
    assert rita.get("/admin/").status_code == 200
    done = confirm(client, url, token)
    assert done.status_code == 302
    assert f"{RECRUITER_EMAIL} can no longer log in." in client.get("/admin/recruiters").text
    assert (RECRUITER_EMAIL, "recruiter", False) in _accounts(sessions)
    assert _deactivations(sessions) == [(f"recruiter:{admin_id}", f"recruiter:{rita_id}")]
    assert rita.get("/admin/").status_code == 302


def test_deactivating_an_admin_says_they_stop_getting_admin_email(
    client: FlaskClient, admin: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    """The confirmation for another admin adds that the admins' emails stop going to them."""
    with session_scope(sessions) as s:
        other = set_recruiter(
            s, "bo@acme.example.com", password=RECRUITER_PASSWORD, role=RecruiterRole.ADMIN
        ).id
    token = _admin_token(client, admin)
    asked = client.post(f"/admin/recruiters/{other}/deactivate", data={"csrf_token": token})
    assert asked.status_code == 200
    assert "emails about failing webhook endpoints" in asked.text
    assert ("bo@acme.example.com", "admin", True) in _accounts(sessions)


def test_deactivate_without_a_good_csrf_token_is_refused(
    client: FlaskClient,
    admin: tuple[str, str],
    recruiter: tuple[str, str],
    sessions: sessionmaker[Session],
) -> None:
    """A confirmed deactivation with a missing or tampered CSRF token is refused: no change."""
    token = _admin_token(client, admin)
    with sessions() as s:
        rita_id = s.scalars(
            select(RecruiterUser.id).where(RecruiterUser.email == RECRUITER_EMAIL)
        ).one()
    url = f"/admin/recruiters/{rita_id}/deactivate"
    for data in (
        CONFIRMED,
        {"csrf_token": token[:-4] + "AAAA", **CONFIRMED},
    ):
        response = client.post(url, data=data)
        assert response.status_code == 400, data
    assert (RECRUITER_EMAIL, "recruiter", True) in _accounts(sessions)
    assert _deactivations(sessions) == []
