"""The career portal: landing page and job pages."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request

from jobs.postings import get_job, list_open_jobs
from portal.web import db
from preferences.interests import active_interests, interest_by_slug

bp = Blueprint("public", __name__)

JOBS_PER_PAGE = 20


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
    slug = request.args.get("interest", "").strip()[:120] or None
    query = request.args.get("q", "").strip()[:200] or None
    page = request.args.get("page", "1")
    page_number = int(page) if page.isdigit() and 0 < int(page) < 100_000 else 1
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
    posting = get_job(db(), job_id)
    if posting is None:
        abort(404)
    return render_template("jobs/detail.html", job=posting)
