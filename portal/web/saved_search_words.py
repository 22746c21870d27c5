"""A saved search read back as a job search: its words, its `/jobs` link, its status.

`preferences` stores a saved search's fields without reading them and `jobs` words a
search without knowing saved searches; the portal pages that list saved searches (the
preference center, the dashboard, the unsubscribe pages) meet the two here.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from jobs.search_criteria import describe, saved_criteria
from portal.i18n import gettext
from portal.web.interest_names import page_interest_texts
from portal.web.phrases import local_day
from preferences.clock import now
from preferences.models import Interest, SavedSearch, SubscriptionStatus


@dataclass(frozen=True)
class SearchView:
    """One saved search as a page lists it."""

    id: int
    words: str
    jobs_url: str
    status: SubscriptionStatus
    frequency: str
    paused_until: datetime | None

    @property
    def pending(self) -> bool:
        return self.status is SubscriptionStatus.UNCONFIRMED

    @property
    def paused(self) -> bool:
        return self.paused_until is not None and self.paused_until > now()

    @property
    def status_key(self) -> str:
        """ "pending", "paused", "active" or "removed", for styling the status."""
        if self.status is SubscriptionStatus.UNSUBSCRIBED:
            return "removed"
        if self.pending:
            return "pending"
        return "paused" if self.paused else "active"

    @property
    def status_text(self) -> str:
        """ "Awaiting your confirmation", "Paused until June 1, 2027" or "Active" (translated)."""
        if self.status is SubscriptionStatus.UNSUBSCRIBED:
            return gettext("Removed")
        if self.pending:
            return gettext("Awaiting your confirmation")
        if self.paused and self.paused_until is not None:
            return gettext("Paused until %(day)s", day=local_day(self.paused_until))
        return gettext("Active")


_VIEW_COLUMNS = select(
    SavedSearch.id,
    SavedSearch.query,
    SavedSearch.location,
    SavedSearch.workplace,
    SavedSearch.employment_type,
    SavedSearch.status,
    SavedSearch.frequency,
    SavedSearch.paused_until,
    SavedSearch.interest_id,
    Interest.slug.label("interest_slug"),
    Interest.name.label("interest_name"),
).outerjoin(Interest, Interest.id == SavedSearch.interest_id)


# A candidate's kept searches (removed ones left out), oldest first.
_KEPT = _VIEW_COLUMNS.where(
    SavedSearch.candidate_id == bindparam("candidate_id"),
    SavedSearch.status != SubscriptionStatus.UNSUBSCRIBED,
).order_by(SavedSearch.created_at, SavedSearch.id)


def saved_search_views(
    session: Session, candidate_id: int, ids: Collection[int] | None = None
) -> list[SearchView]:
    """The candidate's saved searches in words (the page's language), oldest first, in one query.

    Without `ids`, those they keep (removed ones left out); with `ids`, those of
    them the candidate has, whatever their status.
    """
    if ids is None:
        # The preference page's own list: a statement built once, run as plain Core.
        rows = session.connection().execute(_KEPT, {"candidate_id": candidate_id}).all()
    else:
        query = _VIEW_COLUMNS.where(
            SavedSearch.candidate_id == candidate_id, SavedSearch.id.in_(list(ids))
        )
        rows = session.execute(query.order_by(SavedSearch.created_at, SavedSearch.id)).all()
    views = []
    names = page_interest_texts() if any(row.interest_name for row in rows) else None
    for row in rows:
        criteria = saved_criteria(row, row.interest_slug or "")
        interest_name = row.interest_name
        if names is not None and row.interest_name:
            interest_name = names.name_of(row.interest_id, row.interest_name)
        args = criteria.query_args()
        views.append(
            SearchView(
                id=row.id,
                words=describe(criteria, interest_name, gettext),
                jobs_url="/jobs" + ("?" + urlencode(args) if args else ""),
                status=row.status,
                frequency=row.frequency.value,
                paused_until=row.paused_until,
            )
        )
    return views
