"""Reading interests."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from preferences.models import Interest, InterestStatus


def active_interests(session: Session) -> list[Interest]:
    """Return the interests candidates can choose, in display order."""
    return list(
        session.scalars(
            select(Interest)
            .where(Interest.status == InterestStatus.ACTIVE, Interest.merged_into_id.is_(None))
            .order_by(Interest.position, Interest.name)
        )
    )


def interest_by_slug(session: Session, slug: str) -> Interest | None:
    """Return the interest with this slug, whatever its status."""
    return session.scalar(select(Interest).where(Interest.slug == slug))
