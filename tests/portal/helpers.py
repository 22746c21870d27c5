"""Plain helpers shared by the portal tests: seeding rows, forms, subprocesses."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from html import unescape
from pathlib import Path
from typing import TypeVar

from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from jobs.models import JobPosting
from mailer.links import sign_links
from mailer.models import OutboxMessage
from preferences.clock import now
from preferences.models import Candidate, Interest, InterestStatus
from tests.conftest import TEST_SECRET

T = TypeVar("T")

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
STRONG_SECRET = "production-secret-" + "p" * 40
RECRUITER_EMAIL = "rita.recruiter@acme.example.com"
RECRUITER_PASSWORD = "correct horse battery staple"


def without_tokens(html: str) -> str:
    """The page with its CSRF tokens blanked: they carry a timestamp, so they differ by second."""
    return re.sub(r'(name="csrf_token"[^>]*value=|data-csrf=)"[^"]*"', r'\1""', html)


def csrf_token(html: str) -> str:
    """Return the CSRF token of the first form on the page."""
    match = CSRF_RE.search(html)
    assert match is not None, "the page has no csrf_token field"
    return match.group(1)


# A destructive console action's form, confirmed (the ticked box, or the dialog's OK).
CONFIRMED = {"step": "confirm", "confirm": "yes"}


def ask_first(client: FlaskClient, url: str, token: str) -> tuple[str, str]:
    """POST a destructive console action as its button does, then as its confirmation page
    does with the box unticked: the page (200) and the page with its error (400), as text
    with entities decoded. What they say, and that nothing changed, is the caller's to check.
    """
    asked = client.post(url, data={"csrf_token": token})
    assert asked.status_code == 200, asked.status_code
    unticked = client.post(url, data={"csrf_token": token, "step": "confirm"})
    assert unticked.status_code == 400, unticked.status_code
    return unescape(asked.text), unescape(unticked.text)


def confirm(client: FlaskClient, url: str, token: str) -> TestResponse:
    """POST a destructive console action, confirmed."""
    return client.post(url, data={"csrf_token": token, **CONFIRMED})


def login(
    client: FlaskClient,
    email: str,
    password: str,
    *,
    next_url: str | None = None,
    base_url: str = "http://localhost",
) -> TestResponse:
    """Fetch the recruiter login form and post it with its CSRF token."""
    page = client.get("/admin/login", base_url=base_url)
    assert page.status_code == 200
    path = "/admin/login" if next_url is None else f"/admin/login?next={next_url}"
    return client.post(
        path,
        base_url=base_url,
        data={"csrf_token": csrf_token(page.text), "email": email, "password": password},
        # Flask-WTF checks the Referer on https requests.
        headers={"Referer": f"{base_url}/admin/login"},
    )


def emailed_link(
    session: Session,
    row: OutboxMessage,
    key: str,
    *,
    base_url: str = "http://127.0.0.1:8000",
    secret_keys: Sequence[str] = (TEST_SECRET,),
) -> str:
    """The URL the worker puts in `row`'s email for `key` (the row keeps only how to sign it)."""
    candidate = session.get(Candidate, row.candidate_id) if row.candidate_id else None
    context = {key: row.context[key]}
    sign_links(
        context,
        public_id=candidate.public_id if candidate else None,
        secret_keys=secret_keys,
        base_url=base_url,
    )
    url: str = context[key]
    return url


def add_interest(
    session: Session,
    name: str,
    *,
    slug: str | None = None,
    position: int = 0,
    status: InterestStatus = InterestStatus.ACTIVE,
) -> Interest:
    interest = Interest(
        name=name,
        slug=slug or re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-"),
        details=f"All about {name}.",
        keywords=[name.lower()],
        position=position,
        status=status,
    )
    session.add(interest)
    session.flush()
    return interest


_job_counter = 0


def add_job(
    session: Session,
    title: str,
    *,
    interests: Sequence[Interest] = (),
    location: str = "Berlin, Germany",
    description: str = "A role on a friendly team.\n\nGood benefits.",
    posted_at: datetime | None = None,
    closed_at: datetime | None = None,
    reference: str | None = None,
    apply_url: str | None = None,
) -> JobPosting:
    global _job_counter
    _job_counter += 1
    ref = reference or f"T-{_job_counter:05d}"
    job = JobPosting(
        reference=ref,
        title=title,
        description=description,
        location=location,
        apply_url=apply_url or f"https://jobs.acme.example.com/apply/{ref.lower()}",
        posted_at=posted_at or now() - timedelta(days=1),
        closed_at=closed_at,
        interests=list(interests),
    )
    session.add(job)
    session.flush()
    return job


def sample_email(
    *,
    subject: str = "Welcome to Acme",
    to: str = "ada@example.com",
    text: str = "Hello Ada,\nthanks for joining.\n",
    html: str | None = "<p>Hello <b>Ada</b></p>",
) -> bytes:
    """Return the bytes of a small multipart email, as a relay would deliver it."""
    message = EmailMessage()
    message["From"] = "Acme Careers <careers@acme.example.com>"
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = "<test-1@acme.example.com>"
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message.as_bytes()


def wait_until(
    check: Callable[[], T | None], *, timeout: float, interval: float = 0.1, what: str = ""
) -> T:
    """Poll `check` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or check}")
        time.sleep(interval)


# --- subprocesses -----------------------------------------------------------------


def talentconnect_command() -> list[str]:
    """The installed console script next to this interpreter, else the module entry point."""
    script = Path(sys.executable).parent / "talentconnect"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from portal.cli.main import main; main()"]


def clean_env(**settings: str) -> dict[str, str]:
    """A copy of this environment without TALENTCONNECT_* variables, plus `settings`.

    Keys of `settings` are setting names without the prefix.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("TALENTCONNECT_")}
    env["PYTHONUNBUFFERED"] = "1"
    # rich wraps at the terminal width; keep lines whole for the assertions.
    env["COLUMNS"] = "200"
    env.pop("FORCE_COLOR", None)
    env["NO_COLOR"] = "1"
    for name, value in settings.items():
        env[f"TALENTCONNECT_{name}"] = value
    return env


def run_cli(
    args: Sequence[str], *, env: dict[str, str], cwd: Path, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run `talentconnect ARGS` to completion and return its result."""
    return subprocess.run(
        [*talentconnect_command(), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@dataclass
class Running:
    """A `talentconnect` process writing its output to files."""

    process: subprocess.Popen[bytes]
    stdout_path: Path
    stderr_path: Path
    _closed: list[object] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.process.pid

    def stdout(self) -> str:
        return self.stdout_path.read_text(encoding="utf-8", errors="replace")

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def output(self) -> str:
        return self.stdout() + self.stderr()

    def signal(self, sig: signal.Signals) -> None:
        self.process.send_signal(sig)

    def wait(self, timeout: float) -> int:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"process {self.pid} still running after {timeout}s\n{self.output()}"
            ) from None

    def wait_for_output(self, pattern: str, *, timeout: float) -> re.Match[str]:
        """Wait until `pattern` appears in stdout or stderr; fail early if the process dies."""
        compiled = re.compile(pattern)

        def check() -> re.Match[str] | None:
            match = compiled.search(self.output())
            if match is None and self.process.poll() is not None:
                raise AssertionError(
                    f"process exited with {self.process.returncode} before printing "
                    f"{pattern!r}:\n{self.output()}"
                )
            return match

        return wait_until(check, timeout=timeout, what=repr(pattern))


@contextmanager
def running_cli(args: Sequence[str], *, env: dict[str, str], cwd: Path) -> Iterator[Running]:
    """Start `talentconnect ARGS`; kill it at the end if the test did not stop it."""
    out = cwd / f"stdout-{len(list(cwd.glob('stdout-*')))}.txt"
    err = out.with_name(out.name.replace("stdout-", "stderr-"))
    with out.open("wb") as out_fh, err.open("wb") as err_fh:
        process = subprocess.Popen(
            [*talentconnect_command(), *args], env=env, cwd=cwd, stdout=out_fh, stderr=err_fh
        )
    running = Running(process, out, err)
    try:
        yield running
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def child_pids(pid: int) -> list[int]:
    """Return the ids of the live child processes of `pid` (Linux /proc, else pgrep)."""
    proc = Path("/proc")
    if (proc / str(pid)).exists():
        children = []
        for stat in proc.glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            # After the command name: state, ppid, ...
            if int(fields[1]) == pid and fields[0] != "Z":
                children.append(int(stat.parent.name))
        return children
    pgrep = shutil.which("pgrep")
    if pgrep is None:
        return []
    result = subprocess.run([pgrep, "-P", str(pid)], capture_output=True, text=True, check=False)
    return [int(line) for line in result.stdout.split()]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
