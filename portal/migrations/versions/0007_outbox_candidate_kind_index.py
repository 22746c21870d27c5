"""outbox index by candidate, kind and time

The per-address caps on sign-in and confirmation emails (`ADDRESS_MAIL_LIMIT`)
count one candidate's recent outbox rows of those kinds before queueing another.
`ix_outbox_messages_candidate_kind_created` answers that count from the index
alone, however large the outbox grows. It starts with `candidate_id`, so it also
serves everything the single-column index on `candidate_id` did (a candidate's
mail, the ON DELETE CASCADE from candidates), which is dropped.

Building the index locks the outbox against writes while it runs; on a large
outbox run the upgrade in a quiet hour (see docs/DEPLOYMENT.md, PostgreSQL).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-09 09:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_outbox_messages_candidate_kind_created",
        "outbox_messages",
        ["candidate_id", "kind", "created_at"],
    )
    op.drop_index("ix_outbox_messages_candidate_id", table_name="outbox_messages")


def downgrade() -> None:
    op.create_index("ix_outbox_messages_candidate_id", "outbox_messages", ["candidate_id"])
    op.drop_index("ix_outbox_messages_candidate_kind_created", table_name="outbox_messages")
