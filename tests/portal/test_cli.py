"""The `talentconnect` command, run as real processes and stopped with real signals."""

from __future__ import annotations

import html
import http.cookiejar
import re
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mailer.models import MessageKind, OutboxMessage, OutboxStatus
from mailer.outbox import enqueue
from mailer.sink import MailSink, MemoryStore, free_port
from portal.config import SETTINGS
from portal.migrate import upgrade
from preferences.clock import now
from preferences.db import make_engine, make_session_factory, session_scope
from tests.portal.helpers import (
    STRONG_SECRET,
    Running,
    child_pids,
    clean_env,
    csrf_token,
    pid_alive,
    run_cli,
    running_cli,
    wait_until,
)

START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0


class Browser:
    """A tiny HTTP client with cookies, for talking to a running server."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def get(self, path: str) -> tuple[int, str, str]:
        """Return (status, final URL, body); redirects are followed."""
        try:
            with self._opener.open(self.base_url + path, timeout=5) as response:
                return response.status, response.geturl(), response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.geturl(), exc.read().decode()

    def post(self, path: str, data: dict[str, str]) -> tuple[int, str, str]:
        body = urllib.parse.urlencode(data).encode()
        try:
            with self._opener.open(self.base_url + path, data=body, timeout=5) as response:
                return response.status, response.geturl(), response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.geturl(), exc.read().decode()

    def answers(self, path: str = "/") -> bool:
        try:
            return self.get(path)[0] == 200
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _stop_and_check(proc: Running, sig: signal.Signals, ports: list[int]) -> None:
    """Send `sig`; the process must exit 0, leaving no children and no open ports."""
    children = child_pids(proc.pid)
    proc.signal(sig)
    code = proc.wait(STOP_TIMEOUT)
    assert code == 0, f"exit code {code}\n{proc.output()}"
    assert "Traceback" not in proc.output()
    assert re.search(r"msg=stopped\b", proc.stderr()), proc.stderr()
    # A child would be re-parented, not killed, when its parent exits.
    wait_until(
        lambda: not any(pid_alive(child) for child in children),
        timeout=5,
        what=f"children {children} to exit",
    )
    for port in ports:
        assert not _port_open(port), f"port {port} still open after exit"


def _migrated_sqlite(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


# --- run -----------------------------------------------------------------------------


def test_run_demo_serves_sends_mail_and_stops_on_sigint(tmp_path: Path) -> None:
    """`run --demo` serves, prints a working login, delivers mail, and exits 0 on SIGINT."""
    port = free_port()
    instance = tmp_path / "instance"
    env = clean_env(INSTANCE_DIR=str(instance), WORKER_POLL_SECONDS="0.2")
    with running_cli(["run", "--demo", "--port", str(port)], env=env, cwd=tmp_path) as proc:
        browser = Browser(f"http://127.0.0.1:{port}")
        wait_until(
            lambda: browser.answers("/") or proc.process.poll() is not None,
            timeout=START_TIMEOUT,
            what="GET / to answer 200",
        )
        assert proc.process.poll() is None, proc.output()

        login = proc.wait_for_output(
            r"email:\s+(\S+@\S+)\s+password:\s+(\S+)", timeout=START_TIMEOUT
        )
        email, password = login.group(1), login.group(2)
        assert email == "recruiter@acme.example.com"
        output = proc.output()
        assert f"Talent Connect is running at http://127.0.0.1:{port}" in output
        assert f"http://127.0.0.1:{port}/admin/login" in output
        sink_port = int(proc.wait_for_output(r"smtp=smtp://127\.0\.0\.1:(\d+)", timeout=5)[1])

        # The demo data is on the site.
        status, _, jobs_page = browser.get("/jobs")
        assert status == 200
        assert "40 open roles" in jobs_page

        # The printed login works.
        _, _, form = browser.get("/admin/login")
        status, url, home = browser.post(
            "/admin/login",
            {"csrf_token": csrf_token(form), "email": email, "password": password},
        )
        assert status == 200
        assert url.endswith("/admin/"), url
        assert "Welcome, Demo Recruiter" in home

        # A queued email reaches the development sink and shows in the console.
        engine = make_engine(f"sqlite:///{instance / 'talentconnect.db'}")
        try:
            with session_scope(make_session_factory(engine)) as session:
                assert enqueue(
                    session,
                    kind=MessageKind.WELCOME,
                    template="welcome",
                    to_address="new.candidate@example.com",
                    dedupe_key="welcome:cli-test",
                    context={"first_name": "Nia"},
                )

            def mail_listed() -> str | None:
                page = browser.get("/admin/mail")[2]
                return page if "new.candidate@example.com" in page else None

            mail_page = wait_until(mail_listed, timeout=20, what="the message in /admin/mail")
            assert "Welcome to the Acme talent community" in mail_page
            key = re.search(r'href="/admin/mail/([^"/]+)"', mail_page)
            assert key is not None
            status, _, message_page = browser.get(f"/admin/mail/{key.group(1)}")
            assert status == 200
            assert "Hi Nia," in message_page
            with session_scope(make_session_factory(engine)) as session:
                row = session.scalar(select(OutboxMessage))
                assert row is not None
                assert row.status is OutboxStatus.SENT
        finally:
            engine.dispose()

        demo_id_port = _sign_in_with_demo_id(proc, browser)
        _stop_and_check(proc, signal.SIGINT, [port, sink_port, demo_id_port])


def _sign_in_with_demo_id(proc: Running, portal: Browser) -> int:
    """The demo's start page offers Demo ID, which fills in the details; return its port."""
    logged = proc.wait_for_output(
        r"msg=\"?Demo ID sign-in provider listening\"? .*url=(http://127\.0\.0\.1:(\d+))",
        timeout=5,
    )
    demo_url = logged[1]
    status, _, start = portal.get("/connect")
    assert status == 200
    assert "Continue with Demo ID" in start
    assert "Continue without one" in start

    status, url, page = portal.get("/connect/social/demo")
    assert status == 200 and url.startswith(demo_url + "/authorize?"), url
    assert "Demo ID — development only" in page
    form = re.search(r'<form method="post" action="([^"]+)"', page)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert form is not None and token is not None
    # One browser for both sites: the portal's session cookie and Demo ID's form cookie.
    demo_id = Browser(demo_url)
    demo_id._opener = portal._opener
    status, url, _ = demo_id.post(
        html.unescape(form[1]),
        {
            "csrf_token": token[1],
            "given_name": "Sam",
            "family_name": "Rivera",
            "email": "sam.rivera@example.com",
            "action": "continue",
        },
    )
    assert status == 200 and urllib.parse.urlsplit(url).path == "/connect/interests", url
    details = portal.get("/connect/details")[2]
    assert 'value="Sam"' in details
    assert 'value="sam.rivera@example.com"' in details
    return int(logged[2])


def test_run_stops_on_sigterm(tmp_path: Path) -> None:
    """`run` (no demo) exits 0 on SIGTERM, closing the web and mail-sink ports."""
    port = free_port()
    env = clean_env(INSTANCE_DIR=str(tmp_path / "instance"), SECRET_KEYS=STRONG_SECRET)
    with running_cli(["run", "--port", str(port)], env=env, cwd=tmp_path) as proc:
        browser = Browser(f"http://127.0.0.1:{port}")
        wait_until(
            lambda: browser.answers("/healthz") or proc.process.poll() is not None,
            timeout=START_TIMEOUT,
            what="GET /healthz to answer 200",
        )
        assert proc.process.poll() is None, proc.output()
        assert "Demo recruiter login" not in proc.output()
        sink_port = int(proc.wait_for_output(r"smtp=smtp://127\.0\.0\.1:(\d+)", timeout=5)[1])
        _stop_and_check(proc, signal.SIGTERM, [port, sink_port])
    # The new instance folder was created for the SQLite database.
    assert (tmp_path / "instance" / "talentconnect.db").is_file()


@pytest.mark.parametrize("command", ["run", "serve"])
def test_busy_port_is_one_clear_line(tmp_path: Path, command: str) -> None:
    """`run`/`serve` on a port already taken exit 1 with one line naming the address."""
    env = clean_env(
        INSTANCE_DIR=str(tmp_path / "instance"), DATABASE_URL=_migrated_sqlite(tmp_path)
    )
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli([command, "--port", str(port)], env=env, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Talent Connect is running" not in result.stderr


def test_run_demo_is_refused_in_production(tmp_path: Path) -> None:
    """`run --demo` in production exits 2 with a message and creates no database."""
    env = clean_env(
        INSTANCE_DIR=str(tmp_path / "instance"),
        ENV="production",
        SECRET_KEYS=STRONG_SECRET,
        BASE_URL="https://careers.acme.example.com",
        POSTAL_ADDRESS="1 Market Street",
    )
    result = run_cli(["run", "--demo", "--port", str(free_port())], env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert "--demo is refused in production" in result.stderr
    assert not (tmp_path / "instance" / "talentconnect.db").exists()


def test_serve_answers_and_stops_on_sigterm(tmp_path: Path) -> None:
    """`serve` runs only the web server and exits 0 on SIGTERM."""
    port = free_port()
    env = clean_env(INSTANCE_DIR=str(tmp_path), DATABASE_URL=_migrated_sqlite(tmp_path))
    with running_cli(["serve", "--port", str(port)], env=env, cwd=tmp_path) as proc:
        browser = Browser(f"http://127.0.0.1:{port}")
        wait_until(
            lambda: browser.answers("/healthz") or proc.process.poll() is not None,
            timeout=START_TIMEOUT,
            what="GET /healthz",
        )
        assert proc.process.poll() is None, proc.output()
        _stop_and_check(proc, signal.SIGTERM, [port])


# --- worker and scheduler -------------------------------------------------------------


def test_worker_until_empty_sends_the_queue(
    database_url: str,
    sessions: sessionmaker[Session],
    smtp_server: MailSink,
    tmp_path: Path,
) -> None:
    """`worker --until-empty` delivers every due message to the relay, then exits 0."""
    recipients = ["ada@example.com", "grace@example.com", "katherine@example.com"]
    with sessions.begin() as session:
        for address in recipients:
            enqueue(
                session,
                kind=MessageKind.WELCOME,
                template="welcome",
                to_address=address,
                dedupe_key=f"welcome:{address}",
            )
    env = clean_env(
        INSTANCE_DIR=str(tmp_path / "instance"),
        DATABASE_URL=database_url,
        SMTP_URL=smtp_server.url,
        SECRET_KEYS=STRONG_SECRET,
    )
    result = run_cli(["worker", "--until-empty", "--batch-size", "2"], env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "worker started" in result.stderr
    assert "worker stopped" in result.stderr

    assert isinstance(smtp_server.store, MemoryStore)
    messages = smtp_server.store.wait_for(3, timeout=5)
    assert sorted(m.envelope_to[0] for m in messages) == recipients
    assert all(m.parsed()["Subject"] == "Welcome to the Acme talent community" for m in messages)
    with sessions() as session:
        statuses = session.scalars(select(OutboxMessage.status)).all()
    assert statuses == [OutboxStatus.SENT] * 3


def test_worker_needs_a_relay(tmp_path: Path) -> None:
    """`worker` without TALENTCONNECT_SMTP_URL exits 2, naming the variable."""
    env = clean_env(INSTANCE_DIR=str(tmp_path), DATABASE_URL=_migrated_sqlite(tmp_path))
    result = run_cli(["worker", "--until-empty"], env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert "TALENTCONNECT_SMTP_URL" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
@pytest.mark.parametrize(
    ("command", "started"),
    [(["worker"], "worker started"), (["scheduler"], "scheduler started")],
    ids=["worker", "scheduler"],
)
def test_long_running_commands_stop_on_signals(
    tmp_path: Path, smtp_server: MailSink, command: list[str], started: str, sig: signal.Signals
) -> None:
    """`worker` and `scheduler` log that they started and exit 0 soon after a signal."""
    env = clean_env(
        INSTANCE_DIR=str(tmp_path),
        DATABASE_URL=_migrated_sqlite(tmp_path),
        SMTP_URL=smtp_server.url,
        WORKER_POLL_SECONDS="30",
    )
    with running_cli(command, env=env, cwd=tmp_path) as proc:
        proc.wait_for_output(started, timeout=START_TIMEOUT)
        proc.signal(sig)
        # The worker is idle in a 30 s poll; a signal must cut that wait short.
        assert proc.wait(5) == 0, proc.output()
        assert "signal received, shutting down" in proc.stderr()
        assert started.replace("started", "stopped") in proc.stderr()
        assert "Traceback" not in proc.output()


# --- outbox and db --------------------------------------------------------------------


def test_outbox_status_prints_counts(
    database_url: str, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    """`outbox status` prints a count per status, the oldest pending time and recent errors."""
    with sessions.begin() as session:
        for n in range(2):
            enqueue(
                session,
                kind=MessageKind.WELCOME,
                template="welcome",
                to_address=f"p{n}@example.com",
                dedupe_key=f"pending-{n}",
            )
        session.add(
            OutboxMessage(
                dedupe_key="failed-1",
                kind=MessageKind.WELCOME,
                template="welcome",
                to_address="gone@example.com",
                status=OutboxStatus.FAILED,
                last_error="550 5.1.1 mailbox unavailable",
                next_attempt_at=now(),
            )
        )
    env = clean_env(INSTANCE_DIR=str(tmp_path), DATABASE_URL=database_url)
    result = run_cli(["outbox", "status"], env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    counts = dict(
        re.findall(r"^\W*(pending|sending|sent|skipped|failed)\W+(\d+)\W*$", result.stdout, re.M)
    )
    assert counts == {"pending": "2", "sending": "0", "sent": "0", "skipped": "0", "failed": "1"}
    assert re.search(r"Oldest pending: \d{4}-\d\d-\d\dT", result.stdout)
    assert "failed: 550 5.1.1 mailbox unavailable" in result.stdout


def test_commands_explain_an_unmigrated_database(tmp_path: Path) -> None:
    """On a database that was never migrated, commands print one line instead of a traceback."""
    env = clean_env(INSTANCE_DIR=str(tmp_path), DATABASE_URL=f"sqlite:///{tmp_path / 'blank.db'}")
    result = run_cli(["outbox", "status"], env=env, cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "database error" in lines[0]
    assert "talentconnect db upgrade" in lines[0]


def test_commands_explain_an_unreachable_database(tmp_path: Path) -> None:
    """A PostgreSQL server that isn't there is one clear line and exit 1."""
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test?connect_timeout=3"
    env = clean_env(INSTANCE_DIR=str(tmp_path), DATABASE_URL=url)
    result = run_cli(["db", "current"], env=env, cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "database error" in lines[0]
    assert "TALENTCONNECT_DATABASE_URL" in lines[0]


def test_db_upgrade_creates_the_sqlite_folder(tmp_path: Path) -> None:
    """`db upgrade` makes the folder of a new SQLite database, even with explicit keys."""
    instance = tmp_path / "new" / "instance"
    env = clean_env(INSTANCE_DIR=str(instance), SECRET_KEYS=STRONG_SECRET)
    result = run_cli(["db", "upgrade"], env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (instance / "talentconnect.db").is_file()


# --- help ----------------------------------------------------------------------------

SUBCOMMANDS = [
    [],
    ["run"],
    ["serve"],
    ["worker"],
    ["scheduler"],
    ["db"],
    ["db", "upgrade"],
    ["db", "current"],
    ["outbox"],
    ["outbox", "status"],
    ["settings"],
    ["inbound"],
    ["inbound", "serve"],
    ["bounces"],
    ["bounces", "serve"],
    ["bounces", "read"],
    ["alerts"],
    ["alerts", "list"],
    ["alerts", "run"],
    ["jobs"],
    ["jobs", "import"],
    ["candidates"],
    ["candidates", "import"],
    ["api-token"],
    ["api-token", "create"],
    ["api-token", "list"],
    ["api-token", "revoke"],
    ["campaigns"],
    ["campaigns", "dispatch"],
    ["campaigns", "list"],
    ["recruiter"],
    ["recruiter", "create"],
]


def test_help_for_every_command(tmp_path: Path) -> None:
    """`talentconnect --help` and every subcommand's --help print usage and exit 0."""
    from click.testing import CliRunner

    from portal.cli.main import cli

    # The installed script itself, once; every subcommand in-process (one process
    # each would start the whole application about fifty times).
    top = run_cli(["--help"], env=clean_env(INSTANCE_DIR=str(tmp_path / "instance")), cwd=tmp_path)
    assert top.returncode == 0, top.stderr
    assert "Usage: talentconnect" in top.stdout and top.stderr == ""
    runner = CliRunner()
    for args in SUBCOMMANDS:
        result = runner.invoke(cli, [*args, "--help"], prog_name="talentconnect")
        assert result.exit_code == 0, (args, result.output)
        assert "Usage: talentconnect" in result.output, args


def test_top_level_help_lists_the_commands(tmp_path: Path) -> None:
    """The top-level help names every command an operator needs."""
    result = run_cli(["--help"], env=clean_env(INSTANCE_DIR=str(tmp_path)), cwd=tmp_path)
    for name in ("run", "serve", "worker", "scheduler", "db", "outbox", "settings"):
        assert re.search(rf"^\s+{name}\s", result.stdout, re.MULTILINE), name


def test_top_level_help_lists_every_command_with_its_help() -> None:
    """Command modules load on first use, yet `--help` names each command with its help."""
    import importlib

    from click.testing import CliRunner

    from portal.cli.main import COMMANDS, cli

    result = CliRunner().invoke(cli, ["--help"], prog_name="talentconnect", terminal_width=200)
    assert result.exit_code == 0, result.output
    for name, (module, attribute) in COMMANDS.items():
        command = getattr(importlib.import_module(module), attribute)
        assert command.name == name
        line = rf"^\s+{re.escape(name)}\s+{re.escape(command.get_short_help_str(limit=150))}$"
        assert re.search(line, result.output, re.MULTILINE), name


def test_worker_loads_only_what_it_needs(tmp_path: Path) -> None:
    """`talentconnect worker` imports neither the web app, nor the resume parser, nor the
    other commands: each would add to every worker process's memory."""
    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: print(' '.join(sorted(sys.modules))))\n"
        "from portal.cli.main import main\n"
        "main(['worker', '--help'])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=clean_env(INSTANCE_DIR=str(tmp_path)),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    loaded = set(result.stdout.split())
    assert "portal.cli.workers" in loaded
    for module in ("portal.app", "portal.resumes", "portal.cli.alerts", "pypdf"):
        assert module not in loaded, module


def test_settings_lists_every_variable(tmp_path: Path) -> None:
    """`talentconnect settings` lists each TALENTCONNECT_ variable."""
    result = run_cli(["settings"], env=clean_env(INSTANCE_DIR=str(tmp_path)), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for spec in SETTINGS:
        assert f"TALENTCONNECT_{spec.name}" in result.stdout, spec.name
