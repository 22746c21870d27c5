"""Fixtures for webhook delivery: a real receiver on loopback, endpoints, events, workers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from portal.webhooks.endpoints import EndpointInput, create_endpoint
from portal.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from portal.webhooks.worker import BatchResult, WebhookPolicy, WebhookWorker
from preferences.clock import FrozenClock, frozen
from preferences.db import session_scope
from preferences.events import EventType, record_event
from tests.conftest import TEST_SEAL, TEST_SECRET
from tests.portal.webhooks.receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A receiver answering 204 to everything until told otherwise."""
    server = Receiver()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def clock() -> Iterator[FrozenClock]:
    """The project's clock, frozen at the real time (so fresh signatures verify outright)."""
    with frozen(datetime.now(UTC).replace(microsecond=0)) as fixed:
        yield fixed


@dataclass(frozen=True)
class Endpoint:
    id: int
    public_id: str
    secret: str


@dataclass
class Hooks:
    """Endpoints, events and workers against one test database and one receiver."""

    sessions: sessionmaker[Session]
    receiver: Receiver
    policy: WebhookPolicy
    workers: list[WebhookWorker] = field(default_factory=list)

    def endpoint(self, url: str | None = None, **fields: Any) -> Endpoint:
        with session_scope(self.sessions) as session:
            endpoint, secret = create_endpoint(
                session,
                EndpointInput(url=url or self.receiver.url, **fields),
                self.policy.allowed_hosts,
                TEST_SEAL,
            )
            found = Endpoint(endpoint.id, endpoint.public_id, secret)
        self.receiver.secrets.append(secret)
        return found

    def event(
        self,
        type_: EventType = EventType.CANDIDATE_CREATED,
        candidate: str | None = None,
        **data: Any,
    ) -> None:
        with session_scope(self.sessions) as session:
            record_event(session, type_, candidate=candidate, data=data, source="test")

    def worker(self, **changes: Any) -> WebhookWorker:
        options = {k: changes.pop(k) for k in ("batch_size", "lease", "worker_id") if k in changes}
        worker = WebhookWorker(self.sessions, replace(self.policy, **changes), **options)
        self.workers.append(worker)
        return worker

    def drain(self, worker: WebhookWorker | None = None, *, rounds: int = 50) -> BatchResult:
        """Run rounds until one does nothing; the totals of what they did."""
        worker = worker or (self.workers[0] if self.workers else self.worker())
        total = BatchResult()
        for _ in range(rounds):
            result = worker.run_once()
            if result.idle:
                return total
            for name in ("expanded", "claimed", "delivered", "retried", "failed", "released"):
                setattr(total, name, getattr(total, name) + getattr(result, name))
        raise AssertionError(f"still busy after {rounds} rounds")

    def deliveries(self) -> list[WebhookDelivery]:
        with self.sessions() as session:
            rows = list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))
            session.expunge_all()
            return rows

    def attempts(self) -> list[WebhookAttempt]:
        with self.sessions() as session:
            rows = list(session.scalars(select(WebhookAttempt).order_by(WebhookAttempt.id)))
            session.expunge_all()
            return rows

    def endpoint_row(self, endpoint: Endpoint) -> WebhookEndpoint:
        with self.sessions() as session:
            row = session.get(WebhookEndpoint, endpoint.id)
            assert row is not None
            session.expunge(row)
            return row


@pytest.fixture
def hooks(sessions: sessionmaker[Session], receiver: Receiver) -> Iterator[Hooks]:
    """Webhook helpers; every worker made through it is closed at the end."""
    policy = WebhookPolicy(
        allowed_hosts=(receiver.host_key,),
        timeout=2.0,
        retry_window=timedelta(hours=72),
        disable_after=timedelta(days=5),
        concurrency=4,
        secret_keys=(TEST_SECRET,),
    )
    helper = Hooks(sessions, receiver, policy)
    try:
        yield helper
    finally:
        for worker in helper.workers:
            worker.close()
