"""Remote imports against a real HTTPS server on loopback: allow-lists, redirects, caps."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from portal.resumes import (
    FileTooLarge,
    RemoteFetchFailed,
    RemoteFetchRefused,
    UnsupportedFile,
    fetch_remote,
    netguard,
)
from tests.resumes.https_server import Handler, LocalHttpsServer, make_certificate
from tests.resumes.support import ELF_HEADER, corpus_bytes

MB = 1024 * 1024
PDF = corpus_bytes("12_minimal.pdf")


def add_routes(server: LocalHttpsServer) -> None:
    port = server.port
    routes: dict[str, Any] = {
        "/resume.pdf": lambda h: h.send_bytes(
            PDF,
            headers={
                "Content-Type": "application/octet-stream",
                "Content-Disposition": 'attachment; filename="Jane Doe CV.pdf"',
            },
        ),
        "/to-allowed": lambda h: h.redirect(f"https://127.0.0.1:{port}/resume.pdf"),
        "/to-same": lambda h: h.redirect("/resume.pdf", status=307),
        "/to-elsewhere": lambda h: h.redirect("https://evil.example/resume.pdf"),
        "/to-http": lambda h: h.redirect(f"http://localhost:{port}/resume.pdf", status=301),
        "/loop": lambda h: h.redirect("/loop"),
        "/big": lambda h: h.stream(48, b"%PDF-1.7\n".ljust(65536, b"0")),
        "/big-declared": big_declared,
        "/slow": lambda h: h.stream(200, b"%PDF-1.7\n", delay=0.1),
        "/slow-headers": lambda h: h.server.stopping.wait(30),
        "/exe": lambda h: h.send_bytes(ELF_HEADER, headers={"Content-Type": "application/pdf"}),
        "/headers": lambda h: h.send_bytes(
            f"Jane Doe\nauthorization={h.headers.get('Authorization')}\n".encode()
        ),
        "/to-headers-elsewhere": lambda h: h.redirect(f"https://127.0.0.1:{port}/headers"),
    }
    server.routes.update(routes)


def big_declared(handler: Handler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Length", str(50 * MB))
    handler.end_headers()
    handler.wfile.write(b"%PDF-1.7\n")
    handler.close_connection = True


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def server(certificate: tuple[Path, Path]) -> Iterator[LocalHttpsServer]:
    srv = LocalHttpsServer(*certificate)
    add_routes(srv)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def upload_dir(tmp_path: Path) -> Path:
    return tmp_path / "uploads"


def fetch(
    server: LocalHttpsServer,
    certificate: tuple[Path, Path],
    upload_dir: Path,
    path: str,
    **options: Any,
) -> Any:
    port = server.port
    kwargs: dict[str, Any] = {
        "allowed_hosts": [f"localhost:{port}", f"127.0.0.1:{port}"],
        "allow_private_hosts": ["localhost", "127.0.0.1"],
        "max_bytes": MB,
        "timeout": 5.0,
        "verify": str(certificate[0]),
    }
    kwargs.update(options)
    url = path if "://" in path else f"https://localhost:{port}{path}"
    return fetch_remote(url, upload_dir, **kwargs)


def test_allowed_host_fetch_works(
    server: LocalHttpsServer, certificate: Any, upload_dir: Path
) -> None:
    """An allow-listed host, explicitly allowed to be loopback, is fetched and stored."""
    stored = fetch(server, certificate, upload_dir, "/resume.pdf")
    assert stored.kind == "pdf"
    assert stored.original_filename == "Jane Doe CV.pdf"
    assert (upload_dir / stored.storage_name).read_bytes() == PDF


def test_loopback_host_is_refused_without_allow_private(
    server: LocalHttpsServer, certificate: Any, upload_dir: Path
) -> None:
    """The same host resolves to loopback, so without allow_private_hosts nothing connects."""
    with pytest.raises(RemoteFetchRefused) as caught:
        fetch(server, certificate, upload_dir, "/resume.pdf", allow_private_hosts=())
    assert "Google Drive or Dropbox" in caught.value.message
    assert server.accepted == 0
    assert not upload_dir.exists() or list(upload_dir.iterdir()) == []


def test_host_not_on_the_allow_list_is_refused(
    server: LocalHttpsServer, certificate: Any, upload_dir: Path
) -> None:
    """A host missing from allowed_hosts is refused before any connection."""
    with pytest.raises(RemoteFetchRefused):
        fetch(server, certificate, upload_dir, "/resume.pdf", allowed_hosts=["www.googleapis.com"])
    with pytest.raises(RemoteFetchRefused):
        # Same name, other port: host:port entries are exact.
        fetch(server, certificate, upload_dir, "/resume.pdf", allowed_hosts=["localhost"])
    assert server.accepted == 0


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:{port}/resume.pdf",
        "ftp://localhost:{port}/resume.pdf",
        "https://user:pass@localhost:{port}/resume.pdf",
        "https://localhost:99999/resume.pdf",
        "//localhost:{port}/resume.pdf",
        "not a url",
    ],
)
def test_non_https_or_odd_urls_are_refused(
    url: str, server: LocalHttpsServer, certificate: Any, upload_dir: Path
) -> None:
    """Only plain https://host[:port]/… URLs are fetched."""
    port = server.port
    with pytest.raises(RemoteFetchRefused):
        fetch_remote(
            url.format(port=port),
            upload_dir,
            allowed_hosts=[f"localhost:{port}", "localhost:99999", "localhost"],
            allow_private_hosts=["localhost"],
            max_bytes=MB,
            verify=str(certificate[0]),
        )
    assert server.accepted == 0


def test_redirect_to_a_host_not_allowed_is_refused(
    server: LocalHttpsServer, certificate: Any, upload_dir: Path
) -> None:
    """Each redirect hop is checked against the allow-list."""
    with pytest.raises(RemoteFetchRefused):
        fetch(server, certificate, upload_dir, "/to-elsewhere")
    assert [p for p, _ in server.requests] == ["/to-elsewhere"]


def test_redirect_to_http_is_refused(
    server: LocalHttpsServer, certificate: Any, upload_dir: Path
) -> None:
    """A redirect may not downgrade to plain HTTP."""
    with pytest.raises(RemoteFetchRefused):
        fetch(server, certificate, upload_dir, "/to-http")


def test_redirect_to_an_allowed_host_is_followed(
    server: LocalHttpsServer, certificate: Any, upload_dir: Path
) -> None:
    """Redirects within the allow-list (absolute or relative) are followed."""
    stored = fetch(server, certificate, upload_dir, "/to-allowed")
    assert stored.kind == "pdf"
    fetch(server, certificate, upload_dir, "/to-same")
    assert [p for p, _ in server.requests] == ["/to-allowed", "/resume.pdf"] * 1 + [
        "/to-same",
        "/resume.pdf",
    ]


def test_redirect_loop_stops_after_five(
    server: LocalHttpsServer, certificate: Any, upload_dir: Path
) -> None:
    """At most five redirects are followed."""
    with pytest.raises(RemoteFetchFailed):
        fetch(server, certificate, upload_dir, "/loop")
    assert len(server.requests) == 6


def test_authorization_is_not_forwarded_to_another_host(
    server: LocalHttpsServer, certificate: Any, upload_dir: Path
) -> None:
    """Caller headers (a Drive token) go to the first host only, not across a redirect."""
    auth = {"Authorization": "Bearer drive-token"}
    direct = fetch(server, certificate, upload_dir, "/headers", headers=auth)
    moved = fetch(server, certificate, upload_dir, "/to-headers-elsewhere", headers=auth)
    assert b"authorization=Bearer drive-token" in (upload_dir / direct.storage_name).read_bytes()
    assert b"authorization=None" in (upload_dir / moved.storage_name).read_bytes()


def test_oversized_response_is_too_large(
    server: LocalHttpsServer, certificate: Any, upload_dir: Path
) -> None:
    """A 3 MB body against a 1 MB cap stops at the cap, leaving nothing behind."""
    with pytest.raises(FileTooLarge):
        fetch(server, certificate, upload_dir, "/big")
    assert list(upload_dir.iterdir()) == []


def test_declared_oversize_is_refused_before_reading(
    server: LocalHttpsServer, certificate: Any, upload_dir: Path
) -> None:
    """A Content-Length over the cap is refused without downloading."""
    with pytest.raises(FileTooLarge):
        fetch(server, certificate, upload_dir, "/big-declared")


@pytest.mark.parametrize("path", ["/slow", "/slow-headers"])
def test_slow_server_fails_within_the_timeout(
    path: str, server: LocalHttpsServer, certificate: Any, upload_dir: Path
) -> None:
    """A server that drips bytes (or never answers) is cut off at the overall time cap.

    Uncapped, the drip lasts 20 s and the silence 30 s; the bound leaves a loaded
    machine room, as the test is about the cap, not about speed.
    """
    started = time.monotonic()
    with pytest.raises(RemoteFetchFailed) as caught:
        fetch(server, certificate, upload_dir, path, timeout=1.0)
    elapsed = time.monotonic() - started
    assert elapsed < 10, f"took {elapsed:.1f}s"
    assert "too long" in caught.value.message
    assert not upload_dir.exists() or list(upload_dir.iterdir()) == []


def test_executable_served_is_unsupported(
    server: LocalHttpsServer, certificate: Any, upload_dir: Path
) -> None:
    """The downloaded bytes get the same content checks as an upload."""
    with pytest.raises(UnsupportedFile):
        fetch(server, certificate, upload_dir, "/exe")
    assert list(upload_dir.iterdir()) == []


def test_missing_file_has_a_friendly_message(
    server: LocalHttpsServer, certificate: Any, upload_dir: Path
) -> None:
    """A 404 tells the candidate to check sharing or upload instead."""
    with pytest.raises(RemoteFetchFailed) as caught:
        fetch(server, certificate, upload_dir, "/nothing-here")
    assert "shared" in caught.value.message


def test_certificates_are_verified(
    server: LocalHttpsServer, certificate: Any, upload_dir: Path
) -> None:
    """With the default verify=True a self-signed certificate is a failed fetch."""
    with pytest.raises(RemoteFetchFailed):
        fetch(server, certificate, upload_dir, "/resume.pdf", verify=True)


def test_dns_answer_with_any_private_address_is_refused(
    server: LocalHttpsServer,
    certificate: Any,
    upload_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A name resolving to a public and a loopback address is refused, with no connection."""
    port = server.port
    answers = [
        (socket.AF_INET, ("93.184.216.34", port)),
        (socket.AF_INET, ("127.0.0.1", port)),
    ]
    calls: list[str] = []

    def fake_resolve(host: str, port: int) -> list[tuple[Any, tuple[Any, ...]]]:
        calls.append(host)
        return answers

    monkeypatch.setattr(netguard, "resolve", fake_resolve)
    with pytest.raises(RemoteFetchRefused):
        fetch(
            server,
            certificate,
            upload_dir,
            f"https://files.example:{port}/resume.pdf",
            allowed_hosts=[f"files.example:{port}"],
            allow_private_hosts=(),
        )
    assert calls == ["files.example"]
    assert server.accepted == 0


def test_connection_uses_the_address_that_was_checked(
    server: LocalHttpsServer,
    certificate: Any,
    upload_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The name is resolved once per connection, at connect time (no rebinding window)."""
    real_resolve = netguard.resolve
    calls: list[str] = []

    def counting_resolve(host: str, port: int) -> list[tuple[Any, tuple[Any, ...]]]:
        calls.append(host)
        return real_resolve(host, port)

    monkeypatch.setattr(netguard, "resolve", counting_resolve)
    fetch(server, certificate, upload_dir, "/resume.pdf")
    assert calls == ["localhost"]
    assert server.accepted == 1
