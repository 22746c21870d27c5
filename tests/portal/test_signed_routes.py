"""Signed links stay out of logs and caches: redacted request paths, no-store pages."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from portal.auth.accounts import set_password
from portal.auth.recruiters import set_recruiter
from portal.console.recruiter_admin import make_login_link_token
from preferences.db import session_scope
from preferences.models import ConsentSource
from preferences.subscriptions import get_or_create_candidate, subscribe
from preferences.tokens import LinkPurpose, make_link_token
from tests.conftest import TEST_SECRET
from tests.portal.helpers import add_interest, csrf_token

PASSWORD = "a long enough passphrase"


@pytest.fixture
def tokens(sessions: sessionmaker[Session]) -> dict[str, str]:
    """A live token of every kind of signed link, for one member and one recruiter."""
    with session_scope(sessions) as session:
        design = add_interest(session, "Design")
        candidate, _ = get_or_create_candidate(session, "ana@example.com", first_name="Ana")
        set_password(candidate, PASSWORD)
        subscribe(session, candidate, design, source=ConsentSource.CONNECT_FORM, confirmed=True)
        session.flush()
        keys = [TEST_SECRET]
        user = set_recruiter(session, "rita@acme.example.com", password="p" * 20)
        return {
            "preferences": make_link_token(keys, LinkPurpose.PREFERENCES, candidate),
            "one_click": make_link_token(keys, LinkPurpose.ONE_CLICK, candidate, l="mass_email"),
            "confirm": make_link_token(keys, LinkPurpose.CONFIRM_EMAIL, candidate),
            "search": make_link_token(
                keys, LinkPurpose.CONFIRM_SEARCH, candidate, s={"q": "python"}, f="daily"
            ),
            "login": make_link_token(
                keys, LinkPurpose.LOGIN, candidate, u=candidate.updated_at.isoformat()
            ),
            "recruiter": make_login_link_token(keys, user),
            "stay": make_link_token(keys, LinkPurpose.STAY, candidate),
        }


# (kind of token, method, path with {t} for the token, status the page answers)
PAGES = [
    ("preferences", "GET", "/preferences/{t}", 200),
    ("preferences", "POST", "/preferences/{t}", 400),  # no form token: refused, still private
    ("preferences", "POST", "/preferences/{t}/undo", 400),
    ("preferences", "PUT", "/preferences/{t}", 405),
    ("one_click", "GET", "/unsubscribe/{t}", 200),
    ("one_click", "POST", "/unsubscribe/{t}", 400),
    ("confirm", "GET", "/connect/confirm/{t}", 200),
    ("search", "GET", "/jobs/save/confirm/{t}", 200),
    ("login", "GET", "/login/link/{t}", 200),
    ("recruiter", "GET", "/admin/login/{t}", 200),
    ("stay", "GET", "/stay/{t}", 200),
    ("stay", "POST", "/stay/{t}", 400),  # no form token: refused, still private
]


@pytest.mark.parametrize(("kind", "method", "template", "status"), PAGES)
def test_signed_pages_are_logged_without_their_token_and_never_cached(
    client: FlaskClient,
    tokens: dict[str, str],
    caplog: pytest.LogCaptureFixture,
    kind: str,
    method: str,
    template: str,
    status: int,
) -> None:
    """Every signed-link route logs `<redacted>` for its token and answers `no-store`."""
    token = tokens[kind]
    with caplog.at_level(logging.DEBUG):
        response = client.open(template.format(t=token), method=method)
    assert response.status_code == status
    assert response.headers["Cache-Control"] == "no-store"
    (record,) = [r for r in caplog.records if r.name == "portal.request"]
    assert record.__dict__["path"] == template.format(t="<redacted>")
    assert token not in caplog.text
    assert all(token not in str(r.__dict__) for r in caplog.records)


def test_a_signed_page_that_saves_is_private_too(
    client: FlaskClient, tokens: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    """Saving on the preference page: the answer is `no-store` and the log has no token."""
    path = f"/preferences/{tokens['preferences']}"
    page = client.get(path)
    with caplog.at_level(logging.INFO, logger="portal.request"):
        saved = client.post(
            path, data={"csrf_token": csrf_token(page.text), "confirm_mass_email_off": "yes"}
        )
    assert saved.status_code == 200 and "Stopped job alerts for Design." in saved.text
    assert saved.headers["Cache-Control"] == "no-store"
    assert tokens["preferences"] not in caplog.text


def test_a_mangled_link_is_logged_without_its_token(
    client: FlaskClient, tokens: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    """A path no route matches (a link copied with extra bits) still logs no token."""
    token = tokens["preferences"]
    with caplog.at_level(logging.INFO, logger="portal.request"):
        assert client.get(f"/preferences/{token}/").status_code == 404
        assert client.get(f"/old/{token}").status_code == 404
    paths = [r.__dict__["path"] for r in caplog.records if r.name == "portal.request"]
    assert paths == ["/preferences/<redacted>/", "/old/<redacted>"]
    assert token not in caplog.text


def test_every_route_with_a_token_declares_it(app: Flask) -> None:
    """A route argument named like a token uses the `link_token` converter, so it is redacted."""
    signed = []
    for rule in app.url_map.iter_rules():
        for name in rule.arguments:
            if "token" in name:
                assert f"<link_token:{name}>" in rule.rule, rule.rule
                signed.append(rule.rule)
    assert sorted(signed) == [
        "/admin/login/<link_token:token>",
        "/connect/confirm/<link_token:token>",
        "/jobs/save/confirm/<link_token:token>",
        "/login/link/<link_token:token>",
        "/preferences/<link_token:token>",
        "/preferences/<link_token:token>/language",
        "/preferences/<link_token:token>/searches/<search_id>",
        "/preferences/<link_token:token>/undo",
        "/stay/<link_token:token>",
        "/unsubscribe/<link_token:token>",
    ]


def test_a_new_signed_route_is_covered_errors_included(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    """A route added with the converter is redacted in the request and the error log alike."""

    def boom(secret: str) -> Any:
        raise RuntimeError("something broke")

    app.add_url_rule("/new-link/<link_token:secret>", view_func=boom)
    client = app.test_client()
    secret = "eyJjIjoiYWJjIn0.Zxyz12.abcdefghijklmnopqrstuv"
    with caplog.at_level(logging.INFO):
        response = client.get(f"/new-link/{secret}")
    assert response.status_code == 500
    assert response.headers["Cache-Control"] == "no-store"
    errors = [r for r in caplog.records if r.name == "portal.error"]
    assert [r.__dict__["path"] for r in errors] == ["/new-link/<redacted>"]
    assert secret not in caplog.text


def test_dashboard_pages_are_never_cached_and_public_pages_may_be(
    client: FlaskClient, tokens: dict[str, str]
) -> None:
    """The signed-in dashboard answers `no-store`; the public job list is left cacheable."""
    page = client.get("/login")
    client.post(
        "/login",
        data={
            "csrf_token": csrf_token(page.text),
            "email": "ana@example.com",
            "password": PASSWORD,
            "action": "password",
        },
    )
    for path in ("/dashboard", "/dashboard/preferences", "/dashboard/profile", "/dashboard/delete"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "no-store", path
    assert "no-store" not in client.get("/jobs").headers.get("Cache-Control", "")
