"""The career portal: landing page and job pages."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request, url_for

from jobs.descriptions import description_html
from jobs.posting_fields import EMPLOYMENT_TYPE_LABELS, place_text, salary_text
from jobs.postings import get_job, list_open_jobs
from portal.web import sessions
from portal.web.job_schema import job_posting_data
from portal.web.runtime import db, settings
from preferences.clock import now
from preferences.interests import active_interests, interest_by_slug

bp = Blueprint("public", __name__)

JOBS_PER_PAGE = 20
# Job ids are 32-bit integers on PostgreSQL; a larger id cannot exist.
MAX_JOB_ID = 2**31 - 1


def text_arg(name: str, limit: int) -> str | None:
    """Return a trimmed query parameter; NUL bytes, which PostgreSQL refuses, are dropped."""
    return request.args.get(name, "").replace("\x00", "").strip()[:limit] or None


def _page_arg() -> int:
    page = request.args.get("page", "1")
    # isdecimal, not isdigit: "²" is a digit that int() refuses.
    if page.isascii() and page.isdecimal() and 0 < int(page) < 100_000:
        return int(page)
    return 1


@bp.get("/")
def index() -> Any:
    """The landing page of the career portal."""
    session = db()
    latest = list_open_jobs(session, per_page=6)
    return render_template(
        "index.html",
        latest=latest,
        interests=active_interests(session),
    )


@bp.get("/jobs")
def jobs() -> Any:
    """Open jobs, filterable by interest and by words."""
    session = db()
    slug = text_arg("interest", 120)
    query = text_arg("q", 200)
    page_number = _page_arg()
    interest = interest_by_slug(session, slug) if slug else None
    result = list_open_jobs(
        session, interest_slug=slug, query=query, page=page_number, per_page=JOBS_PER_PAGE
    )
    return render_template(
        "jobs/list.html",
        result=result,
        interests=active_interests(session),
        interest=interest,
        slug=slug,
        query=query or "",
    )


@bp.get("/jobs/<int:job_id>")
def job(job_id: int) -> Any:
    """One posting, with its Apply link."""
    posting = get_job(db(), job_id) if job_id <= MAX_JOB_ID else None
    # A posting dated in the future is not published yet.
    if posting is None or posting.posted_at > now():
        abort(404)
    # The invitation to join is for visitors; a signed-in member has joined already.
    member = sessions.current_candidate(db()) is not None
    config = settings()
    description = description_html(posting.description)
    canonical_url = config.base_url + url_for("public.job", job_id=posting.id)
    return render_template(
        "jobs/detail.html",
        job=posting,
        canonical_url=canonical_url,
        structured_data=job_posting_data(
            posting,
            description,
            base_url=config.base_url,
            company_name=config.company_name,
            company_website=config.company_website,
            logo_url=config.company_logo_url,
        ),
        description=description,
        member=member,
        place=place_text(posting),
        salary=salary_text(posting, settings().default_locale),
        employment_type=EMPLOYMENT_TYPE_LABELS.get(posting.employment_type)
        if posting.employment_type
        else None,
    )
