"""Importing a resume from a picker link through the connect flow's import endpoint."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from portal.app import create_app
from preferences.db import session_scope
from tests.conftest import make_settings, require_or_skip
from tests.resumes.https_server import LocalHttpsServer, make_certificate
from tests.resumes.support import ELF_HEADER, corpus_bytes

from .helpers import add_interest, csrf_token


@pytest.fixture
def https_server(tmp_path: Path) -> Iterator[LocalHttpsServer]:
    (tmp_path / "tls").mkdir()
    server = LocalHttpsServer(*make_certificate(tmp_path / "tls"))
    server.routes["/cv.pdf"] = lambda h: h.send_bytes(corpus_bytes("01_one_column.pdf"))
    server.routes["/exe"] = lambda h: h.send_bytes(ELF_HEADER)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def import_app(
    tmp_path: Path, database_url: str, https_server: LocalHttpsServer
) -> Iterator[Flask]:
    host = f"127.0.0.1:{https_server.port}"
    app = create_app(
        make_settings(tmp_path, database_url, REMOTE_FETCH_HOSTS=host, DROPBOX_APP_KEY="k123")
    )
    # Tests may allow a loopback host explicitly; production never does.
    app.config["REMOTE_FETCH_ALLOW_PRIVATE"] = (host,)
    app.config["REMOTE_FETCH_VERIFY"] = str(tmp_path / "tls" / "cert.pem")
    yield app
    app.extensions["talentconnect"].engine.dispose()


def _import(client: FlaskClient, url: str, source: str = "dropbox") -> object:
    page = client.get("/connect/resume")
    return client.post(
        "/connect/resume/import",
        data={"csrf_token": csrf_token(page.text), "source": source, "url": url},
    )


def test_dropbox_import_fetches_parses_and_prefills(
    import_app: Flask, https_server: LocalHttpsServer, sessions: sessionmaker[Session]
) -> None:
    """A picker link on an allowed host is fetched server-side and parsed into the review form."""
    with session_scope(sessions) as session:
        add_interest(session, "Design")
    client = import_app.test_client()
    assert b'data-picker="dropbox"' in client.get("/connect/resume").data
    r = _import(client, f"https://127.0.0.1:{https_server.port}/cv.pdf")
    assert r.status_code == 302  # type: ignore[attr-defined]
    review = client.get("/connect/review")
    assert 'value="Emily"' in review.text


def test_import_from_a_host_off_the_list_is_refused(
    import_app: Flask, https_server: LocalHttpsServer
) -> None:
    """A link to any other host is refused with a message, and nothing is fetched."""
    client = import_app.test_client()
    before = len(https_server.requests)
    r = _import(client, "https://files.example.org/cv.pdf")
    assert r.status_code == 400  # type: ignore[attr-defined]
    assert len(https_server.requests) == before


def test_imported_executable_is_refused(
    import_app: Flask, https_server: LocalHttpsServer, tmp_path: Path
) -> None:
    """An executable served as a resume is refused and not kept."""
    client = import_app.test_client()
    r = _import(client, f"https://127.0.0.1:{https_server.port}/exe")
    assert r.status_code == 400  # type: ignore[attr-defined]
    uploads = tmp_path / "instance" / "uploads"
    assert not uploads.exists() or list(uploads.iterdir()) == []


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def test_rate_limit_counts_are_shared_through_redis(tmp_path: Path, database_url: str) -> None:
    """With Redis storage, two app processes (here: two apps) share one rate-limit budget."""
    if not _redis_up():
        require_or_skip("Redis is not listening on 127.0.0.1:6379")
    import redis

    # Database 15 is this test's own: emptied before and after, so earlier runs' counters
    # (Redis keeps them for the whole window) never leak into this one.
    store = redis.Redis(host="127.0.0.1", port=6379, db=15)
    store.flushdb()
    rate = "5 per hour"
    limit = 5
    apps = [
        create_app(
            make_settings(
                tmp_path / str(n),
                database_url,
                RATE_LIMIT_STORAGE_URL="redis://127.0.0.1:6379/15",
                CONNECT_RATE_LIMIT=rate,
            )
        )
        for n in range(2)
    ]
    codes = []
    for n in range(limit + 1):
        client = apps[n % 2].test_client()
        page = client.get("/connect/confirm/resend")
        codes.append(
            client.post(
                "/connect/confirm/resend",
                data={"csrf_token": csrf_token(page.text), "email": "x@example.com"},
            ).status_code
        )
    assert codes[:limit] == [200] * limit
    assert codes[limit] == 429
    for app in apps:
        app.extensions["talentconnect"].engine.dispose()
    store.flushdb()
    store.close()
