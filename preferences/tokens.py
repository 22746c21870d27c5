"""Signed links: one salt per purpose, key rotation, never an email address inside.

A token carries the candidate's public id and `token_version`; bumping the
version revokes every older link. Keys are given newest first: the newest
signs and every key verifies.
"""

from __future__ import annotations

import enum
import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from preferences.errors import PreferencesError
from preferences.models import Candidate, CandidateStatus


class LinkPurpose(enum.StrEnum):
    PREFERENCES = "preferences"
    ONE_CLICK = "one-click-unsubscribe"
    CONFIRM_EMAIL = "email-confirmation"
    LOGIN = "login-link"


# Preference and unsubscribe links outlive the 30 days CAN-SPAM asks for.
LIFETIMES = {
    LinkPurpose.PREFERENCES: 90 * 86400,
    LinkPurpose.ONE_CLICK: 90 * 86400,
    LinkPurpose.CONFIRM_EMAIL: 30 * 86400,
    LinkPurpose.LOGIN: 15 * 60,
}


class InvalidLink(PreferencesError):
    """A link that was tampered with, malformed, revoked or meant for something else."""


class LinkExpired(InvalidLink):
    """A genuine link that is too old; the page offers to send a new one."""

    def __init__(self, message: str, *, public_id: str | None = None) -> None:
        super().__init__(message)
        self.public_id = public_id


@dataclass(frozen=True)
class LinkData:
    """What a verified token says."""

    public_id: str
    token_version: int
    extra: dict[str, Any] = field(default_factory=dict)


def _serializer(secret_keys: Sequence[str], purpose: LinkPurpose) -> URLSafeTimedSerializer:
    return _cached_serializer(tuple(secret_keys), purpose)


@functools.lru_cache(maxsize=64)
def _cached_serializer(
    secret_keys: tuple[str, ...], purpose: LinkPurpose
) -> URLSafeTimedSerializer:
    # itsdangerous signs with the last key of the list; our setting lists the newest first.
    return URLSafeTimedSerializer(
        list(reversed(secret_keys)),
        salt=f"talentconnect.{purpose.value}",
        signer_kwargs={"digest_method": hashlib.sha256},
    )


class LinkHolder(Protocol):
    """Whom a link is for: a `Candidate`, or a `LinkOwner` read without the ORM."""

    @property
    def public_id(self) -> str: ...

    @property
    def token_version(self) -> int: ...


def make_link_token(
    secret_keys: Sequence[str],
    purpose: LinkPurpose,
    candidate: LinkHolder,
    **extra: Any,
) -> str:
    """Sign a token for `candidate` and `purpose`; `extra` must be JSON-safe and small."""
    payload: dict[str, Any] = {"c": candidate.public_id, "v": candidate.token_version}
    if extra:
        payload["x"] = extra
    return str(_serializer(secret_keys, purpose).dumps(payload))


def read_link_token(
    secret_keys: Sequence[str], purpose: LinkPurpose, token: str, *, max_age: int | None = None
) -> LinkData:
    """Verify a token's signature and age; raises `LinkExpired` or `InvalidLink`."""
    serializer = _serializer(secret_keys, purpose)
    age = LIFETIMES[purpose] if max_age is None else max_age
    if not token or len(token) > 2000:
        raise InvalidLink("the link is malformed")
    try:
        payload = serializer.loads(token, max_age=age)
    except SignatureExpired as exc:
        public_id = None
        if isinstance(exc.payload, bytes):
            try:
                loaded = serializer.load_payload(exc.payload)
                public_id = loaded.get("c") if isinstance(loaded, dict) else None
            except BadSignature:
                public_id = None
        raise LinkExpired("the link has expired", public_id=public_id) from exc
    except BadSignature as exc:
        raise InvalidLink("the link is not valid") from exc
    if (
        not isinstance(payload, dict)
        or not isinstance(payload.get("c"), str)
        or not isinstance(payload.get("v"), int)
    ):
        raise InvalidLink("the link is not valid")
    raw_extra = payload.get("x")
    extra: dict[str, Any] = raw_extra if isinstance(raw_extra, dict) else {}
    return LinkData(public_id=payload["c"], token_version=payload["v"], extra=extra)


# Built once: every signed link starts with this lookup.
_BY_PUBLIC_ID = select(Candidate).where(Candidate.public_id == bindparam("public_id"))
_OWNER_BY_PUBLIC_ID = select(
    Candidate.id, Candidate.public_id, Candidate.token_version, Candidate.status, Candidate.email
).where(Candidate.public_id == bindparam("public_id"))


class LinkOwner(NamedTuple):
    """The candidate a link names, as plain columns (for hot paths that need no ORM object)."""

    id: int
    public_id: str
    token_version: int
    status: CandidateStatus
    email: str


def _check_link_owner(status: CandidateStatus, token_version: int, data: LinkData) -> None:
    if status is CandidateStatus.DELETED:
        raise InvalidLink("the link no longer works")
    if token_version != data.token_version:
        raise InvalidLink("the link was replaced by a newer one")


def candidate_for_link(session: Session, data: LinkData) -> Candidate:
    """Return the active candidate a verified token names; a revoked link is `InvalidLink`."""
    candidate = session.scalar(_BY_PUBLIC_ID, {"public_id": data.public_id})
    if candidate is None:
        raise InvalidLink("the link no longer works")
    _check_link_owner(candidate.status, candidate.token_version, data)
    return candidate


def link_owner(session: Session, data: LinkData) -> LinkOwner:
    """Like `candidate_for_link`, but one Core query returning plain columns."""
    row = session.connection().execute(_OWNER_BY_PUBLIC_ID, {"public_id": data.public_id}).first()
    if row is None:
        raise InvalidLink("the link no longer works")
    owner = LinkOwner(*row)
    _check_link_owner(owner.status, owner.token_version, data)
    return owner
