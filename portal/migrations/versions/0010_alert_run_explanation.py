"""alert runs say why they queued nothing

Adds `alert_runs.explanation`: when a run matches nobody, one sentence with counts
saying why (no eligible subscribers; no new jobs since their last alert; the new
jobs were all listed by an earlier digest). Existing rows get an empty text.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 09:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alert_runs") as batch:
        batch.add_column(sa.Column("explanation", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("alert_runs") as batch:
        batch.drop_column("explanation")
