"""A loopback HTTP server for job feed tests, and payloads shaped like each ATS's documented
responses (Greenhouse Job Board API, Lever Postings API), written for these tests."""

from __future__ import annotations

import contextlib
import html
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Route:
    body: bytes
    status: int = 200
    content_type: str = "application/json"
    etag: str | None = None
    last_modified: str | None = None
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class FeedServer:
    port: int = 0
    routes: dict[str, Route] = field(default_factory=dict)
    # (path, request headers) of every request, in order.
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def serve(self, path: str, body: bytes | str | Any, **options: Any) -> str:
        """Serve `body` (bytes, text, or data sent as JSON) at `path`; return its URL."""
        if isinstance(body, str):
            body = body.encode()
        elif not isinstance(body, bytes):
            body = json.dumps(body).encode()
        self.routes[path.split("?")[0]] = Route(body, **options)
        return self.url(path)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"


def _handler(server: FeedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            server.requests.append((self.path, dict(self.headers.items())))
            route = server.routes.get(path)
            if route is None:
                self.send_error(404)
                return
            if route.delay:
                time.sleep(route.delay)
            validators_match = (
                route.etag is not None and self.headers.get("If-None-Match") == route.etag
            ) or (
                route.last_modified is not None
                and self.headers.get("If-Modified-Since") == route.last_modified
            )
            status = 304 if route.status == 200 and validators_match else route.status
            self.send_response(status)
            for name, value in route.headers.items():
                self.send_header(name, value)
            if route.etag:
                self.send_header("ETag", route.etag)
            if route.last_modified:
                self.send_header("Last-Modified", route.last_modified)
            if status == 304:
                self.end_headers()
                return
            self.send_header("Content-Type", route.content_type)
            self.send_header("Content-Length", str(len(route.body)))
            self.end_headers()
            # The client may have given up (a timeout test).
            with contextlib.suppress(OSError):
                self.wfile.write(route.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def running_feed_server() -> Iterator[FeedServer]:
    state = FeedServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def greenhouse_job(
    job_id: int,
    title: str,
    *,
    location: str = "Berlin, Germany",
    departments: tuple[str, ...] = ("Engineering",),
    content_html: str = "<p>Build things.</p>",
    updated_at: str = "2026-11-20T10:02:33-05:00",
    board: str = "acme",
) -> dict[str, Any]:
    """One job as the Job Board API lists it with `content=true` (HTML entity-escaped)."""
    return {
        "id": job_id,
        "internal_job_id": job_id + 5000,
        "title": title,
        "updated_at": updated_at,
        "requisition_id": f"REQ-{job_id}",
        "location": {"name": location},
        "absolute_url": f"https://boards.greenhouse.io/{board}/jobs/{job_id}",
        "metadata": None,
        "content": html.escape(content_html),
        "departments": [
            {"id": 900 + n, "name": name, "parent_id": None, "child_ids": []}
            for n, name in enumerate(departments)
        ],
        "offices": [{"id": 77, "name": "Berlin", "location": "Berlin, Germany", "child_ids": []}],
    }


def greenhouse_board(*jobs: dict[str, Any]) -> dict[str, Any]:
    return {"jobs": list(jobs), "meta": {"total": len(jobs)}}


def lever_posting(
    posting_id: str,
    text: str,
    *,
    team: str = "Engineering",
    commitment: str = "Full-time",
    location: str = "London",
    workplace: str = "hybrid",
    created_at: int = 1_764_000_000_000,
    site: str = "acme",
) -> dict[str, Any]:
    """One posting as `GET /v0/postings/{site}?mode=json` returns it."""
    return {
        "id": posting_id,
        "text": text,
        "categories": {
            "location": location,
            "team": team,
            "department": "",
            "commitment": commitment,
            "allLocations": [location],
        },
        "country": "GB",
        "createdAt": created_at,
        "description": "<div>We are hiring.</div>",
        "descriptionPlain": "We are hiring.\n\nJoin us.",
        "lists": [
            {"text": "What you'll do", "content": "<li>Ship features</li><li>Pair daily</li>"}
        ],
        "additional": "<div>Benefits.</div>",
        "additionalPlain": "Benefits.",
        "hostedUrl": f"https://jobs.lever.co/{site}/{posting_id}",
        "applyUrl": f"https://jobs.lever.co/{site}/{posting_id}/apply",
        "workplaceType": workplace,
    }
