"""Run the benchmarks and print their figures.

    python -m bench [--messages N] [--requests N] [--database-url URL]

Figures are printed as a table and written to bench/results/latest.json.
Targets are checked here, not in the unit tests, so a slow machine never makes
the test suite flaky; a missed target makes the command exit 1.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from mailer.config import MailSettings, SmtpTarget
from mailer.models import MessageKind
from mailer.outbox import enqueue
from mailer.sender import SmtpSender
from mailer.sink import MailSink, MemoryStore
from mailer.worker import OutboxWorker
from portal.app import create_app
from portal.config import load_settings
from portal.demo import seed_demo
from portal.migrate import upgrade
from preferences.db import make_engine, make_session_factory, session_scope
from preferences.subscriptions import get_or_create_candidate

# Targets for one 2-core machine.
TARGETS = {
    "send_rate_per_s": 150.0,  # outbox -> SMTP sink, one worker, one connection
    "jobs_page_p95_ms": 100.0,  # /jobs with the demo data
    "landing_page_p95_ms": 100.0,
    "demo_seed_seconds": 5.0,  # `talentconnect run --demo`'s first start
}


def bench_sending(database_url: str, messages: int, console: Console) -> dict[str, Any]:
    engine = make_engine(database_url)
    upgrade(engine)
    factory = make_session_factory(engine)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("queueing messages", total=messages)
        with session_scope(factory) as session:
            for n in range(messages):
                candidate, _ = get_or_create_candidate(
                    session, f"bench{n}@example.com", first_name=f"B{n}"
                )
                enqueue(
                    session,
                    kind=MessageKind.WELCOME,
                    template="welcome",
                    to_address=candidate.email,
                    dedupe_key=f"bench-welcome:{candidate.id}",
                    candidate_id=candidate.id,
                )
                progress.advance(task)
    store = MemoryStore()
    sink = MailSink(store).start()
    worker = OutboxWorker(
        factory,
        lambda: SmtpSender(SmtpTarget(host=sink.host, port=sink.port)),
        MailSettings("Acme <careers@acme.example.com>", "Acme", "http://127.0.0.1:8000", "1 St"),
        batch_size=100,
        lease=timedelta(minutes=5),
    )
    started = time.perf_counter()
    worker.run(until_empty=True)
    elapsed = time.perf_counter() - started
    sink.stop()
    engine.dispose()
    delivered = len(store.messages)
    if delivered != messages:
        raise SystemExit(f"sent {delivered} of {messages} messages")
    return {
        "messages": messages,
        "send_seconds": round(elapsed, 2),
        "send_rate_per_s": round(messages / elapsed, 1),
    }


def bench_seeding(database_url: str, console: Console) -> dict[str, Any]:
    """Time the whole demo, its 60 days of history included, written to `database_url`."""
    engine = make_engine(database_url)
    upgrade(engine)
    factory = make_session_factory(engine)
    started = time.perf_counter()
    with session_scope(factory) as session:
        result = seed_demo(session)
    elapsed = time.perf_counter() - started
    engine.dispose()
    if not result.candidates_created:
        console.print("the database already holds the demo: its seeding is not timed")
        return {}
    return {"demo_seed_seconds": round(elapsed, 2)}


def bench_pages(database_url: str, instance: Path, requests: int) -> dict[str, Any]:
    settings = load_settings(
        environ={},
        overrides={
            "DATABASE_URL": database_url,
            "INSTANCE_DIR": str(instance),
            "SECRET_KEYS": "bench-" + "k" * 40,
        },
    )
    app = create_app(settings)
    upgrade(app.extensions["talentconnect"].engine)
    factory = app.extensions["talentconnect"].sessions
    with session_scope(factory) as session:
        seed_demo(session, history=False)
    client = app.test_client()
    figures: dict[str, Any] = {}
    for name, path in (("landing_page", "/"), ("jobs_page", "/jobs")):
        client.get(path)  # warm the template cache
        samples = []
        for _ in range(requests):
            t0 = time.perf_counter()
            response = client.get(path)
            samples.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200
        samples.sort()
        figures[f"{name}_p50_ms"] = round(statistics.median(samples), 2)
        figures[f"{name}_p95_ms"] = round(samples[int(len(samples) * 0.95) - 1], 2)
    app.extensions["talentconnect"].engine.dispose()
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000, help="emails to send (2000)")
    parser.add_argument("--requests", type=int, default=300, help="requests per page (300)")
    parser.add_argument(
        "--database-url", help="database to use (default: a fresh SQLite file in a temp folder)"
    )
    args = parser.parse_args(argv)
    console = Console()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        send_url = args.database_url or f"sqlite:///{base / 'send.db'}"
        page_url = args.database_url or f"sqlite:///{base / 'pages.db'}"
        console.print(f"sending {args.messages} emails through the outbox…")
        figures = bench_sending(send_url, args.messages, console)
        console.print("seeding the demo, history included…")
        figures.update(bench_seeding(args.database_url or f"sqlite:///{base / 'seed.db'}", console))
        console.print(f"timing {args.requests} requests per page…")
        figures.update(bench_pages(page_url, base / "instance", args.requests))
    figures["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)

    table = Table(title="Talent Connect benchmarks")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    table.add_column("ok")
    failed = False
    for key, value in figures.items():
        target = TARGETS.get(key)
        ok = ""
        if target is not None:
            good = value >= target if key.endswith("_per_s") else value <= target
            failed |= not good
            ok = "yes" if good else "NO"
        table.add_row(key, str(value), "" if target is None else str(target), ok)
    console.print(table)
    out = Path("bench/results")
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(figures, indent=2) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
