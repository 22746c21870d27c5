"""A sender worker in its own OS process, for the multi-process fault tests.

Run as `python -m tests.mailer.worker_process DATABASE_URL HOST PORT [options]`.
It builds its own engine, prints "ready" once everything is imported and
connected, waits for a line on stdin when `--wait-for-go` is given (so racing
workers start together), drains the outbox with `run(until_empty=True)` and
prints one JSON line with the totals of its batches.

Its clock is the real one: a frozen test clock cannot reach another process.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections import Counter
from datetime import timedelta

from mailer.config import SmtpTarget
from mailer.sender import SmtpSender
from mailer.worker import OutboxWorker
from preferences.db import make_engine, make_session_factory, ping

from .support import SETTINGS

TOTALS = ("claimed", "sent", "skipped", "retried", "failed", "released")


class BatchTotals(logging.Handler):
    """Adds up the worker's "batch done" log records, the only per-batch report `run` gives."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.totals: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage() == "batch done":
            for name in TOTALS:
                self.totals[name] += int(getattr(record, name, 0))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("database_url")
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--worker-id", required=True)
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--lease", type=float, default=300.0, help="seconds")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--wait-for-go", action="store_true")
    args = parser.parse_args(argv)

    totals = BatchTotals()
    worker_log = logging.getLogger("mailer.worker")
    worker_log.addHandler(totals)
    worker_log.setLevel(logging.INFO)
    worker_log.propagate = False

    engine = make_engine(args.database_url)
    ping(engine)
    target = SmtpTarget(host=args.host, port=args.port, timeout=10)
    worker = OutboxWorker(
        make_session_factory(engine),
        lambda: SmtpSender(target),
        SETTINGS,
        worker_id=args.worker_id,
        batch_size=args.batch_size,
        lease=timedelta(seconds=args.lease),
        connections=args.connections,
    )
    print("ready", flush=True)
    if args.wait_for_go:
        sys.stdin.readline()
    try:
        worker.run(until_empty=True)
    finally:
        engine.dispose()
    print(json.dumps(dict(totals.totals)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
