"""A minimal SMTP sink for benchmarks: accepts every message, keeps only a count.

    .venv/bin/python bench/smtp_sink.py PORT COUNT_FILE

It speaks just enough ESMTP for aiosmtplib (EHLO, MAIL, RCPT, DATA, RSET, NOOP,
QUIT; SMTPUTF8 and 8BITMIME advertised), on 127.0.0.1, in one asyncio process, so
the relay costs as little as possible next to the sender being measured. On
SIGTERM it writes the number of messages and bytes received, and the CPU seconds
it used (start-up included), to COUNT_FILE as JSON.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from pathlib import Path

EHLO_REPLY = (
    b"250-sink.localhost\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250-PIPELINING\r\n"
    b"250 SIZE 104857600\r\n"
)


class Counter:
    messages = 0
    octets = 0


class SinkProtocol(asyncio.Protocol):
    """One SMTP session; commands are answered as soon as their line is complete."""

    def __init__(self, counter: Counter) -> None:
        self.counter = counter
        self.buffer = bytearray()
        self.in_data = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(b"220 sink.localhost ESMTP ready\r\n")

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.buffer += data
        while True:
            if self.in_data:
                end = self.buffer.find(b"\r\n.\r\n")
                if end < 0:
                    return
                self.counter.messages += 1
                self.counter.octets += end + 2
                del self.buffer[: end + 5]
                self.in_data = False
                self.transport.write(b"250 2.0.0 queued\r\n")
                continue
            end = self.buffer.find(b"\r\n")
            if end < 0:
                return
            verb = bytes(self.buffer[:4]).upper()
            del self.buffer[: end + 2]
            if verb == b"EHLO":
                self.transport.write(EHLO_REPLY)
            elif verb == b"DATA":
                self.in_data = True
                # DATA's own CRLF is gone; the terminator search needs a line start.
                self.buffer[:0] = b"\r\n"
                self.transport.write(b"354 go ahead\r\n")
            elif verb == b"QUIT":
                self.transport.write(b"221 bye\r\n")
                self.transport.close()
                return
            else:  # HELO, MAIL, RCPT, RSET, NOOP
                self.transport.write(b"250 OK\r\n")


async def serve(port: int, count_file: Path) -> None:
    counter = Counter()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SinkProtocol(counter), "127.0.0.1", port)
    stopped = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stopped.set)
    print("ready", flush=True)
    await stopped.wait()
    server.close()
    count_file.write_text(
        json.dumps(
            {
                "messages": counter.messages,
                "octets": counter.octets,
                "cpu_s": time.process_time(),
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1]), Path(sys.argv[2])))
