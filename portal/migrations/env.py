"""Alembic environment: migrates the connection handed in by `portal.migrate`."""

from __future__ import annotations

from typing import Any

from alembic import context

from jobs.search_ddl import include_search_name
from portal.schema import metadata
from preferences.db import UTCDateTime, make_engine

config = context.config
target_metadata = metadata()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        engine = make_engine(config.attributes["database_url"])
        with engine.connect() as conn:
            _run(conn)
        engine.dispose()
    else:
        _run(connection)


def _render_item(type_: str, obj: Any, _autogen_context: Any) -> Any:
    # Migrations spell plain SQLAlchemy types, so they never import app code.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _run(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        render_item=_render_item,
        # The search index (migration 0014) has no model; comparisons leave it alone.
        include_name=include_search_name,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `talentconnect db upgrade`")
run_migrations_online()
