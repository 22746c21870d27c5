"""Alert matching benchmark: one full run of an all-interests schedule over a large community.

    .venv/bin/python bench/matching.py [--candidates 100000] [--backends sqlite,postgresql]
                                       [--scenarios interests,searches]

For each scenario and backend it seeds a fresh database (SQLite in a temporary
folder, PostgreSQL in a throwaway schema as bench/web.py does) with 50 interests,
`--candidates` candidates holding three subscriptions each (300,000 for the
default: 60% daily, 25% weekly, 15% instant; some unconfirmed, paused,
unsubscribed or deleted), 20,000 older jobs (posted over the last 60 days, a
tenth closed), 500 new jobs posted since the daily run, and two digest items
per candidate from earlier runs. Each job has one interest, three in ten a
second one.

The `searches` scenario adds one saved search per candidate, drawn from a pool of
searches people make (skills by places by workplace and job type filters; a quarter
keyword-only, a tenth filter-only, some narrowed to an interest), with the same
frequencies and states as the subscriptions, and gives the jobs what searches
read: titles and descriptions built from the same skills, places, workplace, job
type, and a tenth written in German.

Then it times `jobs.alerts.run_schedule` for a schedule covering all interests
and both daily and weekly subscribers:

- `match_s`: the SQL matching alone: the pairs table of open jobs and the
  eligible subscriptions that have a new job never sent, plus (searches) the
  distinct searches matched against the new jobs' words and filters and the
  saved searches with a new job never sent; i.e. who gets a digest, and why;
  targets: < 2 s (interests), < 3 s (searches);
- `run_s`: the whole run, which also lists and ranks each digest's jobs, writes
  a digest item per listed job (up to ten per candidate), one outbox row per
  digest and the subscriptions' and searches' `last_alerted_at` (reported, no target).

Figures are printed and written to bench/results/matching.json; a missed target
makes the command exit 1.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.web import database  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "matching.json"
TARGET_MATCH_S = 2.0
TARGET_MATCH_SEARCHES_S = 3.0
SCENARIOS = ("interests", "searches")
INTERESTS = 50
NEW_JOBS = 500
OLD_JOBS = 20_000
SUBSCRIPTIONS_PER_CANDIDATE = 3
PRIOR_ITEMS_PER_CANDIDATE = 2
CHUNK = 20_000


# What searches and postings are made of: skills (keywords), places, and filters.
SKILLS = [
    "python", "java", "golang", "rust", "javascript", "react", "typescript", "kotlin",
    "data engineer", "data scientist", "machine learning", "devops", "kubernetes", "sre",
    "backend", "frontend", "mobile", "ios", "android", "security", "qa", "product manager",
    "designer", "ux research", "sales", "account executive", "marketing", "recruiter",
    "nurse", "pharmacist", "accountant", "finance analyst", "lawyer", "support",
    "customer success", "operations", "logistics", "warehouse", "electrician", "teacher",
]  # fmt: skip
PLACES = [
    "Berlin, Germany", "Munich, Germany", "Hamburg, Germany", "London, United Kingdom",
    "Leeds, United Kingdom", "Manchester, United Kingdom", "Paris, France", "Lyon, France",
    "Amsterdam, Netherlands", "Madrid, Spain", "Barcelona, Spain", "Lisbon, Portugal",
    "Dublin, Ireland", "Vienna, Austria", "Zurich, Switzerland", "Warsaw, Poland",
    "Prague, Czechia", "Stockholm, Sweden", "Copenhagen, Denmark", "Oslo, Norway",
    "New York, USA", "Austin, USA", "Toronto, Canada", "Sydney, Australia", "Singapore",
]  # fmt: skip
WORKPLACES = ["on_site", "hybrid", "remote"]
TYPES = ["full_time", "part_time", "contract", "temporary", "internship"]
FILLER = str.split(
    "we are looking for a colleague to join our growing team you will work with "
    "customers partners and engineers on products used by millions of people every "
    "day we offer flexible hours learning budget and a friendly office"
)
GERMAN = str.split(
    "wir suchen eine engagierte kollegin oder einen kollegen für unser team mit "
    "erfahrung in der entwicklung von software und freude an der zusammenarbeit"
)


def _posting(rng: random.Random) -> dict[str, Any]:
    """A new job's searchable fields: title, description, place, workplace, type, language."""
    skill = rng.choice(SKILLS)
    extra = rng.sample(SKILLS, 3)
    german = rng.random() < 0.1
    words = GERMAN if german else FILLER
    description = " ".join(
        rng.choice(words) if rng.random() < 0.85 else rng.choice(extra) for _ in range(120)
    )
    return {
        "title": f"{rng.choice(['Senior', 'Junior', 'Lead', ''])} {skill.title()}".strip(),
        "description": description,
        "location": rng.choice(PLACES),
        "workplace": rng.choice(WORKPLACES) if rng.random() < 0.8 else None,
        "employment_type": rng.choice(TYPES) if rng.random() < 0.7 else None,
        "language": "de" if german else "en",
    }


def _search(rng: random.Random, interest_ids: list[int]) -> dict[str, Any]:
    """One saved search: mostly skill and place, some keyword-only, some filters only."""
    kind = rng.random()
    query = "" if kind >= 0.9 else rng.choice(SKILLS)
    place = rng.choice(PLACES).split(",")[0] if kind < 0.65 or kind >= 0.9 else ""
    return {
        "query": query,
        "location": place,
        "workplace": rng.choice(WORKPLACES) if rng.random() < 0.3 else None,
        "employment_type": rng.choice(TYPES[:3]) if rng.random() < 0.2 else None,
        "interest_id": rng.choice(interest_ids) if rng.random() < 0.15 else None,
    }


def _chunks(rows: list[dict[str, Any]]) -> Any:
    for start in range(0, len(rows), CHUNK):
        yield rows[start : start + CHUNK]


def seed(database_url: str, candidates: int, *, searches: bool = False) -> dict[str, Any]:
    """Create the schema and the community; return the schedule's id and counts."""
    from sqlalchemy import insert

    from jobs.models import AlertSchedule, DigestItem, FrequencyClass, JobPosting, job_interests
    from portal.migrate import upgrade
    from preferences.clock import now
    from preferences.db import make_engine
    from preferences.models import (
        Candidate,
        CandidateStatus,
        Frequency,
        Interest,
        SavedSearch,
        Subscription,
        SubscriptionStatus,
    )

    rng = random.Random(20261102)
    at = now()
    last_run = at - timedelta(days=1)
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        with engine.begin() as conn:
            interest_ids = list(
                conn.scalars(
                    insert(Interest).returning(Interest.id),
                    [
                        {"name": f"Interest {n}", "slug": f"interest-{n}", "position": n}
                        for n in range(INTERESTS)
                    ],
                )
            )
            jobs = [
                {
                    "reference": f"OLD-{n}",
                    "title": f"Older role {n}",
                    "apply_url": f"https://jobs.example.com/old/{n}",
                    "posted_at": last_run - timedelta(minutes=rng.randrange(1, 60 * 24 * 60)),
                    "closed_at": at - timedelta(hours=1) if n % 10 == 0 else None,
                }
                for n in range(OLD_JOBS)
            ] + [
                {
                    "reference": f"NEW-{n}",
                    "title": f"New role {n}",
                    "apply_url": f"https://jobs.example.com/new/{n}",
                    "posted_at": last_run + timedelta(minutes=rng.randrange(1, 60 * 23)),
                    "closed_at": None,
                    **(_posting(rng) if searches else {}),
                }
                for n in range(NEW_JOBS)
            ]
            job_ids: list[int] = []
            for part in _chunks(jobs[:OLD_JOBS]):
                job_ids += conn.scalars(insert(JobPosting).returning(JobPosting.id), part).all()
            # The new jobs apart: with searches they carry more columns than the older ones.
            job_ids += conn.scalars(
                insert(JobPosting).returning(JobPosting.id), jobs[OLD_JOBS:]
            ).all()
            tags = []
            for job_id in job_ids:
                picked = rng.sample(interest_ids, 2 if rng.random() < 0.3 else 1)
                tags += [{"job_id": job_id, "interest_id": i} for i in picked]
            for part in _chunks(tags):
                conn.execute(insert(job_interests), part)
            people = [
                {
                    "email": f"c{n}@example.com",
                    "first_name": f"C{n}",
                    "status": CandidateStatus.DELETED if n % 100 == 0 else CandidateStatus.ACTIVE,
                }
                for n in range(candidates)
            ]
            candidate_ids: list[int] = []
            for part in _chunks(people):
                candidate_ids += conn.scalars(insert(Candidate).returning(Candidate.id), part).all()
            subs = []
            for candidate_id in candidate_ids:
                for interest_id in rng.sample(interest_ids, SUBSCRIPTIONS_PER_CANDIDATE):
                    roll = rng.random()
                    frequency = (
                        Frequency.DAILY
                        if roll < 0.6
                        else Frequency.WEEKLY
                        if roll < 0.85
                        else Frequency.INSTANT
                    )
                    state = rng.random()
                    subs.append(
                        {
                            "candidate_id": candidate_id,
                            "interest_id": interest_id,
                            "frequency": frequency,
                            "status": SubscriptionStatus.UNCONFIRMED
                            if state < 0.05
                            else SubscriptionStatus.UNSUBSCRIBED
                            if state < 0.08
                            else SubscriptionStatus.SUBSCRIBED,
                            "paused_until": (
                                at + timedelta(days=7) if 0.08 <= state < 0.12 else None
                            ),
                            # A tenth never alerted yet, subscribed in the last two days.
                            "last_alerted_at": None if state > 0.9 else last_run,
                            "created_at": at - timedelta(hours=rng.randrange(1, 48))
                            if state > 0.9
                            else at - timedelta(days=90),
                        }
                    )
            for part in _chunks(subs):
                conn.execute(insert(Subscription), part)
            saved = []
            if searches:
                # Like the subscriptions: each candidate's search takes a state and
                # frequency the way theirs do.
                for candidate_id, sub in zip(
                    candidate_ids, subs[::SUBSCRIPTIONS_PER_CANDIDATE], strict=True
                ):
                    search = _search(rng, interest_ids)
                    saved.append(
                        {
                            "candidate_id": candidate_id,
                            "criteria_key": f"bench-{candidate_id}",
                            **search,
                            **{
                                k: sub[k]
                                for k in (
                                    "frequency",
                                    "status",
                                    "paused_until",
                                    "last_alerted_at",
                                    "created_at",
                                )
                            },
                        }
                    )
                for part in _chunks(saved):
                    conn.execute(insert(SavedSearch), part)
            old_ids = job_ids[:OLD_JOBS]
            items = [
                {"candidate_id": candidate_id, "job_id": job_id}
                for candidate_id in candidate_ids
                for job_id in rng.sample(old_ids, PRIOR_ITEMS_PER_CANDIDATE)
            ]
            for part in _chunks(items):
                conn.execute(insert(DigestItem), part)
            schedule_id: int = conn.execute(
                insert(AlertSchedule)
                .values(
                    name="Everyone",
                    all_interests=True,
                    frequency_class=FrequencyClass.BOTH,
                    cron="0 8 * * *",
                    timezone="UTC",
                )
                .returning(AlertSchedule.id)
            ).scalar_one()
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
        else:
            with engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE")
        distinct = {
            (r["query"], r["location"], r["workplace"], r["employment_type"], r["interest_id"])
            for r in saved
        }
        return {
            "schedule_id": schedule_id,
            "saved_searches": len(saved),
            "distinct_searches": len(distinct),
        }
    finally:
        engine.dispose()


def measure(database_url: str, schedule_id: int) -> dict[str, Any]:
    """Time the matching alone (rolled back), then one whole run."""
    from jobs.alerts import _connection, _match, _schedule_scope, run_schedule
    from preferences.clock import now
    from preferences.db import make_engine, make_session_factory, read_only_work

    engine = make_engine(database_url)
    try:
        factory = make_session_factory(engine)
        with factory() as session:
            _name, scope = _schedule_scope(session, schedule_id)
        at = now()
        # The matching alone, rolled back so the run below starts from the same state.
        with _connection(factory) as conn, read_only_work(), conn.begin() as tx:
            started = time.perf_counter()
            matched = _match(conn, scope, at)
            match_s = time.perf_counter() - started
            tx.rollback()
        started = time.perf_counter()
        summary = run_schedule(factory, schedule_id, at=at)
        run_s = time.perf_counter() - started
        if not summary.succeeded:
            raise RuntimeError(f"the run failed: {summary.error}")
        return {
            "candidates_matched": matched,
            "digests_queued": summary.digests_queued,
            "jobs_listed": summary.jobs_listed,
            "match_s": round(match_s, 3),
            "run_s": round(run_s, 3),
        }
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    args = parser.parse_args(argv)
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    if unknown := set(scenarios) - set(SCENARIOS):
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    results: dict[str, Any] = {
        "candidates": args.candidates,
        "subscriptions": args.candidates * SUBSCRIPTIONS_PER_CANDIDATE,
        "new_jobs": NEW_JOBS,
        "older_jobs": OLD_JOBS,
        "scenarios": {},
    }
    ok = True
    for scenario in scenarios:
        searches = scenario == "searches"
        target = TARGET_MATCH_SEARCHES_S if searches else TARGET_MATCH_S
        outcome: dict[str, Any] = {"target_match_s": target, "backends": {}}
        for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
            with tempfile.TemporaryDirectory() as tmp, database(backend, Path(tmp)) as url:
                began = time.perf_counter()
                seeded = seed(url, args.candidates, searches=searches)
                seed_s = time.perf_counter() - began
                figures = measure(url, seeded["schedule_id"])
            passed = figures["match_s"] < target
            ok = ok and passed
            if searches:
                outcome["saved_searches"] = seeded["saved_searches"]
                outcome["distinct_searches"] = seeded["distinct_searches"]
            outcome["backends"][backend] = {
                **figures,
                "seed_s": round(seed_s, 1),
                "passed": passed,
            }
            print(
                f"{scenario:>9} {backend:>10}: matched {figures['candidates_matched']:,} "
                f"candidates, match {figures['match_s']:.2f} s (target < {target:.0f} s) "
                f"{'ok' if passed else 'MISSED'}; whole run {figures['run_s']:.2f} s "
                f"({figures['digests_queued']:,} digests, {figures['jobs_listed']:,} jobs "
                f"listed); seeded in {seed_s:.0f} s",
                flush=True,
            )
        results["scenarios"][scenario] = outcome
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {RESULTS.relative_to(ROOT)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
