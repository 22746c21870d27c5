"""API tokens for applicant-tracking systems: the model and its service functions.

A token is shown once, when it is made; only its SHA-256 is stored, so a copy of
the database does not hand out working tokens. Tokens are long random strings,
so an unsalted hash is enough (nothing to guess a dictionary of).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime

from sqlalchemy import Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from portal.errors import PortalError
from preferences.clock import now
from preferences.db import Base, UTCDateTime

TOKEN_PREFIX = "tc_"  # noqa: S105 (a marker that makes leaked tokens recognizable, not a secret)
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


class ApiToken(Base):
    """A named bearer token an applicant-tracking system uses on /api/v1."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class ApiTokenError(PortalError):
    """A token command that can't be carried out; the message says why."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(session: Session, name: str) -> tuple[ApiToken, str]:
    """Make a token named `name`; return the row and the token, which is not stored."""
    if not NAME_RE.fullmatch(name):
        raise ApiTokenError(
            f"{name!r} is not a usable name: use 1-100 letters, digits, '.', '_' or '-'"
        )
    if session.scalar(select(ApiToken.id).where(ApiToken.name == name)) is not None:
        raise ApiTokenError(f"a token named {name!r} already exists (revoked ones keep their name)")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(name=name, token_hash=hash_token(token))
    session.add(row)
    session.flush()
    return row, token


def list_tokens(session: Session) -> list[ApiToken]:
    """Every token, active or revoked, oldest first."""
    return list(session.scalars(select(ApiToken).order_by(ApiToken.created_at, ApiToken.id)))


def revoke_token(session: Session, name: str) -> bool:
    """Revoke the token named `name`; False if it was already revoked."""
    row = session.scalar(select(ApiToken).where(ApiToken.name == name))
    if row is None:
        raise ApiTokenError(f"no token named {name!r}")
    if row.revoked_at is not None:
        return False
    row.revoked_at = now()
    session.flush()
    return True


def authenticate_token(session: Session, token: str) -> ApiToken | None:
    """The active token whose hash matches `token`, else None."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    digest = hash_token(token)
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
    # The lookup is by hash already; compare_digest keeps the final check constant-time.
    if row is None or not hmac.compare_digest(row.token_hash, digest) or not row.active:
        return None
    return row


def mark_used(session: Session, token: ApiToken) -> None:
    """Record that `token` was just used to change something."""
    token.last_used_at = now()
    session.flush()
