"""consent lifecycle: versioned consent wordings, last activity, retention and legal holds

- `consent_wordings`: each consent text as shown, per kind and language, with the
  SHA-256 of its words and a version id that consent events name.
- `candidates.last_active_at` (backfilled from the latest of joining, confirming,
  signing in and the person's own consent changes) and `candidates.country`
  (backfilled from the phone's region or the stated location), with an index for
  the retention run.
- `legal_holds`, `retention_notices` (one re-permission email or reminder per expiry)
  and `retention_runs`.
- New enum values: consent scope `retention`, consent source `repermission`,
  suppression reason `retention_expired`, message kind `repermission`.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 23:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

# (table, column, enum name, values before, values added)
ENUMS = (
    (
        "consent_events",
        "scope",
        "consent_scope",
        ("interest", "mass_email", "saved_search"),
        ("retention",),
    ),
    (
        "consent_events",
        "source",
        "consent_source",
        (
            "connect_form",
            "preference_center",
            "one_click",
            "dashboard",
            "admin",
            "bounce",
            "complaint",
            "import",
        ),
        ("repermission",),
    ),
    (
        "suppressions",
        "reason",
        "suppression_reason",
        ("hard_bounce", "complaint", "manual", "erasure"),
        ("retention_expired",),
    ),
    (
        "outbox_messages",
        "kind",
        "message_kind",
        (
            "job_alert",
            "campaign",
            "confirmation",
            "login_link",
            "welcome",
            "resume_nudge",
            "account_deleted",
            "interest_merged",
        ),
        ("repermission",),
    ),
)
# Sources of consent events the person caused themselves (not one-click, bounce, import...).
OWN_SOURCES = ("connect_form", "preference_center", "dashboard")
BATCH = 2000


def _enum(values: tuple[str, ...], name: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def _set_values(
    table: str, column: str, name: str, old: tuple[str, ...], new: tuple[str, ...]
) -> None:
    if op.get_bind().dialect.name == "postgresql":
        # Only the CHECK constraint changes; the column stays varchar(32).
        constraint = op.f(f"ck_{table}_{name}")
        op.drop_constraint(constraint, table, type_="check")
        listed = ", ".join(f"'{value}'" for value in new)
        op.create_check_constraint(constraint, table, f"{column} IN ({listed})")
        return
    with op.batch_alter_table(table) as batch:
        batch.alter_column(
            column, existing_type=_enum(old, name), type_=_enum(new, name), existing_nullable=False
        )


def _backfill_activity() -> None:
    bind = op.get_bind()
    latest = "GREATEST" if bind.dialect.name == "postgresql" else "MAX"
    own = ", ".join(f"'{source}'" for source in OWN_SOURCES)
    op.execute(
        f"""
        UPDATE candidates SET last_active_at = {latest}(
            created_at,
            COALESCE(email_verified_at, created_at),
            COALESCE((SELECT MAX(occurred_at) FROM consent_events
                      WHERE consent_events.candidate_id = candidates.id
                        AND consent_events.source IN ({own})), created_at),
            COALESCE((SELECT MAX(login_sessions.created_at) FROM login_sessions
                      WHERE login_sessions.candidate_id = candidates.id), created_at)
        )
        """
    )


def _backfill_country() -> None:
    # Imported here: only this data step needs the app's country rules.
    from preferences.countries import country_of

    bind = op.get_bind()
    candidates = sa.table(
        "candidates",
        sa.column("id", sa.Integer),
        sa.column("phone_e164", sa.String),
        sa.column("location", sa.String),
        sa.column("country", sa.String),
    )
    after = 0
    while True:
        rows = bind.execute(
            sa.select(candidates.c.id, candidates.c.phone_e164, candidates.c.location)
            .where(
                candidates.c.id > after,
                sa.or_(candidates.c.phone_e164.is_not(None), candidates.c.location.is_not(None)),
            )
            .order_by(candidates.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        found = [
            {"cid": row.id, "country": country}
            for row in rows
            if (country := country_of(row.phone_e164, row.location)) is not None
        ]
        if found:
            bind.execute(
                candidates.update()
                .where(candidates.c.id == sa.bindparam("cid"))
                .values(country=sa.bindparam("country")),
                found,
            )
        after = rows[-1].id


def upgrade() -> None:
    for table, column, name, old, added in ENUMS:
        _set_values(table, column, name, old, (*old, *added))
    op.create_table(
        "consent_wordings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("locale", sa.String(length=35), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_wordings")),
        sa.UniqueConstraint("version", name=op.f("uq_consent_wordings_version")),
        sa.UniqueConstraint(
            "kind", "locale", "sha256", name=op.f("uq_consent_wordings_kind_locale_sha256")
        ),
    )
    with op.batch_alter_table("candidates") as batch:
        batch.add_column(sa.Column("last_active_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("country", sa.String(length=2), nullable=True))
        batch.create_index("ix_candidates_status_last_active", ["status", "last_active_at"])
    _backfill_activity()
    _backfill_country()
    op.create_table(
        "legal_holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("candidate_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("placed_by", sa.Integer(), nullable=True),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_by", sa.Integer(), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["candidates.id"],
            name=op.f("fk_legal_holds_candidate_id_candidates"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["placed_by"],
            ["recruiter_users.id"],
            name=op.f("fk_legal_holds_placed_by_recruiter_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["released_by"],
            ["recruiter_users.id"],
            name=op.f("fk_legal_holds_released_by_recruiter_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_holds")),
    )
    op.create_index(
        "ix_legal_holds_candidate_released", "legal_holds", ["candidate_id", "released_at"]
    )
    op.create_table(
        "retention_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("candidate_id", sa.Integer(), nullable=False),
        sa.Column("kind", _enum(("repermission", "reminder"), "notice_kind"), nullable=False),
        sa.Column("based_on", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expired_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["candidates.id"],
            name=op.f("fk_retention_notices_candidate_id_candidates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retention_notices")),
        sa.UniqueConstraint(
            "candidate_id",
            "kind",
            "based_on",
            name=op.f("uq_retention_notices_candidate_id_kind_based_on"),
        ),
    )
    open_only = sa.text("answered_at IS NULL AND expired_at IS NULL")
    op.create_index(
        "ix_retention_notices_open",
        "retention_notices",
        ["kind", "expires_at"],
        postgresql_where=open_only,
        sqlite_where=open_only,
    )
    op.create_table(
        "retention_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("trigger", sa.String(length=32), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retention_runs")),
    )
    op.create_index(
        op.f("ix_retention_runs_started_at"), "retention_runs", ["started_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_retention_runs_started_at"), table_name="retention_runs")
    op.drop_table("retention_runs")
    op.drop_index("ix_retention_notices_open", table_name="retention_notices")
    op.drop_table("retention_notices")
    op.drop_index("ix_legal_holds_candidate_released", table_name="legal_holds")
    op.drop_table("legal_holds")
    with op.batch_alter_table("candidates") as batch:
        batch.drop_index("ix_candidates_status_last_active")
        batch.drop_column("country")
        batch.drop_column("last_active_at")
    op.drop_table("consent_wordings")
    op.execute("DELETE FROM consent_events WHERE scope = 'retention' OR source = 'repermission'")
    op.execute("DELETE FROM suppressions WHERE reason = 'retention_expired'")
    op.execute("DELETE FROM outbox_messages WHERE kind = 'repermission'")
    for table, column, name, old, added in ENUMS:
        _set_values(table, column, name, (*old, *added), old)
