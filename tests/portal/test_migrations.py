"""Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.exc import IntegrityError

from jobs.search_ddl import include_search_name
from portal.migrate import current_revision, head_revision, upgrade
from portal.schema import metadata
from preferences.db import make_engine, make_session_factory, session_scope
from preferences.models import Interest
from tests.portal.helpers import clean_env, run_cli


def _schema_diff(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_name": include_search_name}
        )
        return list(compare_metadata(context, metadata()))


def test_upgrade_builds_the_schema_of_the_models(empty_engine: Engine) -> None:
    """Migrating an empty database yields tables, columns, types and indexes equal to the models."""
    assert current_revision(empty_engine) is None
    assert _schema_diff(empty_engine), "an empty database must differ from the models"
    upgrade(empty_engine)
    assert _schema_diff(empty_engine) == []
    tables = set(inspect(empty_engine).get_table_names())
    assert {t.name for t in metadata().sorted_tables} <= tables
    assert "alembic_version" in tables


def test_upgrade_twice_is_a_no_op(empty_engine: Engine) -> None:
    """A second upgrade changes nothing and keeps the data already stored."""
    upgrade(empty_engine)
    with session_scope(make_session_factory(empty_engine)) as session:
        session.add(Interest(name="Design", slug="design"))
    upgrade(empty_engine)
    assert current_revision(empty_engine) == head_revision()
    assert _schema_diff(empty_engine) == []
    with session_scope(make_session_factory(empty_engine)) as session:
        assert session.scalars(select(Interest.slug)).all() == ["design"]


def test_current_revision_is_head_after_upgrade(empty_engine: Engine) -> None:
    """After `upgrade` the database reports the newest packaged revision."""
    head = head_revision()
    assert head is not None
    upgrade(empty_engine)
    assert current_revision(empty_engine) == head
    with empty_engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [
            head
        ]


def test_migrated_constraints_are_enforced(empty_engine: Engine) -> None:
    """The migrated schema refuses a duplicate interest slug, like the models say."""
    upgrade(empty_engine)
    factory = make_session_factory(empty_engine)
    with session_scope(factory) as session:
        session.add(Interest(name="Design", slug="design"))
    with pytest.raises(IntegrityError), session_scope(factory) as session:
        session.add(Interest(name="Design again", slug="design"))
    with session_scope(factory) as session:
        assert session.scalars(select(Interest.name)).all() == ["Design"]


def test_cli_db_upgrade_prints_the_revision(empty_database_url: str, tmp_path: Path) -> None:
    """`talentconnect db upgrade` migrates an empty database, says so and exits 0."""
    env = clean_env(DATABASE_URL=empty_database_url, INSTANCE_DIR=str(tmp_path / "instance"))
    head = head_revision()

    first = run_cli(["db", "upgrade"], env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert f"database at revision {head} (was empty)" in first.stdout

    second = run_cli(["db", "upgrade"], env=env, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert f"database at revision {head} (was {head})" in second.stdout

    current = run_cli(["db", "current"], env=env, cwd=tmp_path)
    assert current.returncode == 0, current.stderr
    assert f"current: {head}" in current.stdout
    assert f"head: {head}" in current.stdout

    engine = make_engine(empty_database_url)
    try:
        assert current_revision(engine) == head
        assert _schema_diff(engine) == []
    finally:
        engine.dispose()


def test_migrated_statuses_take_paused_and_held_and_refuse_others(empty_engine: Engine) -> None:
    """Migration 0008 widens the status CHECKs: a paused campaign and a held row, nothing else."""
    upgrade(empty_engine)
    with empty_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO campaigns (name, subject, body, audience, status, created_at) "
                "VALUES ('n', 's', 'b', '{}', 'paused', CURRENT_TIMESTAMP)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO outbox_messages (dedupe_key, kind, template, to_address, context, "
                "status, attempts, next_attempt_at, last_error, created_at) VALUES "
                "('campaign:1:1', 'campaign', 'campaign', 'a@example.com', '{}', 'held', 0, "
                "CURRENT_TIMESTAMP, '', CURRENT_TIMESTAMP)"
            )
        )
    for table in ("campaigns", "outbox_messages"):
        with pytest.raises(IntegrityError), empty_engine.begin() as conn:
            conn.execute(text(f"UPDATE {table} SET status = 'bogus'"))  # noqa: S608
    with empty_engine.connect() as conn:
        assert conn.execute(text("SELECT status FROM campaigns")).scalars().all() == ["paused"]
        assert conn.execute(text("SELECT status FROM outbox_messages")).scalars().all() == ["held"]
