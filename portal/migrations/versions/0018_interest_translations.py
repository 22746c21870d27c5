"""interest translations: an interest's name and details in each further language

`interest_translations` (interest_id, locale, name, details): the default language's
name and details stay on `interests`; a row here gives another supported locale's,
unique per (interest, locale) and per (locale, name). Deleting an interest deletes
its translations.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 19:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "interest_translations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("interest_id", sa.Integer(), nullable=False),
        sa.Column("locale", sa.String(length=35), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["interest_id"],
            ["interests.id"],
            name=op.f("fk_interest_translations_interest_id_interests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interest_translations")),
        sa.UniqueConstraint(
            "interest_id", "locale", name=op.f("uq_interest_translations_interest_id_locale")
        ),
        sa.UniqueConstraint("locale", "name", name=op.f("uq_interest_translations_locale_name")),
    )


def downgrade() -> None:
    op.drop_table("interest_translations")
