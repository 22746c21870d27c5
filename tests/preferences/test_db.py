"""Database plumbing: the UTC datetime type, session scopes and enum constraints."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, false, func, literal, select, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session

from preferences.db import (
    UTCDateTime,
    insert_numbered,
    make_engine,
    make_session_factory,
    numbered,
    ping,
    session_scope,
)
from preferences.events import EventType, WebhookEvent, event_rows
from preferences.models import Candidate, Interest


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 3, 29, 1, 30, 15, 123456, tzinfo=UTC),
        datetime(2026, 3, 29, 3, 30, 15, 123456, tzinfo=ZoneInfo("Europe/Berlin")),
        datetime(2026, 11, 1, 12, 30, tzinfo=ZoneInfo("America/New_York")),
        datetime(2026, 7, 1, 23, 59, 59, tzinfo=timezone(timedelta(hours=-9, minutes=-30))),
    ],
)
def test_utc_datetime_round_trips_aware_values(db_session: Session, value: datetime) -> None:
    """An aware datetime in any zone reads back as the same instant, in UTC, to the microsecond."""
    db_session.add(Candidate(email="ana@example.com", email_verified_at=value))
    db_session.flush()
    db_session.expire_all()
    stored = db_session.scalar(select(Candidate.email_verified_at))
    assert stored == value
    assert stored is not None
    assert stored.tzinfo is not None
    assert stored.utcoffset() == timedelta(0)
    assert stored.microsecond == value.microsecond


def test_utc_datetime_keeps_none(db_session: Session) -> None:
    """A NULL datetime stays None."""
    db_session.add(Candidate(email="ana@example.com", email_verified_at=None))
    db_session.flush()
    db_session.expire_all()
    assert db_session.scalar(select(Candidate.email_verified_at)) is None


def test_utc_datetime_refuses_naive_values(db_session: Session) -> None:
    """A naive datetime is refused at flush time instead of being guessed at."""
    db_session.add(Candidate(email="ana@example.com", email_verified_at=datetime(2026, 1, 1)))
    with pytest.raises(StatementError) as caught:
        db_session.flush()
    assert isinstance(caught.value.orig, ValueError)
    assert "naive datetime" in str(caught.value.orig)


def test_utc_datetime_bind_param_refuses_naive_directly(engine: Engine) -> None:
    """The type itself raises ValueError for a naive value on this dialect."""
    with pytest.raises(ValueError, match="naive datetime"):
        UTCDateTime().process_bind_param(datetime(2026, 1, 1), engine.dialect)


def test_utc_datetime_reads_naive_sqlite_storage_as_utc(engine: Engine) -> None:
    """Values stored by the type come back aware UTC, including through a raw UTC comparison."""
    value = datetime(2026, 5, 5, 5, 5, 5, tzinfo=UTC)
    with session_scope(make_session_factory(engine)) as session:
        session.add(Candidate(email="ana@example.com", created_at=value))
    with engine.connect() as conn:
        matched = conn.scalar(
            select(func.count())
            .select_from(Candidate)
            .where(
                Candidate.created_at
                == datetime(2026, 5, 5, 7, 5, 5, tzinfo=ZoneInfo("Europe/Paris"))
            )
        )
    assert matched == 1


def test_session_scope_commits_on_success(engine: Engine) -> None:
    """session_scope commits what the block wrote."""
    factory = make_session_factory(engine)
    with session_scope(factory) as session:
        session.add(Interest(name="Design", slug="design"))
    with factory() as reader:
        assert reader.scalar(select(Interest.slug)) == "design"


def test_session_scope_rolls_back_and_reraises_on_error(engine: Engine) -> None:
    """An error inside session_scope rolls the block back and propagates."""
    factory = make_session_factory(engine)
    with pytest.raises(RuntimeError, match="boom"), session_scope(factory) as session:
        session.add(Interest(name="Design", slug="design"))
        session.flush()
        raise RuntimeError("boom")
    with factory() as reader:
        assert reader.scalar(select(func.count()).select_from(Interest)) == 0


RAW_INTEREST_INSERT = """
INSERT INTO interests (name, slug, details, keywords, position, status, created_at)
VALUES ('Bogus', 'bogus', '', '[]', 0, 'archived', :at)
"""


def test_enum_columns_have_a_database_check(db_session: Session) -> None:
    """A status value outside the enum is refused by the database itself, not just the ORM."""
    with pytest.raises(IntegrityError):
        db_session.execute(text(RAW_INTEREST_INSERT), {"at": datetime(2026, 1, 1, tzinfo=UTC)})


def test_enum_columns_refuse_unknown_strings_in_python(db_session: Session) -> None:
    """Assigning an unknown string to an enum column fails before it reaches the database."""
    db_session.add(Interest(name="Bogus", slug="bogus", status="archived"))
    with pytest.raises(StatementError) as caught:
        db_session.flush()
    assert isinstance(caught.value.orig, LookupError)


def test_ping_succeeds_on_a_live_database(engine: Engine) -> None:
    """ping() runs a trivial query without raising."""
    ping(engine)
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT 1")) == 1


def _mode(path: str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The common umask 022, under which files are made world-readable unless asked otherwise."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def test_a_new_sqlite_database_is_readable_by_its_owner_only(
    tmp_path: Path, open_umask: None
) -> None:
    """The database file and the -wal and -shm files SQLite makes beside it are 0600."""
    path = str(tmp_path / "private.db")
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE notes (body TEXT)"))
            conn.execute(text("INSERT INTO notes VALUES ('secret')"))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT body FROM notes")).scalar() == "secret"
            for suffix in ("", "-wal", "-shm"):
                assert _mode(path + suffix) == 0o600, suffix
    finally:
        engine.dispose()
    sibling = tmp_path / "other-file"
    sibling.touch()
    assert _mode(str(sibling)) == 0o644, "the umask itself still makes readable files"


def test_an_existing_readable_database_is_made_private(
    tmp_path: Path, open_umask: None, caplog: pytest.LogCaptureFixture
) -> None:
    """A database left readable by others (an older install) is tightened, and it is logged."""
    path = tmp_path / "old.db"
    first = make_engine(f"sqlite:///{path}")
    with first.begin() as conn:
        conn.execute(text("CREATE TABLE notes (body TEXT)"))
    first.dispose()
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="preferences.db"):
        engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM notes")).scalar() == 0
            assert _mode(str(path)) == _mode(f"{path}-wal") == 0o600
    finally:
        engine.dispose()
    assert [r.getMessage() for r in caplog.records] == ["database file made private"]


def test_in_memory_sqlite_needs_no_file(tmp_path: Path) -> None:
    """An in-memory database makes no file and still works."""
    engine = make_engine("sqlite://")
    try:
        ping(engine)
    finally:
        engine.dispose()
    assert list(tmp_path.iterdir()) == []


def _numbered_events(count: int) -> list[dict[str, object]]:
    return event_rows(
        [(EventType.WEBHOOK_TEST, None, {"n": n}) for n in range(count)], source="test"
    )


def _stored_numbers(session: Session) -> list[int]:
    rows = session.scalars(select(WebhookEvent).order_by(WebhookEvent.id))
    return [row.data["n"] for row in rows]


def test_insert_numbered_writes_its_rows_in_order_and_compiles_once(db_session: Session) -> None:
    """Rows given as numbered parameters go in, in order; the statement has a cache key,
    so SQLAlchemy compiles it once (a multi-row VALUES has none, and compiles each time)."""
    statement = insert_numbered(WebhookEvent.__table__, "e", 3)  # type: ignore[arg-type]
    assert statement._generate_cache_key() is not None
    db_session.execute(statement, numbered("e", _numbered_events(3)))
    db_session.execute(statement, numbered("e", _numbered_events(3)))
    assert _stored_numbers(db_session) == [0, 1, 2, 0, 1, 2]


@pytest.mark.parametrize("rows_in_source", [0, 1])
def test_insert_numbered_per_row_of_a_source_inserts_once_for_each_of_its_rows(
    db_session: Session, rows_in_source: int
) -> None:
    """With `per_row_of`, nothing is inserted when the source is empty (a change that
    changed nothing), and each row once when it gives one."""
    source = select(literal(1).label("one"))
    if not rows_in_source:
        source = source.where(false())
    statement = insert_numbered(
        WebhookEvent.__table__,  # type: ignore[arg-type]
        "e",
        2,
        per_row_of=source.cte("source"),
    )
    db_session.execute(statement, numbered("e", _numbered_events(2)))
    assert _stored_numbers(db_session) == ([0, 1] if rows_in_source else [])
