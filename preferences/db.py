"""Database plumbing: the declarative base, engines and session scopes.

Every package's models derive from `Base`, so one metadata describes the whole
schema and Alembic migrates it in one history.
"""

from __future__ import annotations

import enum
import logging
import os
import stat
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    DateTime,
    Engine,
    Enum,
    MetaData,
    any_,
    bindparam,
    create_engine,
    event,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator

_log = logging.getLogger("preferences.db")

# Stable constraint names keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base for every Talent Connect model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every backend.

    SQLite keeps no zone, so values are stored as naive UTC and made aware again
    on the way out; naive values are refused rather than guessed at.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware UTC datetime is needed")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def enum_column(cls: type[enum.Enum], name: str) -> Enum:
    """Column type for a string enum, stored by value with a CHECK constraint."""
    # Not a native PostgreSQL ENUM, so adding a value later is a plain migration
    # that reads the same on both backends.
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # Foreign keys are off by default in SQLite; WAL lets the web, the worker and
    # the scheduler threads of `talentconnect run` read while one of them writes.
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode, NORMAL syncs at checkpoints instead of at every commit: a
    # crashed or killed process loses nothing, a power cut can lose the last
    # commits (never corrupts). PostgreSQL is the choice where that matters.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    # LIKE matches case, as on PostgreSQL; and so a prefix LIKE can use an index
    # (outbox rows by dedupe-key prefix), which SQLite's default LIKE cannot.
    cursor.execute("PRAGMA case_sensitive_like=ON")
    cursor.close()


_may_write: ContextVar[bool] = ContextVar("talentconnect_may_write", default=True)


@contextmanager
def read_only_work() -> Iterator[None]:
    """Declare that the block only reads, so SQLite need not take its write lock."""
    token = _may_write.set(False)
    try:
        yield
    finally:
        _may_write.reset(token)


def set_read_only(read_only: bool) -> None:
    """Mark the current context (for example one web request) as read-only or not."""
    _may_write.set(not read_only)


def start_write(session: Session) -> None:
    """Switch a request that has so far only read (`set_read_only(True)`) to writing.

    On SQLite the read transaction ends here, so the write that follows takes the
    one write lock only for itself, not for the reads before it. On PostgreSQL,
    where writers lock rows and not the database, the transaction simply goes on.
    """
    set_read_only(False)
    if session.get_bind().dialect.name == "sqlite":
        session.commit()


def among(session: Session, column: Any, values: Iterable[Any]) -> ColumnElement[bool]:
    """`column IN (values)`, sent to PostgreSQL as one array parameter, `= ANY(:array)`.

    For the worker's batch lookups (a hundred ids or addresses at a time). An IN
    list makes the SQL text differ with its length, so psycopg parses it afresh
    each time (it caches statements of at most 50 parameters) and never prepares
    it; with one array parameter the text is fixed. SQLite gets the IN list.
    `column` must have a plain type (integer, string), which the array takes.
    """
    listed = list(values)
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, listed, type_=ARRAY(column.type)))
    result: ColumnElement[bool] = column.in_(listed)
    return result


def _owner_only(database: str | None) -> None:
    """Create the SQLite file `database` readable by its owner only (0600), or tighten it.

    SQLite gives the `-wal` and `-shm` files it makes the mode of the database file,
    so they are owner-only too. In-memory and URI-style databases are left alone.
    """
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    try:
        # O_EXCL: only a file that is not there yet is made here; SQLite takes an
        # empty file for an empty database.
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    except OSError:
        return  # a missing folder and the like: let SQLite report it on connect
    for candidate in (path, *(Path(f"{database}{suffix}") for suffix in ("-wal", "-shm"))):
        try:
            mode = stat.S_IMODE(candidate.stat().st_mode)
            if mode & 0o077:
                candidate.chmod(mode & 0o700)
                _log.warning(
                    "database file made private", extra={"file": candidate.name, "was": oct(mode)}
                )
        except FileNotFoundError:
            continue
        except OSError:
            _log.warning("database file is readable by others", extra={"file": candidate.name})


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Create an engine for `url` with the settings each backend needs."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        _owner_only(parsed.database)
        engine = create_engine(
            parsed,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": 15},
        )
        event.listen(engine, "connect", _configure_sqlite)

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            # A transaction that may write takes the write lock at BEGIN, so two
            # writers queue on busy_timeout instead of failing on lock upgrade.
            # Read-only work (GET pages) begins deferred and never waits for writers.
            # Straight to the driver: this runs once per transaction, on every request.
            conn.connection.dbapi_connection.execute(
                "BEGIN IMMEDIATE" if _may_write.get() else "BEGIN"
            )

        # pysqlite's own BEGIN handling must be off for the explicit BEGIN above.
        @event.listens_for(engine, "connect")
        def _no_implicit_begin(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None

        return engine
    return create_engine(parsed, echo=echo, pool_pre_ping=True, pool_size=5, max_overflow=10)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Return the session factory bound to `engine`."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Yield a session that commits when the block ends and rolls back on error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def ping(engine: Engine) -> None:
    """Run a trivial query; raises if the database cannot be reached."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
