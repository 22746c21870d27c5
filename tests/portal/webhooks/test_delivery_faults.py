"""Webhook delivery when receivers misbehave: errors, Retry-After, timeouts, outages,
the retry window, endpoint health and the admins' email, and leases taken over."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from sqlalchemy import select

from mailer.config import SmtpTarget
from mailer.models import MessageKind, OutboxMessage
from mailer.sender import SmtpSender
from mailer.sink import MailSink, MemoryStore
from mailer.worker import OutboxWorker
from portal.webhooks.delivery import (
    AdminNotice,
    Claimed,
    Result,
    claim_deliveries,
    decide,
    parse_retry_after,
    record_outcomes,
    retry_delay,
)
from portal.webhooks.models import DeliveryStatus
from preferences.clock import FrozenClock
from preferences.db import session_scope
from preferences.models import RecruiterRole, RecruiterUser
from tests.mailer.support import SETTINGS as MAIL_SETTINGS
from tests.portal.webhooks.conftest import Hooks
from tests.portal.webhooks.receiver import Reply


def _advance_to_due(hooks: Hooks, clock: FrozenClock) -> None:
    """Move the clock to the earliest retry still to come."""
    at = clock.now()
    waiting = [
        d.next_attempt_at
        for d in hooks.deliveries()
        if d.status is DeliveryStatus.PENDING and d.next_attempt_at > at
    ]
    if waiting:
        clock.advance(min(waiting) - at)


def test_a_404_fails_at_once(hooks: Hooks, clock: FrozenClock) -> None:
    """A 4xx other than 429 fails the delivery after one attempt, keeping the answer's start."""
    endpoint = hooks.endpoint()
    hooks.receiver.default = Reply(404, body=b"no such hook\x00 here")
    hooks.event(candidate="c1")
    assert hooks.drain().failed == 1
    clock.advance(timedelta(hours=1))
    hooks.drain()
    [delivery] = hooks.deliveries()
    assert delivery.status is DeliveryStatus.FAILED and delivery.attempts == 1
    assert delivery.last_status_code == 404
    assert delivery.last_error == "HTTP 404: no such hook here"
    assert len(hooks.receiver.received) == 1
    assert hooks.endpoint_row(endpoint).failing_since is not None


def test_a_redirect_is_not_followed(hooks: Hooks, clock: FrozenClock) -> None:
    """A 3xx fails the delivery at once; the Location is never requested."""
    hooks.endpoint()
    hooks.receiver.default = Reply(302, headers={"Location": hooks.receiver.url + "/elsewhere"})
    hooks.event(candidate="c1")
    hooks.drain()
    [delivery] = hooks.deliveries()
    assert delivery.status is DeliveryStatus.FAILED
    assert delivery.last_error == "HTTP 302: redirects are not followed"
    assert [r.path for r in hooks.receiver.received] == ["/hooks"]


def test_500_then_200_retries_with_the_same_webhook_id(hooks: Hooks, clock: FrozenClock) -> None:
    """A 5xx is retried after a backoff; the retry carries the same webhook-id and succeeds."""
    endpoint = hooks.endpoint()
    hooks.receiver.script.extend([Reply(500, body=b"oops"), Reply(200)])
    hooks.event(candidate="c1")
    assert hooks.drain().retried == 1
    [delivery] = hooks.deliveries()
    assert delivery.status is DeliveryStatus.PENDING
    wait = delivery.next_attempt_at - clock.now()
    assert timedelta(seconds=4) <= wait <= timedelta(seconds=6)
    assert hooks.endpoint_row(endpoint).failing_since == clock.now()

    assert hooks.drain().claimed == 0  # not due yet
    clock.advance(timedelta(seconds=6))
    assert hooks.drain().delivered == 1
    first, second = hooks.receiver.received
    assert first.webhook_id == second.webhook_id
    assert first.verified_by == second.verified_by == [endpoint.secret]
    [delivery] = hooks.deliveries()
    assert delivery.status is DeliveryStatus.DELIVERED and delivery.attempts == 2
    assert [(a.attempt, a.status_code, a.error) for a in hooks.attempts()] == [
        (1, 500, "HTTP 500: oops"),
        (2, 200, None),
    ]
    row = hooks.endpoint_row(endpoint)
    assert row.failing_since is None and row.last_success_at == clock.now()


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured(hooks: Hooks, clock: FrozenClock, status: int) -> None:
    """A 429 or 503 with Retry-After waits exactly that long before the next try."""
    hooks.endpoint()
    hooks.receiver.script.append(Reply(status, headers={"Retry-After": "120"}))
    hooks.event(candidate="c1")
    hooks.drain()
    [delivery] = hooks.deliveries()
    assert delivery.next_attempt_at == clock.now() + timedelta(seconds=120)
    clock.advance(timedelta(seconds=119))
    assert hooks.drain().claimed == 0
    clock.advance(timedelta(seconds=1))
    assert hooks.drain().delivered == 1
    assert len({r.webhook_id for r in hooks.receiver.received}) == 1


def test_retry_after_parsing() -> None:
    """Retry-After in seconds or as an HTTP date; capped at six hours; nonsense ignored."""
    at = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    assert parse_retry_after("30", at) == timedelta(seconds=30)
    assert parse_retry_after("Sat, 05 Dec 2026 12:02:00 GMT", at) == timedelta(minutes=2)
    assert parse_retry_after("Sat, 05 Dec 2026 11:00:00 GMT", at) == timedelta(0)
    assert parse_retry_after("999999999999", at) == timedelta(hours=6)
    assert parse_retry_after("soon", at) is None
    assert parse_retry_after(None, at) is None


def test_backoff_grows_with_jitter_and_the_last_retry_is_at_the_deadline() -> None:
    """Delays grow 5 s, 30 s, 2 min … 8 h (±20 %); the final try lands on the window's end."""
    for attempt, base in [(1, 5), (2, 30), (3, 120), (9, 8 * 3600), (30, 8 * 3600)]:
        delays = [retry_delay(attempt).total_seconds() for _ in range(50)]
        assert all(0.8 * base <= d <= 1.2 * base for d in delays)
        assert len(set(delays)) > 1
    start = datetime(2026, 12, 5, tzinfo=UTC)
    claimed = Claimed(1, 1, 1, attempts=12, retry_from=start)
    window = timedelta(hours=72)
    late = start + window - timedelta(minutes=1)
    retry = decide(claimed, Result(False, 500, "x", 1, late, retryable=True), window)
    assert retry.status is DeliveryStatus.PENDING and retry.next_attempt_at == start + window
    final = decide(claimed, Result(False, 500, "x", 1, start + window, retryable=True), window)
    assert final.status is DeliveryStatus.FAILED and final.finished_at == start + window


def test_a_slow_receiver_times_out_and_is_retried(hooks: Hooks, clock: FrozenClock) -> None:
    """A receiver slower than the timeout counts as a network error: retried, same id."""
    hooks.endpoint()
    hooks.receiver.script.extend([Reply(200, delay=5.0), Reply(200)])
    hooks.event(candidate="c1")
    worker = hooks.worker(timeout=0.5)
    started = datetime.now(UTC)
    assert hooks.drain(worker).retried == 1
    assert datetime.now(UTC) - started < timedelta(seconds=4)
    [delivery] = hooks.deliveries()
    assert delivery.last_error == "timed out after 0.5 s"
    assert delivery.last_status_code is None
    _advance_to_due(hooks, clock)
    assert hooks.drain(worker).delivered == 1
    ids = {r.webhook_id for r in hooks.receiver.arrived}
    assert len(hooks.receiver.arrived) == 2 and len(ids) == 1


def test_a_receiver_dripping_its_answer_is_cut_off_at_the_timeout(
    hooks: Hooks, clock: FrozenClock
) -> None:
    """The timeout bounds the whole request, not each read: a trickling answer is cut off."""
    # A raw server that sends its status line, then one header byte every 0.2 s.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    stop = threading.Event()
    cut_after: list[float] = []  # seconds from the request to the worker hanging up

    def drip() -> None:
        conn, _ = listener.accept()
        conn.recv(65536)
        asked = time.monotonic()
        conn.sendall(b"HTTP/1.1 200 OK\r\nX-Drip: ")
        while not stop.is_set():
            try:
                conn.sendall(b"X")
            except OSError:
                cut_after.append(time.monotonic() - asked)
                break
            stop.wait(0.2)
        conn.close()

    thread = threading.Thread(target=drip, daemon=True)
    thread.start()
    hooks.policy = replace(hooks.policy, allowed_hosts=(f"127.0.0.1:{port}",), timeout=1.0)
    hooks.endpoint(url=f"http://127.0.0.1:{port}/drip")
    hooks.event(candidate="c1")
    worker = hooks.worker()
    hooks.drain(worker)
    # The drip goes on for ever: the worker must hang up at its 1 s timeout. A sendall
    # fails a moment after the hang-up, so allow for that (and a loaded machine).
    for _ in range(50):
        if cut_after:
            break
        time.sleep(0.1)
    stop.set()
    thread.join(5)
    listener.close()
    assert cut_after and cut_after[0] < 4.0
    errors = {d.last_error for d in hooks.deliveries() if d.status is DeliveryStatus.PENDING}
    assert errors == {"timed out after 1 s"}


def test_receiver_down_then_back_gets_everything_in_order_once(
    hooks: Hooks, clock: FrozenClock
) -> None:
    """Down for hours, then back: every event arrives, in order per candidate, none twice."""
    endpoint = hooks.endpoint()
    candidates = ["ann", "bob", "cid"]
    for n in range(4):
        for who in candidates:
            hooks.event(candidate=who, n=n)
    hooks.receiver.stop()
    worker = hooks.worker()
    for _ in range(6):  # about an hour of failures
        hooks.drain(worker)
        _advance_to_due(hooks, clock)
    attempts = hooks.attempts()
    assert attempts and all(a.status_code is None for a in attempts)
    assert {a.error for a in attempts} == {"connection failed: Connection refused"}
    # Only each candidate's first event was tried while it was down.
    tried = {a.delivery_id for a in attempts}
    assert len(tried) == len(candidates)
    assert hooks.endpoint_row(endpoint).failing_since is not None

    hooks.receiver.start()  # the same port
    for _ in range(10):
        _advance_to_due(hooks, clock)
        hooks.drain(worker)
        if len(hooks.receiver.delivered()) == 12:
            break
    delivered = hooks.receiver.delivered()
    assert len(delivered) == 12
    assert len({r.webhook_id for r in delivered}) == 12
    for who in candidates:
        assert [r.payload["data"]["n"] for r in delivered if r.candidate == who] == [0, 1, 2, 3]
    assert all(r.verified_by == [endpoint.secret] for r in delivered)
    assert {d.status for d in hooks.deliveries()} == {DeliveryStatus.DELIVERED}
    assert hooks.endpoint_row(endpoint).failing_since is None
    # Nothing is sent again afterwards.
    clock.advance(timedelta(hours=10))
    hooks.drain(worker)
    assert len(hooks.receiver.received) == 12


def test_retries_give_up_only_at_the_end_of_the_window(hooks: Hooks, clock: FrozenClock) -> None:
    """A receiver failing for good is retried for 72 hours, last at the deadline, then failed."""
    hooks.endpoint()
    hooks.receiver.default = Reply(502)
    hooks.event(candidate="c1")
    start = clock.now()
    worker = hooks.worker()
    for _ in range(40):
        hooks.drain(worker)
        [delivery] = hooks.deliveries()
        if delivery.status is DeliveryStatus.FAILED:
            break
        assert clock.now() < start + timedelta(hours=72)
        _advance_to_due(hooks, clock)
    assert delivery.status is DeliveryStatus.FAILED
    attempts = hooks.attempts()
    assert attempts[-1].attempted_at == start + timedelta(hours=72)
    assert attempts[-2].attempted_at < start + timedelta(hours=72)
    assert 10 <= len(attempts) <= 25
    gaps = [b.attempted_at - a.attempted_at for a, b in pairwise(attempts)]
    assert max(gaps) <= timedelta(hours=8) * 1.2 + timedelta(seconds=1)
    assert len({r.webhook_id for r in hooks.receiver.received}) == 1


def _admins(hooks: Hooks) -> None:
    with session_scope(hooks.sessions) as session:
        session.add_all(
            [
                RecruiterUser(email="ada@acme.example.com", role=RecruiterRole.ADMIN),
                RecruiterUser(email="bea@acme.example.com", role=RecruiterRole.ADMIN),
                RecruiterUser(email="old@acme.example.com", role=RecruiterRole.ADMIN, active=False),
                RecruiterUser(email="rec@acme.example.com", role=RecruiterRole.RECRUITER),
            ]
        )


def test_an_endpoint_failing_for_five_days_is_disabled_and_admins_emailed_once(
    hooks: Hooks, clock: FrozenClock, smtp_server: MailSink
) -> None:
    """Five days of failures disable the endpoint; each active admin gets one email, once."""
    _admins(hooks)
    endpoint = hooks.endpoint(description="CRM sync")
    healthy = hooks.endpoint(url=hooks.receiver.url + "/ok")
    hooks.receiver.respond = lambda r: Reply(204 if r.path.endswith("/ok") else 500)
    notice = AdminNotice(
        base_context=MAIL_SETTINGS.base_context(""),
        console_url="https://careers.acme.example.com/admin/webhooks",
    )
    worker = hooks.worker(notice=notice, retry_window=timedelta(days=30))
    start = clock.now()
    for day in range(6):
        hooks.event(candidate=f"c{day}")
        hooks.drain(worker)
        row = hooks.endpoint_row(endpoint)
        if clock.now() - start < timedelta(days=5):
            assert row.enabled, day
        clock.advance(timedelta(days=1))
    row = hooks.endpoint_row(endpoint)
    assert not row.enabled and row.disabled_at is not None
    assert row.disabled_reason == f"failing since {start:%Y-%m-%d %H:%M} UTC"
    assert hooks.endpoint_row(healthy).enabled

    # More rounds (and other workers) never email again.
    hooks.event(candidate="later")
    hooks.drain(worker)
    hooks.drain(hooks.worker(notice=notice))
    with hooks.sessions() as session:
        rows = list(
            session.scalars(
                select(OutboxMessage).where(OutboxMessage.kind == MessageKind.WEBHOOK_DISABLED)
            )
        )
    assert sorted(r.to_address for r in rows) == ["ada@acme.example.com", "bea@acme.example.com"]
    # The disabled endpoint got nothing new; the healthy one did.
    later = [r for r in hooks.receiver.received if r.candidate == "later"]
    assert [r.path for r in later] == ["/hooks/ok"]

    # The mail worker sends it like any transactional email.
    sender = OutboxWorker(
        hooks.sessions,
        lambda: SmtpSender(SmtpTarget(host=smtp_server.host, port=smtp_server.port)),
        MAIL_SETTINGS,
    )
    sender.run(until_empty=True)
    assert isinstance(smtp_server.store, MemoryStore)
    messages = smtp_server.store.wait_for(2, timeout=5)
    assert sorted(m.envelope_to[0] for m in messages) == [
        "ada@acme.example.com",
        "bea@acme.example.com",
    ]
    parsed = messages[0].parsed()
    body = parsed.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "has disabled the webhook endpoint" in text and hooks.receiver.url in text
    assert "(CRM sync)" in text
    assert parsed["Subject"] == f"Webhook endpoint disabled: {hooks.receiver.url}"


def test_a_worker_that_lost_its_lease_records_nothing_over_the_new_owner(
    hooks: Hooks, clock: FrozenClock
) -> None:
    """A delivery re-claimed after its lease expired is recorded only by its new owner."""
    hooks.endpoint()
    hooks.event(candidate="c1")
    hooks.worker().run_once()  # fans out and delivers
    with session_scope(hooks.sessions) as session:
        from sqlalchemy import update

        from portal.webhooks.models import WebhookDelivery

        session.execute(update(WebhookDelivery).values(status=DeliveryStatus.PENDING))
    with session_scope(hooks.sessions) as session:
        [old] = claim_deliveries(session, "old", limit=10, lease=timedelta(seconds=30))
    clock.advance(timedelta(seconds=31))
    with session_scope(hooks.sessions) as session:
        [new] = claim_deliveries(session, "new", limit=10, lease=timedelta(seconds=30))
    assert new.id == old.id and new.attempts == old.attempts + 1
    at = clock.now()
    with session_scope(hooks.sessions) as session:
        ok = Result(True, 200, None, 5, at)
        record_outcomes(
            session, "new", [decide(new, ok, timedelta(hours=1))], disable_after=timedelta(days=5)
        )
    with session_scope(hooks.sessions) as session:
        bad = Result(False, 404, "HTTP 404", 5, at)
        record_outcomes(
            session, "old", [decide(old, bad, timedelta(hours=1))], disable_after=timedelta(days=5)
        )
    [delivery] = hooks.deliveries()
    assert delivery.status is DeliveryStatus.DELIVERED and delivery.last_status_code == 200


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_receiver_on_a_private_address_is_refused_unless_allowed(
    hooks: Hooks, clock: FrozenClock, host: str
) -> None:
    """The SSRF guard: an https:// URL naming or resolving to loopback fails at once, nothing
    is sent (a literal address is refused before connecting, a name when it resolves)."""
    url = f"https://{host}:{hooks.receiver.port}/hooks"
    hooks.endpoint(url=url)
    hooks.event(candidate="c1")
    worker = hooks.worker(allowed_hosts=())
    assert hooks.drain(worker).failed == 1
    [delivery] = hooks.deliveries()
    assert delivery.status is DeliveryStatus.FAILED
    assert delivery.last_error is not None
    assert "public address" in delivery.last_error
    assert "TALENTCONNECT_WEBHOOK_ALLOWED_HOSTS" in delivery.last_error
    assert hooks.receiver.arrived == []


def test_a_stopped_worker_hands_unsent_deliveries_straight_back(
    hooks: Hooks, clock: FrozenClock
) -> None:
    """Stopping mid-batch: the request in flight finishes, the rest go back untried."""
    hooks.endpoint()
    for who in ("a", "b", "c"):
        hooks.event(candidate=who)
    worker = hooks.worker(concurrency=1)

    def stop_then_answer(_request: object) -> Reply:
        worker.stop()
        return Reply(204)

    hooks.receiver.respond = stop_then_answer
    result = worker.run_once()
    assert (result.claimed, result.delivered, result.released) == (3, 1, 2)
    rows = hooks.deliveries()
    assert sorted((d.status.value, d.attempts, d.lease_owner) for d in rows) == [
        ("delivered", 1, None),
        ("pending", 0, None),
        ("pending", 0, None),
    ]
    assert len(hooks.attempts()) == 1
    hooks.receiver.respond = None
    assert hooks.drain(hooks.worker()).delivered == 2
    assert len({r.webhook_id for r in hooks.receiver.delivered()}) == 3
