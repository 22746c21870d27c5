"""audit log and hash salts

Adds the append-only `audit_events` table, and `hash_salts` with a random
suppression salt. Suppressions made before this revision keep their plain
SHA-256 hashes; `preferences.suppressions` still matches them.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 17:01:39.275687
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.String(length=64), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_occurred_at'), ['occurred_at'], unique=False)
        batch_op.create_index('ix_audit_events_subject_occurred', ['subject', 'occurred_at'], unique=False)

    hash_salts = op.create_table('hash_salts',
    sa.Column('purpose', sa.String(length=32), nullable=False),
    sa.Column('salt', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('purpose', name=op.f('pk_hash_salts'))
    )
    # Made here so every migrated installation has its salt before the first
    # suppression; the app makes one itself only in databases built without Alembic.
    created_at = datetime.now(UTC)
    if op.get_bind().dialect.name == 'sqlite':
        created_at = created_at.replace(tzinfo=None)  # stored as naive UTC, like UTCDateTime
    op.bulk_insert(
        hash_salts,
        [{'purpose': 'suppression', 'salt': secrets.token_hex(32), 'created_at': created_at}],
    )


def downgrade() -> None:
    # Dropping the salt orphans every salted suppression: they would no longer match.
    op.drop_table('hash_salts')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_events_subject_occurred')
        batch_op.drop_index(batch_op.f('ix_audit_events_occurred_at'))

    op.drop_table('audit_events')
