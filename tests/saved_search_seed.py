"""Saved searches for tests: a search's fields as `/jobs` hands them to `save_search`."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from jobs.search_criteria import SearchCriteria, criteria_key, describe
from preferences.models import Candidate, ConsentSource, Interest, SavedSearch
from preferences.saved_searches import SearchFields, save_search


def search_fields(
    q: str = "python", location: str = "Berlin", *, interest: Interest | None = None, **more: Any
) -> SearchFields:
    """The fields of a search for `q` in `location` (and any other `SearchCriteria` filter)."""
    criteria = SearchCriteria(
        q=q, location=location, interest=interest.slug if interest else "", **more
    )
    return SearchFields(
        key=criteria_key(criteria),
        query=criteria.q,
        location=criteria.location,
        workplace=criteria.workplace.value if criteria.workplace else None,
        employment_type=criteria.employment_type.value if criteria.employment_type else None,
        interest_id=interest.id if interest else None,
        description=describe(criteria, interest.name if interest else None),
    )


def seed_search(
    session: Session,
    candidate: Candidate,
    q: str = "python",
    location: str = "Berlin",
    *,
    confirmed: bool = True,
    **more: Any,
) -> SavedSearch:
    """Save a search for `candidate` as a member would (source `connect_form`)."""
    search, _ = save_search(
        session,
        candidate,
        search_fields(q, location, **more),
        source=ConsentSource.CONNECT_FORM,
        confirmed=confirmed,
    )
    return search
