"""login sessions, and no live links in the outbox

Adds `login_sessions`: one row per signed-in browser (candidate or recruiter),
found by the SHA-256 of the random id the cookie carries (see
`preferences.sessions`). Sessions signed in before this migration (whose cookie
holds no such id) are signed out once.

Outbox rows no longer hold signed links (see `mailer.links`): the sign-in,
preference and confirmation URLs already queued or sent are turned into
recipes (purpose, path, token version and claims, read from the token's
payload without its signature), which the worker signs when it sends. A URL
whose token can't be read is dropped. Downgrading keeps the recipes: a worker of
an older release sends such a row without a working link.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-10 09:00:00.000000
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from alembic import op
from itsdangerous import BadData, URLSafeSerializer

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# template -> (context key, link purpose) of the links that mail used to carry.
_LINKS = {
    "login_link": ("login_url", "login-link"),
    "preference_link": ("preferences_url", "preferences"),
    "confirmation": ("confirm_url", "email-confirmation"),
    "connect_existing": ("confirm_url", "email-confirmation"),
}


def upgrade() -> None:
    op.create_table(
        "login_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("candidate_id", sa.Integer(), nullable=True),
        sa.Column("recruiter_id", sa.Integer(), nullable=True),
        sa.Column("token_version", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("link_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(candidate_id IS NULL) <> (recruiter_id IS NULL)",
            name=op.f("ck_login_sessions_one_principal"),
        ),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["candidates.id"],
            name=op.f("fk_login_sessions_candidate_id_candidates"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recruiter_id"],
            ["recruiter_users.id"],
            name=op.f("fk_login_sessions_recruiter_id_recruiter_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_sessions")),
        sa.UniqueConstraint("id_hash", name=op.f("uq_login_sessions_id_hash")),
    )
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_login_sessions_candidate_id"), ["candidate_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_login_sessions_recruiter_id"), ["recruiter_id"], unique=False
        )
    _links_to_recipes()


def _recipe(url: object, purpose: str) -> dict[str, Any] | None:
    """The recipe of a signed URL, read from its token's payload; None if unreadable."""
    if not isinstance(url, str) or not url:
        return None
    path, _, token = urlsplit(url).path.rpartition("/")
    payload_part = token.split(".")[0] if not token.startswith(".") else "." + token.split(".")[1]
    try:
        payload = URLSafeSerializer("unused").load_payload(payload_part.encode())
    except (BadData, IndexError, ValueError):
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("v"), int):
        return None
    claims = payload.get("x")
    return {
        "signed_link": {
            "purpose": purpose,
            "path": f"{path}/",
            "v": payload["v"],
            "claims": claims if isinstance(claims, dict) else {},
        }
    }


def _links_to_recipes() -> None:
    outbox = sa.table(
        "outbox_messages",
        sa.column("id", sa.Integer()),
        sa.column("template", sa.String()),
        sa.column("context", sa.JSON()),
    )
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(outbox.c.id, outbox.c.template, outbox.c.context).where(
            outbox.c.template.in_(list(_LINKS))
        )
    ).all()
    for row_id, template, context in rows:
        key, purpose = _LINKS[template]
        if not isinstance(context, dict) or not isinstance(context.get(key), str):
            continue
        updated = dict(context)
        updated[key] = _recipe(context[key], purpose) or ""
        conn.execute(outbox.update().where(outbox.c.id == row_id).values(context=updated))


def downgrade() -> None:
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_sessions_recruiter_id"))
        batch_op.drop_index(batch_op.f("ix_login_sessions_candidate_id"))
    op.drop_table("login_sessions")
