"""Mailing lists as named in one-click unsubscribe links: interests' alerts, or mass email.

A list reference is a short string carried inside a signed token:
``"interest:<id>"`` for the job alerts of one interest, ``"interests:<id>.<id>…"``
(two or more ids, ascending) for a digest that covers several interests and
leaves exactly those, ``"mass_email"`` for campaigns. Parsing never touches the
database; resolving does.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
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
_INTERESTS_REF = re.compile(r"interests:([1-9][0-9]{0,17}(?:\.[1-9][0-9]{0,17})+)")
# More than any digest covers; keeps a token, and the work one link can cause, small.
MAX_INTERESTS_PER_REF = 50


class ListKind(enum.StrEnum):
    INTEREST = "interest"
    INTERESTS = "interests"
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
    # INTERESTS only: two or more ids, ascending.
    interest_ids: tuple[int, ...] = ()

    def __str__(self) -> str:
        if self.kind is ListKind.INTEREST:
            return f"interest:{self.interest_id}"
        if self.kind is ListKind.INTERESTS:
            return "interests:" + ".".join(str(i) for i in self.interest_ids)
        return MASS_EMAIL_REF


def interests_list_ref(interest_ids: Iterable[int]) -> ListRef:
    """The list of one or several interests: `interest:<id>`, or `interests:<id>.<id>…`."""
    ids = tuple(sorted(set(interest_ids)))
    if not ids or any(i < 1 for i in ids):
        raise ValueError("a job-alert list needs one or more positive interest ids")
    if len(ids) > MAX_INTERESTS_PER_REF:
        raise ValueError(f"a list covers at most {MAX_INTERESTS_PER_REF} interests")
    if len(ids) == 1:
        return ListRef(ListKind.INTEREST, ids[0])
    return ListRef(ListKind.INTERESTS, interest_ids=ids)


def alert_list_ref(context: Mapping[str, object]) -> str:
    """The list a job-alert digest's unsubscribe link leaves, from its outbox context.

    Every interest in `interest_ids` (a digest covering several), else `interest_id`.
    """
    listed = context.get("interest_ids")
    ids = [i for i in listed if isinstance(i, int)] if isinstance(listed, list) else []
    primary = context.get("interest_id")
    if not ids and isinstance(primary, int):
        ids = [primary]
    return str(interests_list_ref(ids))


@dataclass(frozen=True)
class ResolvedList:
    """A list reference together with what it names in the database."""

    ref: ListRef
    name: str
    interest_id: int | None = None
    # Every interest it leaves (one for an INTEREST list); empty for mass email.
    interest_ids: tuple[int, ...] = ()


def parse_list_ref(ref: object) -> ListRef:
    """Parse ``"interest:<id>"``, ``"interests:<id>.<id>…"`` or ``"mass_email"``.

    Anything else is `UnknownList`, including an `interests:` list that is not
    strictly ascending (each set has one spelling) or longer than
    `MAX_INTERESTS_PER_REF`.
    """
    if not isinstance(ref, str):
        raise UnknownList(ref, "not a list reference")
    if ref == MASS_EMAIL_REF:
        return ListRef(ListKind.MASS_EMAIL)
    match = _INTEREST_REF.fullmatch(ref)
    if match is not None:
        return ListRef(ListKind.INTEREST, int(match.group(1)))
    many = _INTERESTS_REF.fullmatch(ref)
    if many is None:
        raise UnknownList(ref, "not a list reference")
    ids = tuple(int(part) for part in many.group(1).split("."))
    if len(ids) > MAX_INTERESTS_PER_REF:
        raise UnknownList(ref, "too many interests")
    if any(a >= b for a, b in pairwise(ids)):
        raise UnknownList(ref, "interests must be listed once each, in ascending order")
    return ListRef(ListKind.INTERESTS, interest_ids=ids)


_INTEREST_FOR_LIST = select(Interest.name, Interest.status, Interest.merged_into_id).where(
    Interest.id == bindparam("interest_id")
)


_INTERESTS_FOR_LIST = (
    select(Interest.id, Interest.name)
    .where(
        Interest.id.in_(bindparam("interest_ids", expanding=True)),
        Interest.status == InterestStatus.ACTIVE,
        Interest.merged_into_id.is_(None),
    )
    .order_by(Interest.position, Interest.name)
)


def _names(names: Sequence[str]) -> str:
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]


def _resolve_interests(session: Session, parsed: ListRef) -> ResolvedList:
    """A digest's several interests: those still active; none left is `ListUnavailable`.

    A retired or merged interest sends no more alerts, so leaving the others is
    all the link can still do.
    """
    rows = (
        session.connection()
        .execute(_INTERESTS_FOR_LIST, {"interest_ids": list(parsed.interest_ids)})
        .all()
    )
    if not rows:
        raise ListUnavailable(str(parsed), "its interests were retired, merged or removed")
    ids = tuple(sorted(row.id for row in rows))
    name = "job alerts for " + _names([row.name for row in rows])
    return ResolvedList(parsed, name, None, ids)


def resolve_list(session: Session, ref: ListRef | str) -> ResolvedList:
    """Look up the list `ref` names; a missing, retired or merged interest raises."""
    parsed = ref if isinstance(ref, ListRef) else parse_list_ref(ref)
    if parsed.kind is ListKind.MASS_EMAIL:
        return ResolvedList(parsed, "mass email communications")
    if parsed.kind is ListKind.INTERESTS:
        return _resolve_interests(session, parsed)
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
    assert parsed.interest_id is not None
    return ResolvedList(parsed, f"job alerts for {name}", parsed.interest_id, (parsed.interest_id,))


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

    A list of several interests withdraws each one, with one consent event per
    interest that changed. Repeating it is a no-op that writes no consent event,
    so a one-click POST can be retried safely. `detail` is kept in the consent
    event. Flushes, never commits.
    """
    target = ref if isinstance(ref, ResolvedList) else resolve_list(session, ref)
    if target.interest_ids:
        changed = [
            withdraw_interest(
                session,
                candidate.id,
                interest_id,
                source=source,
                ip_address=ip_address,
                detail=detail,
            )
            for interest_id in target.interest_ids
        ]
        return any(changed)
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
