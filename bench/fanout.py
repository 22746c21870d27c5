"""Alert fan-out benchmark: outbox rows through the real sender workers into an SMTP sink.

    .venv/bin/python bench/fanout.py [--candidates 20000] [--workers 2] [--connections 4]
                                     [--batch-size 100] [--backend postgresql|sqlite]

It seeds a fresh database (PostgreSQL by default, in a throwaway schema) with the
demo company's interests and jobs and N candidates, each subscribed to one
interest; queues one job-alert digest per candidate (the newest ten open jobs of
that interest, as an alert run does); then starts `--workers` real
`talentconnect worker --until-empty` processes against a minimal SMTP sink
(bench/smtp_sink.py) in a separate process on loopback, and times the drain. It
does this twice: without DKIM, then with an RSA-2048 DKIM key.

Printed figures, also written to bench/results/fanout.json:
- messages per second end to end (first to last send, from the outbox's sent_at);
- the workers' peak RSS (the largest of the worker processes);
- the ceiling: pre-built bytes of the same size sent to the same sink by as many
  processes and connections, and the ratio of the worker's rate to it.

Targets (2-core machine, 2 worker processes): at least 1,000 messages/s without
DKIM, 600/s with DKIM, and worker peak RSS at most 150 MB. A miss exits 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.web import clean_env, database, free_port  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "fanout.json"
TARGET_RATE = 1000.0
TARGET_RATE_DKIM = 600.0
TARGET_RSS_MB = 150.0
JOBS_PER_DIGEST = 10


# --------------------------------------------------------------------------- seeding


def seed(database_url: str, candidates: int) -> int:
    """Migrate, seed interests and jobs, N subscribed candidates and one digest each."""
    from sqlalchemy import insert, select

    from jobs.models import JobPosting, job_interests
    from mailer.models import MessageKind, OutboxMessage, OutboxStatus
    from portal.demo import seed_demo
    from portal.migrate import upgrade
    from preferences.clock import now
    from preferences.db import make_engine, make_session_factory, session_scope
    from preferences.models import (
        Candidate,
        Frequency,
        Interest,
        Subscription,
        SubscriptionStatus,
    )

    engine = make_engine(database_url)
    try:
        upgrade(engine)
        factory = make_session_factory(engine)
        with session_scope(factory) as session:
            seed_demo(session, history=False)
        with session_scope(factory) as session:
            interests = list(session.scalars(select(Interest.id).order_by(Interest.position)))
            newest: dict[int, list[int]] = {i: [] for i in interests}
            for job_id, interest_id in session.execute(
                select(job_interests.c.job_id, job_interests.c.interest_id)
                .join(JobPosting, JobPosting.id == job_interests.c.job_id)
                .order_by(JobPosting.posted_at.desc(), JobPosting.id.desc())
            ):
                newest[interest_id].append(job_id)
            at = now()
            rows = [
                {"email": f"fan{n}@example.com", "first_name": f"Fan{n}"} for n in range(candidates)
            ]
            ids = list(session.scalars(insert(Candidate).returning(Candidate.id), rows))
            picks = [interests[n % len(interests)] for n in range(candidates)]
            session.execute(
                insert(Subscription),
                [
                    {
                        "candidate_id": cid,
                        "interest_id": iid,
                        "status": SubscriptionStatus.SUBSCRIBED,
                        "frequency": Frequency.DAILY,
                    }
                    for cid, iid in zip(ids, picks, strict=True)
                ],
            )
            session.execute(
                insert(OutboxMessage),
                [
                    {
                        "dedupe_key": f"bench-digest:{cid}",
                        "kind": MessageKind.JOB_ALERT,
                        "template": "job_alert",
                        "candidate_id": cid,
                        "to_address": f"fan{n}@example.com",
                        "context": {
                            "interest_id": iid,
                            "job_ids": newest[iid][:JOBS_PER_DIGEST],
                            "more_count": max(0, len(newest[iid]) - JOBS_PER_DIGEST),
                        },
                        "status": OutboxStatus.PENDING,
                        "attempts": 0,
                        "next_attempt_at": at,
                        "deliver_until": at.replace(year=at.year + 1),
                        "last_error": "",
                    }
                    for n, (cid, iid) in enumerate(zip(ids, picks, strict=True))
                ],
            )
        return candidates
    finally:
        engine.dispose()


def requeue(database_url: str) -> None:
    """Put every row back to pending, for the second (DKIM) pass."""
    from sqlalchemy import update

    from mailer.models import OutboxMessage, OutboxStatus
    from preferences.clock import now
    from preferences.db import make_engine, make_session_factory, session_scope

    engine = make_engine(database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            session.execute(
                update(OutboxMessage).values(
                    status=OutboxStatus.PENDING,
                    attempts=0,
                    next_attempt_at=now(),
                    sent_at=None,
                    message_id=None,
                    lease_owner=None,
                    lease_expires_at=None,
                )
            )
    finally:
        engine.dispose()


def drained(database_url: str) -> tuple[dict[str, int], float]:
    """Rows by status, and the seconds from the first to the last send."""
    from sqlalchemy import func, select

    from mailer.models import OutboxMessage
    from preferences.db import make_engine, make_session_factory, session_scope

    engine = make_engine(database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            counts = {
                status.value: count
                for status, count in session.execute(
                    select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
                )
            }
            first, last = session.execute(
                select(func.min(OutboxMessage.sent_at), func.max(OutboxMessage.sent_at))
            ).one()
        span = (last - first).total_seconds() if first and last else 0.0
        return counts, span
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- sink


@dataclass
class Sink:
    process: subprocess.Popen[bytes]
    port: int
    count_file: Path

    def stop(self) -> dict[str, int]:
        self.process.terminate()
        self.process.wait(timeout=20)
        result: dict[str, int] = json.loads(self.count_file.read_text())
        return result


def start_sink(tmp: Path, name: str) -> Sink:
    port = free_port()
    count_file = tmp / f"{name}.json"
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "smtp_sink.py"), str(port), str(count_file)],
        stdout=subprocess.PIPE,
    )
    assert process.stdout is not None
    if process.stdout.readline().strip() != b"ready":
        raise RuntimeError("the SMTP sink did not start")
    return Sink(process, port, count_file)


# --------------------------------------------------------------------------- ceiling


def _ceiling_process(port: int, messages: int, connections: int, data: bytes, times: Any) -> None:
    """Send `messages` copies of `data` over `connections` senders; report start and end."""
    from mailer.config import SmtpTarget
    from mailer.sender import SmtpSender

    async def one_connection(count: int) -> None:
        sender = SmtpSender(SmtpTarget(host="127.0.0.1", port=port))
        for n in range(count):
            await sender.send(
                data, envelope_from="bounces@acme.example.com", recipient=f"c{n}@x.com"
            )
        await sender.close()

    async def main() -> None:
        share = messages // connections
        await asyncio.gather(*(one_connection(share) for _ in range(connections)))

    started = time.time()
    asyncio.run(main())
    times.put((started, time.time()))


def ceiling(tmp: Path, messages: int, processes: int, connections: int, size: int) -> float:
    """Messages/s sending pre-built bytes of `size` octets through the same sender class.

    Timed from the first process's start to the last one's end, after start-up,
    the way the workers' rate is timed from first to last send.
    """
    data = (b"Subject: ceiling\r\n\r\n" + b"x" * 70 + b"\r\n") * max(1, size // 72)
    sink = start_sink(tmp, "ceiling")
    context = multiprocessing.get_context("spawn")
    times = context.Queue()
    share = messages // processes
    workers = [
        context.Process(target=_ceiling_process, args=(sink.port, share, connections, data, times))
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    spans = [times.get(timeout=3600) for _ in workers]
    for worker in workers:
        worker.join()
    got = sink.stop()
    return got["messages"] / (max(end for _, end in spans) - min(start for start, _ in spans))


# --------------------------------------------------------------------------- the run


@contextmanager
def dkim_key(tmp: Path) -> Any:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp / "dkim.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    yield path


def run_workers(
    database_url: str, tmp: Path, args: argparse.Namespace, extra_env: dict[str, str]
) -> dict[str, Any]:
    """Drain the outbox with `--workers` worker processes; return rate, RSS and sink count."""
    sink = start_sink(tmp, "sink")
    env = clean_env(database_url, tmp / "instance")
    env.update(
        {
            "TALENTCONNECT_SMTP_URL": f"smtp://127.0.0.1:{sink.port}",
            "TALENTCONNECT_SMTP_CONNECTIONS": str(args.connections),
            "TALENTCONNECT_WORKER_BATCH_SIZE": str(args.batch_size),
            "TALENTCONNECT_POSTAL_ADDRESS": "1 Bench Street, Benchville",
            "TALENTCONNECT_BASE_URL": "https://careers.acme.example.com",
            "TALENTCONNECT_LOG_LEVEL": "WARNING",
            **extra_env,
        }
    )
    command = [str(Path(sys.executable).parent / "talentconnect"), "worker", "--until-empty"]
    started = time.perf_counter()
    processes = [
        subprocess.Popen(
            ["/usr/bin/time", "-f", "%M", *command],
            env=env,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
        )
        for _ in range(args.workers)
    ]
    rss_kib = []
    for process in processes:
        _, err = process.communicate(timeout=3600)
        lines = err.decode(errors="replace").strip().splitlines()
        if process.returncode != 0:
            raise RuntimeError(f"a worker exited with {process.returncode}:\n" + "\n".join(lines))
        rss_kib.append(int(lines[-1]))
    wall = time.perf_counter() - started
    received = sink.stop()
    counts, span = drained(database_url)
    sent = counts.get("sent", 0)
    return {
        "messages": sent,
        "rate_per_s": round(sent / span, 1) if span else 0.0,
        "wall_s_with_startup": round(wall, 2),
        "worker_peak_rss_mb": round(max(rss_kib) / 1024, 1),
        "sink_received": received["messages"],
        "mean_message_octets": received["octets"] // max(1, received["messages"]),
        "outbox": counts,
    }


def main(argv: list[str] | None = None) -> int:
    from rich.console import Console
    from rich.table import Table

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    args = parser.parse_args(argv)
    console = Console()
    if not Path("/usr/bin/time").exists():
        console.print("bench/fanout.py needs /usr/bin/time (Debian package `time`)")
        return 2
    figures: dict[str, Any] = {"candidates": args.candidates, "workers": args.workers}
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        with database(args.backend, tmp) as url:
            started = time.perf_counter()
            seed(url, args.candidates)
            console.print(
                f"seeded {args.candidates} candidates and digests on {args.backend} "
                f"in {time.perf_counter() - started:.1f} s"
            )
            console.print("fan-out without DKIM…")
            figures["plain"] = run_workers(url, tmp, args, {})
            requeue(url)
            console.print("fan-out with DKIM (RSA-2048)…")
            with dkim_key(tmp) as key_file:
                figures["dkim"] = run_workers(
                    url,
                    tmp,
                    args,
                    {
                        "TALENTCONNECT_DKIM_DOMAIN": "acme.example.com",
                        "TALENTCONNECT_DKIM_SELECTOR": "bench",
                        "TALENTCONNECT_DKIM_KEY_FILE": str(key_file),
                    },
                )
        console.print("ceiling: pre-built bytes to the same sink…")
        figures["ceiling_per_s"] = round(
            ceiling(
                tmp,
                args.candidates,
                args.workers,
                args.connections,
                figures["plain"]["mean_message_octets"],
            ),
            1,
        )
    for key in ("plain", "dkim"):
        figures[key]["ratio_to_ceiling"] = round(
            figures[key]["rate_per_s"] / figures["ceiling_per_s"], 2
        )
    checks = [
        (
            "messages/s, no DKIM",
            figures["plain"]["rate_per_s"],
            f">= {TARGET_RATE:.0f}",
            figures["plain"]["rate_per_s"] >= TARGET_RATE,
        ),
        (
            "messages/s, DKIM RSA-2048",
            figures["dkim"]["rate_per_s"],
            f">= {TARGET_RATE_DKIM:.0f}",
            figures["dkim"]["rate_per_s"] >= TARGET_RATE_DKIM,
        ),
        (
            "worker peak RSS MB",
            max(figures[k]["worker_peak_rss_mb"] for k in ("plain", "dkim")),
            f"<= {TARGET_RSS_MB:.0f}",
            max(figures[k]["worker_peak_rss_mb"] for k in ("plain", "dkim")) <= TARGET_RSS_MB,
        ),
        (
            "every message delivered once",
            f"{figures['plain']['sink_received']} / {figures['dkim']['sink_received']}",
            f"{args.candidates} each",
            figures["plain"]["sink_received"] == args.candidates
            and figures["dkim"]["sink_received"] == args.candidates,
        ),
    ]
    table = Table(
        title=f"Alert fan-out ({args.candidates} digests, {args.workers} workers "
        f"x {args.connections} connections, {args.backend})"
    )
    for column in ("figure", "measured", "target", "ok"):
        table.add_column(column)
    table.add_row("ceiling (pre-built bytes), messages/s", str(figures["ceiling_per_s"]), "", "")
    for key in ("plain", "dkim"):
        table.add_row(f"ratio to ceiling, {key}", str(figures[key]["ratio_to_ceiling"]), "", "")
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
