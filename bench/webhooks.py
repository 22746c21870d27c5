"""Webhook delivery benchmark: events through real `talentconnect webhooks` workers to a
loopback receiver.

    .venv/bin/python bench/webhooks.py [--candidates 5000] [--events-per-candidate 4]
                                       [--workers 2] [--batch-size 200] [--concurrency 16]
                                       [--backends sqlite,postgresql] [--database URL]

Per backend it migrates a fresh database (SQLite in a temporary folder; PostgreSQL from
`--database`, else TALENTCONNECT_TEST_DATABASE_URL, else the local default, in a throwaway
schema), adds N candidates and one endpoint on 127.0.0.1 that includes contact data (so
every batch also looks up addresses), then records `--events-per-candidate` events per
candidate, round by round (every candidate's first event, then every second…), as
`record_events` writes them. It then starts a minimal keep-alive receiver in its own
process (bench/webhook_receiver.py) and `--workers` `talentconnect webhooks --until-empty`
processes, which fan the events out, deliver them signed and record every attempt.

Printed figures, also written to bench/results/webhooks.json, per backend:
- deliveries per second end to end (first attempt to last delivery, from the database);
- the wall time including start-up and fan-out;
- each worker's peak RSS (VmHWM from /proc/PID/status, read while it runs);
- what the receiver saw: requests, distinct webhook-ids, candidates whose events came
  out of order (must be 0), and a sample verified with the `standardwebhooks` library.

Targets: at least 500 deliveries/s with 2 workers, worker peak RSS at most 150 MB, every
event delivered exactly once and in order per candidate. A miss exits 1.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.web import SECRET_KEYS, clean_env, database, free_port  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "webhooks.json"
TARGET_RATE = 500.0
TARGET_RSS_MB = 150.0


def seed(database_url: str, candidates: int, per_candidate: int, port: int) -> str:
    """Migrate; add candidates, one endpoint and the events; return the endpoint's secret."""
    from sqlalchemy import insert, select

    from portal.migrate import upgrade
    from portal.webhooks.endpoints import EndpointInput, create_endpoint
    from portal.webhooks.sealing import secret_seal
    from preferences.db import make_engine, make_session_factory, session_scope
    from preferences.events import EventType, record_events
    from preferences.models import Candidate

    engine = make_engine(database_url)
    try:
        upgrade(engine)
        factory = make_session_factory(engine)
        with session_scope(factory) as session:
            _, secret = create_endpoint(
                session,
                EndpointInput(
                    url=f"http://127.0.0.1:{port}/hooks",
                    description="bench receiver",
                    include_contact_data=True,
                ),
                [f"127.0.0.1:{port}"],
                secret_seal(tuple(SECRET_KEYS.split(","))),
            )
        with session_scope(factory) as session:
            session.execute(
                insert(Candidate),
                [
                    {"email": f"hook{n}@example.com", "first_name": f"Hook{n}"}
                    for n in range(candidates)
                ],
            )
        with session_scope(factory) as session:
            keys = list(session.scalars(select(Candidate.public_id).order_by(Candidate.id)))
        for n in range(per_candidate):
            with session_scope(factory) as session:
                record_events(
                    session,
                    [
                        (
                            EventType.SUBSCRIPTION_CHANGED,
                            key,
                            {"kind": "interest", "interest_id": 3, "status": "subscribed", "n": n},
                        )
                        for key in keys
                    ],
                    source="bench",
                )
        return secret
    finally:
        engine.dispose()


def delivered(database_url: str) -> tuple[dict[str, int], float, int]:
    """Deliveries by status, seconds from the first attempt to the last delivery, attempts."""
    from sqlalchemy import func, select

    from portal.webhooks.models import WebhookAttempt, WebhookDelivery
    from preferences.db import make_engine, make_session_factory, session_scope

    engine = make_engine(database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            counts = {
                str(status.value if hasattr(status, "value") else status): count
                for status, count in session.execute(
                    select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status)
                )
            }
            first = session.scalar(select(func.min(WebhookAttempt.attempted_at)))
            last = session.scalar(select(func.max(WebhookDelivery.finished_at)))
            attempts = session.scalar(select(func.count()).select_from(WebhookAttempt)) or 0
        span = (last - first).total_seconds() if first and last else 0.0
        return counts, span, attempts
    finally:
        engine.dispose()


def peak_rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def run_backend(backend: str, tmp: Path, args: argparse.Namespace) -> dict[str, Any]:
    events = args.candidates * args.events_per_candidate
    with database(backend, tmp) as url:
        port = free_port()
        started = time.perf_counter()
        secret = seed(url, args.candidates, args.events_per_candidate, port)
        print(
            f"{backend}: seeded {args.candidates} candidates and {events} events "
            f"in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        count_file = tmp / f"receiver-{backend}.json"
        receiver = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "bench" / "webhook_receiver.py"),
                str(port),
                str(count_file),
                secret,
            ],
            stdout=subprocess.PIPE,
        )
        assert receiver.stdout is not None
        if receiver.stdout.readline().strip() != b"ready":
            raise RuntimeError("the receiver did not start")
        env = clean_env(url, tmp / "instance")
        env.update(
            {
                "PYTHONPATH": str(ROOT),
                "TALENTCONNECT_WEBHOOK_ALLOWED_HOSTS": f"127.0.0.1:{port}",
                "TALENTCONNECT_WEBHOOK_CONCURRENCY": str(args.concurrency),
                "TALENTCONNECT_WORKER_POLL_SECONDS": "0.2",
                "TALENTCONNECT_LOG_LEVEL": "WARNING",
            }
        )
        command = [
            str(Path(sys.executable).parent / "talentconnect"),
            "webhooks",
            "--until-empty",
            "--batch-size",
            str(args.batch_size),
        ]
        began = time.perf_counter()
        workers = [
            subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            for _ in range(args.workers)
        ]
        peaks = [0] * len(workers)
        while any(w.poll() is None for w in workers):
            for i, worker in enumerate(workers):
                if worker.poll() is None:
                    peaks[i] = max(peaks[i], peak_rss_kib(worker.pid) or 0)
            time.sleep(0.05)
        wall = time.perf_counter() - began
        for worker in workers:
            _, err = worker.communicate()
            if worker.returncode != 0:
                raise RuntimeError(
                    f"a worker exited with {worker.returncode}:\n{err.decode(errors='replace')}"
                )
        receiver.terminate()
        receiver.wait(timeout=20)
        seen: dict[str, int] = json.loads(count_file.read_text())
        counts, span, attempts = delivered(url)
    done = counts.get("delivered", 0)
    return {
        "events": events,
        "delivered": done,
        "deliveries": counts,
        "attempts": attempts,
        "rate_per_s": round(done / span, 1) if span else 0.0,
        "wall_s_with_startup": round(wall, 2),
        "worker_peak_rss_mb": [round(p / 1024, 1) for p in peaks],
        "receiver": seen,
    }


def main(argv: list[str] | None = None) -> int:
    from rich.console import Console
    from rich.table import Table

    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--candidates", type=int, default=5000)
    parser.add_argument("--events-per-candidate", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--database", help="PostgreSQL URL (default: as bench/web.py)")
    args = parser.parse_args(argv)
    if args.database:
        # bench/web.py's `database` reads it from there.
        os.environ["TALENTCONNECT_TEST_DATABASE_URL"] = args.database
    console = Console()
    figures: dict[str, Any] = {
        "candidates": args.candidates,
        "events_per_candidate": args.events_per_candidate,
        "workers": args.workers,
        "batch_size": args.batch_size,
        "concurrency": args.concurrency,
    }
    checks: list[tuple[str, Any, str, bool]] = []
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
            console.print(f"webhooks on {backend}…")
            result = run_backend(backend, tmp, args)
            figures[backend] = result
            seen = result["receiver"]
            events = result["events"]
            checks += [
                (
                    f"{backend}: deliveries/s",
                    result["rate_per_s"],
                    f">= {TARGET_RATE:.0f}",
                    result["rate_per_s"] >= TARGET_RATE,
                ),
                (
                    f"{backend}: worker peak RSS MB",
                    " / ".join(str(p) for p in result["worker_peak_rss_mb"]),
                    f"<= {TARGET_RSS_MB:.0f}",
                    max(result["worker_peak_rss_mb"]) <= TARGET_RSS_MB,
                ),
                (
                    f"{backend}: delivered once each, in order",
                    f"{result['delivered']} rows, {seen['requests']} requests, "
                    f"{seen['distinct_ids']} ids, {seen['out_of_order']} out of order",
                    f"{events} each, 0 out of order",
                    result["delivered"] == events
                    and seen["requests"] == events
                    and seen["distinct_ids"] == events
                    and seen["out_of_order"] == 0,
                ),
                (
                    f"{backend}: sample verified (standardwebhooks)",
                    f"{seen['verified']} ok, {seen['unverified']} bad",
                    "all ok",
                    seen["unverified"] == 0 and seen["verified"] > 0,
                ),
            ]
    table = Table(
        title=f"Webhook delivery ({args.candidates} candidates x {args.events_per_candidate} "
        f"events, {args.workers} workers x {args.concurrency} requests)"
    )
    for column in ("figure", "measured", "target", "ok"):
        table.add_column(column)
    for backend in ("sqlite", "postgresql"):
        if backend in figures:
            table.add_row(
                f"{backend}: wall time with start-up, s",
                str(figures[backend]["wall_s_with_startup"]),
                "",
                "",
            )
    for label, value, target, ok in checks:
        table.add_row(label, str(value), target, "yes" if ok else "NO")
    console.print(table)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    console.print(f"written to {RESULTS.relative_to(ROOT)}")
    return 0 if all(ok for *_, ok in checks) else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
