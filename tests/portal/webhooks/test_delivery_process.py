"""`talentconnect webhooks` as a process: a worker killed mid-delivery, signals, --help;
and pruning old events."""

from __future__ import annotations

import signal
import threading
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from portal.webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery
from preferences.clock import FrozenClock
from preferences.events import WebhookEvent
from tests.conftest import TEST_SECRET
from tests.portal.helpers import STRONG_SECRET, clean_env, run_cli, running_cli
from tests.portal.webhooks.conftest import Hooks
from tests.portal.webhooks.receiver import Reply

# The checkout these tests belong to comes first on the path, also in a worktree that shares
# another checkout's virtualenv (whose console script would import that checkout).
ROOT = Path(__file__).resolve().parents[3]


def _cli_env(**settings: str) -> dict[str, str]:
    env = clean_env(**settings)
    env["PYTHONPATH"] = str(ROOT)
    return env


def _env(hooks: Hooks, database_url: str, tmp_path: Path) -> dict[str, str]:
    return _cli_env(
        INSTANCE_DIR=str(tmp_path / "instance"),
        DATABASE_URL=database_url,
        # The endpoints' secrets are sealed under the second key, which still opens them.
        SECRET_KEYS=f"{STRONG_SECRET},{TEST_SECRET}",
        WEBHOOK_ALLOWED_HOSTS=hooks.receiver.host_key,
        WEBHOOK_TIMEOUT_SECONDS="30",
        WORKER_POLL_SECONDS="0.2",
        LOG_LEVEL="INFO",
    )


def test_a_worker_killed_mid_delivery_is_replaced_and_the_event_sent_again_with_its_id(
    hooks: Hooks, database_url: str, tmp_path: Path
) -> None:
    """SIGKILL while a request is held: after the lease another worker sends the same id."""
    endpoint = hooks.endpoint()
    hooks.event(candidate="c1", n=1)
    hold = threading.Event()
    hooks.receiver.script.append(Reply(204, hold=hold))
    env = _env(hooks, database_url, tmp_path)
    try:
        with running_cli(["webhooks", "--lease-seconds", "2"], env=env, cwd=tmp_path) as first:
            hooks.receiver.wait_for(1, arrived=True, timeout=30)
            first.process.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        [delivery] = hooks.deliveries()
        assert delivery.status is DeliveryStatus.SENDING and delivery.lease_owner
    finally:
        hold.set()

    result = run_cli(["webhooks", "--until-empty"], env=env, cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "webhook worker started" in result.stderr
    assert "webhook worker stopped" in result.stderr
    first_try, again = hooks.receiver.arrived
    assert first_try.webhook_id == again.webhook_id
    assert first_try.verified_by == again.verified_by == [endpoint.secret]
    [delivery] = hooks.deliveries()
    assert delivery.status is DeliveryStatus.DELIVERED and delivery.attempts == 2
    assert [a.succeeded for a in hooks.attempts()] == [True]


def test_the_worker_stops_on_sigterm(hooks: Hooks, database_url: str, tmp_path: Path) -> None:
    """`webhooks` logs its start, and exits 0 soon after SIGTERM."""
    env = _env(hooks, database_url, tmp_path)
    with running_cli(["webhooks"], env=env, cwd=tmp_path) as proc:
        proc.wait_for_output("webhook worker started", timeout=30)
        hooks.endpoint()
        hooks.event(candidate="c1")
        hooks.receiver.wait_for(1, timeout=30)
        proc.signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        assert "webhook worker stopped" in proc.stderr()
    assert [d.status for d in hooks.deliveries()] == [DeliveryStatus.DELIVERED]


def test_help_names_the_options(tmp_path: Path) -> None:
    """`webhooks --help` describes the worker and its options."""
    result = run_cli(["webhooks", "--help"], env=_cli_env(), cwd=tmp_path)
    assert result.returncode == 0
    for words in ("--until-empty", "--batch-size", "--lease-seconds", "Standard Webhooks"):
        assert words in result.stdout
    listed = run_cli(["--help"], env=_cli_env(), cwd=tmp_path)
    assert "webhooks" in listed.stdout


def test_old_finished_events_are_pruned_with_their_deliveries(
    hooks: Hooks, clock: FrozenClock
) -> None:
    """Events past WEBHOOK_KEEP_DAYS whose deliveries finished go; the rest stay."""
    hooks.endpoint()
    hooks.receiver.respond = lambda r: Reply(500 if r.candidate == "waiting" else 204)
    hooks.event(candidate="old")
    hooks.event(candidate="waiting")
    worker = hooks.worker(retry_window=timedelta(days=60), keep=timedelta(days=30))
    hooks.drain(worker)
    clock.advance(timedelta(days=31))
    hooks.event(candidate="new")
    hooks.drain(worker)
    assert worker.prune() == 1
    with hooks.sessions() as session:
        keys = set(session.scalars(select(WebhookEvent.candidate_key)))
        assert keys == {"waiting", "new"}
        assert session.scalar(select(func.count()).select_from(WebhookDelivery)) == 2
        attempts = session.scalar(select(func.count()).select_from(WebhookAttempt))
        assert attempts is not None and attempts >= 2
