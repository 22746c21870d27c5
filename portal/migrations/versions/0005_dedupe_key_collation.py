"""dedupe key collation

On PostgreSQL, `outbox_messages.dedupe_key` takes the binary "C" collation, so
its unique index serves `LIKE 'prefix%'`: a campaign's rows (`campaign:<id>:`)
and an alert run's (`alert-run:<id>:`) are found through the index instead of
by scanning the outbox. SQLite compares keys bytewise already, and the app
turns on `case_sensitive_like`, so nothing changes there.

The ALTER rebuilds the unique index and holds an exclusive lock on the outbox
while it does; on a large outbox run it in a quiet hour (see
docs/DEPLOYMENT.md, PostgreSQL).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 09:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            'ALTER TABLE outbox_messages ALTER COLUMN dedupe_key TYPE varchar(200) COLLATE "C"'
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE outbox_messages ALTER COLUMN dedupe_key TYPE varchar(200) "
            'COLLATE "default"'
        )
