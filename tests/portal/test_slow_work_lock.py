"""No request holds the database across slow work: others go on while a resume is read.

A real server (waitress, as under `talentconnect run`) on loopback, real threads: one
visitor uploads a resume that takes about a second to read while others unsubscribe
with one click and sign in with a password. On SQLite the upload used to hold the one
write lock for its whole parse, so everyone else waited behind it.
"""

from __future__ import annotations

import http.cookiejar
import re
import sqlite3
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from portal.auth.accounts import set_password
from portal.config import Settings
from preferences.db import session_scope
from preferences.models import ConsentSource
from preferences.subscriptions import get_or_create_candidate, opt_in_mass_email
from preferences.tokens import LinkPurpose, make_link_token
from tests.browser.servers import stop_waitress
from tests.resumes.support import corpus_bytes, shared_stream_pdf

from .helpers import add_interest

EMAIL = "ana@example.com"
PASSWORD = "a long enough passphrase"
TIMEOUT = 10.0


@dataclass
class Timeline:
    """When the upload ran, and what each of the other requests got and when."""

    upload_started: float = 0.0
    upload_ended: float = 0.0
    upload_status: int = 0
    others: list[tuple[str, float, float, int | str]] = field(default_factory=list)
    lock_probes: list[bool] = field(default_factory=list)


@pytest.fixture
def server(app: Flask) -> Iterator[str]:
    from waitress import create_server

    instance: Any = create_server(app, host="127.0.0.1", port=0, threads=8)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{instance.effective_port}"
    finally:
        # Ends the loop first, then lets each request thread finish before the sockets close
        # (closing at once could leave a thread writing to the closed wake-up pipe).
        stop_waitress(instance, thread)


def opener() -> urllib.request.OpenerDirector:
    """A browser-like client with its own cookies, that does not follow redirects."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
            return None

    return urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect()
    )


def call(
    client: urllib.request.OpenerDirector,
    url: str,
    data: bytes | None = None,
    content_type: str = "application/x-www-form-urlencoded",
    timeout: float = TIMEOUT,
) -> tuple[int, str]:
    assert url.startswith("http://127.0.0.1:")
    request = urllib.request.Request(url, data=data)  # noqa: S310 (loopback http only)
    if data is not None:
        request.add_header("Content-Type", content_type)
    try:
        with client.open(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def token_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match is not None
    return match.group(1)


def form(**values: str) -> bytes:
    return urllib.parse.urlencode(values).encode()


def multipart(token: str, data: bytes) -> tuple[bytes, str]:
    boundary = "----talentconnect-lock-test"
    body = b"".join(
        [
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
            f"{token}\r\n".encode(),
            f'--{boundary}\r\nContent-Disposition: form-data; name="action"\r\n\r\n'
            "upload\r\n".encode(),
            f'--{boundary}\r\nContent-Disposition: form-data; name="resume"; '
            'filename="cv.pdf"\r\nContent-Type: application/pdf\r\n\r\n'.encode(),
            data,
            f"\r\n--{boundary}--\r\n".encode(),
        ]
    )
    return body, f"multipart/form-data; boundary={boundary}"


def write_lock_free(database: Path) -> bool:
    probe = sqlite3.connect(database, timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        probe.close()


def sign_in(client: urllib.request.OpenerDirector, server: str) -> int:
    login_page = call(client, f"{server}/login")[1]
    status, _ = call(
        client,
        f"{server}/login",
        form(csrf_token=token_of(login_page), email=EMAIL, password=PASSWORD, action="password"),
    )
    return status


# 20 pages of one 1,500-operation stream: under every cap, a second or two to read.
def slow_pdf() -> bytes:
    return shared_stream_pdf(pages=20, operations=1_500, first_line=b"Jane Doe")


def connect_upload(server: str, interest_id: int) -> tuple[Any, str, bytes, str]:
    """A visitor on the connect flow's resume step, ready to upload the slow PDF."""
    uploader = opener()
    page = call(uploader, f"{server}/connect/interests")[1]
    status, _ = call(
        uploader,
        f"{server}/connect/interests",
        form(csrf_token=token_of(page), interest=str(interest_id)),
    )
    assert status == 302
    # A first, ordinary upload: the parse server is up, as on a running site.
    token = token_of(call(uploader, f"{server}/connect/resume")[1])
    body, content_type = multipart(token, corpus_bytes("01_one_column.pdf"))
    assert call(uploader, f"{server}/connect/resume", body, content_type, 60)[0] == 302
    token = token_of(call(uploader, f"{server}/connect/resume")[1])
    body, content_type = multipart(token, slow_pdf())
    return uploader, f"{server}/connect/resume", body, content_type


def dashboard_upload(server: str, _interest_id: int) -> tuple[Any, str, bytes, str]:
    """A signed-in member on the dashboard, ready to replace her resume with the slow PDF."""
    uploader = opener()
    assert sign_in(uploader, server) == 302
    url = f"{server}/dashboard/resume"
    token = token_of(call(uploader, f"{server}/dashboard")[1])
    body, content_type = multipart(token, corpus_bytes("01_one_column.pdf"))
    assert call(uploader, url, body, content_type, 60)[0] in (200, 302)
    token = token_of(call(uploader, f"{server}/dashboard")[1])
    body, content_type = multipart(token, slow_pdf())
    return uploader, url, body, content_type


@pytest.mark.parametrize(
    "prepare", [connect_upload, dashboard_upload], ids=["connect", "dashboard"]
)
def test_one_click_and_sign_in_go_on_while_a_resume_is_read(
    server: str,
    settings: Settings,
    sessions: sessionmaker[Session],
    backend: str,
    prepare: Any,
) -> None:
    """While one upload is parsed, one-click unsubscribes and sign-ins finish, without errors."""
    with session_scope(sessions) as session:
        interest_id = add_interest(session, "Software Engineering").id
        candidate, _ = get_or_create_candidate(session, EMAIL, first_name="Ana")
        set_password(candidate, PASSWORD)
        opt_in_mass_email(session, candidate, source=ConsentSource.IMPORT)
        session.flush()
        one_click = make_link_token(
            settings.secret_keys, LinkPurpose.ONE_CLICK, candidate, l="mass_email"
        )
    uploader, upload_url, body, content_type = prepare(server, interest_id)
    timeline = Timeline()
    database = Path(make_url(settings.database_url).database or "")

    def upload() -> None:
        timeline.upload_started = time.monotonic()
        timeline.upload_status = call(uploader, upload_url, body, content_type, 60)[0]
        timeline.upload_ended = time.monotonic()

    thread = threading.Thread(target=upload)
    thread.start()
    n = 0
    while thread.is_alive():
        n += 1
        started = time.monotonic()
        try:
            if n % 3:
                status, _ = call(
                    opener(),
                    f"{server}/unsubscribe/{one_click}",
                    form(**{"List-Unsubscribe": "One-Click"}),
                )
                name = "one-click"
            else:
                # A sign-in starts a new session: a new visitor each time.
                status = sign_in(opener(), server)
                name = "sign-in"
            outcome: int | str = status
        except (OSError, TimeoutError) as exc:
            name, outcome = "error", type(exc).__name__
        timeline.others.append((name, started, time.monotonic(), outcome))
        if backend == "sqlite" and thread.is_alive():
            timeline.lock_probes.append(write_lock_free(database))
    thread.join()

    # Read (302 or the dashboard again), or refused over the time budget (400) on a slow
    # machine; never a 500.
    assert timeline.upload_status in (200, 302, 400), timeline
    failures = [o for o in timeline.others if o[3] not in (200, 302)]
    assert failures == [], failures
    during = [o for o in timeline.others if o[2] < timeline.upload_ended]
    assert len(during) >= 3, (
        f"only {len(during)} request(s) finished while the upload was read "
        f"({timeline.upload_ended - timeline.upload_started:.2f} s): they waited for it"
    )
    assert {o[0] for o in during} == {"one-click", "sign-in"}
    if backend == "sqlite":
        held = timeline.lock_probes.count(False)
        assert held <= len(timeline.lock_probes) // 4, (
            f"the write lock was held at {held} of {len(timeline.lock_probes)} probes"
        )
