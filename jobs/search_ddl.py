"""The DDL of the job search index, for migration 0014 and for `create_all` alike.

The structures are the ones `jobs.search_index` describes; they live outside the models
(an FTS5 table and a `tsvector` column have no portable SQLAlchemy type), so the models
create them through DDL events (`jobs.models`) and schema comparisons skip them
(`include_search_name`).

A later migration that rebuilds `job_postings` on SQLite (Alembic's batch mode copies the
table) drops the triggers with the old table: it must run `sqlite_create()`'s trigger
statements again and `SQLITE_REBUILD`.
"""

from __future__ import annotations

from typing import Any, Final

from jobs.search_index import FTS5_TABLE, FTS5_TOKENIZE, PG_VECTOR_COLUMN, pg_vector_sql

PG_VECTOR_INDEX: Final = "ix_job_postings_search_vector"
_TRIGGERS: Final = (f"{FTS5_TABLE}_ai", f"{FTS5_TABLE}_ad", f"{FTS5_TABLE}_au")
# FTS5 keeps an external-content table's index in these shadow tables.
_FTS5_SHADOWS: Final = frozenset(
    {FTS5_TABLE} | {f"{FTS5_TABLE}_{part}" for part in ("data", "idx", "docsize", "config")}
)

# Re-reads every posting into the FTS5 index (after creating it, or to repair it).
# (S608: every name here is a constant of ours; no input reaches this SQL.)
SQLITE_REBUILD: Final = f"INSERT INTO {FTS5_TABLE}({FTS5_TABLE}) VALUES ('rebuild')"  # noqa: S608

_SQLITE_ADD: Final = (
    f"INSERT INTO {FTS5_TABLE}(rowid, title, description) "  # noqa: S608
    "VALUES (new.id, new.title, new.description);"
)
_SQLITE_REMOVE: Final = (
    f"INSERT INTO {FTS5_TABLE}({FTS5_TABLE}, rowid, title, description) "  # noqa: S608
    "VALUES ('delete', old.id, old.title, old.description);"
)


def sqlite_create() -> list[str]:
    """The FTS5 external-content table over job_postings and the triggers that keep it in step."""
    return [
        f"CREATE VIRTUAL TABLE {FTS5_TABLE} USING fts5("
        "title, description, content='job_postings', content_rowid='id', "
        f"tokenize='{FTS5_TOKENIZE}')",
        f"CREATE TRIGGER {_TRIGGERS[0]} AFTER INSERT ON job_postings BEGIN {_SQLITE_ADD} END",
        f"CREATE TRIGGER {_TRIGGERS[1]} AFTER DELETE ON job_postings BEGIN {_SQLITE_REMOVE} END",
        # Only a change of the indexed text re-indexes: closing a posting costs nothing here.
        f"CREATE TRIGGER {_TRIGGERS[2]} AFTER UPDATE OF title, description ON job_postings "
        f"BEGIN {_SQLITE_REMOVE} {_SQLITE_ADD} END",
    ]


def sqlite_drop() -> list[str]:
    """Undo `sqlite_create`."""
    return [f"DROP TRIGGER IF EXISTS {name}" for name in _TRIGGERS] + [
        f"DROP TABLE IF EXISTS {FTS5_TABLE}"
    ]


# Only the postings that were never closed: a search reads open postings, and a common
# word's list is then the size of its open matches, not of every posting it was ever in.
# (Open postings with a closing date are few enough to be checked row by row.)
PG_VECTOR_INDEX_SQL: Final = (
    f"CREATE INDEX {PG_VECTOR_INDEX} ON job_postings USING gin ({PG_VECTOR_COLUMN}) "
    "WHERE closed_at IS NULL"
)


def postgresql_create() -> list[str]:
    """The stored, weighted tsvector column of job_postings and its GIN index."""
    vector = pg_vector_sql("language", "title", "description")
    return [
        f"ALTER TABLE job_postings ADD COLUMN {PG_VECTOR_COLUMN} tsvector "
        f"GENERATED ALWAYS AS ({vector}) STORED",
        PG_VECTOR_INDEX_SQL,
    ]


def postgresql_drop() -> list[str]:
    """Undo `postgresql_create`."""
    return [
        f"DROP INDEX IF EXISTS {PG_VECTOR_INDEX}",
        f"ALTER TABLE job_postings DROP COLUMN IF EXISTS {PG_VECTOR_COLUMN}",
    ]


def include_search_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic's `include_name` hook: False for the search structures, which no model describes."""
    if type_ == "table":
        return name not in _FTS5_SHADOWS
    if type_ == "column":
        return not (name == PG_VECTOR_COLUMN and parent_names.get("table_name") == "job_postings")
    if type_ == "index":
        return name != PG_VECTOR_INDEX
    return True
