"""webhook signing secrets are stored sealed: the column holds a Fernet token

- `webhook_secrets.secret`: 100 -> 300 characters (`sealed:v1:` and a Fernet token).
  `talentconnect db upgrade` seals the secrets stored in plain text after migrating.

Downgrading refuses while sealed secrets are stored: the earlier release can't read them.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 20:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('webhook_secrets', schema=None) as batch_op:
        batch_op.alter_column(
            'secret', existing_type=sa.String(length=100), type_=sa.String(length=300)
        )


def downgrade() -> None:
    sealed = op.get_bind().scalar(
        sa.text("SELECT count(*) FROM webhook_secrets WHERE secret NOT LIKE 'whsec!_%' ESCAPE '!'")
    )
    if sealed:
        raise RuntimeError(
            f"{sealed} webhook signing secrets are sealed, which the earlier release can't "
            "read: delete those endpoints (or their secrets) before downgrading"
        )
    with op.batch_alter_table('webhook_secrets', schema=None) as batch_op:
        batch_op.alter_column(
            'secret', existing_type=sa.String(length=300), type_=sa.String(length=100)
        )
