"""Fixtures for the mailer tests: a frozen clock, session factory and scripted relays."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from preferences.clock import FrozenClock, frozen
from preferences.db import make_session_factory

from .support import T0, Relay, start_relay


@pytest.fixture
def clock() -> Iterator[FrozenClock]:
    """`now()` stands still at T0 until the test advances it."""
    with frozen(T0) as fixed:
        yield fixed


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def relay_factory() -> Iterator[Callable[..., Relay]]:
    """Start scripted relays on demand and stop them all afterwards."""
    started: list[Relay] = []

    def start(*, smtputf8: bool = True) -> Relay:
        relay = start_relay(smtputf8=smtputf8)
        started.append(relay)
        return relay

    yield start
    for relay in started:
        relay.controller.stop()


@pytest.fixture
def relay(relay_factory: Callable[..., Relay]) -> Relay:
    """A relay that offers SMTPUTF8 and accepts everything unless scripted otherwise."""
    return relay_factory()
