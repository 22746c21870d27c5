"""Stored answers to API POSTs sent with an `Idempotency-Key` header.

The key's row is written in the same transaction as the change the POST made, so a retry
(same token, same key) gets the stored answer and changes nothing, and two requests racing
with one key cannot both change something: the second's insert fails on the unique key,
its transaction rolls back, and it answers with the first's stored response.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from preferences.clock import now
from preferences.db import Base, UTCDateTime

MAX_KEY = 255


class IdempotencyKey(Base):
    """One API token's answer to one POST with an Idempotency-Key."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("token_id", "key", name="uq_idempotency_keys_token_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(MAX_KEY))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(500))
    # SHA-256 of the method, path and body: the same key with another request is refused.
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now, index=True)
