"""How transactions take the write lock: web requests read first and lock only to write."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from jobs.alerts import preview_schedule
from jobs.models import AlertSchedule
from portal.schema import metadata
from preferences.db import (
    BUSY_TIMEOUT_MS,
    WriteBeforeSlowWork,
    WriteMode,
    begin_immediate,
    make_engine,
    make_session_factory,
    reset_write_mode,
    set_write_mode,
    slow_work,
    wrote_in_transaction,
)
from preferences.models import Interest, SuppressionReason
from preferences.suppressions import suppress


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Iterator[tuple[Engine, Path]]:
    path = tmp_path / "lock.db"
    engine = make_engine(f"sqlite:///{path}")
    metadata().create_all(engine)
    yield engine, path
    engine.dispose()


@pytest.fixture
def request_mode() -> Iterator[None]:
    """The mode every web request runs in (portal.app sets it before each request)."""
    token = set_write_mode(WriteMode.ON_FIRST_WRITE)
    yield
    reset_write_mode(token)


def write_lock_free(path: Path) -> bool:
    """Whether another connection could take SQLite's write lock right now."""
    probe = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        probe.close()


def test_a_request_reads_without_the_write_lock_and_takes_it_to_write(
    sqlite_file: tuple[Engine, Path], request_mode: None
) -> None:
    """Reads (and slow work after them) leave the lock free; the first write takes it."""
    engine, path = sqlite_file
    with make_session_factory(engine)() as session:
        session.scalars(select(Interest)).all()
        assert session.in_transaction()
        assert write_lock_free(path), "a read-only transaction must not hold the write lock"
        session.add(Interest(name="Design", slug="design"))
        session.flush()
        assert not write_lock_free(path), "a flushed write holds the lock until commit"
        session.commit()
        assert write_lock_free(path)


def test_a_write_after_another_writer_committed_neither_fails_nor_loses_either(
    sqlite_file: tuple[Engine, Path], request_mode: None
) -> None:
    """A read snapshot gone stale does not turn the first write into "database is locked"."""
    engine, path = sqlite_file
    factory = make_session_factory(engine)
    with factory() as session:
        assert session.scalars(select(Interest)).all() == []  # the snapshot starts here
        other = sqlite3.connect(path, timeout=5, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        other.execute(
            "INSERT INTO interests (name, slug, details, keywords, position, status, created_at)"
            " VALUES ('Sales', 'sales', '', '[]', 1, 'active', '2026-01-01 00:00:00')"
        )
        other.execute("COMMIT")
        other.close()
        session.add(Interest(name="Design", slug="design"))
        session.commit()
    with factory() as session:
        assert sorted(session.scalars(select(Interest.slug))) == ["design", "sales"]


def test_a_savepoint_write_takes_the_lock_first(
    sqlite_file: tuple[Engine, Path], request_mode: None
) -> None:
    """Writes under a savepoint (as suppressions make) work after a stale read too."""
    engine, path = sqlite_file
    factory = make_session_factory(engine)
    with factory() as session:
        session.scalars(select(Interest)).all()
        other = sqlite3.connect(path, timeout=5, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        other.execute(
            "INSERT INTO interests (name, slug, details, keywords, position, status, created_at)"
            " VALUES ('Sales', 'sales', '', '[]', 1, 'active', '2026-01-01 00:00:00')"
        )
        other.execute("COMMIT")
        other.close()
        suppress(session, "ana@example.com", SuppressionReason.HARD_BOUNCE)
        session.commit()


def test_temporary_tables_need_no_write_lock(
    sqlite_file: tuple[Engine, Path], request_mode: None
) -> None:
    """The console's audience preview writes only temporary tables: the lock stays free."""
    engine, path = sqlite_file
    with make_session_factory(engine)() as session:
        schedule = AlertSchedule(name="Daily", cron="0 9 * * *")
        session.add(schedule)
        session.commit()
        preview_schedule(session, schedule.id)
        assert write_lock_free(path)
        assert not wrote_in_transaction(session)


def test_jobs_and_commands_still_take_the_lock_at_begin(sqlite_file: tuple[Engine, Path]) -> None:
    """Outside a request (the default mode) a transaction holds the lock from its first read."""
    engine, path = sqlite_file
    with make_session_factory(engine)() as session:
        session.scalars(select(Interest)).all()
        assert not write_lock_free(path)


def test_slow_work_ends_the_read_transaction(db_session: Session) -> None:
    """Inside `slow_work` no transaction is open (no snapshot, no connection, no lock)."""
    db_session.scalars(select(Interest)).all()
    assert db_session.in_transaction()
    with slow_work(db_session):
        assert not db_session.in_transaction()


def test_slow_work_after_a_write_is_refused(db_session: Session) -> None:
    """Starting slow work once the transaction wrote raises: its locks would be held meanwhile."""
    db_session.add(Interest(name="Design", slug="design"))
    db_session.flush()
    assert wrote_in_transaction(db_session)
    with pytest.raises(WriteBeforeSlowWork), slow_work(db_session):
        pytest.fail("the block must not run")


def test_slow_work_with_changes_not_yet_flushed_is_refused(db_session: Session) -> None:
    """Pending changes count as a write: they would be flushed and locked before the work."""
    db_session.add(Interest(name="Design", slug="design"))
    with pytest.raises(WriteBeforeSlowWork), slow_work(db_session):
        pytest.fail("the block must not run")


def _holder(path: Path) -> sqlite3.Connection:
    """Another connection, holding SQLite's write lock until it is committed."""
    holder = sqlite3.connect(path, timeout=0, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    return holder


def test_a_writer_waits_for_the_lock_in_short_steps_and_gets_it_when_freed(
    sqlite_file: tuple[Engine, Path],
) -> None:
    """begin_immediate waits for a writer that holds the lock, then takes it; the busy
    timeout every other statement waits with is back afterwards."""
    _engine, path = sqlite_file
    holder = _holder(path)
    waiter = sqlite3.connect(path, timeout=15, isolation_level=None, check_same_thread=False)
    done = threading.Event()

    def wait_for_lock() -> None:
        begin_immediate(waiter)
        done.set()

    thread = threading.Thread(target=wait_for_lock)
    thread.start()
    assert not done.wait(0.2)  # still waiting while the lock is held
    holder.execute("COMMIT")
    assert done.wait(5)
    thread.join()
    assert not write_lock_free(path)  # the waiter holds it now
    assert waiter.execute("PRAGMA busy_timeout").fetchone() == (BUSY_TIMEOUT_MS,)
    waiter.execute("ROLLBACK")
    assert write_lock_free(path)
    holder.close()
    waiter.close()


def test_a_writer_gives_up_after_the_busy_timeout_with_sqlites_own_error(
    sqlite_file: tuple[Engine, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lock that is never freed fails the same way SQLite's busy handler would: locked."""
    _engine, path = sqlite_file
    monkeypatch.setattr("preferences.db.BUSY_TIMEOUT_MS", 100)
    holder = _holder(path)
    waiter = sqlite3.connect(path, timeout=15, isolation_level=None)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        begin_immediate(waiter)
    assert not waiter.in_transaction
    assert waiter.execute("PRAGMA busy_timeout").fetchone() == (100,)
    holder.execute("ROLLBACK")
    begin_immediate(waiter)  # free again: taken at once
    waiter.execute("ROLLBACK")
    holder.close()
    waiter.close()


def test_an_error_other_than_busy_is_not_retried(tmp_path: Path) -> None:
    """Only a busy lock is waited for: any other failure of BEGIN is raised at once."""
    waiter = sqlite3.connect(tmp_path / "x.db", isolation_level=None)
    waiter.execute("BEGIN")  # already in a transaction: BEGIN fails, not busy
    with pytest.raises(sqlite3.OperationalError, match="within a transaction"):
        begin_immediate(waiter)
    waiter.close()
