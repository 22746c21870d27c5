"""Load benchmark of the web portal under the production server (gunicorn) with wrk.

    .venv/bin/python bench/web.py [--seconds N] [--connections 32] [--candidates N]
                                  [--backends sqlite,postgresql] [--workers N] [--threads 1]

For each backend it seeds a fresh database in-process (migrations, the demo
company, N candidates with three confirmed job-alert subscriptions and mass
email each), starts `talentconnect serve` as a subprocess on 127.0.0.1 and
drives it with wrk (Debian package `wrk`) at --connections for --seconds per
scenario:

- minimal: a separate tiny Flask app (one query, one Jinja template) served by
  the same gunicorn set-up (workers, threads), on the same database: the ceiling,
  measured before the first scenario and after each one (each ratio is to the mean of
  the minimal runs around its scenario);
- pref_get: the preference center GET, a different candidate's signed link per request;
- pref_get_es: the same for candidates whose language is Spanish (the page through the
  Spanish catalog: translation must cost nothing measurable);
- pref_save: the preference center Save (POST with the form token each page
  carries, a different candidate per request, every Save changing three
  subscriptions' frequency);
- one_click: the RFC 8058 one-click POST, a different signed token per request.

Each scenario (and each minimal run) also reports the server's CPU milliseconds per
request: the CPU time its worker processes used during the run, over the requests
answered, and the "CPU ratio" (the minimal page's over the scenario's). A rate mixes
the work a request is with its wait for a core shared with wrk; the CPU figure is the
work alone, so it tells a heavier page from a busier host (bench/README.md).

Figures are printed as a table and written to bench/results/web.json; a missed
target makes the command exit 1 (2 when the benchmark cannot run at all).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

HOST = "127.0.0.1"
SECRET_KEYS = "bench-web-" + "k" * 40
RATE_LIMIT = "1000000 per minute"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
RESULTS = Path(__file__).resolve().parent / "results" / "web.json"
ONE_CLICK_BODY = "List-Unsubscribe=One-Click"
FORM_TYPE = "application/x-www-form-urlencoded"
SAVE_HEADERS = {"Content-Type": FORM_TYPE}
SCENARIOS = ("minimal", "pref_get", "pref_get_es", "pref_save", "one_click")
LUA_CHUNK = 5000  # string constants per Lua function, well under LuaJIT's limits

# Targets for one 2-core machine at 32 connections (issue 4, "Performance").
PREF_GET_MIN_RATIO = 0.30  # preference GET rate / minimal page rate
PREF_GET_MAX_P99_MS = 50.0
ONE_CLICK_MIN_RATE = 500.0
# The write path (issue 19): each a ratio to the minimal page measured around it.
ONE_CLICK_MIN_RATIO = 0.40
PREF_SAVE_MIN_RATIO = 0.20
PREF_SAVE_MAX_SERVER_P99_MS = 30.0
WORKER_MAX_RSS_MB = 150.0  # each web worker, after all scenarios


# --------------------------------------------------------------------------- minimal server

MINIMAL_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title></head>
<body><main><h1>{{ title }}</h1>
<ul>{% for name in names %}<li>{{ name }}</li>{% endfor %}</ul>
</main></body></html>
"""


def run_minimal_server(port: int, database_url: str, workers: int, threads: int) -> None:
    """Serve the ceiling page: one query and one Jinja template, nothing else."""
    from portal.web.serving import WebServer

    def factory() -> Any:
        from flask import Flask, render_template
        from jinja2 import DictLoader
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        url = make_url(database_url)
        if url.get_backend_name() == "sqlite":
            engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 15})
        else:
            engine = create_engine(url, pool_size=threads, max_overflow=0)
        app = Flask("minimal")
        app.jinja_loader = DictLoader({"page.html": MINIMAL_TEMPLATE})
        query = text("SELECT name FROM interests ORDER BY position")

        @app.get("/")
        def page() -> str:
            with engine.connect() as conn:
                names = [row[0] for row in conn.execute(query)]
            return render_template("page.html", title="Interests", names=names)

        return app

    WebServer(factory, host=HOST, port=port, workers=workers, threads=threads).run()


# --------------------------------------------------------------------------- databases


def with_search_path(url: str, schema: str) -> str:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return parsed.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False
    )


@contextmanager
def database(backend: str, tmp: Path) -> Iterator[str]:
    """Yield a fresh, empty database URL for `backend`, removed afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp / 'web.db'}"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = os.environ.get("TALENTCONNECT_TEST_DATABASE_URL") or DEFAULT_PG_URL
    admin = create_engine(make_url(base).set(drivername="postgresql+psycopg"))
    schema = f"tc_bench_{os.getpid()}_{secrets.token_hex(4)}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield with_search_path(base, schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@dataclass
class Seeded:
    pref_paths: list[str] = field(default_factory=list)
    # Preference links of the Spanish-speaking candidates (pref_get_es).
    pref_paths_es: list[str] = field(default_factory=list)
    # (weekly, daily) form bodies, each with the form token bound to its page's link
    save_bodies: list[tuple[str, str]] = field(default_factory=list)
    one_click_paths: list[str] = field(default_factory=list)


def seed(database_url: str, candidates: int, console: Any) -> Seeded:
    """Migrate, seed the demo company and `candidates` subscribed candidates; make links."""
    from sqlalchemy import select

    from portal.demo import seed_demo
    from portal.migrate import upgrade
    from portal.views.preferences import link_form_token
    from preferences.db import make_engine, make_session_factory, session_scope
    from preferences.models import Candidate, ConsentSource, Interest
    from preferences.subscriptions import opt_in_mass_email, subscribe
    from preferences.tokens import LinkPurpose, make_link_token

    keys = tuple(SECRET_KEYS.split(","))
    engine = make_engine(database_url)
    started = time.perf_counter()
    try:
        upgrade(engine)
        factory = make_session_factory(engine)
        out = Seeded()
        with session_scope(factory) as session:
            seed_demo(session, history=False)
            interests = list(session.scalars(select(Interest).order_by(Interest.position)))
            chosen_per_candidate: list[list[Interest]] = []
            people: list[Candidate] = []
            # After the English-speaking candidates, half as many Spanish-speaking ones.
            spanish_from = candidates
            for n in range(candidates + candidates // 2):
                candidate = Candidate(
                    email=f"bench{n}@example.com",
                    first_name=f"Bench{n}",
                    last_name="Web",
                    locale="es" if n >= spanish_from else "en",
                )
                session.add(candidate)
                people.append(candidate)
                chosen_per_candidate.append(
                    [interests[(n + k) % len(interests)] for k in (0, 3, 7)]
                )
            session.flush()
            for candidate, chosen in zip(people, chosen_per_candidate, strict=True):
                for interest in chosen:
                    subscribe(
                        session, candidate, interest, source=ConsentSource.IMPORT, confirmed=True
                    )
                opt_in_mass_email(session, candidate, source=ConsentSource.IMPORT)
            for candidate in people[spanish_from:]:
                pref = make_link_token(keys, LinkPurpose.PREFERENCES, candidate)
                out.pref_paths_es.append(f"/preferences/{pref}")
            del people[spanish_from:], chosen_per_candidate[spanish_from:]
            for candidate, chosen in zip(people, chosen_per_candidate, strict=True):
                pref = make_link_token(keys, LinkPurpose.PREFERENCES, candidate)
                out.pref_paths.append(f"/preferences/{pref}")
                ids = [str(i.id) for i in chosen]
                # mass_email=yes keeps it on: a Save that turns it off asks first, writing nothing.
                picks = f"csrf_token={link_form_token(pref, keys[0])}&mass_email=yes" + "".join(
                    f"&interest={i}" for i in ids
                )
                out.save_bodies.append(
                    tuple(  # type: ignore[arg-type]
                        picks + "".join(f"&frequency-{i}={freq}" for i in ids)
                        for freq in ("weekly", "daily")
                    )
                )
            # Round by round, so consecutive requests hit different candidates.
            for ref_no in range(4):
                for candidate, chosen in zip(people, chosen_per_candidate, strict=True):
                    ref = f"interest:{chosen[ref_no].id}" if ref_no < 3 else "mass_email"
                    token = make_link_token(keys, LinkPurpose.ONE_CLICK, candidate, l=ref)
                    out.one_click_paths.append(f"/unsubscribe/{token}")
        settle(engine)
    finally:
        engine.dispose()
    console.print(
        f"  seeded {candidates} candidates (and {candidates // 2} Spanish-speaking), "
        f"{3 * (candidates + candidates // 2)} subscriptions "
        f"in {time.perf_counter() - started:.1f} s"
    )
    return out


def settle(engine: Any) -> None:
    """Bring fresh tables to the state of a live database before anything is timed.

    On PostgreSQL the seeding leaves thousands of new rows, so autovacuum would
    vacuum and analyze them a minute later, in the middle of a scenario, and
    skew its tail. Vacuum and analyze them now, then checkpoint (where allowed).
    """
    from sqlalchemy import text

    from portal.schema import metadata

    if engine.dialect.name != "postgresql":
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in metadata().sorted_tables:
            conn.execute(text(f'VACUUM ANALYZE "{table.name}"'))
        # CHECKPOINT needs a superuser (or pg_checkpoint); without one, skip it.
        with contextlib.suppress(Exception):
            conn.execute(text("CHECKPOINT"))


# --------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def clean_env(database_url: str, instance: Path) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", str(instance)),
        "LANG": "C.UTF-8",
        "TALENTCONNECT_DATABASE_URL": database_url,
        "TALENTCONNECT_INSTANCE_DIR": str(instance),
        "TALENTCONNECT_SECRET_KEYS": SECRET_KEYS,
        "TALENTCONNECT_CONNECT_RATE_LIMIT": RATE_LIMIT,
    }
    if "PYTHONPATH" in os.environ:  # to measure another checkout with this venv
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return env


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    log_file: TextIO

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"


def start_server(
    name: str, argv: list[str], env: dict[str, str], port: int, ready_path: str, log_dir: Path
) -> Server:
    log_path = log_dir / f"{name}.log"
    log_file = log_path.open("w")
    process = subprocess.Popen(argv, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    server = Server(name, process, port, log_path, log_file)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log_file.close()
            raise RuntimeError(
                f"{name} exited with {process.returncode}:\n{log_path.read_text()[-3000:]}"
            )
        try:
            with fetch(server.base + ready_path, timeout=2) as response:
                if response.status == 200:
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    stop_server(server)
    raise RuntimeError(f"{name} did not answer {ready_path} within 60 s")


def start_portal(env: dict[str, str], log_dir: Path, *, workers: int, threads: int) -> Server:
    """`talentconnect serve` (this environment's) on a free loopback port, once /healthz answers."""
    port = free_port()
    command = [str(Path(sys.executable).parent / "talentconnect"), "serve"]
    command += ["--host", HOST, "--port", str(port)]
    command += ["--workers", str(workers), "--threads", str(threads)]
    return start_server("portal", command, env, port, "/healthz", log_dir)


def stop_server(server: Server) -> int | None:
    """SIGTERM the server; return its exit code, or None if it had to be killed."""
    code: int | None
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
    try:
        code = server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
        code = None
    server.log_file.close()
    return code


# --------------------------------------------------------------------------- wrk scripts


def _lua_table(name: str, items: Sequence[str]) -> str:
    lines = [f"local {name} = {{}}"]
    for start in range(0, len(items), LUA_CHUNK):
        chunk = ",\n".join(json.dumps(s) for s in items[start : start + LUA_CHUNK])
        lines.append(
            f"do local a = {{\n{chunk}\n}} for i = 1, #a do {name}[#{name} + 1] = a[i] end end"
        )
    return "\n".join(lines) + "\n"


LUA_COMMON = """
local thread_count = 0
function setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
end

counter = 0

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "bytes": %d, "connect_errors": %d, '
    .. '"read_errors": %d, "write_errors": %d, "status_errors": %d, "timeouts": %d, '
    .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean))
end
"""


def lua_round_robin(paths: Sequence[str], threads: int, method: str, body: str | None) -> str:
    """Each wrk thread walks the list from its own offset, one item per request."""
    headers = f'{{["Content-Type"] = "{FORM_TYPE}"}}' if body is not None else "nil"
    body_lua = json.dumps(body) if body is not None else "nil"
    return (
        "-- generated by bench/web.py\n"
        + _lua_table("paths", paths)
        + LUA_COMMON
        + f"""
local threads = {threads}
local headers = {headers}
local body = {body_lua}
function request()
  local n = #paths
  local i = (math.floor(tid * n / threads) + counter) % n + 1
  counter = counter + 1
  return wrk.format("{method}", paths[i], headers, body)
end
"""
    )


def lua_save(paths: Sequence[str], bodies: Sequence[tuple[str, str]], threads: int) -> str:
    """Thread t saves candidates t, t+T, …; each pass flips every frequency (weekly/daily)."""
    return (
        "-- generated by bench/web.py\n"
        + _lua_table("paths", paths)
        + _lua_table("weekly", [b[0] for b in bodies])
        + _lua_table("daily", [b[1] for b in bodies])
        + LUA_COMMON
        + f"""
local threads = {threads}
local headers = {{["Content-Type"] = "{FORM_TYPE}"}}
function request()
  local per = math.floor(#paths / threads)
  local j = tid + threads * (counter % per) + 1
  local flip = math.floor(counter / per) % 2
  counter = counter + 1
  local body = (flip == 0) and weekly[j] or daily[j]
  return wrk.format("POST", paths[j], headers, body)
end
"""
    )


def run_wrk(
    wrk: str, url: str, script: Path, threads: int, connections: int, seconds: int
) -> dict[str, Any]:
    argv = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "5s",
        "-s",
        str(script),
        url,
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)
    match = re.search(r"^WRKJSON (\{.*\})$", done.stdout, re.MULTILINE)
    if done.returncode != 0 or match is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout}\n{done.stderr}")
    raw: dict[str, Any] = json.loads(match.group(1))
    seconds_run = raw["duration_us"] / 1e6
    errors = (
        raw["connect_errors"]
        + raw["read_errors"]
        + raw["write_errors"]
        + raw["status_errors"]
        + raw["timeouts"]
    )
    return {
        "requests": raw["requests"],
        "seconds": round(seconds_run, 2),
        "rate_per_s": round(raw["requests"] / seconds_run, 1),
        "ok_rate_per_s": round((raw["requests"] - raw["status_errors"]) / seconds_run, 1),
        "p50_ms": round(raw["p50_us"] / 1000, 2),
        "p90_ms": round(raw["p90_us"] / 1000, 2),
        "p99_ms": round(raw["p99_us"] / 1000, 2),
        "max_ms": round(raw["max_us"] / 1000, 2),
        "errors": errors,
        "status_errors": raw["status_errors"],
        "timeouts": raw["timeouts"],
    }


def server_times(log_path: Path, offset: int) -> dict[str, float]:
    """p50/p99 of the server's own time per request (its `ms=` log field) after `offset`.

    Next to wrk's figures, which include the wait in the listen queue and for a
    CPU shared with wrk, this is how long the application took.
    """
    with log_path.open("rb") as log:
        log.seek(offset)
        text = log.read().decode(errors="replace")
    times = sorted(float(m) for m in re.findall(r"msg=request .*?\bms=([0-9.]+)", text))
    if not times:
        return {}
    return {
        "server_p50_ms": times[len(times) // 2],
        "server_p99_ms": times[min(len(times) - 1, int(len(times) * 0.99))],
    }


def worker_pids(master: int) -> list[str]:
    """The process ids of the gunicorn master's children (its workers)."""
    return Path(f"/proc/{master}/task/{master}/children").read_text().split()


def workers_cpu_seconds(master: int) -> float:
    """User plus system CPU seconds used so far by the gunicorn master's worker processes."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in worker_pids(master):
        with contextlib.suppress(OSError):
            # The fields after the command name, which is in brackets and may hold spaces:
            # utime and stime are the 14th and 15th of the whole line.
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def run_measured(
    server: Server, wrk: str, url: str, script: Path, threads: int, args: argparse.Namespace
) -> dict[str, Any]:
    """run_wrk against `server`, adding its workers' CPU milliseconds per request answered."""
    cpu_before = workers_cpu_seconds(server.process.pid)
    figures = run_wrk(wrk, url, script, threads, args.connections, args.seconds)
    cpu = workers_cpu_seconds(server.process.pid) - cpu_before
    figures["server_cpu_ms_per_request"] = round(1000 * cpu / max(1, figures["requests"]), 3)
    return figures


def run_logged(
    server: Server, wrk: str, script: Path, threads: int, args: argparse.Namespace
) -> dict[str, Any]:
    """run_measured against `server`, adding the server-side times from its log.

    With --profile, the server's workers are sampled by py-spy meanwhile (the file is
    named after the script: BACKEND-SCENARIO.txt in the --profile folder).
    """
    offset = server.log_path.stat().st_size
    profile = contextlib.nullcontext()
    if args.profile is not None:
        from bench.profiling import recording

        out = args.profile / f"{args.backend_now}-{script.stem}.txt"
        profile = recording(server.process.pid, out)  # type: ignore[assignment]
    with profile:
        figures = run_measured(server, wrk, server.base, script, threads, args)
    time.sleep(0.2)  # the last log lines of the run
    figures.update(server_times(server.log_path, offset))
    return figures


def worker_rss_mb(master: int) -> list[float]:
    """Resident memory (VmRSS) of each child process of the gunicorn master, in MB."""
    sizes = []
    for pid in worker_pids(master):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    sizes.append(round(int(line.split()[1]) / 1024, 1))
    return sizes


# --------------------------------------------------------------------------- one backend


def fetch(
    url: str,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10,
) -> Any:
    """Open an http://127.0.0.1 URL (never another scheme or host)."""
    if not url.startswith(f"http://{HOST}:"):
        raise ValueError(f"not a loopback URL: {url}")
    request = urllib.request.Request(url, data=data, headers=headers or {})  # noqa: S310
    return urllib.request.urlopen(request, timeout=timeout)  # noqa: S310


def page_text(base: str, path: str) -> str:
    """GET a page like a browser and return its HTML."""
    with fetch(base + path) as response:
        html: str = response.read().decode()
    return html


def page_form_token(base: str, path: str) -> str:
    """GET a preference page like a browser and return the form token it carries."""
    html = page_text(base, path)
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    if match is None:
        raise RuntimeError("the preference page carries no form token")
    return match.group(1)


def check_ok(base: str, path: str, data: bytes | None = None) -> None:
    headers = {"Content-Type": FORM_TYPE} if data is not None else {}
    try:
        with fetch(base + path, data, headers) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        raise RuntimeError(f"sanity request {path[:40]}… answered {exc.code}") from None


def minimal_summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The minimal page's figures for the table: its median run, with every run's rate
    and CPU cost."""
    if not runs:
        return {}
    median = sorted(runs, key=lambda run: run["ok_rate_per_s"])[len(runs) // 2]
    return {
        **median,
        "runs_ok_rate_per_s": [run["ok_rate_per_s"] for run in runs],
        "runs_cpu_ms_per_request": [run["server_cpu_ms_per_request"] for run in runs],
    }


def run_portal_scenarios(
    portal: Server,
    seeded: Seeded,
    tmp: Path,
    wrk: str,
    wrk_threads: int,
    args: argparse.Namespace,
    console: Any,
    bracketed: Callable[[str, dict[str, Any]], None],
) -> None:
    """Run each chosen scenario against the portal; `bracketed(name, figures)` keeps each."""
    check_ok(portal.base, seeded.pref_paths[0])
    wanted = args.scenarios
    if "pref_get" in wanted:
        script = tmp / "pref_get.lua"
        script.write_text(lua_round_robin(seeded.pref_paths, wrk_threads, "GET", None))
        console.print(f"  preference GET for {args.seconds} s…")
        bracketed("pref_get", run_logged(portal, wrk, script, wrk_threads, args))

    if "pref_get_es" in wanted:
        spanish = page_text(portal.base, seeded.pref_paths_es[0])
        if 'lang="es"' not in spanish:
            raise RuntimeError("a Spanish-speaking candidate's page is not in Spanish")
        script = tmp / "pref_get_es.lua"
        script.write_text(lua_round_robin(seeded.pref_paths_es, wrk_threads, "GET", None))
        console.print(f"  preference GET in Spanish for {args.seconds} s…")
        bracketed("pref_get_es", run_logged(portal, wrk, script, wrk_threads, args))

    if "pref_save" in wanted:
        # The bench's bodies carry the same token the page itself shows.
        shown = page_form_token(portal.base, seeded.pref_paths[-1])
        if f"csrf_token={shown}&" not in seeded.save_bodies[-1][1]:
            raise RuntimeError("the page's form token differs from the bench's")
        body = seeded.save_bodies[-1][0].encode()  # weekly: seeded daily
        with fetch(portal.base + seeded.pref_paths[-1], body, SAVE_HEADERS) as answer:
            if b'name="undo"' not in answer.read():  # it changed something
                raise RuntimeError("the bench's Save did not change anything")
        script = tmp / "pref_save.lua"
        script.write_text(lua_save(seeded.pref_paths, seeded.save_bodies, wrk_threads))
        console.print(f"  preference Save for {args.seconds} s…")
        bracketed("pref_save", run_logged(portal, wrk, script, wrk_threads, args))

    if "one_click" in wanted:
        check_ok(portal.base, seeded.one_click_paths[-1])  # GET: confirm page only
        script = tmp / "one_click.lua"
        script.write_text(
            lua_round_robin(seeded.one_click_paths, wrk_threads, "POST", ONE_CLICK_BODY)
        )
        console.print(f"  one-click POST for {args.seconds} s…")
        figures = run_logged(portal, wrk, script, wrk_threads, args)
        figures["tokens"] = len(seeded.one_click_paths)
        bracketed("one_click", figures)


def bench_backend(backend: str, args: argparse.Namespace, wrk: str, console: Any) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix=f"tc-bench-web-{backend}-") as tmp_text:
        tmp = Path(tmp_text)
        instance = tmp / "instance"
        instance.mkdir()
        with database(backend, tmp) as url:
            args.backend_now = backend
            seeded = seed(url, args.candidates, console)
            env = clean_env(url, instance)
            wrk_threads = max(1, min(os.cpu_count() or 2, args.connections))

            # (a) the ceiling: a separate minimal Flask app on the same server settings,
            # up for the whole run and measured before the first scenario and after each
            # one: each scenario's ratio is to the minimal page's rate around it.
            port = free_port()
            minimal = start_server(
                "minimal",
                [
                    sys.executable,
                    str(Path(__file__).resolve()),
                    "--minimal-server",
                    *(str(port), url, str(args.workers), str(args.threads)),
                ],
                env,
                port,
                "/",
                tmp,
            )
            minimal_script = tmp / "minimal.lua"
            minimal_script.write_text(lua_round_robin(["/"], wrk_threads, "GET", None))
            minimal_runs: list[dict[str, Any]] = []

            def measure_minimal() -> float:
                console.print(f"  minimal page for {args.seconds} s…")
                run = run_measured(
                    minimal, wrk, minimal.base + "/", minimal_script, wrk_threads, args
                )
                minimal_runs.append(run)
                return float(run["ok_rate_per_s"])

            def bracketed(name: str, result: dict[str, Any]) -> None:
                before = minimal_runs[-1]
                result["minimal_rate_per_s"] = round(
                    (before["ok_rate_per_s"] + measure_minimal()) / 2, 1
                )
                cpu = (
                    before["server_cpu_ms_per_request"]
                    + minimal_runs[-1]["server_cpu_ms_per_request"]
                ) / 2
                result["minimal_cpu_ms_per_request"] = round(cpu, 3)
                own = result["server_cpu_ms_per_request"]
                result["cpu_ratio"] = round(cpu / own, 3) if own else None
                figures[name] = result

            try:
                measure_minimal()
                # (b)-(d) the portal under `talentconnect serve`.
                portal = start_portal(env, tmp, workers=args.workers, threads=args.threads)
                try:
                    run_portal_scenarios(
                        portal, seeded, tmp, wrk, wrk_threads, args, console, bracketed
                    )
                    figures["worker_rss_mb"] = worker_rss_mb(portal.process.pid)
                finally:
                    code = stop_server(portal)
                    figures["server_exit"] = code
                    if code != 0:
                        console.print(
                            f"[red]  portal server exit code {code}; log {portal.log_path}"
                        )
                        console.print(portal.log_path.read_text()[-2000:])
            finally:
                figures["minimal"] = minimal_summary(minimal_runs)
                figures["minimal"]["server_exit"] = stop_server(minimal)
    return figures


# --------------------------------------------------------------------------- main


def _ratio_check(
    figures: dict[str, Any], name: str, label: str, least: float
) -> tuple[str, str, str, bool]:
    """`name`'s rate over the minimal page's around it (the mean of the minimal runs just
    before and after it), against `least`."""
    minimal = figures[name].get("minimal_rate_per_s", figures["minimal"]["ok_rate_per_s"])
    ratio = figures[name]["ok_rate_per_s"] / minimal if minimal else 0.0
    figures[f"{name}_ratio"] = round(ratio, 3)
    return (f"{label} / minimal", f"{ratio:.2f}", f"≥ {least:.2f}", ratio >= least)


def check_targets(figures: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    """(name, measured, target, ok) for each target of one backend (scenarios that ran)."""
    checks: list[tuple[str, str, str, bool]] = []
    ran = set(figures)
    for name, label in (("pref_get", "pref GET"), ("pref_get_es", "pref GET (es)")):
        if name in ran:
            checks.append(_ratio_check(figures, name, label, PREF_GET_MIN_RATIO))
    if "pref_get" in ran:
        p99 = figures["pref_get"]["p99_ms"]
        checks.append(
            (
                "pref GET p99",
                f"{p99:.1f} ms",
                f"< {PREF_GET_MAX_P99_MS:.0f} ms",
                p99 < PREF_GET_MAX_P99_MS,
            )
        )
    if "pref_save" in ran:
        checks.append(_ratio_check(figures, "pref_save", "Save", PREF_SAVE_MIN_RATIO))
        p99 = figures["pref_save"].get("server_p99_ms", float("inf"))
        checks.append(
            (
                "Save server p99",
                f"{p99:.1f} ms",
                f"< {PREF_SAVE_MAX_SERVER_P99_MS:.0f} ms",
                p99 < PREF_SAVE_MAX_SERVER_P99_MS,
            )
        )
    if "one_click" in ran:
        checks.append(_ratio_check(figures, "one_click", "one-click", ONE_CLICK_MIN_RATIO))
        rate = figures["one_click"]["ok_rate_per_s"]
        checks.append(
            (
                "one-click POST rate",
                f"{rate:.0f}/s",
                f"≥ {ONE_CLICK_MIN_RATE:.0f}/s",
                rate >= ONE_CLICK_MIN_RATE,
            )
        )
    rss = figures.get("worker_rss_mb") or [float("inf")]
    checks.append(
        (
            "web worker RSS",
            " / ".join(f"{mb:.0f}" for mb in rss) + " MB",
            f"≤ {WORKER_MAX_RSS_MB:.0f} MB each",
            max(rss) <= WORKER_MAX_RSS_MB,
        )
    )
    for name in SCENARIOS:
        if name in ran and figures[name]["errors"]:
            checks.append((f"{name} errors", str(figures[name]["errors"]), "0", False))
    if figures.get("server_exit") != 0:
        checks.append(("portal clean exit", str(figures.get("server_exit")), "0", False))
    return checks


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--minimal-server"]:
        run_minimal_server(int(argv[1]), argv[2], int(argv[3]), int(argv[4]))
        return 0
    parser = argparse.ArgumentParser(
        prog="bench/web.py", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("--seconds", type=int, default=10, help="per scenario (10)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent (32)")
    parser.add_argument("--candidates", type=int, default=2000, help="seeded (2000)")
    parser.add_argument(
        "--workers", type=int, default=None, help="gunicorn worker processes (one per core)"
    )
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (1)")
    parser.add_argument("--backends", default="sqlite,postgresql", help="comma-separated")
    parser.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS[1:]),
        help="comma-separated portal scenarios (all; minimal always runs)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        metavar="DIR",
        help="sample the portal's workers with py-spy during each scenario; "
        "raw stacks and a summary go to DIR",
    )
    args = parser.parse_args(argv)
    args.scenarios = [n.strip() for n in args.scenarios.split(",") if n.strip()]
    if any(n not in SCENARIOS[1:] for n in args.scenarios):
        parser.error(f"--scenarios takes {', '.join(SCENARIOS[1:])}")
    if args.workers is None:
        from portal.web.serving import default_workers

        args.workers = default_workers()
    if not 1 <= args.seconds <= 300:
        parser.error("--seconds must be between 1 and 300")
    if args.candidates < 4 or args.connections < 1:
        parser.error("need at least 4 candidates and 1 connection")
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if not backends or any(b not in ("sqlite", "postgresql") for b in backends):
        parser.error("--backends takes sqlite and/or postgresql")

    from rich.console import Console
    from rich.table import Table

    console = Console()
    wrk = shutil.which("wrk")
    if wrk is None:
        console.print(
            "[red]wrk is not installed.[/red] Install it with `apt-get install -y wrk` "
            "(Debian package), then run this again."
        )
        return 2

    results: dict[str, Any] = {
        "settings": {
            "seconds": args.seconds,
            "connections": args.connections,
            "candidates": args.candidates,
            "gunicorn_workers": args.workers,
            "threads_per_worker": args.threads,
            "cpus": os.cpu_count(),
        },
        "targets": {
            "pref_get_min_ratio": PREF_GET_MIN_RATIO,
            "pref_get_max_p99_ms": PREF_GET_MAX_P99_MS,
            "one_click_min_rate_per_s": ONE_CLICK_MIN_RATE,
            "one_click_min_ratio": ONE_CLICK_MIN_RATIO,
            "pref_save_min_ratio": PREF_SAVE_MIN_RATIO,
            "pref_save_max_server_p99_ms": PREF_SAVE_MAX_SERVER_P99_MS,
            "worker_max_rss_mb": WORKER_MAX_RSS_MB,
        },
        "backends": {},
    }
    failed = False
    checks: dict[str, list[tuple[str, str, str, bool]]] = {}
    for backend in backends:
        console.print(f"[bold]{backend}[/bold]")
        try:
            figures = bench_backend(backend, args, wrk, console)
        except Exception as exc:  # one backend failing must not hide the other's figures
            console.print(f"[red]  {backend}: {type(exc).__name__}: {exc}")
            results["backends"][backend] = {"error": f"{type(exc).__name__}: {exc}"}
            failed = True
            continue
        checks[backend] = check_targets(figures)
        figures["targets_met"] = all(ok for *_, ok in checks[backend])
        failed |= not figures["targets_met"]
        results["backends"][backend] = figures

    table = Table(
        title=f"Talent Connect web load ({args.connections} connections, "
        f"{args.seconds} s per scenario, gunicorn {args.workers} workers x {args.threads} threads)"
    )
    columns = (
        "backend",
        "scenario",
        "req/s",
        "p50 ms",
        "p99 ms",
        "server p99 ms",
        "CPU ms/req",
        "CPU ratio",
        "errors",
    )
    for column in columns:
        table.add_column(column, justify="left" if column in ("backend", "scenario") else "right")
    for backend, figures in results["backends"].items():
        if "error" in figures:
            table.add_row(backend, "[red]error", *[""] * 6, figures["error"][:40])
            continue
        for name in SCENARIOS:
            if name not in figures:
                continue
            row = figures[name]
            table.add_row(
                backend,
                name,
                f"{row['ok_rate_per_s']:.0f}",
                f"{row['p50_ms']:.1f}",
                f"{row['p99_ms']:.1f}",
                f"{row['server_p99_ms']:.1f}" if "server_p99_ms" in row else "",
                f"{row['server_cpu_ms_per_request']:.2f}",
                f"{row['cpu_ratio']:.2f}" if row.get("cpu_ratio") else "",
                str(row["errors"]),
            )
    console.print(table)
    target_table = Table(title="Targets")
    for column in ("backend", "check", "measured", "target", "ok"):
        target_table.add_column(column)
    for backend, rows in checks.items():
        for name, measured, target, ok in rows:
            target_table.add_row(backend, name, measured, target, "[green]yes" if ok else "[red]NO")
    console.print(target_table)
    if args.profile is not None:
        from bench.profiling import summarize

        for raw in sorted(args.profile.glob("*.txt")):
            if raw.name.endswith("-summary.txt"):
                continue
            summary = raw.with_name(raw.stem + "-summary.txt")
            summary.write_text("\n".join(summarize(raw, top=25)) + "\n")
        console.print(f"profiles in {args.profile} (BACKEND-SCENARIO.txt and -summary.txt)")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    console.print(f"written to {RESULTS}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
