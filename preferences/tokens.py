"""Signed links: one salt per purpose, key rotation, never an email address inside.

A token carries the candidate's public id and `token_version`; bumping the
version revokes every older link. Keys are given newest first: the newest
signs and every key verifies. Tokens are stamped and aged by `preferences.clock`
(`ClockSigner`, `loads_fresh`), never by itsdangerous' own reading of the wall clock,
so a frozen clock decides whether a link has expired.
"""

from __future__ import annotations

import enum
import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from preferences.clock import now
from preferences.errors import PreferencesError
from preferences.events import remember_public_id
from preferences.models import Candidate, CandidateStatus


class LinkPurpose(enum.StrEnum):
    PREFERENCES = "preferences"
    ONE_CLICK = "one-click-unsubscribe"
    CONFIRM_EMAIL = "email-confirmation"
    LOGIN = "login-link"
    # "Email me jobs like this" from a visitor: confirms one saved search (and the address).
    CONFIRM_SEARCH = "saved-search-confirmation"
    # A re-permission email's "Keep me": opens a page whose button keeps the candidate.
    STAY = "retention-stay"


# Preference and unsubscribe links outlive the 30 days CAN-SPAM asks for.
LIFETIMES = {
    LinkPurpose.PREFERENCES: 90 * 86400,
    LinkPurpose.ONE_CLICK: 90 * 86400,
    LinkPurpose.CONFIRM_EMAIL: 30 * 86400,
    LinkPurpose.CONFIRM_SEARCH: 30 * 86400,
    # Past the REPERMISSION_DAYS (at most 365) an answer is useful for.
    LinkPurpose.STAY: 400 * 86400,
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


class ClockSigner(TimestampSigner):
    """Stamps tokens with `preferences.clock.now()`, the time `loads_fresh` ages them by."""

    def get_timestamp(self) -> int:
        return int(now().timestamp())


def timed_serializer(secret_keys: Sequence[str], salt: str) -> URLSafeTimedSerializer:
    """A SHA-256 serializer for `salt` that stamps by the clock; `secret_keys` are newest first."""
    # itsdangerous signs with the last key of the list; our setting lists the newest first.
    return URLSafeTimedSerializer(
        list(reversed(secret_keys)),
        salt=salt,
        signer=ClockSigner,
        signer_kwargs={"digest_method": hashlib.sha256},
    )


def loads_fresh(serializer: URLSafeTimedSerializer, token: str, *, lifetime: int) -> Any:
    """The payload of `token`, checked first for its signature, then for its age by the clock.

    Raises itsdangerous' `BadSignature` for a token that does not verify, and its
    `SignatureExpired` (carrying the loaded payload) for one signed more than
    `lifetime` seconds before `now()`, or after it: a token from the future is not
    trusted to be fresh, as itsdangerous' own `max_age` check would have it.
    """
    payload, signed_at = serializer.loads(token, return_timestamp=True)
    age = int(now().timestamp()) - int(signed_at.timestamp())
    if age > lifetime:
        raise SignatureExpired(
            f"Signature age {age} > {lifetime} seconds", payload=payload, date_signed=signed_at
        )
    if age < 0:
        raise SignatureExpired(
            f"Signature age {age} < 0 seconds", payload=payload, date_signed=signed_at
        )
    return payload


def _serializer(secret_keys: Sequence[str], purpose: LinkPurpose) -> URLSafeTimedSerializer:
    return _cached_serializer(tuple(secret_keys), purpose)


@functools.lru_cache(maxsize=64)
def _cached_serializer(
    secret_keys: tuple[str, ...], purpose: LinkPurpose
) -> URLSafeTimedSerializer:
    return timed_serializer(secret_keys, f"talentconnect.{purpose.value}")


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
    secret_keys: Sequence[str], purpose: LinkPurpose, token: str, *, lifetime: int | None = None
) -> LinkData:
    """Verify a token's signature and age; raises `LinkExpired` or `InvalidLink`.

    The age limit is the purpose's (`LIFETIMES`) unless `lifetime` (seconds) is given.
    """
    serializer = _serializer(secret_keys, purpose)
    age = LIFETIMES[purpose] if lifetime is None else lifetime
    if not token or len(token) > 2000:
        raise InvalidLink("the link is malformed")
    try:
        payload = loads_fresh(serializer, token, lifetime=age)
    except SignatureExpired as exc:
        loaded = exc.payload
        public_id = loaded.get("c") if isinstance(loaded, dict) else None
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
    Candidate.id,
    Candidate.public_id,
    Candidate.token_version,
    Candidate.status,
    Candidate.email,
    Candidate.locale,
).where(Candidate.public_id == bindparam("public_id"))


class LinkOwner(NamedTuple):
    """The candidate a link names, as plain columns (for hot paths that need no ORM object)."""

    id: int
    public_id: str
    token_version: int
    status: CandidateStatus
    email: str
    # The language their pages and emails are in (a stand-in owner: the source language).
    locale: str = "en"


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
    remember_public_id(session, owner.id, owner.public_id)
    return owner
