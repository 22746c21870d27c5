"""campaign variants: a campaign's subject and body in other languages

`campaign_variants` holds one row per (campaign, locale); the campaign's own
subject and body stay the default for recipients whose language has no variant.
Deleting a campaign deletes its variants.

Revision ID: 0017
Revises: 0015
Create Date: 2026-12-04 19:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaign_variants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("locale", sa.String(length=35), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_variants_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_variants")),
        sa.UniqueConstraint(
            "campaign_id", "locale", name=op.f("uq_campaign_variants_campaign_id_locale")
        ),
    )


def downgrade() -> None:
    op.drop_table("campaign_variants")
