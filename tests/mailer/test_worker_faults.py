"""The sender worker under faults: a relay shutting down, racing and killed worker processes.

The multi-process tests run real worker processes (`tests.mailer.worker_process`)
on the real clock against the test database and one scripted relay on loopback.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from mailer.models import MessageKind, OutboxMessage, OutboxStatus
from mailer.outbox import enqueue
from mailer.sender import SmtpSender
from mailer.worker import BatchResult, OutboxWorker
from preferences.clock import FrozenClock, now
from preferences.db import session_scope
from preferences.models import Candidate, ConsentSource, Interest
from preferences.subscriptions import pause_subscription, subscribe, unsubscribe
from tests.portal.helpers import clean_env, running_cli

from .support import SETTINGS, T0, Delivery, Relay, add_candidate, outbox, queue

ROOT = Path(__file__).resolve().parents[2]


def make_worker(
    sessions: sessionmaker[Session],
    relay: Relay,
    *,
    batch_size: int = 50,
    connections: int = 1,
    lease: timedelta = timedelta(minutes=5),
) -> OutboxWorker:
    return OutboxWorker(
        sessions,
        lambda: SmtpSender(relay.target),
        SETTINGS,
        worker_id="in-test-worker",
        batch_size=batch_size,
        lease=lease,
        connections=connections,
    )


def fill_outbox(sessions: sessionmaker[Session], count: int) -> list[str]:
    """Queue `count` welcomes in one transaction and return their recipients in id order."""
    recipients = [f"user{n:04d}@example.com" for n in range(count)]
    with session_scope(sessions) as session:
        for address in recipients:
            enqueue(
                session,
                kind=MessageKind.WELCOME,
                template="welcome",
                to_address=address,
                dedupe_key=f"welcome:{address}",
            )
    return recipients


def statuses(sessions: sessionmaker[Session]) -> Counter[OutboxStatus]:
    with sessions() as session:
        return Counter(
            {
                status: count
                for status, count in session.execute(
                    select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
                )
            }
        )


def copies(relay: Relay) -> Counter[str]:
    """How many copies of a message each recipient received."""
    return Counter(r for d in list(relay.handler.deliveries) for r in d.rcpt_tos)


class WorkerProcess:
    """A `tests.mailer.worker_process` child; its stderr goes to a file so no pipe fills up."""

    def __init__(
        self, database_url: str, relay: Relay, worker_id: str, *options: str, stdin: bool = False
    ) -> None:
        # Closed in close(): the file outlives this call, as the child writes to it.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.mailer.worker_process",
                database_url,
                relay.host,
                str(relay.port),
                "--worker-id",
                worker_id,
                *options,
            ],
            cwd=ROOT,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        self._selector = selectors.DefaultSelector()
        assert self.proc.stdout is not None
        self._selector.register(self.proc.stdout, selectors.EVENT_READ)

    def stderr(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", "replace")

    def read_line(self, timeout: float = 20.0) -> str:
        """The child's next stdout line; fails the test if none comes in time."""
        assert self.proc.stdout is not None
        if not self._selector.select(timeout):
            raise AssertionError(f"no output within {timeout} s; stderr:\n{self.stderr()}")
        line = self.proc.stdout.readline()
        assert line, f"worker exited ({self.proc.poll()}); stderr:\n{self.stderr()}"
        return line.strip()

    def go(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.close()

    def totals(self, timeout: float = 30.0) -> dict[str, int]:
        """Wait for the child to drain the outbox and return its batch totals."""
        line = self.read_line(timeout)
        assert self.proc.wait(timeout) == 0, self.stderr()
        totals: dict[str, int] = json.loads(line)
        return totals

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def close(self) -> None:
        self.kill()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None and not stream.closed:
                stream.close()
        self._selector.close()
        self._stderr.close()


@contextmanager
def worker_processes(
    database_url: str, relay: Relay, *specs: tuple[str, list[str]], stdin: bool = False
) -> Iterator[list[WorkerProcess]]:
    """Start one worker process per (worker id, options); kill whatever is left at the end."""
    started: list[WorkerProcess] = []
    try:
        for worker_id, options in specs:
            started.append(WorkerProcess(database_url, relay, worker_id, *options, stdin=stdin))
        yield started
    finally:
        for child in started:
            child.close()


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def test_421_from_a_closing_relay_is_retried_and_delivered_once(
    sessions: sessionmaker[Session], relay: Relay, clock: FrozenClock
) -> None:
    """A 421 to MAIL FROM (relay closes) is retried later; that message arrives exactly once."""
    relay.handler.mail_replies.append("421 4.3.2 service shutting down")
    queue(sessions, "ana@example.com", "a")
    queue(sessions, "bob@example.com", "b")
    worker = make_worker(sessions, relay)
    assert worker.run_once() == BatchResult(claimed=2, sent=1, retried=1)
    rows = outbox(sessions)
    assert (rows["a"].status, rows["a"].attempts, rows["a"].last_error) == (
        OutboxStatus.PENDING,
        1,
        "421 4.3.2 service shutting down",
    )
    assert rows["a"].next_attempt_at > T0
    # One connection: the relay hung up, so bob's message needed a new one.
    assert rows["b"].status is OutboxStatus.SENT
    assert relay.handler.connections == 2
    clock.advance(timedelta(minutes=2))
    assert worker.run_once() == BatchResult(claimed=1, sent=1)
    assert worker.run_once() == BatchResult()
    row = outbox(sessions)["a"]
    assert (row.status, row.attempts, row.last_error) == (OutboxStatus.SENT, 2, "")
    assert copies(relay) == {"ana@example.com": 1, "bob@example.com": 1}


def test_alerts_queued_before_an_unsubscribe_or_a_pause_are_skipped(
    sessions: sessionmaker[Session], relay: Relay, clock: FrozenClock
) -> None:
    """Job alerts withdrawn or paused after queueing are not sent and say why; others go."""
    ana = add_candidate(sessions, "ana@example.com")
    with session_scope(sessions) as session:
        candidate = session.get(Candidate, ana)
        assert candidate is not None
        interests = {}
        for name in ("Design", "Data", "Sales"):
            interest = Interest(name=name, slug=name.lower())
            session.add(interest)
            session.flush()
            subscribe(session, candidate, interest, source=ConsentSource.IMPORT, confirmed=True)
            interests[name] = interest.id
    for name, interest_id in interests.items():
        queue(
            sessions,
            "ana@example.com",
            f"alert:{name}",
            kind=MessageKind.JOB_ALERT,
            candidate_id=ana,
            context={"interest_id": interest_id},
        )
    with session_scope(sessions) as session:
        candidate = session.get(Candidate, ana)
        design = session.get(Interest, interests["Design"])
        data = session.get(Interest, interests["Data"])
        assert candidate is not None and design is not None and data is not None
        unsubscribe(session, candidate, design, source=ConsentSource.ONE_CLICK)
        pause_subscription(
            session, candidate, data, T0 + timedelta(days=7), source=ConsentSource.DASHBOARD
        )
    assert make_worker(sessions, relay).run_once() == BatchResult(claimed=3, sent=1, skipped=2)
    rows = outbox(sessions)
    assert (rows["alert:Design"].status, rows["alert:Design"].last_error) == (
        OutboxStatus.SKIPPED,
        "candidate is not subscribed to this interest",
    )
    assert (rows["alert:Data"].status, rows["alert:Data"].last_error) == (
        OutboxStatus.SKIPPED,
        "alerts are paused",
    )
    assert rows["alert:Sales"].status is OutboxStatus.SENT
    assert len(relay.handler.deliveries) == 1


def test_two_worker_processes_racing_send_every_message_exactly_once(
    database_url: str, sessions: sessionmaker[Session], relay: Relay
) -> None:
    """Two worker processes drain one outbox together; each message goes out once."""
    recipients = fill_outbox(sessions, 300)

    def slow_down(_delivery: Delivery) -> None:
        # 2 ms a message keeps both workers busy at once for the whole run.
        time.sleep(0.002)

    relay.handler.on_delivery = slow_down
    options = ["--batch-size", "20", "--connections", "2", "--wait-for-go"]
    with worker_processes(
        database_url, relay, ("racer-1", options), ("racer-2", options), stdin=True
    ) as workers:
        for child in workers:
            assert child.read_line() == "ready"
        for child in workers:
            child.go()
        first, second = (child.totals() for child in workers)
    assert first["sent"] > 0 and second["sent"] > 0, (first, second)
    assert first["sent"] + second["sent"] == 300
    assert first["claimed"] + second["claimed"] == 300
    assert copies(relay) == dict.fromkeys(recipients, 1)
    assert statuses(sessions) == {OutboxStatus.SENT: 300}
    with sessions() as session:
        # No row was ever claimed twice.
        assert set(session.scalars(select(OutboxMessage.attempts))) == {1}


def test_worker_killed_mid_batch_loses_nothing(
    database_url: str, sessions: sessionmaker[Session], relay: Relay
) -> None:
    """SIGKILL mid-batch: the lease holds its rows, then a fresh worker sends every one."""
    recipients = fill_outbox(sessions, 120)

    def slow_down(_delivery: Delivery) -> None:
        time.sleep(0.05)

    relay.handler.on_delivery = slow_down
    lease = timedelta(seconds=2)
    options = ["--batch-size", "50", "--lease", str(lease.total_seconds())]
    with worker_processes(database_url, relay, ("doomed", options)) as (doomed,):
        wait_until(lambda: len(relay.handler.deliveries) >= 10, 20, "the first deliveries")
        doomed.kill()
    delivered_before_kill = set(copies(relay))
    relay.handler.on_delivery = None
    # Killed before it recorded anything: its first batch (and the next, if it had
    # claimed it ahead) is still leased to it.
    with sessions() as session:
        leased = set(
            session.scalars(
                select(OutboxMessage.to_address).where(OutboxMessage.status == OutboxStatus.SENDING)
            )
        )
        lease_ends = session.scalar(select(func.max(OutboxMessage.lease_expires_at)))
    assert len(leased) in (50, 100)
    assert statuses(sessions) == {
        OutboxStatus.SENDING: len(leased),
        OutboxStatus.PENDING: 120 - len(leased),
    }
    assert set(recipients[:50]) <= leased
    assert 10 <= len(delivered_before_kill) < 50
    assert lease_ends is not None

    fresh = make_worker(sessions, relay, connections=4, lease=lease)
    fresh.run(until_empty=True)
    if now() < lease_ends:
        # While the lease lasts the fresh worker leaves the killed worker's rows alone.
        assert statuses(sessions) == {
            OutboxStatus.SENDING: len(leased),
            OutboxStatus.SENT: 120 - len(leased),
        }
    time.sleep(max(0.0, (lease_ends - now()).total_seconds()) + 0.05)
    fresh.run(until_empty=True)

    assert statuses(sessions) == {OutboxStatus.SENT: 120}
    received = copies(relay)
    assert set(received) == set(recipients)
    duplicated = {r for r, n in received.items() if n > 1}
    # The at-least-once window: what the killed worker sent goes out once more, and
    # nothing else. It was killed in its first batch, so that is less than one batch.
    assert delivered_before_kill <= duplicated <= leased
    assert max(received.values()) == 2
    assert len(duplicated) < 50


def test_sigterm_mid_batch_finishes_in_flight_sends_and_hands_back_the_rest(
    database_url: str, sessions: sessionmaker[Session], relay: Relay, tmp_path: Path
) -> None:
    """`talentconnect worker` on SIGTERM: sends in flight finish, the rest go back, exit 0."""
    recipients = fill_outbox(sessions, 60)

    def slow_down(_delivery: Delivery) -> None:
        time.sleep(0.05)

    relay.handler.on_delivery = slow_down
    env = clean_env(
        DATABASE_URL=database_url,
        INSTANCE_DIR=str(tmp_path),
        SMTP_URL=f"smtp://{relay.host}:{relay.port}",
        WORKER_BATCH_SIZE="60",
        SMTP_CONNECTIONS="2",
    )
    with running_cli(["worker"], env=env, cwd=tmp_path) as proc:
        wait_until(lambda: len(relay.handler.deliveries) >= 5, 30, "the first deliveries")
        proc.signal(signal.SIGTERM)
        assert proc.wait(15) == 0, proc.output()
        assert "Traceback" not in proc.output()
    sent_before = set(copies(relay))
    counts = statuses(sessions)
    # Nothing is left leased: every row is either sent or straight back in the queue.
    assert set(counts) <= {OutboxStatus.SENT, OutboxStatus.PENDING}
    assert counts[OutboxStatus.SENT] == len(sent_before) < 60
    relay.handler.on_delivery = None
    make_worker(sessions, relay).run(until_empty=True)
    assert statuses(sessions) == {OutboxStatus.SENT: 60}
    assert copies(relay) == dict.fromkeys(recipients, 1)
