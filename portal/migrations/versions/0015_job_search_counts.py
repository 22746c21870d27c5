"""job search counts: indexes that let a search count open postings without sorting

- `ix_job_postings_open_groups` (closed_at, workplace, employment_type, location,
  posted_at, id): the open postings in the order the facet counts group them;
- `ix_job_postings_open_ids` (closed_at, id): the lowest open id, from which a keyword
  search reads the full-text matches and the interest counts read job_interests;
- `ix_job_interests_interest_jobs` (interest_id, job_id) replaces
  `ix_job_interests_interest_id`: an interest's open postings are a range of it;
- PostgreSQL: the GIN index of the search vector holds only postings never closed
  (`jobs.search_ddl.PG_VECTOR_INDEX_SQL`).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 16:30:00.000000
"""

from __future__ import annotations

from alembic import op

from jobs.search_ddl import PG_VECTOR_INDEX, PG_VECTOR_INDEX_SQL

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

GROUPS_COLUMNS = ["closed_at", "workplace", "employment_type", "location", "posted_at", "id"]


def upgrade() -> None:
    op.create_index("ix_job_postings_open_groups", "job_postings", GROUPS_COLUMNS)
    op.create_index("ix_job_postings_open_ids", "job_postings", ["closed_at", "id"])
    op.create_index("ix_job_interests_interest_jobs", "job_interests", ["interest_id", "job_id"])
    op.drop_index("ix_job_interests_interest_id", table_name="job_interests")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP INDEX IF EXISTS {PG_VECTOR_INDEX}")
        op.execute(PG_VECTOR_INDEX_SQL)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP INDEX IF EXISTS {PG_VECTOR_INDEX}")
        op.execute(
            f"CREATE INDEX {PG_VECTOR_INDEX} ON job_postings USING gin (search_vector)"
        )
    op.create_index("ix_job_interests_interest_id", "job_interests", ["interest_id"])
    op.drop_index("ix_job_interests_interest_jobs", table_name="job_interests")
    op.drop_index("ix_job_postings_open_ids", table_name="job_postings")
    op.drop_index("ix_job_postings_open_groups", table_name="job_postings")
