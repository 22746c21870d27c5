"""A `/jobs` search as a saved search stores it: `SearchCriteria` to `SearchFields`.

`jobs.search_criteria` reads and words a search; `preferences.saved_searches` stores one
without interpreting it. This is the one place that turns the first into the second,
so the "Email me jobs like this" box, its form and its confirmation link agree on what
a search is saved as.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from jobs.search_criteria import SearchCriteria, criteria_key, describe
from portal.errors import PortalError
from preferences.interests import interest_by_slug
from preferences.models import Interest, InterestStatus
from preferences.saved_searches import SearchFields


class UnknownInterest(PortalError, ValueError):
    """The search names an interest that is not (or no longer) one candidates can choose."""

    def __init__(self, slug: str) -> None:
        super().__init__(f"no active interest {slug!r}")
        self.slug = slug


def active_interest(session: Session, slug: str) -> Interest | None:
    """The interest `slug` names if candidates can choose it now (active, not merged)."""
    interest = interest_by_slug(session, slug)
    if (
        interest is None
        or interest.status is not InterestStatus.ACTIVE
        or interest.merged_into_id is not None
    ):
        return None
    return interest


def search_fields(session: Session, criteria: SearchCriteria) -> SearchFields:
    """The search as saved: without its `posted` window, its interest by id.

    Raises `UnknownInterest` when the interest is unknown, retired or merged away.
    """
    alert = criteria.for_alert()
    interest = None
    if alert.interest:
        interest = active_interest(session, alert.interest)
        if interest is None:
            raise UnknownInterest(alert.interest)
    return SearchFields(
        key=criteria_key(alert),
        query=alert.q,
        location=alert.location,
        workplace=alert.workplace.value if alert.workplace else None,
        employment_type=alert.employment_type.value if alert.employment_type else None,
        interest_id=interest.id if interest else None,
        description=describe(alert, interest.name if interest else None),
    )
