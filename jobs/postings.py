"""Reading job postings for the career portal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.elements import ColumnElement

from jobs.models import JobPosting, job_interests
from preferences.clock import now
from preferences.models import Interest
from preferences.phrases import PhraseInterest


@dataclass(frozen=True)
class JobPage:
    """One page of open jobs."""

    jobs: list[JobPosting]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def has_prev(self) -> bool:
        return self.page > 1


def open_filter(at: datetime | None = None) -> ColumnElement[bool]:
    """The condition of an open posting at `at` (default now): published and not closed."""
    at = at or now()
    return (JobPosting.posted_at <= at) & (
        (JobPosting.closed_at.is_(None)) | (JobPosting.closed_at > at)
    )


def count_open_jobs(session: Session) -> int:
    """How many postings are open now (published and not closed), in one COUNT query."""
    return session.scalar(select(func.count()).select_from(JobPosting).where(open_filter())) or 0


def list_open_jobs(
    session: Session,
    *,
    interest_slug: str | None = None,
    page: int = 1,
    per_page: int = 20,
) -> JobPage:
    """Return open jobs, newest first, optionally of one interest (`jobs.search` searches)."""
    page = max(page, 1)
    per_page = max(per_page, 1)
    stmt = select(JobPosting).where(open_filter())
    if interest_slug:
        stmt = stmt.where(
            JobPosting.id.in_(
                select(job_interests.c.job_id)
                .join(Interest, Interest.id == job_interests.c.interest_id)
                .where(Interest.slug == interest_slug)
            )
        )
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    jobs = session.scalars(
        stmt.options(selectinload(JobPosting.interests))
        .order_by(JobPosting.posted_at.desc(), JobPosting.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return JobPage(jobs=list(jobs), total=total, page=page, per_page=per_page)


def open_job_stamps(session: Session, *, limit: int, offset: int = 0) -> list[tuple[int, datetime]]:
    """(id, last change) of open postings in id order, `limit` from `offset`: a sitemap's page."""
    rows = session.execute(
        select(JobPosting.id, JobPosting.updated_at)
        .where(open_filter())
        .order_by(JobPosting.id)
        .limit(limit)
        .offset(offset)
    )
    return [(job_id, updated) for job_id, updated in rows]


def get_job(session: Session, job_id: int) -> JobPosting | None:
    """Return the posting with this id, open or closed."""
    return session.get(JobPosting, job_id, options=[selectinload(JobPosting.interests)])


@dataclass(frozen=True)
class JobMatch:
    """An open job and the names of the chosen interests it matched.

    The names are `PhraseInterest`s: the default names, which a page shows in its
    language with the `phrase` filter.
    """

    job: JobPosting
    matched: list[str]


def open_jobs_for_interests(
    session: Session, interest_ids: list[int], *, limit: int = 20
) -> list[JobMatch]:
    """Open jobs tagged with any of `interest_ids`, newest first, with what they matched."""
    if not interest_ids:
        return []
    jobs = session.scalars(
        select(JobPosting)
        .where(
            open_filter(),
            JobPosting.id.in_(
                select(job_interests.c.job_id).where(job_interests.c.interest_id.in_(interest_ids))
            ),
        )
        .options(selectinload(JobPosting.interests))
        .order_by(JobPosting.posted_at.desc(), JobPosting.id.desc())
        .limit(max(limit, 1))
    ).all()
    wanted = set(interest_ids)
    return [
        JobMatch(
            job=job, matched=[PhraseInterest(i.id, i.name) for i in job.interests if i.id in wanted]
        )
        for job in jobs
    ]
