"""Mailing lists as named in one-click unsubscribe links: one interest's alerts, or mass email.

A list reference is a short string carried inside a signed token:
``"interest:<id>"`` for the job alerts of one interest, ``"mass_email"`` for
campaigns. Parsing never touches the database; resolving does.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from sqlalchemy.orm import Session

from preferences.errors import PreferencesError
from preferences.models import Candidate, ConsentSource, Interest, InterestStatus
from preferences.subscriptions import opt_out_mass_email, unsubscribe

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
    interest: Interest | None = None


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


def resolve_list(session: Session, ref: ListRef | str) -> ResolvedList:
    """Look up the list `ref` names; a missing, retired or merged interest raises."""
    parsed = ref if isinstance(ref, ListRef) else parse_list_ref(ref)
    if parsed.kind is ListKind.MASS_EMAIL:
        return ResolvedList(parsed, "mass email communications")
    interest = session.get(Interest, parsed.interest_id)
    if interest is None:
        raise UnknownList(str(parsed), "the interest does not exist")
    if interest.status is not InterestStatus.ACTIVE or interest.merged_into_id is not None:
        reason = "merged" if interest.merged_into_id is not None else "retired"
        raise ListUnavailable(str(parsed), f"the interest was {reason}")
    return ResolvedList(parsed, f"job alerts for {interest.name}", interest)


def unsubscribe_from_list(
    session: Session,
    candidate: Candidate,
    ref: ListRef | str,
    *,
    source: ConsentSource,
    ip_address: str | None = None,
) -> bool:
    """Unsubscribe `candidate` from exactly the list `ref` names. Returns whether it changed.

    Repeating it is a no-op that writes no consent event, so a one-click POST
    can be retried safely. Flushes, never commits.
    """
    target = resolve_list(session, ref)
    if target.interest is not None:
        return unsubscribe(
            session, candidate, target.interest, source=source, ip_address=ip_address
        )
    return opt_out_mass_email(session, candidate, source=source, ip_address=ip_address)
