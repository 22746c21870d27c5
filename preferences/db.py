"""Database plumbing: the declarative base, engines and session scopes.

Every package's models derive from `Base`, so one metadata describes the whole
schema and Alembic migrates it in one history.
"""

from __future__ import annotations

import enum
import itertools
import logging
import os
import re
import select
import sqlite3
import stat
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    DateTime,
    Engine,
    Enum,
    FromClause,
    Insert,
    MetaData,
    Table,
    any_,
    bindparam,
    create_engine,
    event,
    insert,
    text,
    union_all,
)
from sqlalchemy import select as select_columns
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator

from preferences.errors import PreferencesError

_log = logging.getLogger("preferences.db")


def _sqlite_from_hint(compiler: SQLiteCompiler, table: Any, hint: str) -> str:
    return hint


# SQLite's compiler renders a table hint after the table's name, as MySQL's and SQL
# Server's do, so a query can say `.with_hint(table, "INDEXED BY ix_…", "sqlite")` where
# SQLite's planner misjudges an index (sqlite_stat1 holds no histogram: a column that is
# NULL on a fifth of the rows and unique on the rest looks like it picks one row).
SQLiteCompiler.get_from_hint_text = _sqlite_from_hint  # type: ignore[method-assign,assignment]

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


# How long a statement waits for a lock another connection holds before failing.
BUSY_TIMEOUT_MS = 15_000
# The write lock's waits (`begin_immediate`): short first, then at most a millisecond.
_WRITE_LOCK_STEPS = (0.00005, 0.0001, 0.0002, 0.0005, 0.001)


def begin_immediate(raw: sqlite3.Connection) -> None:
    """BEGIN IMMEDIATE on a pysqlite connection, waiting for the write lock in short steps.

    SQLite's busy handler retries after sleeping 1, 2, 5, 10, 15, 20, 25 … ms, so a
    writer that finds the lock taken by a transaction of a third of a millisecond (a
    one-click unsubscribe, a Save) loses whole milliseconds, and under load writers
    queue on those sleeps (the Save's server p99 went to 110 to 135 ms). Here the lock is
    tried again after 50 µs, growing to 1 ms, up to the same BUSY_TIMEOUT_MS; the busy
    handler is off meanwhile and back on for every other statement.
    """
    raw.execute("PRAGMA busy_timeout=0")
    try:
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        for attempt in itertools.count():
            try:
                raw.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                busy = getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY
                if not busy or time.monotonic() >= deadline:
                    raise
            time.sleep(_WRITE_LOCK_STEPS[min(attempt, len(_WRITE_LOCK_STEPS) - 1)])
    finally:
        raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


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
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    # LIKE matches case, as on PostgreSQL; and so a prefix LIKE can use an index
    # (outbox rows by dedupe-key prefix), which SQLite's default LIKE cannot.
    cursor.execute("PRAGMA case_sensitive_like=ON")
    cursor.close()


class WriteMode(enum.Enum):
    """How the transactions begun in a context take SQLite's one write lock."""

    # At BEGIN (BEGIN IMMEDIATE): writers queue for the lock instead of failing to upgrade.
    # Jobs, workers and commands, whose transactions exist to write.
    IMMEDIATE = "immediate"
    # At the first write: the transaction begins deferred and reads without the lock;
    # the first INSERT, UPDATE, DELETE or DDL statement ends that read transaction and
    # starts a BEGIN IMMEDIATE one. Web requests, which do their slow work (parsing,
    # fetching, password hashing) before they write.
    ON_FIRST_WRITE = "on_first_write"
    # Never: the block only reads (or writes temporary tables).
    READ_ONLY = "read_only"


_write_mode: ContextVar[WriteMode] = ContextVar(
    "talentconnect_write_mode", default=WriteMode.IMMEDIATE
)
# Keys in a connection's `info` for the transaction under way.
_TX_MODE = "talentconnect_tx_mode"
_TX_WROTE = "talentconnect_tx_wrote"


@contextmanager
def read_only_work() -> Iterator[None]:
    """Declare that the block only reads, so SQLite need not take its write lock."""
    token = _write_mode.set(WriteMode.READ_ONLY)
    try:
        yield
    finally:
        _write_mode.reset(token)


def set_read_only(read_only: bool) -> None:
    """Mark the current context (for example one web request) as read-only or not."""
    _write_mode.set(WriteMode.READ_ONLY if read_only else WriteMode.IMMEDIATE)


def set_write_mode(mode: WriteMode) -> Token[WriteMode]:
    """Set how transactions begun from now on in this context take the write lock.

    Returns the token that `reset_write_mode` takes to put the previous mode back.
    """
    return _write_mode.set(mode)


def reset_write_mode(token: Token[WriteMode]) -> None:
    _write_mode.reset(token)


def start_write(session: Session) -> None:
    """Switch a request that has so far only read (`set_read_only(True)`) to writing.

    On SQLite the read transaction ends here, so the write that follows takes the
    one write lock only for itself, not for the reads before it. On PostgreSQL,
    where writers lock rows and not the database, the transaction simply goes on.
    """
    set_read_only(False)
    if session.get_bind().dialect.name == "sqlite":
        session.commit()


class WriteBeforeSlowWork(PreferencesError, RuntimeError):
    """Slow work was started after the transaction had written: it would hold locks meanwhile.

    A mistake in the calling code, not in anyone's input, hence also a `RuntimeError`.
    """


def wrote_in_transaction(session: Session) -> bool:
    """Whether the session's transaction has sent a write (or has changes waiting to)."""
    if session.new or session.deleted or any(session.is_modified(o) for o in session.dirty):
        return True
    if not session.in_transaction():
        return False
    return bool(session.connection().info.get(_TX_WROTE))


@contextmanager
def slow_work(session: Session) -> Iterator[None]:
    """Run slow work (parsing a file, a network fetch, hashing a password) outside any transaction.

    The session's reads so far are committed, which ends its transaction: SQLite's
    snapshot and PostgreSQL's connection go back, and no lock of any kind is held
    while the block runs. Objects already loaded stay usable; the next statement
    begins a new transaction. Raises WriteBeforeSlowWork if the transaction has
    already written, since its locks would be held across the block: read, work,
    then write.
    """
    if wrote_in_transaction(session):
        raise WriteBeforeSlowWork("the transaction wrote before slow work; write after it")
    session.commit()
    yield


# Execution options of a textual statement that touches temporary tables only
# (`text(...).execution_options(**TEMPORARY_ONLY)`): it takes no write lock.
TEMPORARY_ONLY = {"talentconnect_temporary_only": True}
_WRITE_SQL = re.compile(r"\s*(?:INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER)\b", re.I)
_TEMP_DDL = re.compile(r"\s*(?:CREATE|DROP)\s+(?:TEMP|TEMPORARY)\b", re.I)
_DML_IN_WITH = re.compile(r"\b(?:INSERT|UPDATE|DELETE|REPLACE)\b", re.I)


def _is_temporary(table: Any) -> bool:
    prefixes = getattr(table, "_prefixes", None) or ()
    return any(str(p).upper() in ("TEMP", "TEMPORARY") for p in prefixes)


def _writes(statement: str, context: Any) -> bool:
    """Whether a statement about to run changes the database (temporary tables aside)."""
    compiled = getattr(context, "compiled", None)
    element = getattr(compiled, "statement", None)
    if context is not None and (context.isinsert or context.isupdate or context.isdelete):
        return not _is_temporary(getattr(element, "table", None))
    if context is not None and context.isddl:
        target = getattr(element, "element", None)
        return not (_is_temporary(target) or _is_temporary(getattr(target, "table", None)))
    if context is not None and context.execution_options.get("talentconnect_temporary_only"):
        return False
    if _TEMP_DDL.match(statement):
        return False
    if _WRITE_SQL.match(statement):
        return True
    return statement.lstrip()[:4].upper() == "WITH" and bool(_DML_IN_WITH.search(statement))


def _track_writes(engine: Engine) -> None:
    """Note the first write of each transaction (for `slow_work`), on every backend."""

    @event.listens_for(engine, "before_cursor_execute")
    def _before(
        conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool
    ) -> None:
        info = conn.info
        if info.get(_TX_WROTE) or not _writes(statement, context):
            return
        if info.get(_TX_MODE) is WriteMode.ON_FIRST_WRITE:
            _take_write_lock(conn)
        info[_TX_WROTE] = True

    @event.listens_for(engine, "begin")
    def _begun(conn: Any) -> None:
        # A pooled connection's info outlives its transactions; start each one clean.
        conn.info.pop(_TX_WROTE, None)

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _ended(conn: Any) -> None:
        if conn.invalidated:
            # The server dropped it (a restart, a failover): the rollback that follows
            # discards it, and its info goes with it. Reading that info now would raise.
            return
        conn.info.pop(_TX_WROTE, None)
        conn.info.pop(_TX_MODE, None)


def _take_write_lock(conn: Any) -> None:
    """SQLite: end the deferred read transaction and begin one holding the write lock.

    Upgrading the read transaction in place would fail at once (SQLITE_BUSY_SNAPSHOT)
    whenever another connection committed since it began, so it is ended instead: the
    reads before this point are as under PostgreSQL's READ COMMITTED, and from here on
    the transaction is serialized with every other writer.
    """
    raw = conn.connection.dbapi_connection
    raw.execute("COMMIT")
    begin_immediate(raw)
    conn.info[_TX_MODE] = WriteMode.IMMEDIATE


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


def insert_numbered(
    table: Table, prefix: str, count: int, *, per_row_of: FromClause | None = None
) -> Insert:
    """An INSERT of `count` rows into `table` (every column but `id`), given as the
    parameters `numbered(prefix, rows)` makes: `<prefix><n>_<column>`.

    Made of SELECTs joined by UNION ALL, in row order, not of a multi-row VALUES:
    SQLAlchemy caches this one's compiled form, and compiles a VALUES list anew each
    time. With `per_row_of` (a data-modifying CTE, on PostgreSQL), the rows are
    inserted once for each row it gives, so not at all when it changed nothing.
    """
    columns = [column for column in table.c if column.name != "id"]
    picks = []
    for n in range(count):
        pick = select_columns(*(bindparam(f"{prefix}{n}_{c.name}", type_=c.type) for c in columns))
        picks.append(pick if per_row_of is None else pick.select_from(per_row_of))
    return insert(table).from_select(
        [c.name for c in columns], picks[0] if count == 1 else union_all(*picks)
    )


def numbered(prefix: str, rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """`rows` as the parameters of `insert_numbered(…, prefix, len(rows))`."""
    return {f"{prefix}{n}_{key}": value for n, row in enumerate(rows) for key, value in row.items()}


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
            connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
        )
        event.listen(engine, "connect", _configure_sqlite)

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            # A transaction that may write takes the write lock at BEGIN (or, for web
            # requests, at its first write: see WriteMode), so two writers queue on
            # busy_timeout instead of failing on lock upgrade. Read-only work begins
            # deferred and never waits for writers.
            # Straight to the driver: this runs once per transaction, on every request.
            mode = _write_mode.get()
            raw = conn.connection.dbapi_connection
            if mode is WriteMode.IMMEDIATE:
                begin_immediate(raw)
            else:
                raw.execute("BEGIN")
            conn.info[_TX_MODE] = mode

        @event.listens_for(engine, "savepoint")
        def _savepoint(conn: Any, _name: str) -> None:
            # A savepoint is taken to write under it; committing the read transaction
            # later would release it, so the lock is taken before the savepoint.
            if conn.info.get(_TX_MODE) is WriteMode.ON_FIRST_WRITE:
                _take_write_lock(conn)

        # pysqlite's own BEGIN handling must be off for the explicit BEGIN above.
        @event.listens_for(engine, "connect")
        def _no_implicit_begin(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None

        _track_writes(engine)
        return engine
    engine = create_engine(parsed, echo=echo, pool_size=5, max_overflow=10)
    _ping_when_idle(engine)
    _track_writes(engine)
    return engine


# A pooled PostgreSQL connection back in the pool for longer than this is pinged before
# it is handed out again. One in steady use is not: a ping on every checkout (SQLAlchemy's
# pool_pre_ping) was one more round trip per transaction, two for a one-click.
IDLE_PING_SECONDS = 5.0
_RETURNED_AT = "talentconnect_returned_at"


def _server_spoke(dbapi_connection: Any) -> bool:
    """Whether the server has sent anything to a connection resting in the pool.

    Between transactions a server sends nothing unless it is ending the connection (a
    restart's or pg_terminate_backend's FATAL message, or the socket's end), or a
    LISTEN's notification is waiting: one non-blocking poll of the socket, no round trip.
    A connection whose socket cannot be polled counts as having spoken.
    """
    try:
        fd = dbapi_connection.pgconn.socket  # psycopg 3; raises once the connection is lost
    except AttributeError:
        return False  # another driver: only the idle ping applies
    except Exception:
        return True
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


def _ping_when_idle(engine: Engine) -> None:
    """Ping connections that sat idle in the pool, or that the server spoke to; replace one
    that no longer answers.

    A connection dies while idle (a database restart or failover, a firewall's idle
    timeout), so that is when it is checked: with a ping after an idle spell, and with a
    poll of its socket on every checkout, which sees a connection the server closed
    (`_server_spoke`). Raising DisconnectionError at checkout makes the pool discard it
    and connect anew. A connection that fails in use is handled by SQLAlchemy: the error
    invalidates the whole pool, so the next checkouts connect anew.
    """

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _check(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get(_RETURNED_AT)
        rested = returned is not None and time.monotonic() - returned >= IDLE_PING_SECONDS
        if not rested and not _server_spoke(dbapi_connection):
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            _log.warning("pooled database connection lost; reconnecting")
            raise DisconnectionError("pooled connection did not answer a ping") from exc


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
