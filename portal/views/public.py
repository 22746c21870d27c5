"""The career portal: landing page and job pages."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for

from jobs.applications import apply_target, record_apply
from jobs.descriptions import description_html
from jobs.models import JobPosting
from jobs.posting_fields import (
    EMPLOYMENT_TYPE_LABELS,
    WORKPLACE_LABELS,
    place_text,
    salary_text,
)
from jobs.postings import get_job, list_open_jobs
from jobs.search import SearchResult, search_jobs
from jobs.search_criteria import POSTED_LABELS, SearchCriteria, read_criteria
from portal.i18n import gettext as _
from portal.i18n import language_version
from portal.web import sessions
from portal.web.interest_names import interest_name
from portal.web.job_schema import job_posting_data
from portal.web.runtime import db, settings
from portal.web.words import gettext, number_locale
from preferences.clock import now
from preferences.interests import active_interests, interest_by_slug
from preferences.models import Interest

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


@dataclass(frozen=True)
class Option:
    """One choice of a search filter, with how many jobs it would show."""

    value: str
    label: str
    count: int
    selected: bool


@dataclass(frozen=True)
class Chip:
    """An active filter, with the search's URL without it."""

    name: str
    label: str
    remove_url: str


def _jobs_url(criteria: SearchCriteria, **extra: Any) -> str:
    args: dict[str, Any] = {**criteria.query_args(), **extra}
    return url_for("public.jobs", **args)


def _filter_options(
    result: SearchResult, criteria: SearchCriteria, interests: list[Interest]
) -> dict[str, list[Option]]:
    facets = result.facets
    workplace = [
        Option(w.value, gettext(label), facets.workplace.get(w, 0), criteria.workplace == w)
        for w, label in WORKPLACE_LABELS.items()
    ]
    employment_type = [
        Option(
            t.value, gettext(label), facets.employment_type.get(t, 0), criteria.employment_type == t
        )
        for t, label in EMPLOYMENT_TYPE_LABELS.items()
    ]
    interest = [
        Option(
            i.slug, interest_name(i), facets.interest.get(i.slug, 0), criteria.interest == i.slug
        )
        for i in interests
    ]
    posted = [
        Option(p.value, gettext(label), facets.posted.get(p, 0), criteria.posted == p)
        for p, label in POSTED_LABELS.items()
    ]
    return {"workplace": workplace, "type": employment_type, "interest": interest, "posted": posted}


def _card_facts(job: JobPosting) -> list[str]:
    """What a result card says besides the title: where ("Hybrid · Leeds") and the job type."""
    facts = [place_text(job, gettext)]
    if job.employment_type:
        facts.append(gettext(EMPLOYMENT_TYPE_LABELS[job.employment_type]))
    return facts


def _chips(criteria: SearchCriteria, interest: Interest | None) -> list[Chip]:
    labels: list[tuple[str, str]] = []
    if criteria.q:
        labels.append(("q", _("“%(query)s”", query=criteria.q)))
    if criteria.location:
        labels.append(("location", _("In %(place)s", place=criteria.location)))
    if criteria.workplace:
        labels.append(("workplace", gettext(WORKPLACE_LABELS[criteria.workplace])))
    if criteria.employment_type:
        labels.append(("type", gettext(EMPLOYMENT_TYPE_LABELS[criteria.employment_type])))
    if criteria.interest:
        labels.append(("interest", interest_name(interest) if interest else criteria.interest))
    if criteria.posted:
        labels.append(("posted", gettext(POSTED_LABELS[criteria.posted])))
    return [Chip(name, label, _jobs_url(criteria.without(name))) for name, label in labels]


@bp.get("/jobs")
def jobs() -> Any:
    """Open jobs: keywords, place, workplace, type, area and age, with counts per choice."""
    session = db()
    criteria, notes = read_criteria(request.args)
    result = search_jobs(session, criteria, page=_page_arg(), per_page=JOBS_PER_PAGE)
    interests = active_interests(session)
    interest = interest_by_slug(session, criteria.interest) if criteria.interest else None
    if interest is not None and interest not in interests:
        # A retired area still shows as the chosen one, so the form says what was searched.
        interests = [*interests, interest]
    return render_template(
        "jobs/list.html",
        result=result,
        criteria=criteria,
        search_args=criteria.query_args(),
        notes=[note.text(gettext) for note in notes],
        interest=interest,
        options=_filter_options(result, criteria, interests),
        places=[
            (place, count, _jobs_url(replace(criteria, location=place)))
            for place, count in result.facets.locations
        ],
        chips=_chips(criteria, interest),
        clear_url=url_for("public.jobs"),
        page_url=lambda number: _jobs_url(criteria, page=number),
        card_facts=_card_facts,
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
    # The canonical link of a language version (`?lang=xx`) is that version itself, as
    # the hreflang alternates list it; without `?lang=`, the bare URL (the x-default).
    canonical_url = language_version(config.base_url + url_for("public.job", job_id=posting.id))
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
        place=place_text(posting, gettext),
        salary=salary_text(posting, number_locale(config.default_locale), gettext),
        employment_type=gettext(EMPLOYMENT_TYPE_LABELS[posting.employment_type])
        if posting.employment_type
        else None,
    )


@bp.get("/jobs/<int:job_id>/apply")
def apply(job_id: int) -> Any:
    """The Apply button: on to the posting's own apply URL, noting a signed-in member's click.

    Only the URL stored with the open posting is ever the target, so this is no open
    redirect; a closed, unpublished or unknown posting is the usual 404. A member's
    click counts as their activity unless the browser says another site sent it
    (`Sec-Fetch-Site`): a page elsewhere must not be able to renew someone's stay.
    """
    session = db()
    target = apply_target(session, job_id) if job_id <= MAX_JOB_ID else None
    if target is None:
        abort(404)
    member = sessions.current_candidate(session)
    if member is not None and request.headers.get("Sec-Fetch-Site") != "cross-site":
        record_apply(session, member, target)
    response = redirect(target.url, 303)
    # Every click comes back here: a browser must not replay the redirect from its cache.
    response.headers["Cache-Control"] = "no-store"
    return response
