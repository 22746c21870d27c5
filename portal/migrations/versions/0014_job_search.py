"""job search: full-text index of job postings

SQLite: the FTS5 external-content table `job_search` over the postings' title and
description, kept in step by triggers, filled from the existing rows. PostgreSQL: the
stored, weighted `job_postings.search_vector` (per-posting language configuration) and
its GIN index. The full-text DDL is `jobs.search_ddl`'s, which the models' `create_all`
uses too, so a migrated database and a test database hold the same index. Both
backends: `ix_job_postings_open_facts`, from which a search reads the open postings'
dates, workplace, type and place without touching the wide rows.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 18:30:00.000000
"""

from __future__ import annotations

from alembic import op

from jobs.search_ddl import (
    SQLITE_REBUILD,
    postgresql_create,
    postgresql_drop,
    sqlite_create,
    sqlite_drop,
)

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


FACTS_INDEX = "ix_job_postings_open_facts"
FACTS_COLUMNS = ["closed_at", "posted_at", "workplace", "employment_type", "location", "id"]


def upgrade() -> None:
    op.create_index(FACTS_INDEX, "job_postings", FACTS_COLUMNS)
    if op.get_bind().dialect.name == "postgresql":
        for statement in postgresql_create():
            op.execute(statement)
        return
    for statement in sqlite_create():
        op.execute(statement)
    op.execute(SQLITE_REBUILD)


def downgrade() -> None:
    statements = postgresql_drop() if op.get_bind().dialect.name == "postgresql" else sqlite_drop()
    for statement in statements:
        op.execute(statement)
    op.drop_index(FACTS_INDEX, table_name="job_postings")
