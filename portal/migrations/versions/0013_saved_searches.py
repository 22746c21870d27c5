"""saved searches: job alerts for a job search

Adds `saved_searches` (a candidate's subscription to a search: its words, place,
workplace, type and interest, with status, frequency, pause and last alert like an
interest subscription), a `saved_search` consent scope and the consent event's
`saved_search_id`.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 18:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

SCOPES = ("interest", "mass_email")
STATUSES = ("unconfirmed", "subscribed", "unsubscribed")
FREQUENCIES = ("instant", "daily", "weekly")


def _enum(values: tuple[str, ...], name: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def _scopes(old: tuple[str, ...], new: tuple[str, ...], batch: object) -> None:
    if op.get_bind().dialect.name == "postgresql":
        # Only the CHECK constraint changes; the column stays varchar(32).
        constraint = "ck_consent_events_consent_scope"
        op.drop_constraint(op.f(constraint), "consent_events", type_="check")
        listed = ", ".join(f"'{value}'" for value in new)
        op.create_check_constraint(op.f(constraint), "consent_events", f"scope IN ({listed})")
        return
    batch.alter_column(  # type: ignore[attr-defined]
        "scope",
        existing_type=_enum(old, "consent_scope"),
        type_=_enum(new, "consent_scope"),
        existing_nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "saved_searches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("candidate_id", sa.Integer(), nullable=False),
        sa.Column("criteria_key", sa.String(length=64), nullable=False),
        sa.Column("query", sa.String(length=200), nullable=False),
        sa.Column("location", sa.String(length=120), nullable=False),
        sa.Column("workplace", sa.String(length=20), nullable=True),
        sa.Column("employment_type", sa.String(length=20), nullable=True),
        sa.Column("interest_id", sa.Integer(), nullable=True),
        sa.Column("status", _enum(STATUSES, "subscription_status"), nullable=False),
        sa.Column("frequency", _enum(FREQUENCIES, "alert_frequency"), nullable=False),
        sa.Column("paused_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_alerted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["candidates.id"],
            name=op.f("fk_saved_searches_candidate_id_candidates"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["interest_id"],
            ["interests.id"],
            name=op.f("fk_saved_searches_interest_id_interests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_searches")),
        sa.UniqueConstraint(
            "candidate_id", "criteria_key", name=op.f("uq_saved_searches_candidate_id_criteria_key")
        ),
    )
    op.create_index("ix_saved_searches_status_frequency", "saved_searches", ["status", "frequency"])
    op.create_index(
        op.f("ix_saved_searches_interest_id"), "saved_searches", ["interest_id"], unique=False
    )
    with op.batch_alter_table("consent_events") as batch:
        _scopes(SCOPES, (*SCOPES, "saved_search"), batch)
        batch.add_column(sa.Column("saved_search_id", sa.Integer(), nullable=True))
        batch.create_index(
            batch.f("ix_consent_events_saved_search_id"), ["saved_search_id"], unique=False
        )
        batch.create_foreign_key(
            batch.f("fk_consent_events_saved_search_id_saved_searches"),
            "saved_searches",
            ["saved_search_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("consent_events") as batch:
        batch.drop_constraint(
            batch.f("fk_consent_events_saved_search_id_saved_searches"), type_="foreignkey"
        )
        batch.drop_index(batch.f("ix_consent_events_saved_search_id"))
        batch.drop_column("saved_search_id")
    op.execute("DELETE FROM consent_events WHERE scope = 'saved_search'")
    with op.batch_alter_table("consent_events") as batch:
        _scopes((*SCOPES, "saved_search"), SCOPES, batch)
    op.drop_index(op.f("ix_saved_searches_interest_id"), table_name="saved_searches")
    op.drop_index("ix_saved_searches_status_frequency", table_name="saved_searches")
    op.drop_table("saved_searches")
