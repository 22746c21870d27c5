"""`talentconnect run` on any port: every link in the mail and on the pages names that port.

A real `run --demo` process on a free port, without TALENTCONNECT_BASE_URL: a visitor
connects over HTTP, confirms, and gets a campaign; every link of every message the
development mail sink caught, its `List-Unsubscribe` header included, and every link of
the unsubscribe page use the port the server listens on.
"""

from __future__ import annotations

import re
from email.message import EmailMessage
from pathlib import Path

import pytest

from mailer.campaign_admin import CampaignDraft, save_draft, send_now
from mailer.sink import MaildirStore, free_port
from portal.cli.main import listening_url
from preferences.db import make_engine, make_session_factory, session_scope
from tests.portal.helpers import clean_env, csrf_token, running_cli, wait_until
from tests.portal.test_cli import START_TIMEOUT, Browser

EMAIL = "nia.okafor@example.com"
URL = re.compile(r"https?://[^\s\"'<>]+")


def _links(message: EmailMessage) -> list[str]:
    """Every http(s) URL in the message: its headers and its text and HTML parts."""
    found = [url for value in message.values() for url in URL.findall(str(value))]
    for part in message.walk():
        if part.get_content_maintype() == "text":
            found += URL.findall(part.get_content())
    return found


def _assert_links_here(message: EmailMessage, here: str) -> None:
    """Every link of the message to this machine goes to `here`, and it has some."""
    links = _links(message)
    ours = [u for u in links if re.match(r"https?://(127\.0\.0\.1|localhost)\b", u)]
    assert ours, message.as_string()
    assert [u for u in ours if not u.startswith(f"{here}/")] == [], message["Subject"]


def _wait_for_mail(store: MaildirStore, subject: str) -> EmailMessage:
    def arrived() -> EmailMessage | None:
        for item in store.list():
            message = item.parsed()
            if subject in str(message["Subject"]):
                return message
        return None

    found: EmailMessage = wait_until(arrived, timeout=20, what=f"an email {subject!r}")
    return found


def _connect(browser: Browser) -> None:
    """The connect form, step by step, over HTTP."""
    _, _, page = browser.get("/connect/details")
    status, url, _ = browser.post(
        "/connect/details",
        {
            "csrf_token": csrf_token(page),
            "first_name": "Nia",
            "last_name": "Okafor",
            "email": EMAIL,
        },
    )
    assert status == 200 and url.endswith("/connect/interests"), url
    _, _, review = browser.get("/connect/review")
    interest = re.search(r'name="interest" value="(\d+)"', review)
    assert interest is not None, review
    status, url, _ = browser.post(
        "/connect/review",
        {
            "csrf_token": csrf_token(review),
            "first_name": "Nia",
            "last_name": "Okafor",
            "email": EMAIL,
            "interest": interest.group(1),
            "alerts": "yes",
            "mass_email": "yes",
            "action": "submit",
        },
    )
    assert status == 200 and url.endswith("/connect/thanks"), url


def _confirm(browser: Browser, link: str) -> None:
    _, _, page = browser.get(link.removeprefix(browser.base_url))
    form: dict[str, str] = {"csrf_token": csrf_token(page)}
    for name, value in re.findall(r'name="(interest|mass_email)"[^>]*value="([^"]+)"', page):
        form[name] = value
    status, _, confirmed = browser.post(link.removeprefix(browser.base_url), form)
    assert status == 200, confirmed


def test_run_on_any_port_links_to_that_port(tmp_path: Path) -> None:
    port = free_port()
    here = f"http://127.0.0.1:{port}"
    instance = tmp_path / "instance"
    env = clean_env(INSTANCE_DIR=str(instance), WORKER_POLL_SECONDS="0.2")
    with running_cli(["run", "--demo", "--port", str(port)], env=env, cwd=tmp_path) as proc:
        browser = Browser(here)
        wait_until(
            lambda: browser.answers("/") or proc.process.poll() is not None,
            timeout=START_TIMEOUT,
            what="GET / to answer 200",
        )
        assert proc.process.poll() is None, proc.output()
        assert f"Demo recruiter login at {here}/admin/login" in proc.output()
        store = MaildirStore(instance / "mail-sink")

        _connect(browser)
        confirmation = _wait_for_mail(store, "Confirm")
        _assert_links_here(confirmation, here)
        confirm_links = [u for u in _links(confirmation) if "/connect/confirm/" in u]
        assert confirm_links, confirmation.as_string()
        _confirm(browser, confirm_links[0])
        welcome = _wait_for_mail(store, "Welcome")
        _assert_links_here(welcome, here)

        # A sign-in link by email.
        _, _, login_page = browser.get("/login")
        status, _, _ = browser.post(
            "/login", {"csrf_token": csrf_token(login_page), "email": EMAIL, "action": "link"}
        )
        assert status == 200
        _assert_links_here(_wait_for_mail(store, "sign-in link"), here)

        # A campaign, sent by the worker inside `run`: its List-Unsubscribe too.
        engine = make_engine(f"sqlite:///{instance / 'talentconnect.db'}")
        try:
            with session_scope(make_session_factory(engine)) as session:
                draft = CampaignDraft("Open house", "Open house", "Come and meet us.")
                assert send_now(session, save_draft(session, draft).id) >= 1
        finally:
            engine.dispose()
        campaign = _wait_for_mail(store, "Open house")

        _assert_links_here(campaign, here)
        unsubscribe_header = str(campaign["List-Unsubscribe"])
        assert f"<{here}/unsubscribe/" in unsubscribe_header, unsubscribe_header

        # The unsubscribe page links to this port too.
        unsubscribe = re.search(r"<(http[^>]+/unsubscribe/[^>]+)>", unsubscribe_header)
        assert unsubscribe is not None
        status, _, page = browser.get(unsubscribe.group(1).removeprefix(here))
        assert status == 200, page
        absolute = re.findall(r'(?:href|action)="(https?://[^"]+)"', page)
        assert any("/preferences/" in u for u in absolute), absolute
        assert all(u.startswith(f"{here}/") for u in absolute), absolute
        assert ":8000" not in page


def test_run_warns_when_base_url_is_elsewhere(tmp_path: Path) -> None:
    """A set BASE_URL wins, and start-up says, once, that it is not where `run` listens."""
    port = free_port()
    env = clean_env(
        INSTANCE_DIR=str(tmp_path / "instance"),
        BASE_URL="http://127.0.0.1:8000",
    )
    with running_cli(["run", "--port", str(port)], env=env, cwd=tmp_path) as proc:
        proc.wait_for_output(r"msg=\"web server listening\"", timeout=START_TIMEOUT)
        warnings = [line for line in proc.stderr().splitlines() if "BASE_URL is not where" in line]
        assert len(warnings) == 1, proc.stderr()
        assert "level=warning" in warnings[0]
        assert "base_url=http://127.0.0.1:8000" in warnings[0]
        assert f"listening=http://127.0.0.1:{port}" in warnings[0]


def test_run_with_base_url_of_its_own_address_does_not_warn(tmp_path: Path) -> None:
    port = free_port()
    env = clean_env(INSTANCE_DIR=str(tmp_path / "instance"), BASE_URL=f"http://localhost:{port}/")
    with running_cli(["run", "--port", str(port)], env=env, cwd=tmp_path) as proc:
        proc.wait_for_output(r"msg=\"web server listening\"", timeout=START_TIMEOUT)
        assert "BASE_URL is not where" not in proc.stderr()


def test_run_on_port_0_links_to_the_port_bound(tmp_path: Path) -> None:
    """`--port 0` lets the system choose; links name the port it chose, never 0."""
    env = clean_env(INSTANCE_DIR=str(tmp_path / "instance"))
    with running_cli(["run", "--demo", "--port", "0"], env=env, cwd=tmp_path) as proc:
        running = proc.wait_for_output(
            r"running at http://127\.0\.0\.1:(\d+)", timeout=START_TIMEOUT
        )
        port = int(running.group(1))
        assert port != 0
        login = proc.wait_for_output(r"Demo recruiter login at (\S+)/admin/login", timeout=5)
        assert login.group(1) == f"http://127.0.0.1:{port}"
        assert Browser(login.group(1)).answers("/admin/login")


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:8300"),
        ("0.0.0.0", "http://127.0.0.1:8300"),  # noqa: S104 - every interface: loopback
        ("::", "http://[::1]:8300"),
        ("::1", "http://[::1]:8300"),
        ("localhost", "http://localhost:8300"),
        ("talent.example.test", "http://talent.example.test:8300"),
    ],
)
def test_listening_url_is_an_address_a_browser_here_can_open(host: str, url: str) -> None:
    assert listening_url(host, 8300) == url
