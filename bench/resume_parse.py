"""Benchmark resume intake: `python bench/resume_parse.py [--runs N] [--seconds N]`.

Options: --candidates N (seeded per backend), --backends sqlite,postgresql (or none).

1. Normal resumes: builds a realistic 2-page PDF, 2-page DOCX and plain-text resume,
   parses each N times in-process (`parse_file`) and in the sandbox the web app uses
   (`ResumeParser`, a child process per parse); p50/p95 and the peak memory
   (tracemalloc) of one parse. The gazetteer (GeoNames cities, built once per parsing
   process, in the fork server) is measured in a fresh interpreter: build time, the
   Python memory it keeps (tracemalloc) and the process's RSS growth.
2. The hostile set, built here: a 20-page PDF sharing one compressed content stream
   of 60,000 text operations (~8 KB); a DOCX of ~50 MB of `<w:p/>` and small random
   paragraphs (~620 KB, ~82:1); a DOCX of tables nested 80 deep; a 20-page PDF of
   50,000 one-glyph runs per page; a 10 MB one-line text file. Each goes through the
   sandbox with the default budget; its wall time and outcome (read or refused).
3. For each backend (SQLite, PostgreSQL as `bench/web.py` reaches it), a real
   `talentconnect serve` (2 workers x 8 threads) seeded like `bench/web.py`: the web
   workers' RSS before and after 10 hostile uploads; then 4 visitors uploading
   hostile files non-stop while one-click unsubscribes and preference Saves run
   (4 clients, closed loop) for --seconds: their p50/p99 and errors.

Figures go to a table and bench/results/resume_parse.json; a missed target exits 1.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import threading
import time
import tracemalloc
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a plain script from anywhere

from portal.resumes import InterestKeywords, parse_file  # noqa: E402
from portal.resumes.errors import ParseRefused  # noqa: E402
from portal.resumes.sandbox import ParseBudget, ResumeParser  # noqa: E402
from tests.resumes import support as hostile  # noqa: E402

TARGET_P95_MS = 300.0
BUDGET = ParseBudget()  # the defaults: 5 s, 256 MB, 2 at once
TARGET_HOSTILE_WALL_S = BUDGET.seconds + 1.0
TARGET_RSS_GROWTH_MB = 50.0
TARGET_P99_MS = 500.0
HOSTILE_UPLOADERS = 4
RSS_UPLOADS = 10
RESULTS = ROOT / "bench" / "results" / "resume_parse.json"
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
INTERESTS = [
    InterestKeywords(1, "Software Engineering", ["python", "java", "go", "react", "api"]),
    InterestKeywords(2, "Data & Analytics", ["sql", "spark", "machine learning", "etl"]),
    InterestKeywords(3, "Product Management", ["roadmap", "discovery", "agile"]),
    InterestKeywords(4, "Design & UX", ["figma", "ux", "user research", "accessibility"]),
    InterestKeywords(5, "Sales", ["sales", "quota", "crm", "salesforce", "b2b"]),
    InterestKeywords(6, "Marketing", ["seo", "content", "campaigns", "brand"]),
    InterestKeywords(7, "Customer Success", ["support", "onboarding", "zendesk"]),
    InterestKeywords(8, "Finance & Accounting", ["accounting", "gaap", "excel", "fp&a"]),
]
HEADER = [
    "Aleksandra Nowak-Kowalska",
    "Senior Backend Engineer",
    "Kraków, Poland | +48 12 345 67 89 | aleksandra.nowak@example.pl",
    "linkedin.com/in/aleksandra-nowak | github.com/anowak | https://anowak.dev",
]
JOB = (
    "Designed and ran Python and Go services behind a public API used by 2,000 B2B "
    "customers; moved batch ETL to Spark, introduced SQL data contracts, mentored four "
    "engineers and led the on-call rotation. Worked with product on roadmap discovery."
)


def body_lines() -> list[tuple[str, str]]:
    """(style, text) for two pages: summary, eight jobs, education, skills."""
    lines: list[tuple[str, str]] = [("h", "Summary"), ("p", JOB)]
    lines.append(("h", "Experience"))
    for year in range(2023, 2007, -2):
        lines.append(("b", f"Software Engineer, Company {year}, {year - 2} - {year}"))
        lines += [("p", JOB), ("p", JOB)]
    lines += [("h", "Education"), ("p", "M.Sc. Computer Science, AGH University, 2008")]
    lines += [("h", "Skills"), ("p", "Python, Go, SQL, Spark, Kafka, Kubernetes, React, Figma")]
    return lines


def make_pdf(path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    family = "Helvetica"
    if FONT.exists():
        pdf.add_font("DejaVu", "", str(FONT))
        family = "DejaVu"

    def text(value: str) -> str:
        return value if family == "DejaVu" else value.encode("latin-1", "replace").decode()

    pdf.add_page()
    for i, line in enumerate(HEADER):
        pdf.set_font(family, size=20 if i == 0 else 10)
        pdf.multi_cell(0, 9 if i == 0 else 5, text(line), new_x="LMARGIN", new_y="NEXT")
    for style, line in body_lines():
        pdf.set_font(family, size={"h": 13, "b": 11}.get(style, 10))
        pdf.multi_cell(0, 5.5, text(line), new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))


def make_docx(path: Path) -> None:
    import docx

    document = docx.Document()
    for line in HEADER:
        document.add_paragraph(line)
    for style, line in body_lines():
        if style == "h":
            document.add_heading(line, level=2)
        else:
            document.add_paragraph(line)
    document.sections[0].footer.paragraphs[0].text = "Aleksandra Nowak-Kowalska - resume"
    document.save(str(path))


def make_text(path: Path) -> None:
    lines = [*HEADER, *(line for _style, line in body_lines())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


_GAZETTEER_PROBE = """
import json, time, tracemalloc
def rss():
    with open("/proc/self/status") as fh:
        return next(int(l.split()[1]) for l in fh if l.startswith("VmRSS:")) / 1024
from portal.resumes import gazetteer as g
before = rss()
tracemalloc.start()
started = time.perf_counter()
lookup = g.gazetteer()
seconds = time.perf_counter() - started
kept, peak = tracemalloc.get_traced_memory()
print(json.dumps({"load_s": round(seconds, 3), "names": len(lookup.cities),
                  "kept_mib": round(kept / 2**20, 1), "peak_mib": round(peak / 2**20, 1)}))
"""
# Without tracemalloc (it slows the build and holds memory of its own), as the fork
# server does it: build, collect, hand the freed heap back (portal.resumes._warm).
_GAZETTEER_TIMED = """
import ctypes, gc, json, time
def rss():
    with open("/proc/self/status") as fh:
        return next(int(l.split()[1]) for l in fh if l.startswith("VmRSS:")) / 1024
from portal.resumes import gazetteer as g
before = rss()
started = time.perf_counter()
g.gazetteer()
seconds = time.perf_counter() - started
gc.collect()
ctypes.CDLL("libc.so.6").malloc_trim(0)
print(json.dumps({"load_s": round(seconds, 3), "rss_growth_mb": round(rss() - before, 1)}))
"""


def gazetteer_figures() -> dict[str, Any]:
    """Build the gazetteer in a fresh interpreter: time, kept memory, RSS growth."""
    import subprocess

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", _GAZETTEER_PROBE],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    figures: dict[str, Any] = json.loads(done.stdout)
    timed = subprocess.run(
        [sys.executable, "-c", _GAZETTEER_TIMED],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    figures |= json.loads(timed.stdout)
    return figures


def pdf_pages(path: Path) -> int:
    from pypdf import PdfReader

    return len(PdfReader(path).pages)


def time_parses(
    path: Path, kind: str, runs: int, parse: Callable[..., Any] = parse_file
) -> dict[str, Any]:
    parse(path, kind, INTERESTS)  # warm-up: imports, regex compilation, the fork server
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        parsed = parse(path, kind, INTERESTS)
        samples.append((time.perf_counter() - started) * 1000)
    if parsed.failed or parsed.email is None:
        raise SystemExit(f"{kind}: the benchmark resume did not parse: {parsed}")
    samples.sort()
    return {
        "runs": runs,
        "bytes": path.stat().st_size,
        "p50_ms": round(statistics.median(samples), 2),
        "p95_ms": round(samples[max(0, round(0.95 * len(samples)) - 1)], 2),
        "max_ms": round(samples[-1], 2),
    }


def peak_memory(path: Path, kind: str) -> float:
    """Peak Python heap (MiB) while parsing once, imports already done."""
    parse_file(path, kind, INTERESTS)
    tracemalloc.start()
    try:
        parse_file(path, kind, INTERESTS)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return round(peak / (1024 * 1024), 2)


# --------------------------------------------------------------------------- hostile set


def hostile_files(folder: Path) -> dict[str, tuple[Path, str]]:
    """Build the hostile set in `folder`: name -> (path, kind)."""
    made = {
        "shared_stream.pdf": (hostile.shared_stream_pdf(), "pdf"),
        "empty_paragraphs.docx": (hostile.empty_paragraph_docx(), "docx"),
        "nested_tables.docx": (hostile.nested_tables_docx(), "docx"),
        "glyph_runs.pdf": (hostile.glyph_runs_pdf(), "pdf"),
        "one_line.txt": (hostile.one_line_text(), "text"),
    }
    out = {}
    for name, (data, kind) in made.items():
        path = folder / name
        path.write_bytes(data)
        out[name] = (path, kind)
    return out


def sandbox_hostile(files: dict[str, tuple[Path, str]]) -> dict[str, Any]:
    """Each hostile file once through the sandbox with the default budget."""
    parser = ResumeParser(BUDGET)
    figures: dict[str, Any] = {}
    for name, (path, kind) in files.items():
        started = time.perf_counter()
        try:
            parsed = parser.parse(path, kind, INTERESTS)
            outcome = "no text" if parsed.failed else "read"
        except ParseRefused:
            outcome = "refused"
        figures[name] = {
            "bytes": path.stat().st_size,
            "outcome": outcome,
            "wall_s": round(time.perf_counter() - started, 2),
        }
    return figures


# --------------------------------------------------------------------------- server


class Visitor:
    """A browser on the connect flow: its own cookie, on one keep-alive connection."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookie = ""
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def request(self, method: str, path: str, body: bytes | None = None, ctype: str = "") -> Any:
        headers = {"Cookie": self.cookie} if self.cookie else {}
        if ctype:
            headers["Content-Type"] = ctype
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                break
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt == 2:
                    raise
        cookie = response.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        return response.status, data.decode(errors="replace")

    def start_connect(self, interest_id: int) -> str:
        _, page = self.request("GET", "/connect/interests")
        body = urllib.parse.urlencode({"csrf_token": _token(page), "interest": interest_id})
        self.request("POST", "/connect/interests", body.encode(), FORM)
        _, page = self.request("GET", "/connect/resume")
        return _token(page)

    def upload(self, token: str, name: str, data: bytes) -> int:
        boundary = "----bench-resume-parse"
        body = b"".join(
            [
                f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
                f"{token}\r\n".encode(),
                f'--{boundary}\r\nContent-Disposition: form-data; name="resume"; '
                f'filename="{name}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode(),
                data,
                f"\r\n--{boundary}--\r\n".encode(),
            ]
        )
        status, _ = self.request(
            "POST", "/connect/resume", body, f"multipart/form-data; boundary={boundary}"
        )
        return int(status)


FORM = "application/x-www-form-urlencoded"


def _token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    if match is None:
        raise RuntimeError("no form token on the page")
    return match.group(1)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return 0.0
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * q))], 1)


def bench_server(
    backend: str, args: argparse.Namespace, hostile_set: dict[str, bytes], normal: bytes
) -> dict[str, Any]:
    """One backend: RSS across hostile uploads, then latencies under 4 hostile uploaders."""
    from bench import web

    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix=f"tc-bench-resume-{backend}-") as tmp_text:
        tmp = Path(tmp_text)
        instance = tmp / "instance"
        instance.mkdir()
        with web.database(backend, tmp) as url:
            seeded = web.seed(url, args.candidates, _Quiet())
            interest_id = _first_interest(url)
            env = web.clean_env(url, instance)
            if args.server_pythonpath:  # measure another checkout's server (e.g. before a change)
                env["PYTHONPATH"] = args.server_pythonpath
            server = web.start_portal(env, tmp, workers=2, threads=8)
            try:
                pid, port = server.process.pid, server.port
                figures.update(_rss_phase(pid, port, interest_id, hostile_set, normal))
                figures.update(_load_phase(port, interest_id, hostile_set, seeded, args.seconds))
            finally:
                figures["server_exit"] = web.stop_server(server)
                log = server.log_path.read_text(errors="replace")
                # Any unhandled error's log lines, to say what a 5xx was.
                figures["server_errors"] = [
                    line[:2000] for line in log.splitlines() if "unhandled error" in line
                ][:3]
    return figures


class _Quiet:
    def print(self, *_args: Any, **_kwargs: Any) -> None:
        return None


def _first_interest(url: str) -> int:
    from sqlalchemy import select

    from preferences.db import make_engine, make_session_factory, session_scope
    from preferences.models import Interest

    engine = make_engine(url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            first = session.scalars(select(Interest.id).order_by(Interest.position)).first()
            return int(first or 0)
    finally:
        engine.dispose()


def _rss_phase(
    arbiter: int, port: int, interest_id: int, hostile_set: dict[str, bytes], normal: bytes
) -> dict[str, Any]:
    """Web workers' RSS after warming up with normal uploads, then after 10 hostile ones."""
    visitor = Visitor(port)
    token = visitor.start_connect(interest_id)
    for _ in range(6):  # both workers see a few uploads and pages first
        Visitor(port).start_connect(interest_id)
        visitor.upload(token, "cv.pdf", normal)
        token = _token(visitor.request("GET", "/connect/resume")[1])
    workers = children(arbiter)
    before = {pid: rss_mb(pid) for pid in workers}
    statuses = []
    names = list(hostile_set)
    for n in range(RSS_UPLOADS):
        name = names[n % len(names)]
        statuses.append(visitor.upload(token, name, hostile_set[name]))
        token = _token(visitor.request("GET", "/connect/resume")[1])
    after = {pid: rss_mb(pid) for pid in workers}
    growth = max(after[pid] - before[pid] for pid in workers)
    return {
        "rss_before_mb": {str(p): round(v, 1) for p, v in before.items()},
        "rss_after_mb": {str(p): round(v, 1) for p, v in after.items()},
        "rss_growth_mb": round(growth, 1),
        "rss_upload_statuses": statuses,
    }


def _load_phase(
    port: int, interest_id: int, hostile_set: dict[str, bytes], seeded: Any, seconds: int
) -> dict[str, Any]:
    """4 visitors upload hostile files non-stop; one-click and Save latencies meanwhile."""
    stop = threading.Event()
    lock = threading.Lock()
    uploads: list[int] = []
    latencies: dict[str, list[float]] = {"one_click": [], "pref_save": []}
    errors: dict[str, list[str]] = {"one_click": [], "pref_save": [], "upload": []}
    names = list(hostile_set)

    def uploader(k: int) -> None:
        visitor = Visitor(port)
        try:
            token = visitor.start_connect(interest_id)
            n = k
            while not stop.is_set():
                name = names[n % len(names)]
                n += 1
                status = visitor.upload(token, name, hostile_set[name])
                with lock:
                    uploads.append(status)
                    if status >= 500 and status != 503:
                        errors["upload"].append(f"{name}: {status}")
                token = _token(visitor.request("GET", "/connect/resume")[1])
        except Exception as exc:  # a dropped connection is an error too
            with lock:
                errors["upload"].append(f"{type(exc).__name__}: {exc}")

    def clicker(k: int, kind: str) -> None:
        visitor = Visitor(port)
        n = k
        while not stop.is_set():
            n += 4
            try:
                started = time.perf_counter()
                if kind == "one_click":
                    path = seeded.one_click_paths[n % len(seeded.one_click_paths)]
                    status, _ = visitor.request("POST", path, b"List-Unsubscribe=One-Click", FORM)
                else:
                    j = n % len(seeded.pref_paths)
                    body = seeded.save_bodies[j][(n // len(seeded.pref_paths)) % 2]
                    status, _ = visitor.request("POST", seeded.pref_paths[j], body.encode(), FORM)
                elapsed = (time.perf_counter() - started) * 1000
            except Exception as exc:
                with lock:
                    errors[kind].append(f"{type(exc).__name__}: {exc}")
                continue
            with lock:
                latencies[kind].append(elapsed)
                if status >= 400:
                    errors[kind].append(f"{status} after {elapsed:.0f} ms")

    threads = [threading.Thread(target=uploader, args=(k,)) for k in range(HOSTILE_UPLOADERS)]
    threads += [
        threading.Thread(target=clicker, args=(k, kind))
        for k in range(2)
        for kind in ("one_click", "pref_save")
    ]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(60)
    outcome = {
        "uploads": len(uploads),
        "uploads_read": uploads.count(302),
        "uploads_refused": uploads.count(400),
        "uploads_busy_503": uploads.count(503),
    }
    for kind, samples in latencies.items():
        outcome[kind] = {
            "requests": len(samples),
            "p50_ms": percentile(samples, 0.50),
            "p99_ms": percentile(samples, 0.99),
            "errors": len(errors[kind]),
            "first_errors": errors[kind][:5],
        }
    outcome["upload_errors"] = errors["upload"][:5]
    return outcome


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=50, help="parses per format (default 50)")
    parser.add_argument("--seconds", type=int, default=10, help="load phase per backend (10)")
    parser.add_argument("--candidates", type=int, default=500, help="seeded per backend (500)")
    parser.add_argument("--backends", default="sqlite,postgresql", help="comma-separated; none")
    parser.add_argument(
        "--server-pythonpath",
        default="",
        help="PYTHONPATH for the server only, to measure another checkout under this load",
    )
    args = parser.parse_args(argv)
    backends = [b.strip() for b in args.backends.split(",") if b.strip() and b != "none"]
    results: dict[str, Any] = {
        "targets": {
            "normal_p95_ms": TARGET_P95_MS,
            "hostile_wall_s": TARGET_HOSTILE_WALL_S,
            "rss_growth_mb": TARGET_RSS_GROWTH_MB,
            "p99_ms_under_hostile_uploads": TARGET_P99_MS,
        },
        "budget": {"seconds": BUDGET.seconds, "memory_mb": BUDGET.memory_mb},
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "formats": {},
        "sandbox": {},
        "gazetteer": {},
        "hostile": {},
        "backends": {},
    }
    missed: list[str] = []
    sandbox = ResumeParser(ParseBudget(seconds=30))
    results["gazetteer"] = gazetteer_figures()
    with tempfile.TemporaryDirectory() as folder:
        pdf, docx_path = Path(folder) / "resume.pdf", Path(folder) / "resume.docx"
        text_path = Path(folder) / "resume.txt"
        make_pdf(pdf)
        make_docx(docx_path)
        make_text(text_path)
        results["pdf_pages"] = pdf_pages(pdf)
        for kind, path in (("pdf", pdf), ("docx", docx_path), ("text", text_path)):
            figures = time_parses(path, kind, args.runs)
            figures["peak_mib"] = peak_memory(path, kind)
            results["formats"][kind] = figures
            results["sandbox"][kind] = time_parses(path, kind, args.runs, sandbox.parse)
        files = hostile_files(Path(folder))
        results["hostile"] = sandbox_hostile(files)
        hostile_set = {name: path.read_bytes() for name, (path, _kind) in files.items()}
        normal = pdf.read_bytes()
        for backend in backends:
            try:
                results["backends"][backend] = bench_server(backend, args, hostile_set, normal)
            except Exception as exc:  # one backend failing must not hide the other's figures
                results["backends"][backend] = {"error": f"{type(exc).__name__}: {exc}"}
                missed.append(f"{backend}: {type(exc).__name__}")

    print(f"resume parsing, {args.runs} runs per format (PDF has {results['pdf_pages']} pages)")
    print(f"{'format':16}{'bytes':>9}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}{'peak MiB':>10}")
    for kind, f in results["formats"].items():
        print(
            f"{kind + ' in-process':16}{f['bytes']:>9}{f['p50_ms']:>10.1f}{f['p95_ms']:>10.1f}"
            f"{f['max_ms']:>10.1f}{f['peak_mib']:>10.2f}"
        )
        sb = results["sandbox"][kind]
        print(
            f"{kind + ' sandbox':16}{sb['bytes']:>9}{sb['p50_ms']:>10.1f}{sb['p95_ms']:>10.1f}"
            f"{sb['max_ms']:>10.1f}"
        )
        if sb["p95_ms"] > TARGET_P95_MS:
            missed.append(f"{kind} sandbox p95")
    gz = results["gazetteer"]
    print(
        f"gazetteer: {gz['names']} names, built in {gz['load_s']:.2f} s, keeps "
        f"{gz['kept_mib']:.1f} MiB (peak {gz['peak_mib']:.1f} MiB), "
        f"RSS +{gz['rss_growth_mb']:.1f} MB (once, in the parse fork server)"
    )
    print(f"hostile set, sandbox budget {BUDGET.seconds:.0f} s / {BUDGET.memory_mb} MB")
    for name, f in results["hostile"].items():
        print(f"  {name:24}{f['bytes']:>10} bytes  {f['outcome']:8}{f['wall_s']:>7.2f} s")
        if f["wall_s"] > TARGET_HOSTILE_WALL_S:
            missed.append(f"{name} wall")
    for backend, f in results["backends"].items():
        if "error" in f:
            print(f"{backend}: ERROR {f['error']}")
            continue
        print(
            f"{backend}: web worker RSS growth after {RSS_UPLOADS} hostile uploads "
            f"{f['rss_growth_mb']:.1f} MB; during {HOSTILE_UPLOADERS} hostile uploaders "
            f"({f['uploads']} uploads: {f['uploads_read']} read, {f['uploads_refused']} refused, "
            f"{f['uploads_busy_503']} busy)"
        )
        if f["rss_growth_mb"] > TARGET_RSS_GROWTH_MB:
            missed.append(f"{backend} RSS growth")
        if f["upload_errors"]:
            missed.append(f"{backend} upload errors")
            print(f"  upload errors: {f['upload_errors']}")
        if f.get("server_exit") != 0:
            missed.append(f"{backend} server exit")
        for kind in ("one_click", "pref_save"):
            row = f[kind]
            print(
                f"  {kind:10}{row['requests']:>7} requests  p50 {row['p50_ms']:>7.1f} ms  "
                f"p99 {row['p99_ms']:>7.1f} ms  errors {row['errors']}"
            )
            if row["p99_ms"] > TARGET_P99_MS or row["errors"] or not row["requests"]:
                missed.append(f"{backend} {kind}")
    results["missed"] = missed
    results["ok"] = not missed
    verdict = "ok" if not missed else "MISSED: " + ", ".join(missed)
    print(
        f"targets: sandbox p95 < {TARGET_P95_MS:.0f} ms; hostile wall <= "
        f"{TARGET_HOSTILE_WALL_S:.0f} s; RSS growth <= {TARGET_RSS_GROWTH_MB:.0f} MB; "
        f"p99 < {TARGET_P99_MS:.0f} ms, no errors -> {verdict}"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
