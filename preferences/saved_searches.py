"""Saved searches: job alerts for a job search, kept like interest subscriptions.

A saved search has the same life as a subscription: unconfirmed until the address is
confirmed (double opt-in), subscribed, paused until a time, or unsubscribed, at a
frequency; every change writes a consent event (scope `saved_search`) in the same
transaction, with the search in words in its detail so the record reads on its own.
The search's fields come from `jobs.search_criteria` as a `SearchFields`; this module
stores them and never interprets them. Functions flush, never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.orm import Session

from preferences.clock import now
from preferences.errors import (
    CandidateDeleted,
    InvalidTransition,
    NotFound,
    TooManySavedSearches,
)
from preferences.models import (
    Candidate,
    CandidateStatus,
    ConsentAction,
    ConsentEvent,
    ConsentScope,
    ConsentSource,
    Frequency,
    SavedSearch,
    SubscriptionStatus,
)
from preferences.subscriptions import HasId, append_consent, mark_address_verified

# The default of the TALENTCONNECT_MAX_SAVED_SEARCHES setting.
DEFAULT_MAX_SAVED_SEARCHES = 10

# The largest id an INTEGER column holds on both backends.
MAX_ID = 2**31 - 1

_SEARCHES: Table = SavedSearch.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class SearchFields:
    """A search as stored: its canonical key, its filters, and the search in words."""

    key: str
    query: str = ""
    location: str = ""
    workplace: str | None = None
    employment_type: str | None = None
    interest_id: int | None = None
    # The search in words (`jobs.search_criteria.describe`), kept in consent events.
    description: str = ""


def _require_active(candidate: Candidate) -> None:
    if candidate.status is CandidateStatus.DELETED:
        raise CandidateDeleted(candidate.public_id)


def _consent(
    session: Session,
    candidate_id: int,
    search: SavedSearch,
    action: ConsentAction,
    source: ConsentSource,
    *,
    description: str,
    wording_version: str | None = None,
    detail: dict[str, Any] | None = None,
    ip_address: str | None = None,
    locale: str | None = None,
) -> int | None:
    return append_consent(
        session,
        candidate_id,
        scope=ConsentScope.SAVED_SEARCH,
        saved_search_id=search.id,
        action=action,
        source=source,
        wording_version=wording_version,
        detail={"search": description, **(detail or {})},
        ip_address=ip_address,
        locale=locale,
    )


def count_saved_searches(session: Session, candidate: HasId) -> int:
    """How many saved searches the candidate keeps (any status but unsubscribed)."""
    return (
        session.scalar(
            select(func.count())
            .select_from(SavedSearch)
            .where(
                SavedSearch.candidate_id == candidate.id,
                SavedSearch.status != SubscriptionStatus.UNSUBSCRIBED,
            )
        )
        or 0
    )


def list_saved_searches(session: Session, candidate: HasId) -> list[SavedSearch]:
    """The candidate's saved searches (unsubscribed ones left out), oldest first."""
    return list(
        session.scalars(
            select(SavedSearch)
            .where(
                SavedSearch.candidate_id == candidate.id,
                SavedSearch.status != SubscriptionStatus.UNSUBSCRIBED,
            )
            .order_by(SavedSearch.created_at, SavedSearch.id)
        )
    )


def saved_search_by_key(session: Session, candidate: HasId, key: str) -> SavedSearch | None:
    """The candidate's saved search with this criteria key, whatever its status (stopped too)."""
    return session.scalar(
        select(SavedSearch).where(
            SavedSearch.candidate_id == candidate.id, SavedSearch.criteria_key == key
        )
    )


def saved_search_of(session: Session, candidate: HasId, search_id: int) -> SavedSearch:
    """The candidate's saved search `search_id`; `NotFound` when it is someone else's."""
    # An id outside the column's range (a tampered form) is no row's: no query needed.
    if not 0 < search_id <= MAX_ID:
        raise NotFound("saved search", search_id)
    search = session.get(SavedSearch, search_id)
    if search is None or search.candidate_id != candidate.id:
        raise NotFound("saved search", search_id)
    return search


def save_search(
    session: Session,
    candidate: Candidate,
    fields: SearchFields,
    *,
    source: ConsentSource,
    frequency: Frequency | None = None,
    confirmed: bool = False,
    limit: int = DEFAULT_MAX_SAVED_SEARCHES,
    wording: str | None = None,
    wording_version: str | None = None,
    ip_address: str | None = None,
    detail: dict[str, Any] | None = None,
) -> tuple[SavedSearch, bool]:
    """Save `fields` as an alert for `candidate`; return it and whether anything changed.

    A new saved search starts unconfirmed unless `confirmed` (the address is already
    verified: a signed-in member). The same search saved again while kept changes
    nothing (or only its frequency, as a change); one left earlier is taken up again.
    Raises `TooManySavedSearches` when a new one would pass `limit`. `wording` is the
    consent text the person saw, kept in the event with `detail`; `wording_version` its
    version (default: the default wording in the candidate's language).
    """
    _require_active(candidate)
    target = SubscriptionStatus.SUBSCRIBED if confirmed else SubscriptionStatus.UNCONFIRMED
    search = session.scalar(
        select(SavedSearch).where(
            SavedSearch.candidate_id == candidate.id, SavedSearch.criteria_key == fields.key
        )
    )
    if search is not None and search.status is not SubscriptionStatus.UNSUBSCRIBED:
        changed = False
        if search.status is SubscriptionStatus.UNCONFIRMED and confirmed:
            confirm_saved_search(
                session,
                candidate,
                search.id,
                source=source,
                ip_address=ip_address,
                wording_version=wording_version,
            )
            changed = True
        if frequency is not None and frequency is not search.frequency:
            set_search_frequency(
                session,
                candidate,
                search.id,
                frequency,
                source=source,
                ip_address=ip_address,
                wording_version=wording_version,
            )
            changed = True
        return search, changed
    if count_saved_searches(session, candidate) >= limit:
        raise TooManySavedSearches(limit)
    if search is None:
        search = SavedSearch(
            candidate_id=candidate.id,
            criteria_key=fields.key,
            query=fields.query,
            location=fields.location,
            workplace=fields.workplace,
            employment_type=fields.employment_type,
            interest_id=fields.interest_id,
            status=target,
            frequency=frequency or Frequency.DAILY,
        )
        session.add(search)
    else:
        search.status = target
        search.paused_until = None
        # Jobs posted while it was left are not news to send now.
        search.last_alerted_at = now()
        if frequency is not None:
            search.frequency = frequency
    session.flush()
    _consent(
        session,
        candidate.id,
        search,
        ConsentAction.GRANT,
        source,
        description=fields.description,
        wording_version=wording_version,
        detail={
            "status": search.status.value,
            "frequency": search.frequency.value,
            **({"wording": wording} if wording else {}),
            **(detail or {}),
        },
        ip_address=ip_address,
        locale=candidate.locale,
    )
    return search, True


def _description(session: Session, search: SavedSearch) -> str:
    """The search in words, as its first consent event recorded it."""
    detail = session.scalar(
        select(ConsentEvent.detail)
        .where(ConsentEvent.saved_search_id == search.id)
        .order_by(ConsentEvent.id)
        .limit(1)
    )
    if isinstance(detail, dict) and isinstance(detail.get("search"), str):
        return str(detail["search"])
    return search.query


def confirm_saved_search(
    session: Session,
    candidate: Candidate,
    search_id: int,
    *,
    source: ConsentSource,
    ip_address: str | None = None,
    wording_version: str | None = None,
) -> SavedSearch:
    """Confirm an unconfirmed saved search (double opt-in); the address is verified too.

    Idempotent; a search left meanwhile raises `InvalidTransition`.
    """
    _require_active(candidate)
    search = saved_search_of(session, candidate, search_id)
    if search.status is SubscriptionStatus.SUBSCRIBED:
        return search
    if search.status is SubscriptionStatus.UNSUBSCRIBED:
        raise InvalidTransition("saved search", search.status.value, "subscribed")
    search.status = SubscriptionStatus.SUBSCRIBED
    # Alerts start from the confirmation: jobs posted before it were on the page they saw.
    search.last_alerted_at = now()
    mark_address_verified(session, candidate, source=source.value)
    session.flush()
    _consent(
        session,
        candidate.id,
        search,
        ConsentAction.CONFIRM,
        source,
        description=_description(session, search),
        wording_version=wording_version,
        ip_address=ip_address,
        locale=candidate.locale,
    )
    return search


def set_search_frequency(
    session: Session,
    candidate: Candidate,
    search_id: int,
    frequency: Frequency,
    *,
    source: ConsentSource,
    ip_address: str | None = None,
    wording_version: str | None = None,
) -> SavedSearch:
    """Change how often a saved search's alerts arrive."""
    _require_active(candidate)
    search = saved_search_of(session, candidate, search_id)
    if search.status is SubscriptionStatus.UNSUBSCRIBED:
        raise InvalidTransition("saved search", search.status.value, f"frequency {frequency}")
    if search.frequency is frequency:
        return search
    previous = search.frequency
    search.frequency = frequency
    session.flush()
    _consent(
        session,
        candidate.id,
        search,
        ConsentAction.CHANGE,
        source,
        description=_description(session, search),
        wording_version=wording_version,
        detail={"frequency": frequency.value, "previous_frequency": previous.value},
        ip_address=ip_address,
        locale=candidate.locale,
    )
    return search


def pause_saved_search(
    session: Session,
    candidate: Candidate,
    search_id: int,
    until: datetime | None,
    *,
    source: ConsentSource,
    ip_address: str | None = None,
) -> SavedSearch:
    """Pause a saved search's alerts until `until`; `None` resumes them."""
    _require_active(candidate)
    if until is not None and until <= now():
        raise ValueError("a pause must end in the future")
    search = saved_search_of(session, candidate, search_id)
    if search.status is SubscriptionStatus.UNSUBSCRIBED:
        raise InvalidTransition("saved search", search.status.value, "paused")
    if search.paused_until == until:
        return search
    search.paused_until = until
    session.flush()
    _consent(
        session,
        candidate.id,
        search,
        ConsentAction.CHANGE,
        source,
        description=_description(session, search),
        detail={"paused_until": until.isoformat() if until else None},
        ip_address=ip_address,
        locale=candidate.locale,
    )
    return search


# Built once: leave unless already left, returning the row's id.
_WITHDRAW = (
    update(_SEARCHES)
    .where(
        _SEARCHES.c.id == bindparam("search"),
        _SEARCHES.c.candidate_id == bindparam("candidate"),
        _SEARCHES.c.status != SubscriptionStatus.UNSUBSCRIBED,
    )
    .values(status=SubscriptionStatus.UNSUBSCRIBED, updated_at=bindparam("at"))
    .returning(_SEARCHES.c.id)
)


def withdraw_saved_search(
    session: Session,
    candidate_id: int,
    search_id: int,
    *,
    source: ConsentSource,
    ip_address: str | None = None,
    detail: dict[str, Any] | None = None,
    locale: str | None = None,
) -> bool:
    """Stop a saved search's alerts: one conditional UPDATE, and a consent event if it changed.

    Another candidate's search, or one already left, is a no-op returning False, so a
    one-click POST can be repeated safely. `locale`: the candidate's language, for the
    event's default wording (see `preferences.subscriptions.append_consent`).
    """
    if not 0 < search_id <= MAX_ID:
        return False
    session.flush()
    changed = (
        session.connection()
        .execute(_WITHDRAW, {"search": search_id, "candidate": candidate_id, "at": now()})
        .scalar()
    )
    if changed is None:
        return False
    search = session.get(SavedSearch, changed)
    assert search is not None
    session.expire(search)
    _consent(
        session,
        candidate_id,
        search,
        ConsentAction.WITHDRAW,
        source,
        description=_description(session, search),
        detail=detail,
        ip_address=ip_address,
        locale=locale,
    )
    return True
