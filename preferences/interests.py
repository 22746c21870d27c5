"""Reading interests."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from preferences.models import Interest, InterestStatus
from preferences.text import is_clean_line

# The interests candidates can choose, and the order they are shown in.
IS_ACTIVE = (Interest.status == InterestStatus.ACTIVE, Interest.merged_into_id.is_(None))
DISPLAY_ORDER = (Interest.position, Interest.name)


def active_interests(session: Session, ids: Sequence[int] | None = None) -> list[Interest]:
    """Return the interests candidates can choose (among `ids`, if given), in display order."""
    stmt = select(Interest).where(*IS_ACTIVE)
    if ids is not None:
        if not ids:
            return []
        stmt = stmt.where(Interest.id.in_(list(ids)))
    return list(session.scalars(stmt.order_by(*DISPLAY_ORDER)))


def interest_by_slug(session: Session, slug: str) -> Interest | None:
    """Return the interest with this slug, whatever its status.

    A "slug" the stored-text rule would change (a NUL, a line break) names no interest and is
    never looked up: PostgreSQL refuses a NUL in a query parameter.
    """
    if not is_clean_line(slug):
        return None
    return session.scalar(select(Interest).where(Interest.slug == slug))
