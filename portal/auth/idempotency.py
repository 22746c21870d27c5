"""Stored answers to API POSTs sent with an `Idempotency-Key` header.

The key's row is written in the same transaction as the change the POST made, so a retry
(same token, same key) gets the stored answer and changes nothing, and two requests racing
with one key cannot both change something: the second's insert fails on the unique key,
its transaction rolls back, and it answers with the first's stored response.

An answer about one candidate (a sign-up, a preference link) names them
(`candidate_id`): erasing the candidate deletes it at once, through the portal's
`CandidateDataHook`, instead of leaving their address in it until the key expires.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import (
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    delete,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from jobs.scheduler import PeriodicTask
from portal.errors import PortalError
from preferences.clock import now
from preferences.db import Base, UTCDateTime, session_scope
from preferences.privacy import (
    CandidateDataHook,
    ExportSections,
    register_erasure_hook,
)

log = logging.getLogger(__name__)

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
    # The candidate the answer is about, when it is about one: it may hold their address.
    candidate_id: Mapped[int | None] = mapped_column(
        ForeignKey("candidates.id", ondelete="CASCADE"), index=True
    )


# --- service functions ------------------------------------------------------------------

# A key answers retries for a day (as Stripe's do); after that it is forgotten and may be
# used again. Old rows go opportunistically: each stored answer deletes its token's expired
# ones first (`store_answer`), and `prune_idempotency_keys` clears every token's.
KEY_LIFETIME = timedelta(hours=24)
# Printable ASCII, space to tilde: what an HTTP header carries unchanged everywhere.
_KEY_RE = re.compile(rf"[\x20-\x7e]{{1,{MAX_KEY}}}")


class IdempotencyError(PortalError):
    """A request whose Idempotency-Key can't be honoured; the message says why."""


class KeyReused(IdempotencyError):
    """The key was already used, within its lifetime, for a different request."""

    def __init__(self) -> None:
        super().__init__("this Idempotency-Key was used for a different request")


@dataclass(frozen=True)
class StoredAnswer:
    """The status and body first given to a request with this key."""

    status_code: int
    body: str


def is_valid_key(key: str) -> bool:
    """Whether `key` is 1 to 255 printable ASCII characters."""
    return _KEY_RE.fullmatch(key) is not None


def request_hash(method: str, path: str, body: bytes) -> str:
    """The SHA-256 a key's request is recognised by: its method, path and exact body."""
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode("utf-8", "surrogateescape"), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def find_answer(session: Session, token_id: int, key: str, digest: str) -> StoredAnswer | None:
    """The stored answer to this token's earlier request with `key`, if it is still live.

    Raises `KeyReused` when the key was used for a request with another hash. Only
    reads: a replay takes no write lock.
    """
    row = session.scalar(
        select(IdempotencyKey).where(
            IdempotencyKey.token_id == token_id,
            IdempotencyKey.key == key,
            IdempotencyKey.created_at >= now() - KEY_LIFETIME,
        )
    )
    if row is None:
        return None
    if row.request_hash != digest:
        raise KeyReused()
    return StoredAnswer(row.status_code, row.body)


def store_answer(
    session: Session,
    token_id: int,
    key: str,
    *,
    method: str,
    path: str,
    digest: str,
    answer: StoredAnswer,
    candidate_id: int | None = None,
) -> None:
    """Keep `answer` under (token, key) in the session's transaction, beside the change.

    Raises `sqlalchemy.exc.IntegrityError` when another request stored the key first
    (the caller rolls back and answers with that one's answer). This token's expired
    keys are deleted first, so an expired key is simply a new one. `candidate_id`
    names the candidate the answer is about, so that erasing them deletes it.
    """
    at = now()
    session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.token_id == token_id, IdempotencyKey.created_at < at - KEY_LIFETIME
        )
    )
    session.add(
        IdempotencyKey(
            token_id=token_id,
            key=key,
            method=method[:10],
            path=path[:500],
            request_hash=digest,
            status_code=answer.status_code,
            body=answer.body,
            created_at=at,
            candidate_id=candidate_id,
        )
    )
    session.flush()


def prune_idempotency_keys(session: Session, at: datetime | None = None) -> int:
    """Delete every key older than KEY_LIFETIME; return how many went."""
    cutoff = (at or now()) - KEY_LIFETIME
    result = session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)


def idempotency_prune_task() -> PeriodicTask:
    """The scheduler's hourly deletion of expired keys (registered by `run` and `scheduler`).

    Each stored answer also deletes its own token's expired keys; this catches tokens that
    stopped posting, so no stored answer (which may name an address) outlives KEY_LIFETIME
    by more than an hour.
    """

    def prune(sessions: sessionmaker[Session]) -> object:
        with session_scope(sessions) as session:
            removed = prune_idempotency_keys(session)
        if removed:
            log.info("idempotency keys pruned", extra={"removed": removed})
        return removed

    return PeriodicTask("prune-idempotency-keys", 3600, prune)


# --- export and erasure ------------------------------------------------------------------


def export_api_answers(session: Session, candidate_id: int) -> ExportSections:
    """The export's `api_answers`: each stored answer about the candidate, oldest first."""
    rows = session.execute(
        select(
            IdempotencyKey.method,
            IdempotencyKey.path,
            IdempotencyKey.status_code,
            IdempotencyKey.body,
            IdempotencyKey.created_at,
        )
        .where(IdempotencyKey.candidate_id == candidate_id)
        .order_by(IdempotencyKey.created_at, IdempotencyKey.id)
    )
    return {
        "api_answers": [
            {
                "method": row.method,
                "path": row.path,
                "status_code": row.status_code,
                "body": row.body,
                "stored_at": row.created_at.isoformat(),
            }
            for row in rows
        ]
    }


API_ANSWER_DATA = register_erasure_hook(
    CandidateDataHook.deleting_rows(
        "portal",
        cast(Table, IdempotencyKey.__table__).c.candidate_id,
        "api_answers",
        export_api_answers,
    )
)
