"""A real webhook receiver on loopback, scriptable per request, verifying every request.

Each request is verified with `standardwebhooks.webhooks.Webhook(secret).verify(body,
headers)` (the spec's reference implementation, from PyPI) for every secret the receiver
knows. A test that moves the project's clock days ahead sends timestamps the library's
five-minute freshness check refuses; for those the receiver still checks the signature
with the library's own `sign` and records `fresh=False`.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass(frozen=True)
class Reply:
    """How the receiver answers one request."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    # Seconds to wait before answering (a slow receiver).
    delay: float = 0.0
    # Wait until this is set before answering (a receiver holding the request).
    hold: threading.Event | None = None


@dataclass
class Received:
    """One request as it arrived, and how it was verified and answered."""

    path: str
    headers: dict[str, str]
    body: bytes
    payload: dict[str, Any]
    # The receiver's secrets a signature of this request matches.
    verified_by: list[str]
    # Whether `Webhook.verify` accepted it outright (timestamp within five minutes).
    fresh: bool
    status: int = 0

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def signatures(self) -> list[str]:
        return self.headers.get("webhook-signature", "").split(" ")

    @property
    def candidate(self) -> str | None:
        value = self.payload.get("data", {}).get("candidate_id")
        return value if isinstance(value, str) else None


def verify(secret: str, body: bytes, headers: dict[str, str]) -> tuple[bool, bool]:
    """(signature matches, verified outright by the library including the timestamp)."""
    hook = Webhook(secret)
    try:
        hook.verify(body, headers)
        return True, True
    except WebhookVerificationError as exc:
        if "timestamp" not in str(exc):
            return False, False
    stamp = datetime.fromtimestamp(int(headers["webhook-timestamp"]), UTC)
    expected = hook.sign(headers["webhook-id"], stamp, body)
    return expected in headers["webhook-signature"].split(" "), False


class Receiver:
    """A ThreadingHTTPServer on 127.0.0.1 that can go down and come back on the same port."""

    def __init__(self) -> None:
        self.secrets: list[str] = []
        self.script: deque[Reply] = deque()
        self.default = Reply(204)
        # Overrides the script and the default when set: a Reply for each request.
        self.respond: Callable[[Received], Reply] | None = None
        self.received: list[Received] = []
        # Every request as soon as it arrives (before it is answered).
        self.arrived: list[Received] = []
        self._lock = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        self.start()

    # --------------------------------------------------------------- lifecycle

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver._handle(self, headers, body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Close the listening socket: new connections are refused until `start`."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def host_key(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    # --------------------------------------------------------------- handling

    def _handle(
        self, handler: BaseHTTPRequestHandler, headers: dict[str, str], body: bytes
    ) -> None:
        verified_by: list[str] = []
        fresh = False
        for secret in self.secrets:
            ok, outright = verify(secret, body, headers)
            if ok:
                verified_by.append(secret)
                fresh = fresh or outright
        try:
            payload = json.loads(body)
        except ValueError:
            payload = {}
        request = Received(handler.path, headers, body, payload, verified_by, fresh)
        with self._lock:
            self.arrived.append(request)
            self._lock.notify_all()
            if self.respond is not None:
                reply = self.respond(request)
            elif self.script:
                reply = self.script.popleft()
            else:
                reply = self.default
        if reply.hold is not None:
            reply.hold.wait(60)
        if reply.delay:
            time.sleep(reply.delay)
        request.status = reply.status
        try:
            handler.send_response(reply.status)
            for name, value in reply.headers.items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(reply.body)))
            handler.end_headers()
            handler.wfile.write(reply.body)
            handler.wfile.flush()
        except OSError:
            request.status = -1  # the caller hung up (timed out) before the answer
        with self._lock:
            self.received.append(request)
            self._lock.notify_all()

    # --------------------------------------------------------------- reading

    def delivered(self) -> list[Received]:
        """The requests answered with a 2xx, in the order they arrived."""
        with self._lock:
            return [r for r in self.received if 200 <= r.status < 300]

    def wait_for(
        self, count: int, *, timeout: float = 10.0, delivered: bool = True, arrived: bool = False
    ) -> None:
        """Wait until `count` requests (2xx only, by default; or just arrived) were answered."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                if arrived:
                    seen = list(self.arrived)
                else:
                    seen = [r for r in self.received if not delivered or 200 <= r.status < 300]
                if len(seen) >= count:
                    return
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(seen)} of {count} requests after {timeout}s")
                self._lock.wait(left)
