"""bounce events, send alarms, paused campaigns and held messages

Adds `bounce_events` (every classified delivery failure of an outbox row, see
`mailer.classify` and `mailer.reputation`) and `send_alarms` (the
sender-reputation alarm of a campaign or alert run), the campaign status
`paused` and the outbox status `held`.

Both statuses are string enums checked by a CHECK constraint: PostgreSQL drops
and adds the constraint (one scan of each table, no rewrite); SQLite recreates
the two tables (batch mode, with the old type named so the old CHECK goes).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-10 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

CAMPAIGN = ("draft", "scheduled", "sending", "sent", "cancelled")
OUTBOX = ("pending", "sending", "sent", "skipped", "failed")
CATEGORIES = ("address", "mailbox_full", "too_large", "throttled", "policy", "other")


def _enum(values: tuple[str, ...], name: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def _retype(table: str, name: str, old: tuple[str, ...], new: tuple[str, ...]) -> None:
    if op.get_bind().dialect.name == "postgresql":
        # Only the CHECK constraint changes; the column stays varchar(32).
        constraint = f"ck_{table}_{name}"
        op.drop_constraint(op.f(constraint), table, type_="check")
        listed = ", ".join(f"'{value}'" for value in new)
        op.create_check_constraint(op.f(constraint), table, f"status IN ({listed})")
        return
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.alter_column(
            "status",
            existing_type=_enum(old, name),
            type_=_enum(new, name),
            existing_nullable=False,
        )


def upgrade() -> None:
    # First, while nothing refers to the outbox table it may recreate (SQLite).
    _retype("campaigns", "campaign_status", CAMPAIGN, (*CAMPAIGN, "paused"))
    _retype("outbox_messages", "outbox_status", OUTBOX, (*OUTBOX, "held"))
    op.create_table(
        "bounce_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("category", _enum(CATEGORIES, "bounce_category"), nullable=False),
        sa.Column("domain", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("diagnostic", sa.String(length=200), nullable=False),
        sa.Column("via", sa.String(length=8), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["outbox_id"],
            ["outbox_messages.id"],
            name=op.f("fk_bounce_events_outbox_id_outbox_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bounce_events")),
        sa.UniqueConstraint(
            "outbox_id", "category", name=op.f("uq_bounce_events_outbox_id_category")
        ),
    )
    with op.batch_alter_table("bounce_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bounce_events_domain"), ["domain"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_bounce_events_occurred_at"), ["occurred_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_bounce_events_outbox_id"), ["outbox_id"], unique=False)
    op.create_table(
        "send_alarms",
        sa.Column("send_key", sa.String(length=200), nullable=False),
        sa.Column("warned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resumed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("policy", sa.Integer(), nullable=False),
        sa.Column("handed", sa.Integer(), nullable=False),
        sa.Column("base_policy", sa.Integer(), nullable=False),
        sa.Column("base_handed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("send_key", name=op.f("pk_send_alarms")),
    )


def downgrade() -> None:
    op.drop_table("send_alarms")
    with op.batch_alter_table("bounce_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bounce_events_outbox_id"))
        batch_op.drop_index(batch_op.f("ix_bounce_events_occurred_at"))
        batch_op.drop_index(batch_op.f("ix_bounce_events_domain"))
    op.drop_table("bounce_events")
    # Paused campaigns and held rows have no place in the old schema: paused
    # campaigns become cancelled and their held rows skipped.
    op.execute("UPDATE campaigns SET status = 'cancelled' WHERE status = 'paused'")
    op.execute(
        "UPDATE outbox_messages SET status = 'skipped', last_error = 'the campaign was cancelled' "
        "WHERE status = 'held'"
    )
    _retype("outbox_messages", "outbox_status", (*OUTBOX, "held"), OUTBOX)
    _retype("campaigns", "campaign_status", (*CAMPAIGN, "paused"), CAMPAIGN)
