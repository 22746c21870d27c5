"""Mailing lists as named in one-click unsubscribe links: one interest's alerts, or mass email.

A list reference is a short string carried inside a signed token:
``"interest:<id>"`` for the job alerts of one interest, ``"mass_email"`` for
campaigns. Parsing never touches the database; resolving does.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from preferences.errors import PreferencesError
from preferences.models import (
    Candidate,
    ConsentAction,
    ConsentSource,
    Interest,
    InterestStatus,
    MassEmail,
)
from preferences.subscriptions import set_mass_email_status, withdraw_interest
from preferences.tokens import LinkOwner, LinkPurpose, link_owner, read_link_token

MASS_EMAIL_REF = "mass_email"
_INTEREST_REF = re.compile(r"interest:([1-9][0-9]{0,17})")


class ListKind(enum.StrEnum):
    INTEREST = "interest"
    MASS_EMAIL = "mass_email"


class UnknownList(PreferencesError):
    """A list reference that is malformed or names no list we have."""

    def __init__(self, ref: object, reason: str = "no such list") -> None:
        super().__init__(f"unknown list {ref!r}: {reason}")
        self.ref = ref
        self.reason = reason


class ListUnavailable(UnknownList):
    """A list that existed but was retired or merged; it cannot be managed from old links."""


@dataclass(frozen=True)
class ListRef:
    """Which list a one-click link unsubscribes from."""

    kind: ListKind
    interest_id: int | None = None

    def __str__(self) -> str:
        if self.kind is ListKind.INTEREST:
            return f"interest:{self.interest_id}"
        return MASS_EMAIL_REF


@dataclass(frozen=True)
class ResolvedList:
    """A list reference together with what it names in the database."""

    ref: ListRef
    name: str
    interest_id: int | None = None


def parse_list_ref(ref: object) -> ListRef:
    """Parse ``"interest:<id>"`` or ``"mass_email"``; anything else is `UnknownList`."""
    if not isinstance(ref, str):
        raise UnknownList(ref, "not a list reference")
    if ref == MASS_EMAIL_REF:
        return ListRef(ListKind.MASS_EMAIL)
    match = _INTEREST_REF.fullmatch(ref)
    if match is None:
        raise UnknownList(ref, "not a list reference")
    return ListRef(ListKind.INTEREST, int(match.group(1)))


_INTEREST_FOR_LIST = select(Interest.name, Interest.status, Interest.merged_into_id).where(
    Interest.id == bindparam("interest_id")
)


def resolve_list(session: Session, ref: ListRef | str) -> ResolvedList:
    """Look up the list `ref` names; a missing, retired or merged interest raises."""
    parsed = ref if isinstance(ref, ListRef) else parse_list_ref(ref)
    if parsed.kind is ListKind.MASS_EMAIL:
        return ResolvedList(parsed, "mass email communications")
    row = (
        session.connection()
        .execute(_INTEREST_FOR_LIST, {"interest_id": parsed.interest_id})
        .first()
    )
    if row is None:
        raise UnknownList(str(parsed), "the interest does not exist")
    name, status, merged_into_id = row
    if status is not InterestStatus.ACTIVE or merged_into_id is not None:
        reason = "merged" if merged_into_id is not None else "retired"
        raise ListUnavailable(str(parsed), f"the interest was {reason}")
    return ResolvedList(parsed, f"job alerts for {name}", parsed.interest_id)


def unsubscribe_from_list(
    session: Session,
    candidate: Candidate | LinkOwner,
    ref: ListRef | ResolvedList | str,
    *,
    source: ConsentSource,
    ip_address: str | None = None,
    detail: dict[str, Any] | None = None,
) -> bool:
    """Unsubscribe `candidate` from exactly the list `ref` names. Returns whether it changed.

    Repeating it is a no-op that writes no consent event, so a one-click POST
    can be retried safely. `detail` is kept in the consent event. Flushes, never commits.
    """
    target = ref if isinstance(ref, ResolvedList) else resolve_list(session, ref)
    if target.interest_id is not None:
        return withdraw_interest(
            session,
            candidate.id,
            target.interest_id,
            source=source,
            ip_address=ip_address,
            detail=detail,
        )
    return set_mass_email_status(
        session,
        candidate.id,
        MassEmail.OPTED_OUT,
        ConsentAction.WITHDRAW,
        source,
        ip_address=ip_address,
        detail=detail,
    )


@dataclass(frozen=True)
class OneClickLink:
    """A verified one-click unsubscribe token: whose it is and the list reference it carries."""

    candidate: LinkOwner
    list_ref: object

    def resolve(self, session: Session) -> ResolvedList:
        """The list the token names; raises `UnknownList` or `ListUnavailable`."""
        return resolve_list(session, parse_list_ref(self.list_ref))


def read_one_click_link(session: Session, secret_keys: Sequence[str], token: str) -> OneClickLink:
    """Verify a one-click unsubscribe token and find the candidate it belongs to.

    Raises `LinkExpired`, or `InvalidLink` for a tampered, malformed, revoked or
    other-purpose token. Used by the HTTP one-click endpoint and by unsubscribe
    requests that arrive by email, so both accept exactly the same tokens.
    """
    link = read_link_token(secret_keys, LinkPurpose.ONE_CLICK, token)
    return OneClickLink(link_owner(session, link), link.extra.get("l"))


def one_click_unsubscribe(
    session: Session,
    candidate: Candidate | LinkOwner,
    target: ResolvedList,
    *,
    ip_address: str | None = None,
    detail: dict[str, Any] | None = None,
) -> bool:
    """Apply a verified one-click unsubscribe (source `one_click`). Returns whether it changed.

    `detail` tells how the request came when it was not the HTTP POST, for
    example ``{"via": "email"}``. Idempotent; flushes, never commits.
    """
    return unsubscribe_from_list(
        session,
        candidate,
        target,
        source=ConsentSource.ONE_CLICK,
        ip_address=ip_address,
        detail=detail,
    )
