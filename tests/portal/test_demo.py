"""The demo company: what `talentconnect run --demo` seeds, and that seeding is idempotent."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jobs.models import AlertSchedule, FrequencyClass, JobPosting
from jobs.postings import list_open_jobs
from portal.auth.recruiters import authenticate_recruiter
from portal.demo import DEMO_RECRUITER_EMAIL, seed_demo, slugify
from preferences.models import Interest, InterestStatus, RecruiterRole, RecruiterUser


def _counts(session: Session) -> dict[str, int]:
    return {
        model.__name__: session.scalar(select(func.count()).select_from(model)) or 0
        for model in (Interest, JobPosting, AlertSchedule, RecruiterUser)
    }


def test_seed_creates_the_demo_company(db_session: Session) -> None:
    """Seeding creates 12 interests, 40 tagged jobs, 2 schedules and an admin recruiter."""
    result = seed_demo(db_session)
    assert (result.interests_created, result.jobs_created, result.schedules_created) == (12, 40, 2)
    assert _counts(db_session) == {
        "Interest": 12,
        "JobPosting": 40,
        "AlertSchedule": 2,
        "RecruiterUser": 1,
    }

    interests = db_session.scalars(select(Interest).order_by(Interest.position)).all()
    assert [i.position for i in interests] == list(range(12))
    for interest in interests:
        assert interest.details.strip(), interest.name
        assert interest.keywords and all(k.strip() for k in interest.keywords), interest.name
        assert interest.slug == slugify(interest.name)
        assert interest.status is InterestStatus.ACTIVE
    assert len({i.slug for i in interests}) == 12

    jobs = db_session.scalars(select(JobPosting)).all()
    for job in jobs:
        assert job.interests, job.reference
        assert job.apply_url.startswith("https://")
        assert job.title and job.location and job.description
        assert job.is_open
    assert any(len(job.interests) > 1 for job in jobs)
    # Every demo job is live on the portal right away.
    assert list_open_jobs(db_session, per_page=100).total == 40

    schedules = db_session.scalars(select(AlertSchedule).order_by(AlertSchedule.name)).all()
    assert [(s.name, s.cron, s.frequency_class, s.enabled) for s in schedules] == [
        ("Daily digest", "0 8 * * *", FrequencyClass.DAILY, True),
        ("Weekly digest", "0 8 * * mon", FrequencyClass.WEEKLY, True),
    ]

    admin = db_session.scalar(select(RecruiterUser))
    assert admin is not None
    assert admin.email == result.recruiter_email == DEMO_RECRUITER_EMAIL
    assert admin.role is RecruiterRole.ADMIN
    assert authenticate_recruiter(db_session, result.recruiter_email, result.recruiter_password)


def test_seeding_twice_adds_nothing_but_renews_the_password(db_session: Session) -> None:
    """A second run creates no rows, and only its fresh password works afterwards."""
    first = seed_demo(db_session)
    before = _counts(db_session)
    second = seed_demo(db_session)
    assert (second.interests_created, second.jobs_created, second.schedules_created) == (0, 0, 0)
    assert _counts(db_session) == before
    assert second.recruiter_password != first.recruiter_password
    assert len(second.recruiter_password) >= 12
    assert authenticate_recruiter(db_session, DEMO_RECRUITER_EMAIL, second.recruiter_password)
    assert (
        authenticate_recruiter(db_session, DEMO_RECRUITER_EMAIL, first.recruiter_password) is None
    )


def test_seeding_keeps_recruiter_changes_to_demo_rows(db_session: Session) -> None:
    """Re-seeding never overwrites a demo row a recruiter has since edited."""
    seed_demo(db_session)
    job = db_session.scalar(select(JobPosting).where(JobPosting.reference == "DEMO-001"))
    assert job is not None
    job.title = "Edited by a recruiter"
    db_session.flush()
    seed_demo(db_session)
    db_session.expire_all()
    job = db_session.scalar(select(JobPosting).where(JobPosting.reference == "DEMO-001"))
    assert job is not None and job.title == "Edited by a recruiter"


def test_seeding_fills_in_a_partly_seeded_database(db_session: Session) -> None:
    """If some demo rows are missing, seeding adds only those."""
    seed_demo(db_session)
    for reference in ("DEMO-003", "DEMO-017"):
        job = db_session.scalar(select(JobPosting).where(JobPosting.reference == reference))
        assert job is not None
        db_session.delete(job)
    db_session.flush()
    result = seed_demo(db_session)
    assert (result.interests_created, result.jobs_created, result.schedules_created) == (0, 2, 0)
    assert _counts(db_session)["JobPosting"] == 40


def test_slugify() -> None:
    """Interest names become readable URL slugs."""
    assert slugify("Design & UX") == "design-and-ux"
    assert slugify("  IT / Security!! ") == "it-security"
    assert slugify("Internships & Graduates") == "internships-and-graduates"
