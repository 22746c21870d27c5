"""Listing open jobs for the career portal."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from jobs.postings import JobPage, get_job, list_open_jobs
from preferences.clock import FrozenClock
from preferences.models import Interest

from .support import PostingFactory


def titles(page: JobPage) -> list[str]:
    return [job.title for job in page.jobs]


def test_lists_open_jobs_newest_first(db_session: Session, posting: PostingFactory) -> None:
    """Open jobs come newest first, with ties broken by id (newest row first)."""
    posting("Old", age=timedelta(days=10))
    posting("Newest", age=timedelta(hours=1))
    posting("Middle A", age=timedelta(days=3))
    posting("Middle B", age=timedelta(days=3))
    page = list_open_jobs(db_session)
    assert titles(page) == ["Newest", "Middle B", "Middle A", "Old"]
    assert page.total == 4


def test_excludes_closed_and_future_postings(db_session: Session, posting: PostingFactory) -> None:
    """Closed postings and postings not yet published are not listed."""
    posting("Open")
    posting("Closing later", closed_in=timedelta(hours=1))
    posting("Closed", closed_in=timedelta(seconds=-1))
    posting("Closed right now", closed_in=timedelta(0))
    posting("Not yet posted", age=timedelta(seconds=-1))
    posting("Posted right now", age=timedelta(0))
    page = list_open_jobs(db_session)
    assert sorted(titles(page)) == ["Closing later", "Open", "Posted right now"]
    assert page.total == 3


def test_open_set_follows_the_clock(
    db_session: Session, posting: PostingFactory, clock: FrozenClock
) -> None:
    """A future posting appears once its time comes; a closing one disappears after it closes."""
    posting("Scheduled", age=timedelta(hours=-2))
    posting("Closing", closed_in=timedelta(hours=1))
    assert titles(list_open_jobs(db_session)) == ["Closing"]
    clock.advance(timedelta(hours=3))
    assert titles(list_open_jobs(db_session)) == ["Scheduled"]


def test_filters_by_interest_slug(
    db_session: Session, posting: PostingFactory, interests: dict[str, Interest]
) -> None:
    """Only jobs tagged with the interest are listed; unknown slugs list nothing."""
    eng, design = interests["engineering"], interests["design"]
    posting("Backend", interests=[eng])
    posting("Design Systems", interests=[eng, design])
    posting("Illustrator", interests=[design])
    posting("Untagged")
    posting("Closed backend", interests=[eng], closed_in=timedelta(days=-1))
    assert sorted(titles(list_open_jobs(db_session, interest_slug="engineering"))) == [
        "Backend",
        "Design Systems",
    ]
    assert sorted(titles(list_open_jobs(db_session, interest_slug="design"))) == [
        "Design Systems",
        "Illustrator",
    ]
    empty = list_open_jobs(db_session, interest_slug="no-such-interest")
    assert (empty.jobs, empty.total) == ([], 0)


def test_paginates_with_totals(db_session: Session, posting: PostingFactory) -> None:
    """Pages hold per_page jobs in order and report the same total, page count and neighbours."""
    for n in range(5):
        posting(f"Job {n}", age=timedelta(hours=n + 1))
    posting("Closed", closed_in=timedelta(days=-1))
    first = list_open_jobs(db_session, page=1, per_page=2)
    second = list_open_jobs(db_session, page=2, per_page=2)
    last = list_open_jobs(db_session, page=3, per_page=2)
    assert [titles(first), titles(second), titles(last)] == [
        ["Job 0", "Job 1"],
        ["Job 2", "Job 3"],
        ["Job 4"],
    ]
    for page in (first, second, last):
        assert (page.total, page.pages, page.per_page) == (5, 3, 2)
    assert (first.page, first.has_prev, first.has_next) == (1, False, True)
    assert (second.has_prev, second.has_next) == (True, True)
    assert (last.page, last.has_prev, last.has_next) == (3, True, False)


def test_page_out_of_range(db_session: Session, posting: PostingFactory) -> None:
    """Page 0 or below means page 1; a page past the end is empty but keeps the total."""
    posting("Only")
    below = list_open_jobs(db_session, page=0)
    assert (below.page, titles(below)) == (1, ["Only"])
    assert list_open_jobs(db_session, page=-4).page == 1
    past = list_open_jobs(db_session, page=9)
    assert (past.jobs, past.total, past.pages, past.has_next) == ([], 1, 1, False)


def test_empty_listing_has_one_page(db_session: Session, clock: FrozenClock) -> None:
    """With no jobs there is one empty page and no neighbours."""
    page = list_open_jobs(db_session)
    assert (page.jobs, page.total, page.pages, page.has_next, page.has_prev) == (
        [],
        0,
        1,
        False,
        False,
    )


def test_listed_jobs_carry_their_interests_in_order(
    db_session: Session, posting: PostingFactory, interests: dict[str, Interest]
) -> None:
    """Each listed job has its interests loaded, ordered by interest position."""
    posting("Design Engineer", interests=[interests["sales"], interests["engineering"]])
    db_session.expire_all()
    (job,) = list_open_jobs(db_session).jobs
    assert [i.slug for i in job.interests] == ["engineering", "sales"]


def test_get_job_returns_open_or_closed_postings(
    db_session: Session, posting: PostingFactory, interests: dict[str, Interest]
) -> None:
    """get_job finds a posting by id whatever its state, with interests, and None otherwise."""
    closed = posting("Closed role", closed_in=timedelta(days=-1), interests=[interests["design"]])
    db_session.expire_all()
    found = get_job(db_session, closed.id)
    assert found is not None
    assert found.title == "Closed role"
    assert [i.slug for i in found.interests] == ["design"]
    assert found.is_open is False
    assert get_job(db_session, closed.id + 1000) is None


def test_is_open_follows_closed_at(
    db_session: Session, posting: PostingFactory, clock: FrozenClock
) -> None:
    """is_open is true until closed_at passes."""
    job = posting("Role", closed_in=timedelta(minutes=10))
    never_closes = posting("Evergreen")
    assert job.is_open is True
    clock.advance(timedelta(minutes=10))
    assert job.is_open is False
    assert never_closes.is_open is True
