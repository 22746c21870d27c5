"""Reading interests."""

from __future__ import annotations

from sqlalchemy.orm import Session

from preferences.interests import active_interests, interest_by_slug
from preferences.models import Interest, InterestStatus


def test_active_interests_excludes_retired_and_merged_in_display_order(
    db_session: Session,
) -> None:
    """Only active, unmerged interests are offered, ordered by position then name."""
    target = Interest(name="Engineering", slug="engineering", position=2)
    db_session.add_all(
        [
            target,
            Interest(name="Sales", slug="sales", position=1),
            Interest(name="Design", slug="design", position=2),
            Interest(name="Legal", slug="legal", position=0, status=InterestStatus.RETIRED),
        ]
    )
    db_session.flush()
    db_session.add(Interest(name="Software", slug="software", merged_into_id=target.id))
    db_session.flush()
    assert [i.slug for i in active_interests(db_session)] == ["sales", "design", "engineering"]


def test_interest_by_slug_returns_any_status(db_session: Session) -> None:
    """interest_by_slug finds retired interests too, and None for unknown slugs."""
    db_session.add(Interest(name="Legal", slug="legal", status=InterestStatus.RETIRED))
    db_session.flush()
    found = interest_by_slug(db_session, "legal")
    assert found is not None
    assert found.status is InterestStatus.RETIRED
    assert interest_by_slug(db_session, "nope") is None
