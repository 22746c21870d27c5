"""postings carry what people filter on

Adds optional facts to `job_postings`: employment type, workplace, department,
salary range (amounts, ISO 4217 currency, period), valid-through time and the
posting's language (BCP 47; NULL means the company's). Existing postings get
none of them.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 14:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

EMPLOYMENT_TYPES = ("full_time", "part_time", "contract", "temporary", "internship")
WORKPLACES = ("on_site", "hybrid", "remote")
SALARY_PERIODS = ("hour", "month", "year")


def _choice(name: str, values: tuple[str, ...]) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def upgrade() -> None:
    with op.batch_alter_table("job_postings") as batch:
        batch.add_column(
            sa.Column("employment_type", _choice("employment_type", EMPLOYMENT_TYPES), nullable=True)
        )
        batch.add_column(sa.Column("workplace", _choice("workplace", WORKPLACES), nullable=True))
        batch.add_column(
            sa.Column("department", sa.String(length=120), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("salary_min", sa.Numeric(12, 2), nullable=True))
        batch.add_column(sa.Column("salary_max", sa.Numeric(12, 2), nullable=True))
        batch.add_column(sa.Column("salary_currency", sa.String(length=3), nullable=True))
        batch.add_column(
            sa.Column("salary_period", _choice("salary_period", SALARY_PERIODS), nullable=True)
        )
        batch.add_column(sa.Column("valid_through", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("language", sa.String(length=35), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("job_postings") as batch:
        for name in (
            "language",
            "valid_through",
            "salary_period",
            "salary_currency",
            "salary_max",
            "salary_min",
            "department",
            "workplace",
            "employment_type",
        ):
            batch.drop_column(name)
