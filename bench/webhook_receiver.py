"""A minimal webhook receiver for benchmarks: answers 204 at once, keeps counts.

    .venv/bin/python bench/webhook_receiver.py PORT COUNT_FILE SECRET

It speaks just enough HTTP/1.1 (keep-alive, Content-Length bodies) on 127.0.0.1, in one
asyncio process, so the receiver costs as little as possible next to the workers being
measured. It counts requests and distinct `webhook-id`s, checks that each candidate's
events arrive in order (the `n` of each body), and verifies one request in 50 with the
`standardwebhooks` library. On SIGTERM it writes the counts to COUNT_FILE as JSON.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

REPLY = b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"
VERIFY_EVERY = 50


class Counts:
    def __init__(self, secret: str) -> None:
        self.requests = 0
        self.ids: set[str] = set()
        self.last_n: dict[str, int] = {}
        self.out_of_order = 0
        self.verified = 0
        self.unverified = 0
        self.hook = Webhook(secret)

    def add(self, headers: dict[str, str], body: bytes) -> None:
        self.requests += 1
        self.ids.add(headers.get("webhook-id", ""))
        data: dict[str, Any] = json.loads(body).get("data", {})
        who, n = data.get("candidate_id"), data.get("n")
        if isinstance(who, str) and isinstance(n, int):
            if n < self.last_n.get(who, -1):
                self.out_of_order += 1
            self.last_n[who] = max(n, self.last_n.get(who, -1))
        if self.requests % VERIFY_EVERY == 1:
            try:
                self.hook.verify(body, headers)
                self.verified += 1
            except WebhookVerificationError:
                self.unverified += 1


class ReceiverProtocol(asyncio.Protocol):
    def __init__(self, counts: Counts) -> None:
        self.counts = counts
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            if len(self.buffer) < end + 4 + length:
                return
            body = bytes(self.buffer[end + 4 : end + 4 + length])
            del self.buffer[: end + 4 + length]
            self.counts.add(headers, body)
            self.transport.write(REPLY)


async def serve(port: int, count_file: Path, secret: str) -> None:
    counts = Counts(secret)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: ReceiverProtocol(counts), "127.0.0.1", port, backlog=512
    )
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    print("ready", flush=True)
    await stop.wait()
    server.close()
    count_file.write_text(
        json.dumps(
            {
                "requests": counts.requests,
                "distinct_ids": len(counts.ids),
                "candidates": len(counts.last_n),
                "out_of_order": counts.out_of_order,
                "verified": counts.verified,
                "unverified": counts.unverified,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]))
