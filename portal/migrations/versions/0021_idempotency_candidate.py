"""idempotency keys name the candidate their answer is about, so erasure deletes them

- `idempotency_keys.candidate_id`: nullable, references `candidates` (ON DELETE CASCADE),
  indexed. Answers stored before it name no one; they expire within a day as before.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 17:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('candidate_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_idempotency_keys_candidate_id'), ['candidate_id'], unique=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_idempotency_keys_candidate_id_candidates'),
            'candidates',
            ['candidate_id'],
            ['id'],
            ondelete='CASCADE',
        )


def downgrade() -> None:
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_idempotency_keys_candidate_id_candidates'), type_='foreignkey'
        )
        batch_op.drop_index(batch_op.f('ix_idempotency_keys_candidate_id'))
        batch_op.drop_column('candidate_id')
