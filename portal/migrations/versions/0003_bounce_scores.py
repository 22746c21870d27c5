"""bounce scores

Adds `bounce_scores`: the soft-bounce score of an address, keyed by the same
salted hash as suppressions (see `mailer.bounces`).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 10:12:03.418220
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bounce_scores',
    sa.Column('address_hash', sa.String(length=64), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('bounces', sa.Integer(), nullable=False),
    sa.Column('last_bounce_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('address_hash', name=op.f('pk_bounce_scores'))
    )


def downgrade() -> None:
    op.drop_table('bounce_scores')
