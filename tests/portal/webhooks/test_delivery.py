"""Webhook delivery to a real loopback receiver that verifies every request with the
`standardwebhooks` library: signatures, rotation, contact data, fan-out, ordering."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select, update

from portal.webhooks.delivery import send_test_event
from portal.webhooks.endpoints import rotate_secret
from portal.webhooks.models import DeliveryStatus, WebhookEndpoint
from preferences.clock import FrozenClock
from preferences.db import session_scope
from preferences.events import EventType, WebhookEvent
from preferences.models import Candidate, CandidateStatus
from tests.conftest import TEST_SEAL
from tests.portal.webhooks.conftest import Hooks
from tests.portal.webhooks.receiver import Reply


def test_an_event_arrives_signed_and_verifies_with_the_reference_library(
    hooks: Hooks, clock: FrozenClock
) -> None:
    """An event is POSTed once with the spec's headers; standardwebhooks verifies it."""
    endpoint = hooks.endpoint()
    hooks.event(EventType.CANDIDATE_CREATED, "cand1", interests=[3])
    result = hooks.drain()
    assert (result.expanded, result.delivered) == (1, 1)

    [request] = hooks.receiver.received
    assert request.verified_by == [endpoint.secret] and request.fresh
    with hooks.sessions() as session:
        event = session.scalars(select(WebhookEvent)).one()
        assert request.webhook_id == event.public_id and event.public_id.startswith("msg_")
        assert event.expanded_at is not None
    assert request.headers["webhook-timestamp"] == str(int(clock.now().timestamp()))
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == "TalentConnect-Webhooks/1"
    assert request.payload == {
        "type": "candidate.created",
        "timestamp": clock.now().isoformat().replace("+00:00", "Z"),
        "data": {"candidate_id": "cand1", "interests": [3], "source": "test"},
    }
    [delivery] = hooks.deliveries()
    assert delivery.status is DeliveryStatus.DELIVERED
    assert (delivery.attempts, delivery.last_status_code, delivery.lease_owner) == (1, 204, None)
    assert delivery.finished_at == clock.now()
    [attempt] = hooks.attempts()
    assert (attempt.attempt, attempt.succeeded, attempt.status_code) == (1, True, 204)
    row = hooks.endpoint_row(endpoint)
    assert row.last_success_at == clock.now() and row.failing_since is None

    # A 2xx ends it: nothing more is sent.
    assert hooks.drain().claimed == 0
    assert len(hooks.receiver.received) == 1


def test_during_a_rotation_both_secrets_sign_then_only_the_new_one(
    hooks: Hooks, clock: FrozenClock
) -> None:
    """After a rotation both secrets verify until the grace period ends, then only the new."""
    endpoint = hooks.endpoint()
    with session_scope(hooks.sessions) as session:
        row = session.get(WebhookEndpoint, endpoint.id)
        assert row is not None
        new_secret = rotate_secret(session, row, timedelta(hours=1), TEST_SEAL)
    hooks.receiver.secrets.append(new_secret)
    hooks.event(candidate="c1")
    hooks.drain()
    [during] = hooks.receiver.received
    assert len(during.signatures) == 2
    assert sorted(during.verified_by) == sorted([endpoint.secret, new_secret])
    assert during.fresh

    clock.advance(timedelta(hours=1, seconds=1))
    hooks.event(candidate="c1")
    hooks.drain()
    after = hooks.receiver.received[1]
    assert len(after.signatures) == 1
    assert after.verified_by == [new_secret]


def test_the_address_is_sent_only_to_endpoints_that_include_contact_data(
    hooks: Hooks, clock: FrozenClock
) -> None:
    """Contact data only where ticked, and only while the candidate is active."""
    hooks.endpoint(url=hooks.receiver.url + "/plain")
    hooks.endpoint(url=hooks.receiver.url + "/contact", include_contact_data=True)
    with session_scope(hooks.sessions) as session:
        active = Candidate(email="ana@example.com", status=CandidateStatus.ACTIVE)
        gone = Candidate(email="bob@example.com", status=CandidateStatus.DELETED)
        session.add_all([active, gone])
        session.flush()
        keys = (active.public_id, gone.public_id)
    hooks.event(candidate=keys[0])
    hooks.event(EventType.CANDIDATE_ERASED, candidate=keys[1])
    hooks.drain()
    got = {(r.path, r.candidate): r.payload["data"] for r in hooks.receiver.received}
    assert len(got) == 4
    assert got["/hooks/contact", keys[0]]["email"] == "ana@example.com"
    assert "email" not in got["/hooks/plain", keys[0]]
    assert "email" not in got["/hooks/contact", keys[1]]
    assert "email" not in got["/hooks/plain", keys[1]]
    assert all(len(r.verified_by) == 1 for r in hooks.receiver.received)


def test_fan_out_follows_types_enablement_and_creation_time(
    hooks: Hooks, clock: FrozenClock
) -> None:
    """Each event reaches the enabled endpoints that want its type and existed when it happened."""
    hooks.event(candidate="early")  # before any endpoint: delivered nowhere
    clock.advance(timedelta(seconds=1))
    every = hooks.endpoint(url=hooks.receiver.url + "/every")
    hooks.endpoint(url=hooks.receiver.url + "/bounces", event_types=[EventType.BOUNCE_HARD.value])
    off = hooks.endpoint(url=hooks.receiver.url + "/off", enabled=False)
    hooks.event(EventType.CANDIDATE_CREATED, candidate="c1")
    hooks.event(EventType.BOUNCE_HARD, candidate="c1")
    hooks.event(EventType.ALERT_RUN_FINISHED, run_id=7)
    result = hooks.drain()
    assert result.expanded == 4
    seen = sorted((r.path, r.payload["type"]) for r in hooks.receiver.received)
    assert seen == [
        ("/hooks/bounces", "bounce.hard"),
        ("/hooks/every", "alert_run.finished"),
        ("/hooks/every", "bounce.hard"),
        ("/hooks/every", "candidate.created"),
    ]
    assert {d.endpoint_id for d in hooks.deliveries()} >= {every.id}
    assert off.id not in {d.endpoint_id for d in hooks.deliveries()}
    with hooks.sessions() as session:
        assert session.scalar(
            select(WebhookEvent.expanded_at).where(WebhookEvent.candidate_key == "early")
        )


def test_a_disabled_endpoint_gets_no_new_deliveries_but_does_get_a_test_event(
    hooks: Hooks, clock: FrozenClock
) -> None:
    """Disabling stops new deliveries; "Send test event" still reaches the endpoint."""
    endpoint = hooks.endpoint()
    with session_scope(hooks.sessions) as session:
        session.execute(
            update(WebhookEndpoint).where(WebhookEndpoint.id == endpoint.id).values(enabled=False)
        )
    hooks.event(candidate="c1")
    hooks.drain()
    assert hooks.receiver.received == [] and hooks.deliveries() == []

    with session_scope(hooks.sessions) as session:
        row = session.get(WebhookEndpoint, endpoint.id)
        assert row is not None
        send_test_event(session, row)
    hooks.drain()
    [request] = hooks.receiver.received
    assert request.payload["type"] == "webhook.test"
    assert request.verified_by == [endpoint.secret]
    assert [d.status for d in hooks.deliveries()] == [DeliveryStatus.DELIVERED]


def test_pending_deliveries_of_a_disabled_endpoint_wait_for_it(
    hooks: Hooks, clock: FrozenClock
) -> None:
    """A delivery queued before its endpoint was disabled waits, and goes once it is enabled."""
    endpoint = hooks.endpoint()
    hooks.event(candidate="c1")
    worker = hooks.worker()
    with session_scope(hooks.sessions) as session:
        from portal.webhooks.delivery import expand_events

        expand_events(session)
        session.execute(
            update(WebhookEndpoint).where(WebhookEndpoint.id == endpoint.id).values(enabled=False)
        )
    hooks.drain(worker)
    assert hooks.receiver.received == []
    with session_scope(hooks.sessions) as session:
        session.execute(
            update(WebhookEndpoint).where(WebhookEndpoint.id == endpoint.id).values(enabled=True)
        )
    hooks.drain(worker)
    assert len(hooks.receiver.delivered()) == 1


def test_one_candidates_events_go_in_order_and_other_candidates_are_not_held_up(
    hooks: Hooks, clock: FrozenClock
) -> None:
    """Per endpoint a candidate's next event waits for the one before; others go on."""
    hooks.endpoint()
    for n in range(3):
        hooks.event(candidate="slow", n=n)
        hooks.event(candidate="fast", n=n)
    hooks.event(EventType.ALERT_RUN_FINISHED, n=9)  # no candidate: no order to keep
    hooks.receiver.respond = lambda r: Reply(500 if r.candidate == "slow" else 200)
    hooks.drain()
    delivered = [(r.candidate, r.payload["data"]["n"]) for r in hooks.receiver.delivered()]
    assert [n for c, n in delivered if c == "fast"] == [0, 1, 2]
    assert (None, 9) in delivered
    # Only the first of the failing candidate's events was tried.
    assert {r.payload["data"]["n"] for r in hooks.receiver.received if r.candidate == "slow"} == {0}

    hooks.receiver.respond = None
    clock.advance(timedelta(minutes=1))
    hooks.drain()
    slow = [r.payload["data"]["n"] for r in hooks.receiver.delivered() if r.candidate == "slow"]
    assert slow == [0, 1, 2]


def test_order_is_kept_per_endpoint_independently(hooks: Hooks, clock: FrozenClock) -> None:
    """One endpoint failing a candidate's event does not hold that candidate up elsewhere."""
    hooks.endpoint(url=hooks.receiver.url + "/down")
    hooks.endpoint(url=hooks.receiver.url + "/up")
    for n in range(3):
        hooks.event(candidate="c1", n=n)
    hooks.receiver.respond = lambda r: Reply(503 if r.path.endswith("/down") else 204)
    hooks.drain()
    up = [r.payload["data"]["n"] for r in hooks.receiver.delivered() if r.path.endswith("/up")]
    assert up == [0, 1, 2]
    down = [r.payload["data"]["n"] for r in hooks.receiver.received if r.path.endswith("/down")]
    assert down == [0]


def test_the_payload_is_the_signed_bytes(hooks: Hooks, clock: FrozenClock) -> None:
    """The body received is compact UTF-8 JSON, exactly the bytes signed (non-ASCII kept)."""
    endpoint = hooks.endpoint()
    hooks.event(candidate="c1", note="Zürich ✓")
    hooks.drain()
    [request] = hooks.receiver.received
    assert "Zürich ✓".encode() in request.body
    assert json.loads(request.body)["data"]["note"] == "Zürich ✓"
    assert request.verified_by == [endpoint.secret]
