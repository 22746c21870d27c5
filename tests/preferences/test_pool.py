"""PostgreSQL's connection pool: a ping only for connections that sat idle or were spoken to.

A connection in steady use is handed out without a round trip; one back from a quiet
spell, or one the server has sent something to (its closing message), is pinged first,
and replaced if the server no longer knows it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

import preferences.db
from preferences.db import make_engine


@pytest.fixture
def pg_engine(pg_schemas: object, pg_shared_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_shared_url)
    yield engine
    engine.dispose()


def backend_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        pid: int = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    return pid


def terminate(url: str, pid: int) -> None:
    """End server process `pid` from another connection, as a restart or failover would,
    and wait until it has gone."""
    admin = create_engine(make_url(url).set(drivername="postgresql+psycopg"))
    try:
        with admin.begin() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
        alive = text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with admin.connect() as conn:
                if not conn.execute(alive, {"pid": pid}).scalar_one():
                    return
            time.sleep(0.01)
        raise AssertionError(f"server process {pid} did not end")
    finally:
        admin.dispose()


def count_pings(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record each ping the engine's dialect sends (the real ping still runs)."""
    pings: list[int] = []
    real = engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        pings.append(1)
        return real(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    return pings


def test_a_connection_in_steady_use_is_not_pinged(
    pg_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings = count_pings(pg_engine, monkeypatch)
    first = backend_pid(pg_engine)
    for _ in range(5):
        assert backend_pid(pg_engine) == first  # the same pooled connection each time
    assert pings == []


def test_an_idle_connection_is_pinged_and_still_used(
    pg_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = backend_pid(pg_engine)
    monkeypatch.setattr(preferences.db, "IDLE_PING_SECONDS", 0.0)
    pings = count_pings(pg_engine, monkeypatch)
    assert backend_pid(pg_engine) == first
    assert pings == [1]


def test_an_idle_connection_the_server_dropped_is_replaced(
    pg_engine: Engine, pg_shared_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = backend_pid(pg_engine)
    terminate(pg_shared_url, dead)
    monkeypatch.setattr(preferences.db, "IDLE_PING_SECONDS", 0.0)
    # The ping finds it gone; the pool connects anew and the query runs: no error reaches
    # the caller.
    with pg_engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar_one() == 1
    assert backend_pid(pg_engine) != dead


def test_a_connection_in_steady_use_the_server_dropped_is_replaced_before_use(
    pg_engine: Engine, pg_shared_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not idle long enough for a ping, but the server closed it: the socket says so."""
    dead = backend_pid(pg_engine)
    terminate(pg_shared_url, dead)
    pings = count_pings(pg_engine, monkeypatch)
    with pg_engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar_one() == 1
    assert pings == [1]  # the one ping that found it gone
    assert backend_pid(pg_engine) != dead
    assert pings == [1]  # its replacement, in steady use, is not pinged
