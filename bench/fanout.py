"""Alert fan-out benchmark: outbox rows through the real sender workers into an SMTP sink.

    .venv/bin/python bench/fanout.py [--candidates 20000] [--workers 2] [--connections 4]
                                     [--batch-size 100] [--backends sqlite,postgresql]
                                     [--profile DIR]

For each backend (SQLite and PostgreSQL by default, PostgreSQL in a throwaway
schema) it seeds a fresh database with the demo company's interests and jobs and
N candidates, each subscribed to one interest; queues one job-alert digest per
candidate (the newest ten open jobs of that interest, as an alert run does); then
starts `--workers` real `talentconnect worker --until-empty` processes against a
minimal SMTP sink (bench/smtp_sink.py) in a separate process on loopback, and
times the drain. It does this twice: without DKIM, then with an RSA-2048 DKIM
key. Last, the ceiling: pre-built bytes of the same size sent to a fresh sink by
as many processes and connections through the same sender class.

Printed figures, per backend, also written to bench/results/fanout.json:
- messages per second end to end (first to last send, from the outbox's sent_at);
- the ratio of each rate to the ceiling, measured in the same run;
- the workers' peak RSS (the largest of the worker processes);
- CPU milliseconds per message of the workers (start-up included), of the
  ceiling's senders and of the sink: the figures a busy machine changes least;
- the CPU budget of each ratio target: the CPU time this machine's cores have per
  message at the target rate, beside the least a message costs (the ceiling's
  sender and sink, plus one RSA-2048 signature with DKIM).

Targets (2-core machine, 2 worker processes), on each backend: a ratio to the
ceiling of at least 0.60 without DKIM and 0.50 with DKIM, worker peak RSS at most
150 MB, and at least 1,000 messages/s without DKIM and 600/s with it. A miss
exits 1. The ratios are the targets to judge a busy machine by: the ceiling
slows with everything else.

`--profile DIR` runs each worker under `py-spy record -f raw --nonblocking` and
writes one raw profile per worker and pass (`sqlite-dkim-0.txt`, …) and a summary
of the functions most on the stack per backend and pass (`sqlite-dkim.summary`).
Rates and RSS measured under the profiler are not comparable with a plain run.
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

from bench.profiling import summarize  # noqa: E402
from bench.web import clean_env, database, free_port  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "fanout.json"
TARGET_RATE = 1000.0
TARGET_RATE_DKIM = 600.0
TARGET_RATIO = 0.60
TARGET_RATIO_DKIM = 0.50
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

    started, cpu = time.time(), time.process_time()
    asyncio.run(main())
    times.put((started, time.time(), time.process_time() - cpu))


def ceiling(
    tmp: Path, messages: int, processes: int, connections: int, size: int
) -> tuple[float, float, float]:
    """Messages/s sending pre-built bytes of `size` octets through the same sender class,
    and the CPU milliseconds per message of the senders and of the sink.

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
    wall = max(end for _, end, _ in spans) - min(start for start, _, _ in spans)
    return (
        got["messages"] / wall,
        1000 * sum(cpu for *_, cpu in spans) / got["messages"],
        1000 * got["cpu_s"] / got["messages"],
    )


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


def worker_command(profile: Path | None, name: str) -> list[str]:
    """`talentconnect worker --until-empty`, under `py-spy record -f raw` with `profile`."""
    bin_dir = Path(sys.executable).parent
    command = [str(bin_dir / "talentconnect"), "worker", "--until-empty"]
    if profile is None:
        return command
    # --nonblocking: the sampler does not pause the worker (a pause would skew the rate).
    spy = [str(bin_dir / "py-spy"), "record", "-f", "raw", "--nonblocking", "-r", "200"]
    return [*spy, "-o", str(profile / f"{name}.txt"), "--", *command]


def run_workers(
    database_url: str,
    tmp: Path,
    args: argparse.Namespace,
    extra_env: dict[str, str],
    profile_as: str | None = None,
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
    profile = args.profile if profile_as is not None else None
    started = time.perf_counter()
    processes = [
        subprocess.Popen(
            ["/usr/bin/time", "-f", "%M %U %S", *worker_command(profile, f"{profile_as}-{n}")],
            env=env,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
        )
        for n in range(args.workers)
    ]
    rss_kib, cpu_s = [], 0.0
    for process in processes:
        _, err = process.communicate(timeout=3600)
        lines = err.decode(errors="replace").strip().splitlines()
        if process.returncode != 0:
            raise RuntimeError(f"a worker exited with {process.returncode}:\n" + "\n".join(lines))
        peak, user, system = lines[-1].split()
        rss_kib.append(int(peak))
        cpu_s += float(user) + float(system)
    wall = time.perf_counter() - started
    received = sink.stop()
    counts, span = drained(database_url)
    sent = counts.get("sent", 0)
    return {
        "messages": sent,
        "rate_per_s": round(sent / span, 1) if span else 0.0,
        "wall_s_with_startup": round(wall, 2),
        "worker_peak_rss_mb": round(max(rss_kib) / 1024, 1),
        # Every worker's CPU, start-up included, over the messages sent: what a busy
        # machine changes least.
        "worker_cpu_ms_per_message": round(1000 * cpu_s / max(1, sent), 3),
        "sink_received": received["messages"],
        # The sink shares this machine's cores with the workers (and the database).
        "sink_cpu_ms_per_message": round(
            1000 * received["cpu_s"] / max(1, received["messages"]), 3
        ),
        "mean_message_octets": received["octets"] // max(1, received["messages"]),
        "outbox": counts,
    }


def bench_backend(backend: str, args: argparse.Namespace, console: Any) -> dict[str, Any]:
    """Seed `backend`, drain without and with DKIM, then measure the ceiling."""
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        with database(backend, tmp) as url:
            started = time.perf_counter()
            seed(url, args.candidates)
            console.print(
                f"seeded {args.candidates} candidates and digests on {backend} "
                f"in {time.perf_counter() - started:.1f} s"
            )
            console.print("fan-out without DKIM…")
            figures["plain"] = run_workers(url, tmp, args, {}, f"{backend}-plain")
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
                    f"{backend}-dkim",
                )
        console.print("ceiling: pre-built bytes to the same sink…")
        rate, cpu_ms, sink_cpu_ms = ceiling(
            tmp,
            args.candidates,
            args.workers,
            args.connections,
            figures["plain"]["mean_message_octets"],
        )
        figures["ceiling_per_s"] = round(rate, 1)
        figures["ceiling_cpu_ms_per_message"] = round(cpu_ms, 3)
        figures["ceiling_sink_cpu_ms_per_message"] = round(sink_cpu_ms, 3)
    for key in ("plain", "dkim"):
        figures[key]["ratio_to_ceiling"] = round(
            figures[key]["rate_per_s"] / figures["ceiling_per_s"], 2
        )
    figures["cpu_budget"] = cpu_budget(figures, rsa_sign_ms())
    return figures


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def rsa_sign_ms(signatures: int = 500) -> float:
    """Milliseconds one RSA-2048 PKCS#1 v1.5 SHA-256 signature takes here (DKIM's step)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    digest = b"\x00" * 32
    for _ in range(20):
        key.sign(digest, padding.PKCS1v15(), hashes.SHA256())
    started = time.process_time()
    for _ in range(signatures):
        key.sign(digest, padding.PKCS1v15(), hashes.SHA256())
    return 1000 * (time.process_time() - started) / signatures


def cpu_budget(figures: dict[str, Any], sign_ms: float) -> dict[str, Any]:
    """Whether each ratio target fits in this machine's cores at all.

    At a target rate (the ratio times the ceiling) the machine's cores have
    `budget_ms_per_message` of CPU time for each message, for everything on it: the
    workers, the sink and the database. `floor_ms_per_message` is the least any
    message costs: the sender's and the sink's work with pre-built bytes (the
    ceiling's), plus, with DKIM, one RSA-2048 signature; nothing for rendering, the
    database or canonicalizing. A floor above the budget means no worker can reach
    the target on this machine.
    """
    cores = available_cores()
    ceiling_rate = figures["ceiling_per_s"]
    smtp_ms = figures["ceiling_cpu_ms_per_message"] + figures["ceiling_sink_cpu_ms_per_message"]
    out: dict[str, Any] = {"cores": cores, "rsa2048_sign_ms": round(sign_ms, 3)}
    for key, ratio, floor in (
        ("plain", TARGET_RATIO, smtp_ms),
        ("dkim", TARGET_RATIO_DKIM, smtp_ms + sign_ms),
    ):
        budget = 1000 * cores / (ratio * ceiling_rate) if ceiling_rate else 0.0
        out[key] = {
            "target_rate_per_s": round(ratio * ceiling_rate, 1),
            "budget_ms_per_message": round(budget, 3),
            "floor_ms_per_message": round(floor, 3),
            # What rendering, the database and the rest may cost, at most (negative: none).
            "left_ms_per_message": round(budget - floor, 3),
        }
    return out


def check_targets(figures: dict[str, Any], candidates: int) -> list[tuple[str, str, str, bool]]:
    """(figure, measured, target, met) for one backend."""
    plain, dkim = figures["plain"], figures["dkim"]
    rss = max(plain["worker_peak_rss_mb"], dkim["worker_peak_rss_mb"])
    budget = figures["cpu_budget"]
    return [
        (
            "ratio to ceiling, no DKIM",
            str(plain["ratio_to_ceiling"]),
            f">= {TARGET_RATIO:.2f}",
            plain["ratio_to_ceiling"] >= TARGET_RATIO,
        ),
        (
            "ratio to ceiling, DKIM RSA-2048",
            str(dkim["ratio_to_ceiling"]),
            f">= {TARGET_RATIO_DKIM:.2f}",
            dkim["ratio_to_ceiling"] >= TARGET_RATIO_DKIM,
        ),
        ("worker peak RSS MB", str(rss), f"<= {TARGET_RSS_MB:.0f}", rss <= TARGET_RSS_MB),
        (
            "messages/s, no DKIM",
            str(plain["rate_per_s"]),
            f">= {TARGET_RATE:.0f}",
            plain["rate_per_s"] >= TARGET_RATE,
        ),
        (
            "messages/s, DKIM RSA-2048",
            str(dkim["rate_per_s"]),
            f">= {TARGET_RATE_DKIM:.0f}",
            dkim["rate_per_s"] >= TARGET_RATE_DKIM,
        ),
        ("ceiling (pre-built bytes), messages/s", str(figures["ceiling_per_s"]), "", True),
        (
            "CPU ms/message: plain / DKIM / ceiling",
            f"{plain['worker_cpu_ms_per_message']} / {dkim['worker_cpu_ms_per_message']} / "
            f"{figures['ceiling_cpu_ms_per_message']}",
            "",
            True,
        ),
        *(
            (
                f"CPU ms/message at the {label} target: machine budget / floor",
                f"{budget[key]['budget_ms_per_message']} / {budget[key]['floor_ms_per_message']}",
                "",
                True,
            )
            for key, label in (("plain", "no-DKIM"), ("dkim", "DKIM"))
        ),
        (
            "every message delivered once",
            f"{plain['sink_received']} / {dkim['sink_received']}",
            f"{candidates} each",
            plain["sink_received"] == candidates and dkim["sink_received"] == candidates,
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    from rich.console import Console
    from rich.table import Table

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--backends", default="sqlite,postgresql", help="comma-separated")
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="run the workers under `py-spy record -f raw` and write the profiles to DIR",
    )
    args = parser.parse_args(argv)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if not backends or any(b not in ("sqlite", "postgresql") for b in backends):
        parser.error("--backends takes sqlite and/or postgresql")
    console = Console()
    if not Path("/usr/bin/time").exists():
        console.print("bench/fanout.py needs /usr/bin/time (Debian package `time`)")
        return 2
    if args.profile is not None:
        args.profile = args.profile.resolve()
        args.profile.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "candidates": args.candidates,
        "workers": args.workers,
        "connections": args.connections,
        "profiled": args.profile is not None,
        "backends": {},
    }
    checks: dict[str, list[tuple[str, str, str, bool]]] = {}
    for backend in backends:
        console.print(f"[bold]{backend}[/bold]")
        figures = bench_backend(backend, args, console)
        results["backends"][backend] = figures
        checks[backend] = check_targets(figures, args.candidates)
    table = Table(
        title=f"Alert fan-out ({args.candidates} digests, {args.workers} workers "
        f"x {args.connections} connections)"
    )
    for column in ("backend", "figure", "measured", "target", "ok"):
        table.add_column(column)
    for backend, rows in checks.items():
        for label, value, target, ok in rows:
            table.add_row(backend, label, value, target, ("yes" if ok else "NO") if target else "")
    console.print(table)
    if args.profile is not None:
        for backend in backends:
            for key in ("plain", "dkim"):
                files = sorted(args.profile.glob(f"{backend}-{key}-*.txt"))
                summary = "\n".join(summarize(files, top=20)) + "\n"
                (args.profile / f"{backend}-{key}.summary").write_text(summary)
        console.print(
            f"profiles in {args.profile} (raw per worker; *.summary: top frames); "
            "RSS and rates under the profiler are not comparable"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    console.print(f"written to {RESULTS.relative_to(ROOT)}")
    return 0 if all(ok for rows in checks.values() for *_, ok in rows) else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
