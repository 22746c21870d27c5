"""The recruiter console: sign-in with CSRF, redirects, and the development mail viewer."""

from __future__ import annotations

import html
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mailer.sink import MaildirStore
from portal.app import create_app
from portal.auth.recruiters import authenticate_recruiter, set_recruiter
from portal.config import Settings
from preferences.models import RecruiterRole, RecruiterUser
from tests.conftest import make_settings
from tests.portal.conftest import PRODUCTION_BASE_URL
from tests.portal.helpers import STRONG_SECRET, csrf_token, login, sample_email

WRONG = "That email and password don&#39;t match an active recruiter account."


def _logged_in(client: FlaskClient, base_url: str = "http://localhost") -> bool:
    response = client.get("/admin/", base_url=base_url)
    if response.status_code == 302:
        assert "/admin/login" in response.headers["Location"]
        return False
    assert response.status_code == 200
    return True


# --- sign-in -------------------------------------------------------------------------


def test_login_page_has_a_csrf_protected_form(client: FlaskClient) -> None:
    """The login page renders a form with a CSRF token, email and password fields."""
    response = client.get("/admin/login")
    assert response.status_code == 200
    assert csrf_token(response.text)
    assert 'name="email"' in response.text
    assert 'type="password"' in response.text
    assert 'autocomplete="current-password"' in response.text


def test_recruiter_logs_in(
    client: FlaskClient, recruiter: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    """Correct credentials with the CSRF token open the console and record the login."""
    email, password = recruiter
    assert not _logged_in(client)
    response = login(client, email, password)
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    home = client.get("/admin/")
    assert home.status_code == 200
    assert "Welcome, Rita" in home.text
    assert email in home.text
    with sessions() as session:
        user = session.scalar(select(RecruiterUser).where(RecruiterUser.email == email))
        assert user is not None and user.last_login_at is not None


def test_login_normalizes_the_address(client: FlaskClient, recruiter: tuple[str, str]) -> None:
    """The address is matched case-insensitively and with stray spaces trimmed."""
    email, password = recruiter
    response = login(client, f"  {email.upper()} ", password)
    assert response.status_code == 302
    assert _logged_in(client)


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("rita.recruiter@acme.example.com", "wrong password"),
        ("nobody@acme.example.com", "correct horse battery staple"),
        ("not-an-address", "correct horse battery staple"),
    ],
    ids=["wrong-password", "unknown-email", "malformed-email"],
)
def test_failed_login_says_the_same_thing(
    client: FlaskClient,
    recruiter: tuple[str, str],
    sessions: sessionmaker[Session],
    email: str,
    password: str,
) -> None:
    """Wrong password, unknown or malformed address: same 400 and message, no session."""
    response = login(client, email, password)
    assert response.status_code == 400
    assert WRONG in response.text
    assert response.text.count('role="alert"') == 1
    assert not _logged_in(client)
    with sessions() as session:
        user = session.scalar(select(RecruiterUser).where(RecruiterUser.email == recruiter[0]))
        assert user is not None
        assert user.last_login_at is None  # a failed attempt records nothing


def test_inactive_recruiter_cannot_log_in(
    client: FlaskClient, recruiter: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    """A deactivated account is refused with the same message as a wrong password."""
    email, password = recruiter
    with sessions.begin() as session:
        user = session.scalar(select(RecruiterUser).where(RecruiterUser.email == email))
        assert user is not None
        user.active = False
    response = login(client, email, password)
    assert response.status_code == 400
    assert WRONG in response.text
    assert not _logged_in(client)


def test_deactivation_ends_an_open_session(
    client: FlaskClient, recruiter: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    """A recruiter deactivated while logged in loses access at the next request."""
    email, password = recruiter
    assert login(client, email, password).status_code == 302
    assert _logged_in(client)
    with sessions.begin() as session:
        user = session.scalar(select(RecruiterUser).where(RecruiterUser.email == email))
        assert user is not None
        user.active = False
    assert not _logged_in(client)


def test_empty_fields_are_reported(client: FlaskClient, recruiter: tuple[str, str]) -> None:
    """Submitting the form empty marks the fields and logs nobody in."""
    page = client.get("/admin/login")
    response = client.post(
        "/admin/login", data={"csrf_token": csrf_token(page.text), "email": "", "password": ""}
    )
    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.text
    assert "This field is required." in response.text
    assert not _logged_in(client)


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_login_without_csrf_token_is_refused(
    client: FlaskClient, recruiter: tuple[str, str], token: str | None
) -> None:
    """A POST without a valid CSRF token gets the friendly 400 page and no session."""
    email, password = recruiter
    client.get("/admin/login")
    data = {"email": email, "password": password}
    if token is not None:
        data["csrf_token"] = token
    response = client.post("/admin/login", data=data)
    assert response.status_code == 400
    assert "couldn&#39;t verify that form" in response.text
    assert "Go to the careers home page" in response.text
    assert not _logged_in(client)


def test_csrf_token_from_another_session_is_refused(app: Flask, recruiter: tuple[str, str]) -> None:
    """A token lifted from someone else's form does not work in this session."""
    email, password = recruiter
    attacker = app.test_client()
    token = csrf_token(attacker.get("/admin/login").text)
    victim = app.test_client()
    response = victim.post(
        "/admin/login", data={"csrf_token": token, "email": email, "password": password}
    )
    assert response.status_code == 400
    assert "couldn&#39;t verify that form" in response.text
    assert not _logged_in(victim)


def test_logout_needs_csrf_and_ends_the_session(
    client: FlaskClient, recruiter: tuple[str, str]
) -> None:
    """Log out is a CSRF-protected POST; afterwards the console asks for a login again."""
    assert login(client, *recruiter).status_code == 302
    assert client.post("/admin/logout").status_code == 400
    assert _logged_in(client)
    token = csrf_token(client.get("/admin/").text)
    response = client.post("/admin/logout", data={"csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert not _logged_in(client)


def test_session_survives_key_rotation(
    tmp_path: Path, database_url: str, recruiter: tuple[str, str]
) -> None:
    """A session signed with the old key stays valid once a new key is put first."""
    old_key, new_key = "old-key-" + "o" * 32, "new-key-" + "n" * 32
    first = create_app(make_settings(tmp_path, database_url, SECRET_KEYS=old_key))
    rotated = create_app(make_settings(tmp_path, database_url, SECRET_KEYS=f"{new_key},{old_key}"))
    dropped = create_app(make_settings(tmp_path, database_url, SECRET_KEYS=new_key))
    try:
        client = first.test_client()
        assert login(client, *recruiter).status_code == 302
        cookie = client.get_cookie("tc_session")
        assert cookie is not None
        for app, expected in ((rotated, True), (dropped, False)):
            other = app.test_client()
            other.set_cookie("tc_session", cookie.value)
            assert _logged_in(other) is expected
    finally:
        for app in (first, rotated, dropped):
            app.extensions["talentconnect"].engine.dispose()


# --- redirects after login -----------------------------------------------------------


def test_console_pages_require_login(client: FlaskClient) -> None:
    """Console pages redirect to the login page, remembering where the recruiter was going."""
    for path in ("/admin/", "/admin/mail", "/admin/mail/some-key", "/admin/mail/some-key/html"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"] == f"/admin/login?next={path}"


def test_login_returns_to_the_page_asked_for(
    client: FlaskClient, recruiter: tuple[str, str]
) -> None:
    """After logging in, `next=` brings the recruiter to the page they asked for."""
    response = login(client, *recruiter, next_url="/admin/mail")
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/mail"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "https://evil.example",
        "http://evil.example/admin/",
        "/\\evil.example",
        "\\\\evil.example",
        "/%09/evil.example",
        "/%0a/evil.example",
        "%2F%2Fevil.example",
        "javascript:alert(1)",
        "evil.example",
    ],
)
def test_next_cannot_leave_the_site(
    client: FlaskClient, recruiter: tuple[str, str], target: str
) -> None:
    """Open-redirect attempts in `next=` land on the console instead."""
    response = login(client, *recruiter, next_url=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"
    assert _logged_in(client)


# --- mail sink viewer ----------------------------------------------------------------


@pytest.fixture
def admin(sessions: sessionmaker[Session]) -> tuple[str, str]:
    """An active admin account (the mail viewer is for admins); returns (email, password)."""
    email, password = "ada.admin@acme.example.com", "admin-password-" + "a" * 12
    with sessions.begin() as session:
        set_recruiter(session, email, password=password, name="Ada", role=RecruiterRole.ADMIN)
    return email, password


@pytest.fixture
def sink(settings: Settings) -> MaildirStore:
    """The Maildir the development sink of `talentconnect run` would write to."""
    settings.instance_dir.mkdir(parents=True, exist_ok=True)
    return MaildirStore(settings.mail_sink_dir)


def _only_key(store: MaildirStore) -> str:
    (item,) = store.list()
    return item.key


def test_mail_sink_empty(client: FlaskClient, admin: tuple[str, str]) -> None:
    """With no mail yet, the viewer says so (and does not fail on a missing folder)."""
    login(client, *admin)
    response = client.get("/admin/mail")
    assert response.status_code == 200
    assert "No mail yet." in response.text


def test_mail_sink_lists_messages(
    client: FlaskClient, admin: tuple[str, str], sink: MaildirStore
) -> None:
    """Messages in the Maildir sink are listed with recipient and subject, linking to each."""
    sink.add("bounces@acme.example.com", ["ada@example.com"], sample_email(subject="Hello Ada"))
    sink.add(
        "bounces@acme.example.com",
        ["grace@example.com"],
        sample_email(subject="Hello Grace", to="grace@example.com"),
    )
    login(client, *admin)
    response = client.get("/admin/mail")
    assert response.status_code == 200
    page = response.text
    assert "2 messages received" in page
    assert "Hello Ada" in page and "Hello Grace" in page
    assert "ada@example.com" in page and "grace@example.com" in page
    for item in sink.list():
        assert f'href="/admin/mail/{item.key}"' in page


def test_mail_sink_shows_one_message(
    client: FlaskClient, admin: tuple[str, str], sink: MaildirStore
) -> None:
    """One message shows its headers, envelope and plain text, and frames the HTML part."""
    sink.add(
        "bounces@acme.example.com",
        ["ada@example.com"],
        sample_email(subject="Your application", text="Dear Ada,\nwe loved it.\n"),
    )
    key = _only_key(sink)
    login(client, *admin)
    response = client.get(f"/admin/mail/{key}")
    assert response.status_code == 200
    page = html.unescape(response.text)
    assert "<h1>Your application</h1>" in page
    assert "Acme Careers <careers@acme.example.com>" in page  # From header
    assert "bounces@acme.example.com" in page  # envelope sender
    assert "Dear Ada,\nwe loved it." in page
    assert f'src="/admin/mail/{key}/html"' in response.text
    assert " sandbox " in response.text  # the iframe itself is sandboxed


def test_mail_sink_serves_html_sandboxed(
    client: FlaskClient, admin: tuple[str, str], sink: MaildirStore
) -> None:
    """The HTML part is served as-is under a sandbox CSP that forbids scripts."""
    sink.add(
        "b@acme.example.com",
        ["ada@example.com"],
        sample_email(html="<p>Hi <b>Ada</b></p><script>alert(1)</script>"),
    )
    key = _only_key(sink)
    login(client, *admin)
    response = client.get(f"/admin/mail/{key}/html")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert "<b>Ada</b>" in response.text
    csp = response.headers["Content-Security-Policy"]
    assert csp.startswith("sandbox")
    assert "default-src 'none'" in csp
    assert "script-src" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_mail_sink_message_headers_are_escaped(
    client: FlaskClient, admin: tuple[str, str], sink: MaildirStore
) -> None:
    """A subject with markup is shown as text in the list and on the message page."""
    sink.add("b@acme.example.com", ["x@example.com"], sample_email(subject="<script>x</script>"))
    key = _only_key(sink)
    login(client, *admin)
    for path in ("/admin/mail", f"/admin/mail/{key}"):
        page = client.get(path).text
        assert "<script>" not in page
        assert "&lt;script&gt;x&lt;/script&gt;" in page


def test_text_only_message_has_no_html_view(
    client: FlaskClient, admin: tuple[str, str], sink: MaildirStore
) -> None:
    """A message without an HTML part shows text only; its HTML URL is a 404."""
    sink.add("b@acme.example.com", ["x@example.com"], sample_email(html=None))
    key = _only_key(sink)
    login(client, *admin)
    page = client.get(f"/admin/mail/{key}").text
    assert "<iframe" not in page
    assert client.get(f"/admin/mail/{key}/html").status_code == 404


@pytest.mark.parametrize("key", ["no-such-key", "..", "%2e%2e", "cur"])
def test_unknown_mail_key_is_404(
    client: FlaskClient, admin: tuple[str, str], sink: MaildirStore, key: str
) -> None:
    """An unknown or path-like message key is a friendly 404, not a file read."""
    sink.add("b@acme.example.com", ["x@example.com"], sample_email())
    login(client, *admin)
    for path in (f"/admin/mail/{key}", f"/admin/mail/{key}/html"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "find that page" in response.text


def test_mail_sink_is_for_admins_only(
    client: FlaskClient, recruiter: tuple[str, str], sink: MaildirStore
) -> None:
    """A recruiter who is not an admin gets 403 from the viewer (its mail holds live links)."""
    sink.add("b@acme.example.com", ["x@example.com"], sample_email(subject="Sign in"))
    key = _only_key(sink)
    login(client, *recruiter)
    for path in ("/admin/mail", f"/admin/mail/{key}", f"/admin/mail/{key}/html"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "Sign in" not in response.text
    home = client.get("/admin/")
    assert home.status_code == 200 and "/admin/mail" not in home.text


# --- production ----------------------------------------------------------------------


def test_mail_sink_is_hidden_in_production(
    production_app: Flask, production_settings: Settings, sessions: sessionmaker[Session]
) -> None:
    """In production /admin/mail and its messages are 404 and the console hides the link."""
    with sessions.begin() as session:
        set_recruiter(
            session, "boss@acme.example.com", password="pw-" + "z" * 20, role=RecruiterRole.ADMIN
        )
    production_settings.instance_dir.mkdir(parents=True, exist_ok=True)
    store = MaildirStore(production_settings.mail_sink_dir)
    store.add("b@acme.example.com", ["x@example.com"], sample_email())
    key = _only_key(store)
    client = production_app.test_client()
    response = login(
        client, "boss@acme.example.com", "pw-" + "z" * 20, base_url=PRODUCTION_BASE_URL
    )
    assert response.status_code == 302
    assert "Secure" in response.headers["Set-Cookie"]
    home = client.get("/admin/", base_url=PRODUCTION_BASE_URL)
    assert home.status_code == 200
    assert "Mail sink" not in home.text
    for path in ("/admin/mail", f"/admin/mail/{key}", f"/admin/mail/{key}/html"):
        assert client.get(path, base_url=PRODUCTION_BASE_URL).status_code == 404, path


def test_production_settings_are_strict(production_settings: Settings) -> None:
    """The production fixture really is production (so the 404 above means something)."""
    assert production_settings.is_production
    assert production_settings.secret_keys == (STRONG_SECRET,)


def test_set_recruiter_resets_password_and_role(sessions: sessionmaker[Session]) -> None:
    """set_recruiter on an existing address changes password and role, keeping one row."""
    with sessions.begin() as session:
        set_recruiter(session, "Sam@Acme.example.com", password="first-password", name="Sam")
    with sessions.begin() as session:
        set_recruiter(
            session, "sam@acme.example.com", password="second-password", role=RecruiterRole.ADMIN
        )
    with sessions.begin() as session:
        users = session.scalars(select(RecruiterUser)).all()
        assert [(u.email, u.name, u.role) for u in users] == [
            ("sam@acme.example.com", "Sam", RecruiterRole.ADMIN)
        ]
        assert authenticate_recruiter(session, "sam@acme.example.com", "first-password") is None
        assert authenticate_recruiter(session, "sam@acme.example.com", "second-password")
