"""Retention benchmark: the daily retention run over a large pool with 3 years of activity.

    .venv/bin/python bench/retention.py [--backends sqlite,postgresql]
                                        [--pg-candidates 1000000] [--sqlite-candidates 100000]
                                        [--skip-expiry]

For each backend it seeds a fresh database (SQLite in a temporary folder,
PostgreSQL in a throwaway schema as bench/web.py does) with candidates whose last
activity is spread evenly over the last 3 years (1% already deleted; a tenth with a
German phone, a tenth French; one in a thousand on legal hold), each with one
job-alert subscription and one consent event. The policy is 24 months, DE=6
months, asked 30 days before. Then, each in a child process (so its peak RSS is the
run's own, not the seeding's), with the clock frozen:

- `first_run_s`: the first run, the largest: everyone past or within 30 days of
  expiry is asked (a notice and an outbox row each); target < 60 s on PostgreSQL;
- `next_day_s`: the run a day later, asking the day's newcomers; target < 5 s;
- `expiry_day_s` (unless `--skip-expiry`): 31 days after the first run, when the
  unanswered are anonymized (reported: anonymizations per second; no target);
- `peak_rss_mib` of each run's process (reported; memory is bounded by the chunk
  size, not the pool).

Figures are printed and written to bench/results/retention.json; a missed target
makes the command exit 1.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.web import database  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "retention.json"
TARGET_FIRST_S = 60.0
TARGET_NEXT_DAY_S = 5.0
AT = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)
HISTORY_DAYS = 3 * 365
SEED_CHUNK = 20_000
POLICY = {"months": 24, "by_country": {"DE": 6}, "repermission_days": 30}


def _chunks(rows: list[dict[str, Any]], size: int = SEED_CHUNK) -> Any:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def seed(database_url: str, candidates: int) -> dict[str, int]:
    """Migrate and seed `candidates` candidates, in chunks, with Core inserts."""
    from sqlalchemy import insert

    from portal.migrate import upgrade
    from preferences.db import make_engine
    from preferences.models import (
        Candidate,
        CandidateStatus,
        ConsentAction,
        ConsentEvent,
        ConsentScope,
        ConsentSource,
        Interest,
        LegalHold,
        Subscription,
        SubscriptionStatus,
    )

    rng = random.Random(20261204)
    engine = make_engine(database_url)
    held = 0
    try:
        upgrade(engine)
        with engine.begin() as conn:
            interest_ids = list(
                conn.scalars(
                    insert(Interest).returning(Interest.id),
                    [{"name": f"Interest {n}", "slug": f"i-{n}", "position": n} for n in range(20)],
                )
            )
        for start in range(0, candidates, SEED_CHUNK):
            people = []
            for n in range(start, min(candidates, start + SEED_CHUNK)):
                active = AT - timedelta(seconds=rng.randrange(HISTORY_DAYS * 86400))
                roll = rng.random()
                phone, country = (
                    ("+4930123456", "DE") if roll < 0.1 else ("+33142685300", "FR")
                    if roll < 0.2 else (None, None)
                )  # fmt: skip
                people.append(
                    {
                        # Explicit ids (the database is fresh): no RETURNING, so the
                        # driver's executemany loads each chunk in one pipeline.
                        "id": n + 1,
                        "email": f"c{n}@example.com",
                        "first_name": f"C{n}",
                        "phone_e164": phone,
                        "country": country,
                        "status": CandidateStatus.DELETED
                        if n % 100 == 0
                        else CandidateStatus.ACTIVE,
                        "created_at": active,
                        "email_verified_at": active,
                        "last_active_at": active,
                        "updated_at": active,
                        "public_id": f"p{n:012d}",
                    }
                )
            with engine.begin() as conn:
                conn.execute(insert(Candidate), people)
                ids = [row["id"] for row in people]
                conn.execute(
                    insert(Subscription),
                    [
                        {
                            "candidate_id": cid,
                            "interest_id": rng.choice(interest_ids),
                            "status": SubscriptionStatus.SUBSCRIBED,
                            "frequency": "weekly",
                            "created_at": row["created_at"],
                            "updated_at": row["created_at"],
                        }
                        for cid, row in zip(ids, people, strict=True)
                    ],
                )
                conn.execute(
                    insert(ConsentEvent),
                    [
                        {
                            "candidate_id": cid,
                            "scope": ConsentScope.MASS_EMAIL,
                            "action": ConsentAction.GRANT,
                            "source": ConsentSource.CONNECT_FORM,
                            "wording_version": "mass_email.en.1",
                            "detail": {},
                            "ip_address": "192.0.2.1",
                            "occurred_at": row["created_at"],
                        }
                        for cid, row in zip(ids, people, strict=True)
                    ],
                )
                holds = [
                    {"candidate_id": cid, "reason": "bench", "placed_at": AT}
                    for cid in ids
                    if rng.random() < 0.001
                ]
                if holds:
                    conn.execute(insert(LegalHold), holds)
                held += len(holds)
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.exec_driver_sql(
                    "SELECT setval(pg_get_serial_sequence('candidates', 'id'), "
                    "(SELECT max(id) FROM candidates))"
                )
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
        else:
            with engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE")
        return {"held": held}
    finally:
        engine.dispose()


def child(database_url: str, at: str, upload_dir: str) -> None:
    """One retention run at `at`, printing its counts and time as JSON (the child process)."""
    from mailer.retention import run_retention
    from preferences.clock import frozen
    from preferences.db import make_engine, make_session_factory
    from preferences.retention import RetentionPolicy

    engine = make_engine(database_url)
    policy = RetentionPolicy(**POLICY)  # type: ignore[arg-type]
    try:
        with frozen(datetime.fromisoformat(at)):
            started = time.perf_counter()
            report = run_retention(
                make_session_factory(engine), policy, upload_dir=Path(upload_dir)
            )
            seconds = time.perf_counter() - started
    finally:
        engine.dispose()
    print(json.dumps({"seconds": seconds, "counts": report.counts}))


def run_child(database_url: str, at: datetime, upload_dir: Path) -> dict[str, Any]:
    """Run `child` in a new process; its figures plus the process's peak RSS."""
    process = subprocess.Popen(
        [sys.executable, __file__, "--child", database_url, at.isoformat(), str(upload_dir)],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert process.stdout is not None
    output = process.stdout.read()
    _pid, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"the retention run failed (exit {process.returncode})")
    figures: dict[str, Any] = json.loads(output.decode().strip().splitlines()[-1])
    figures["peak_rss_mib"] = round(usage.ru_maxrss / 1024, 1)
    figures["seconds"] = round(figures["seconds"], 2)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--pg-candidates", type=int, default=1_000_000)
    parser.add_argument("--sqlite-candidates", type=int, default=100_000)
    parser.add_argument("--skip-expiry", action="store_true")
    parser.add_argument(
        "--child", nargs=3, metavar=("URL", "AT", "UPLOADS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0
    results: dict[str, Any] = {"policy": POLICY, "backends": {}}
    ok = True
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        size = args.pg_candidates if backend == "postgresql" else args.sqlite_candidates
        with tempfile.TemporaryDirectory() as tmp, database(backend, Path(tmp)) as url:
            uploads = Path(tmp) / "uploads"
            uploads.mkdir()
            began = time.perf_counter()
            seeded = seed(url, size)
            seed_s = time.perf_counter() - began
            first = run_child(url, AT, uploads)
            next_day = run_child(url, AT + timedelta(days=1), uploads)
            expiry = None if args.skip_expiry else run_child(url, AT + timedelta(days=31), uploads)
        target_first = TARGET_FIRST_S
        passed = first["seconds"] < target_first and next_day["seconds"] < TARGET_NEXT_DAY_S
        ok = ok and passed
        outcome: dict[str, Any] = {
            "candidates": size,
            "held": seeded["held"],
            "seed_s": round(seed_s, 1),
            "first_run": first,
            "next_day": next_day,
            "expiry_day": expiry,
            "passed": passed,
        }
        results["backends"][backend] = outcome
        line = (
            f"{backend:>10} {size:,} candidates: first run {first['seconds']:.1f} s "
            f"(asked {first['counts']['repermission_queued']:,}, target < {target_first:.0f} s), "
            f"next day {next_day['seconds']:.2f} s (asked "
            f"{next_day['counts']['repermission_queued']:,}, target < {TARGET_NEXT_DAY_S:.0f} s), "
            f"peak RSS {max(first['peak_rss_mib'], next_day['peak_rss_mib'])} MiB"
        )
        if expiry is not None:
            rate = expiry["counts"]["anonymized"] / max(expiry["seconds"], 0.001)
            line += (
                f"; expiry day {expiry['seconds']:.1f} s ({expiry['counts']['anonymized']:,} "
                f"anonymized, {rate:,.0f}/s, peak RSS {expiry['peak_rss_mib']} MiB)"
            )
        print(f"{line} {'ok' if passed else 'MISSED'}; seeded in {seed_s:.0f} s", flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {RESULTS.relative_to(ROOT)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
