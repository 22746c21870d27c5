"""Job search benchmark: `/jobs` searches over 20,000 open and 80,000 closed postings.

    .venv/bin/python bench/search.py [--rounds 30] [--open 20000] [--closed 80000]
                                     [--backends sqlite,postgresql]

For each backend (SQLite in a temporary folder; PostgreSQL as bench/web.py does, in a
throwaway schema) it migrates a fresh database and seeds 12 interests and the postings
in bulk: titles from a few hundred job titles, descriptions of 80 to 160 words from
role, company and benefit sentences with a skill or two from a long tail, 60 places
with a few much more common than the rest, workplace and type on most postings, one
in seven written in German, French or Spanish (with `language` set). Open postings
were posted over the last 90 days, closed ones over the two years before and closed
since; rows go in oldest first, as a live table grows, and the search index is filled
by the triggers (SQLite) and the generated column (PostgreSQL) as they arrive.

Then, `--rounds` times, it runs a mix of searches (keywords common and rare, one
and two words, with a place, filters alone, nothing at all, page 2 and page 10, a
German word, a word nothing contains), each in a fresh session as a request would:

- `search`: `jobs.search.search_jobs` with the facet counts: the server time the
  target is for;
- `page`: the whole `/jobs` view through Flask's test client (template included),
  reported.

p50, p95 and max per backend, and p95 per search kind, are printed and written to
bench/results/search.json; a p95 of `search` at or over the target exits 1.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.web import database  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "search.json"
TARGET_P95_MS = 50.0
CHUNK = 5_000

INTERESTS = [
    "Software Engineering",
    "Data & Analytics",
    "Product Management",
    "Design & UX",
    "Sales",
    "Marketing",
    "Customer Success",
    "Finance & Accounting",
    "People & HR",
    "IT & Security",
    "Operations",
    "Healthcare",
]
# (title stem, interest index, skills that go with it)
ROLES: list[tuple[str, int, list[str]]] = [
    ("Software Engineer", 0, ["python", "java", "go", "kubernetes", "postgresql", "aws"]),
    ("Backend Developer", 0, ["python", "django", "rust", "kafka", "redis", "grpc"]),
    ("Frontend Developer", 0, ["react", "typescript", "css", "accessibility", "vue"]),
    ("Mobile Engineer", 0, ["swift", "kotlin", "flutter", "ios", "android"]),
    ("Site Reliability Engineer", 0, ["terraform", "linux", "prometheus", "kubernetes"]),
    ("QA Engineer", 0, ["selenium", "playwright", "testing", "automation"]),
    ("Data Scientist", 1, ["statistics", "python", "pandas", "forecasting", "pytorch"]),
    ("Data Engineer", 1, ["spark", "airflow", "sql", "dbt", "snowflake"]),
    ("Business Analyst", 1, ["sql", "tableau", "excel", "reporting"]),
    ("Product Manager", 2, ["roadmap", "discovery", "agile", "stakeholders"]),
    ("Product Designer", 3, ["figma", "prototyping", "research", "accessibility"]),
    ("UX Researcher", 3, ["interviews", "usability", "research", "surveys"]),
    ("Account Executive", 4, ["salesforce", "negotiation", "quota", "saas"]),
    ("Sales Development Representative", 4, ["outbound", "crm", "prospecting"]),
    ("Marketing Manager", 5, ["seo", "campaigns", "brand", "analytics"]),
    ("Content Writer", 5, ["copywriting", "editing", "seo", "storytelling"]),
    ("Customer Success Manager", 6, ["onboarding", "retention", "zendesk", "renewals"]),
    ("Support Specialist", 6, ["zendesk", "troubleshooting", "chat", "empathy"]),
    ("Accountant", 7, ["gaap", "reconciliation", "excel", "audit", "payroll"]),
    ("Financial Analyst", 7, ["forecasting", "modelling", "excel", "budgeting"]),
    ("Recruiter", 8, ["sourcing", "interviewing", "onboarding", "employer branding"]),
    ("HR Business Partner", 8, ["employee relations", "benefits", "coaching"]),
    ("Security Engineer", 9, ["iam", "soc2", "pentesting", "compliance", "siem"]),
    ("IT Support Technician", 9, ["networking", "windows", "hardware", "helpdesk"]),
    ("Operations Manager", 10, ["logistics", "process", "supply chain", "lean"]),
    ("Warehouse Associate", 10, ["forklift", "picking", "inventory", "shipping"]),
    ("Registered Nurse", 11, ["patient care", "icu", "medication", "triage"]),
    ("Pharmacist", 11, ["dispensing", "compounding", "patient counselling"]),
]
LEVELS = ["", "", "Junior ", "Senior ", "Senior ", "Lead ", "Principal ", "Staff "]
# A long tail of rare skills: each appears in a handful of postings only.
RARE = [f"{stem}{n}" for stem in ("zephyr", "quokka", "ocelot", "marmot") for n in range(250)]
SENTENCES = [
    "You will join a friendly team that ships to customers every week.",
    "We value clear writing, kind reviews and steady, sustainable pace.",
    "You will work closely with product, design and engineering colleagues.",
    "Our customers range from small shops to large enterprises around the world.",
    "You own your work from the first idea to the result in production.",
    "We offer flexible hours, a learning budget and generous parental leave.",
    "Health insurance, a pension plan and thirty days of paid holiday are included.",
    "The role reports to the head of the department and mentors two colleagues.",
    "Experience in a fast growing company is a plus but not required.",
    "We hire for potential and support you with training and coaching.",
    "The team meets in person once a quarter for planning and a good dinner.",
    "You will help us improve our processes, tools and documentation.",
    "Diversity makes our teams stronger and we welcome applicants of every background.",
    "Travel is rarely needed; when it is, we cover every cost.",
]
FOREIGN: dict[str, tuple[list[str], list[str]]] = {
    "de-DE": (
        ["Softwareentwickler", "Datenanalyst", "Vertriebsmitarbeiter", "Pflegefachkraft"],
        [
            "Wir suchen engagierte Entwicklerinnen und Entwickler für unsere Plattform.",
            "Sie arbeiten eng mit Kolleginnen und Kollegen aus vielen Bereichen zusammen.",
            "Wir bieten flexible Arbeitszeiten, Weiterbildung und Altersvorsorge.",
            "Erfahrung mit modernen Werkzeugen und Freude an Verantwortung bringen Sie mit.",
        ],
    ),
    "fr-FR": (
        ["Développeur logiciel", "Analyste de données", "Commercial", "Infirmier"],
        [
            "Nous recherchons des développeuses et développeurs passionnés.",
            "Vous travaillerez avec des équipes produit et design.",
            "Nous proposons des horaires flexibles et un budget de formation.",
        ],
    ),
    "es-ES": (
        ["Desarrollador de software", "Analista de datos", "Comercial", "Enfermera"],
        [
            "Buscamos desarrolladores con ganas de aprender y crecer.",
            "Trabajarás con equipos de producto y diseño en toda Europa.",
            "Ofrecemos horario flexible, formación y seguro médico.",
        ],
    ),
}
CITIES = [
    "London, United Kingdom",
    "Berlin, Germany",
    "New York, NY, United States",
    "Paris, France",
    "Amsterdam, Netherlands",
    "Madrid, Spain",
    "Toronto, Canada",
    "Munich, Germany",
    "Leeds, United Kingdom",
    "Lisbon, Portugal",
] + [f"Town {n}, Country {n % 7}" for n in range(50)]
WORKPLACES = ["on_site", "on_site", "hybrid", "hybrid", "remote", None]
TYPES = ["full_time"] * 6 + ["part_time", "contract", "temporary", "internship", None]


def _chunks(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), CHUNK):
        yield rows[start : start + CHUNK]


def _posting(rng: random.Random, n: int, *, open_: bool, at: Any) -> dict[str, Any]:
    roll = rng.random()
    language = None
    if roll < 0.08:
        language = "de-DE"
    elif roll < 0.11:
        language = "fr-FR"
    elif roll < 0.14:
        language = "es-ES"
    if language:
        titles, sentences = FOREIGN[language]
        title = rng.choice(titles)
        body = [rng.choice(sentences) for _ in range(rng.randrange(6, 12))]
        interest = rng.randrange(len(INTERESTS))
    else:
        stem, interest, skills = rng.choice(ROLES)
        title = rng.choice(LEVELS) + stem
        picked = rng.sample(skills, min(len(skills), rng.randrange(2, 4)))
        if rng.random() < 0.3:
            picked.append(rng.choice(RARE))
        body = [f"As a {stem.lower()} you will use {', '.join(picked)} every day."]
        body += rng.sample(SENTENCES, rng.randrange(6, 11))
    # Zipf-like: the first cities hold most postings.
    city = CITIES[min(int(rng.paretovariate(1.0)) - 1, len(CITIES) - 1)]
    if open_:
        posted = at - timedelta(minutes=rng.randrange(1, 60 * 24 * 90))
        closed = None
    else:
        posted = at - timedelta(days=90 + rng.randrange(0, 640))
        closed = posted + timedelta(days=rng.randrange(7, 60))
    return {
        "reference": f"B-{n:06d}",
        "title": title,
        "description": "\n\n".join([" ".join(body[:4]), " ".join(body[4:])]),
        "location": city,
        "apply_url": f"https://jobs.example.com/apply/{n}",
        "posted_at": posted,
        "closed_at": closed,
        "created_at": posted,
        "updated_at": closed or posted,
        "workplace": rng.choice(WORKPLACES),
        "employment_type": rng.choice(TYPES),
        "department": INTERESTS[interest].split(" ")[0],
        "language": language,
        "_interest": interest,
    }


def seed(database_url: str, open_jobs: int, closed_jobs: int) -> None:
    """Migrate a fresh database and seed the interests and postings in bulk."""
    from sqlalchemy import insert

    from jobs.models import JobPosting, job_interests
    from portal.migrate import upgrade
    from preferences.clock import now
    from preferences.db import make_engine
    from preferences.models import Interest

    rng = random.Random(20261203)
    at = now()
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        with engine.begin() as conn:
            interest_ids = list(
                conn.scalars(
                    insert(Interest).returning(Interest.id),
                    [
                        {
                            "name": name,
                            "slug": name.lower().replace(" & ", "-").replace(" ", "-"),
                            "position": n,
                        }
                        for n, name in enumerate(INTERESTS)
                    ],
                )
            )
            rows = [_posting(rng, n, open_=n < open_jobs, at=at) for n in range(open_jobs)]
            rows += [
                _posting(rng, n, open_=False, at=at)
                for n in range(open_jobs, open_jobs + closed_jobs)
            ]
            # Oldest first, as a live table grows.
            rows.sort(key=lambda row: row["posted_at"])
            for part in _chunks(rows):
                interests = [row.pop("_interest") for row in part]
                ids = conn.scalars(insert(JobPosting).returning(JobPosting.id), part).all()
                tags = []
                for job_id, interest in zip(ids, interests, strict=True):
                    tags.append({"job_id": job_id, "interest_id": interest_ids[interest]})
                    if rng.random() < 0.2:
                        other = rng.choice([i for i in interest_ids if i != interest_ids[interest]])
                        tags.append({"job_id": job_id, "interest_id": other})
                conn.execute(insert(job_interests), tags)
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
                conn.exec_driver_sql("CHECKPOINT")
        else:
            with engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
    finally:
        engine.dispose()


# (kind, /jobs query arguments)
SEARCHES: list[tuple[str, dict[str, str]]] = [
    ("nothing (facets only)", {}),
    ("common word", {"q": "engineer"}),
    ("common word, page 2", {"q": "engineer", "page": "2"}),
    ("common word, page 10", {"q": "senior", "page": "10"}),
    ("two words", {"q": "senior python"}),
    ("rare word", {"q": "quokka17"}),
    ("word + place", {"q": "developer", "location": "berlin"}),
    ("word + filters", {"q": "manager", "workplace": "remote", "type": "full_time"}),
    ("filters only", {"workplace": "hybrid", "type": "full_time", "posted": "7d"}),
    ("place only", {"location": "United Kingdom"}),
    ("interest + posted", {"interest": "software-engineering", "posted": "30d"}),
    (
        "everything",
        {
            "q": "data",
            "location": "london",
            "workplace": "hybrid",
            "type": "full_time",
            "interest": "data-analytics",
            "posted": "30d",
        },
    ),
    ("German word", {"q": "Entwickler"}),
    ("no match", {"q": "xylophonist"}),
    ("description word", {"q": "pension holiday"}),
]


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, int(len(ordered) * fraction + 0.5) - 1)]


def _summary(samples: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(samples), 2),
        "p95_ms": round(_percentile(samples, 0.95), 2),
        "max_ms": round(max(samples), 2),
    }


def measure(database_url: str, rounds: int, instance: Path) -> dict[str, Any]:
    """Time each search of the mix `rounds` times, as a function and as a page."""
    from jobs.search import search_jobs
    from jobs.search_criteria import read_criteria
    from portal.app import create_app
    from portal.config import load_settings
    from preferences.db import make_engine, make_session_factory

    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    app = create_app(
        load_settings(
            environ={},
            overrides={
                "DATABASE_URL": database_url,
                "INSTANCE_DIR": str(instance),
                "SECRET_KEYS": "bench-" + "k" * 40,
            },
        )
    )
    client = app.test_client()
    calls: list[float] = []
    pages: list[float] = []
    by_kind: dict[str, list[float]] = {kind: [] for kind, _ in SEARCHES}
    totals: dict[str, int] = {}
    try:
        for round_ in range(rounds + 1):
            for kind, args in SEARCHES:
                criteria, _notes = read_criteria(args)
                page = int(args.get("page", "1"))
                started = time.perf_counter()
                with factory() as session:
                    result = search_jobs(session, criteria, page=page, per_page=20)
                    len(result.jobs)
                took = (time.perf_counter() - started) * 1000
                path = "/jobs" + ("?" + urlencode(args) if args else "")
                started = time.perf_counter()
                response = client.get(path)
                page_took = (time.perf_counter() - started) * 1000
                if response.status_code != 200:
                    raise RuntimeError(f"{path} answered {response.status_code}")
                if round_ == 0:  # warm-up: caches, statistics, templates
                    totals[kind] = result.total
                    continue
                calls.append(took)
                pages.append(page_took)
                by_kind[kind].append(took)
    finally:
        app.extensions["talentconnect"].engine.dispose()
        engine.dispose()
    return {
        "search": _summary(calls),
        "page": _summary(pages),
        "samples": len(calls),
        "p95_ms_by_kind": {kind: round(_percentile(s, 0.95), 2) for kind, s in by_kind.items()},
        "matches_by_kind": totals,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--open", type=int, default=20_000, dest="open_jobs")
    parser.add_argument("--closed", type=int, default=80_000, dest="closed_jobs")
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args(argv)
    results: dict[str, Any] = {
        "open_jobs": args.open_jobs,
        "closed_jobs": args.closed_jobs,
        "rounds": args.rounds,
        "searches": [kind for kind, _ in SEARCHES],
        "target_p95_ms": TARGET_P95_MS,
        "backends": {},
    }
    ok = True
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        with tempfile.TemporaryDirectory() as tmp, database(backend, Path(tmp)) as url:
            began = time.perf_counter()
            seed(url, args.open_jobs, args.closed_jobs)
            seeded = time.perf_counter() - began
            figures = measure(url, args.rounds, Path(tmp) / "instance")
        passed = figures["search"]["p95_ms"] < TARGET_P95_MS
        ok = ok and passed
        results["backends"][backend] = {**figures, "seed_s": round(seeded, 1), "passed": passed}
        search, page = figures["search"], figures["page"]
        print(
            f"{backend:>10}: search p50 {search['p50_ms']:.1f} ms, p95 {search['p95_ms']:.1f} ms "
            f"(target < {TARGET_P95_MS:.0f} ms) {'ok' if passed else 'MISSED'}, "
            f"max {search['max_ms']:.1f} ms; /jobs page p50 {page['p50_ms']:.1f} ms, "
            f"p95 {page['p95_ms']:.1f} ms; {figures['samples']} searches; seeded in {seeded:.0f} s",
            flush=True,
        )
        for kind, p95 in figures["p95_ms_by_kind"].items():
            print(
                f"{'':>12}{kind:<24} p95 {p95:6.1f} ms  "
                f"({figures['matches_by_kind'][kind]:,} matches)",
                flush=True,
            )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {RESULTS.relative_to(ROOT)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
