"""pending uploads

Adds `pending_uploads`: one row per resume stored from the connect flow, with the
visitor it came from (a keyed hash of the client address, no IP), its size and
time, so each visitor's unclaimed uploads are capped and the scheduler prunes
them (see `portal.connect.uploads`). A file is claimed once a `resumes` row names it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pending_uploads",
        sa.Column("storage_name", sa.String(length=32), nullable=False),
        sa.Column("visitor", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("storage_name", name=op.f("pk_pending_uploads")),
    )
    op.create_index(
        op.f("ix_pending_uploads_visitor"), "pending_uploads", ["visitor"], unique=False
    )
    op.create_index(
        op.f("ix_pending_uploads_created_at"), "pending_uploads", ["created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_pending_uploads_created_at"), table_name="pending_uploads")
    op.drop_index(op.f("ix_pending_uploads_visitor"), table_name="pending_uploads")
    op.drop_table("pending_uploads")
