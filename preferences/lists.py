"""Mailing lists as named in one-click unsubscribe links: interests' alerts, or mass email.

A list reference is a short string carried inside a signed token:
``"interest:<id>"`` for the job alerts of one interest, ``"interests:<id>.<id>…"``
(two or more ids, ascending) for a digest that covers several interests and
leaves exactly those, ``"search:<id>"`` for the alerts of one saved search,
``"alerts:<interest ids>:<search ids>"`` (each part dot-separated and ascending, the
first may be empty) for a digest that covers saved searches as well, and
``"mass_email"`` for campaigns. Parsing never touches the database; resolving does.
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
    SavedSearch,
)
from preferences.phrases import N_, Phrase, PhraseInterest, PhraseList, ngettext
from preferences.saved_searches import withdraw_saved_search
from preferences.subscriptions import set_mass_email_status, withdraw_interest
from preferences.tokens import LinkData, LinkOwner, LinkPurpose, link_owner, read_link_token

MASS_EMAIL_REF = "mass_email"
_INTEREST_REF = re.compile(r"interest:([1-9][0-9]{0,17})")
_INTERESTS_REF = re.compile(r"interests:([1-9][0-9]{0,17}(?:\.[1-9][0-9]{0,17})+)")
_SEARCH_REF = re.compile(r"search:([1-9][0-9]{0,17})")
_IDS = r"[1-9][0-9]{0,17}(?:\.[1-9][0-9]{0,17})*"
_ALERTS_REF = re.compile(f"alerts:({_IDS})?:({_IDS})")
# More than any digest covers; keeps a token, and the work one link can cause, small.
MAX_INTERESTS_PER_REF = 50


class ListKind(enum.StrEnum):
    INTEREST = "interest"
    INTERESTS = "interests"
    SEARCH = "search"
    ALERTS = "alerts"
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
    # INTERESTS: two or more ids, ascending; ALERTS: any number, ascending.
    interest_ids: tuple[int, ...] = ()
    # SEARCH: one saved search's id; ALERTS: one or more, ascending.
    search_ids: tuple[int, ...] = ()

    def __str__(self) -> str:
        if self.kind is ListKind.INTEREST:
            return f"interest:{self.interest_id}"
        if self.kind is ListKind.INTERESTS:
            return "interests:" + _dotted(self.interest_ids)
        if self.kind is ListKind.SEARCH:
            return f"search:{self.search_ids[0]}"
        if self.kind is ListKind.ALERTS:
            return f"alerts:{_dotted(self.interest_ids)}:{_dotted(self.search_ids)}"
        return MASS_EMAIL_REF


def _dotted(ids: Sequence[int]) -> str:
    return ".".join(str(i) for i in ids)


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


def alerts_list_ref(interest_ids: Iterable[int], search_ids: Iterable[int]) -> ListRef:
    """The list of some interests' and saved searches' alerts, in its shortest spelling."""
    searches = tuple(sorted(set(search_ids)))
    if not searches:
        return interests_list_ref(interest_ids)
    interests = tuple(sorted(set(interest_ids)))
    if any(i < 1 for i in (*interests, *searches)):
        raise ValueError("list ids must be positive")
    if len(interests) + len(searches) > MAX_INTERESTS_PER_REF:
        raise ValueError(f"a list covers at most {MAX_INTERESTS_PER_REF} interests and searches")
    if not interests and len(searches) == 1:
        return ListRef(ListKind.SEARCH, search_ids=searches)
    return ListRef(ListKind.ALERTS, interest_ids=interests, search_ids=searches)


def _int_list(value: object) -> list[int]:
    return [i for i in value if isinstance(i, int)] if isinstance(value, list) else []


def alert_list_ref(context: Mapping[str, object]) -> str:
    """The list a job-alert digest's unsubscribe link leaves, from its outbox context.

    Every interest in `interest_ids` (a digest covering several), else `interest_id`,
    and every saved search in `search_ids`.
    """
    ids = _int_list(context.get("interest_ids"))
    primary = context.get("interest_id")
    if not ids and isinstance(primary, int):
        ids = [primary]
    return str(alerts_list_ref(ids, _int_list(context.get("search_ids"))))


@dataclass(frozen=True)
class ResolvedList:
    """A list reference together with what it names in the database."""

    ref: ListRef
    name: str
    interest_id: int | None = None
    # Every interest it leaves (one for an INTEREST list); empty for mass email.
    interest_ids: tuple[int, ...] = ()
    # Every saved search it leaves.
    search_ids: tuple[int, ...] = ()


def parse_list_ref(ref: object) -> ListRef:
    """Parse a list reference: `interest:`, `interests:`, `search:`, `alerts:` or mass email.

    Anything else is `UnknownList`, including a list of ids that is not strictly
    ascending (each set has one spelling) or longer than `MAX_INTERESTS_PER_REF`.
    """
    if not isinstance(ref, str):
        raise UnknownList(ref, "not a list reference")
    if ref == MASS_EMAIL_REF:
        return ListRef(ListKind.MASS_EMAIL)
    match = _INTEREST_REF.fullmatch(ref)
    if match is not None:
        return ListRef(ListKind.INTEREST, int(match.group(1)))
    match = _SEARCH_REF.fullmatch(ref)
    if match is not None:
        return ListRef(ListKind.SEARCH, search_ids=(int(match.group(1)),))
    match = _ALERTS_REF.fullmatch(ref)
    if match is not None:
        interests = _ascending(ref, match.group(1) or "")
        searches = _ascending(ref, match.group(2))
        if len(interests) + len(searches) > MAX_INTERESTS_PER_REF:
            raise UnknownList(ref, "too many interests and searches")
        return ListRef(ListKind.ALERTS, interest_ids=interests, search_ids=searches)
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


def _ascending(ref: str, dotted: str) -> tuple[int, ...]:
    ids = tuple(int(part) for part in dotted.split(".") if part)
    if any(a >= b for a, b in pairwise(ids)):
        raise UnknownList(ref, "ids must be listed once each, in ascending order")
    return ids


def _names(names: Sequence[str]) -> PhraseList:
    return PhraseList(names)


def _alerts_for(names: Sequence[str]) -> Phrase:
    """ "job alerts for A, B and C": what an unsubscribe link leaves, in words."""
    return Phrase(N_("job alerts for %(names)s"), names=_names(names))


def _resolve_interests(session: Session, parsed: ListRef) -> ResolvedList:
    """A digest's several interests: those still active; none left is `ListUnavailable`.

    A retired or merged interest sends no more alerts, so leaving the others is
    all the link can still do.
    """
    rows = _interest_rows(session, parsed.interest_ids)
    if not rows:
        raise ListUnavailable(str(parsed), "its interests were retired, merged or removed")
    ids = tuple(sorted(row.id for row in rows))
    names = [PhraseInterest(row.id, row.name) for row in rows]
    return ResolvedList(parsed, _alerts_for(names), None, ids)


_SEARCHES_FOR_LIST = (
    select(SavedSearch.id, SavedSearch.query)
    .where(SavedSearch.id.in_(bindparam("search_ids", expanding=True)))
    .order_by(SavedSearch.id)
)


def _resolve_alerts(
    session: Session, parsed: ListRef, candidate_id: int | None = None
) -> ResolvedList:
    """Saved searches (and interests): those that are still there; nothing left raises.

    With `candidate_id`, another candidate's saved search counts as not there, so a
    link never names (or leaves) someone else's search. Interests retired or merged
    since the email went out are left out, as for an `interests:` list; when nothing
    is left it is `UnknownList` (no search of theirs) or `ListUnavailable` (only
    retired interests).
    """
    query = _SEARCHES_FOR_LIST
    if candidate_id is not None:
        query = query.where(SavedSearch.candidate_id == candidate_id)
    searches = session.connection().execute(query, {"search_ids": list(parsed.search_ids)}).all()
    interests = _interest_rows(session, parsed.interest_ids)
    if not searches and not interests:
        if parsed.interest_ids:
            raise ListUnavailable(str(parsed), "its interests were retired, merged or removed")
        raise UnknownList(str(parsed), "the saved search does not exist")
    parts: list[str] = [PhraseInterest(row.id, row.name) for row in interests]
    if searches:
        words = [Phrase(N_("“%(query)s”"), query=row.query) for row in searches if row.query]
        if words:
            parts.append(
                ngettext(
                    "your saved search %(words)s",
                    "your saved searches %(words)s",
                    len(searches),
                    words=_names(words),
                )
            )
        else:
            parts.append(ngettext("your saved search", "your saved searches", len(searches)))
    return ResolvedList(
        parsed,
        _alerts_for(parts),
        None,
        tuple(sorted(row.id for row in interests)),
        tuple(row.id for row in searches),
    )


def _interest_rows(session: Session, ids: Sequence[int]) -> Sequence[Any]:
    if not ids:
        return []
    return session.connection().execute(_INTERESTS_FOR_LIST, {"interest_ids": list(ids)}).all()


def resolve_list(
    session: Session, ref: ListRef | str, *, candidate_id: int | None = None
) -> ResolvedList:
    """Look up the list `ref` names; a missing, retired or merged interest raises.

    `candidate_id` is whose link it is: saved searches are looked up among theirs only.
    """
    parsed = ref if isinstance(ref, ListRef) else parse_list_ref(ref)
    if parsed.kind is ListKind.MASS_EMAIL:
        return ResolvedList(parsed, Phrase(N_("mass email communications")))
    if parsed.kind in (ListKind.SEARCH, ListKind.ALERTS):
        return _resolve_alerts(session, parsed, candidate_id)
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
    label = PhraseInterest(parsed.interest_id, name)
    return ResolvedList(parsed, _alerts_for([label]), parsed.interest_id, (parsed.interest_id,))


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

    A list of several interests (and saved searches) withdraws each one, with one
    consent event per interest or search that changed; a saved search that is not the
    candidate's is left alone. Repeating it is a no-op that writes no consent event,
    so a one-click POST can be retried safely. `detail` is kept in the consent
    event. Flushes, never commits.
    """
    target = (
        ref
        if isinstance(ref, ResolvedList)
        else resolve_list(session, ref, candidate_id=candidate.id)
    )
    if target.interest_ids or target.search_ids:
        changed = [
            withdraw_interest(
                session,
                candidate.id,
                interest_id,
                source=source,
                ip_address=ip_address,
                detail=detail,
                locale=candidate.locale,
            )
            for interest_id in target.interest_ids
        ] + [
            withdraw_saved_search(
                session,
                candidate.id,
                search_id,
                source=source,
                ip_address=ip_address,
                detail=detail,
                locale=candidate.locale,
            )
            for search_id in target.search_ids
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
        locale=candidate.locale,
    )


@dataclass(frozen=True)
class OneClickLink:
    """A verified one-click unsubscribe token: whose it is and the list reference it carries."""

    candidate: LinkOwner
    list_ref: object

    @classmethod
    def of(cls, link: LinkData, owner: LinkOwner) -> OneClickLink:
        """The one-click link a verified token (`link`) of `owner` makes."""
        return cls(owner, link.extra.get("l"))

    def resolve(self, session: Session) -> ResolvedList:
        """The list the token names; raises `UnknownList` or `ListUnavailable`."""
        return resolve_list(session, parse_list_ref(self.list_ref), candidate_id=self.candidate.id)


def read_one_click_link(session: Session, secret_keys: Sequence[str], token: str) -> OneClickLink:
    """Verify a one-click unsubscribe token and find the candidate it belongs to.

    Raises `LinkExpired`, or `InvalidLink` for a tampered, malformed, revoked or
    other-purpose token. Used by the HTTP one-click endpoint and by unsubscribe
    requests that arrive by email, so both accept exactly the same tokens.
    """
    link = read_link_token(secret_keys, LinkPurpose.ONE_CLICK, token)
    return OneClickLink.of(link, link_owner(session, link))


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
