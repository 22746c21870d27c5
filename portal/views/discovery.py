"""What search engines and feed readers fetch: robots.txt, the sitemap and Atom job feeds."""

from __future__ import annotations

from typing import Any, Final

from flask import Blueprint, Response, abort, current_app, render_template, url_for

from jobs.descriptions import description_html
from jobs.postings import count_open_jobs, list_open_jobs, open_job_stamps
from portal.views.public import text_arg
from portal.web.runtime import db, settings
from portal.web.signed_routes import CONVERTER, NO_STORE_BLUEPRINTS
from preferences.clock import now
from preferences.interests import interest_by_slug

bp = Blueprint("discovery", __name__)

# The sitemap protocol's limit of URLs in one file; more open jobs make a sitemap index.
SITEMAP_URLS: Final = 50_000
FEED_ENTRIES: Final = 50
# Never for crawlers: the console, the API, and (below) every page a signed link opens.
PRIVATE_PREFIXES: Final = ("/admin/", "/api/")


def private_prefixes() -> list[str]:
    """Path prefixes robots.txt disallows: the console, the API, signed-in pages, and the
    fixed part of every route whose URL carries a signed-link token."""
    prefixes = set(PRIVATE_PREFIXES)
    for rule in current_app.url_map.iter_rules():
        if f"<{CONVERTER}:" in rule.rule:
            prefixes.add(rule.rule.split("<", 1)[0])
        if rule.endpoint.split(".", 1)[0] in NO_STORE_BLUEPRINTS:
            prefixes.add(rule.rule.split("<", 1)[0].rstrip("/") or "/")
    # A prefix covered by a shorter one is left out.
    ordered = sorted(prefixes)
    return [p for p in ordered if not any(p != q and p.startswith(q) for q in ordered)]


@bp.get("/robots.txt")
def robots() -> Any:
    lines = ["User-agent: *", "Allow: /"]
    lines += [f"Disallow: {prefix}" for prefix in private_prefixes()]
    lines += ["", f"Sitemap: {settings().base_url}{url_for('discovery.sitemap')}", ""]
    return Response("\n".join(lines), mimetype="text/plain")


def _xml(template: str, **context: Any) -> Response:
    return Response(render_template(template, **context), mimetype="application/xml")


@bp.get("/sitemap.xml")
def sitemap() -> Any:
    """The open job pages with their last change; a sitemap index past SITEMAP_URLS."""
    session = db()
    total = count_open_jobs(session)
    if total > SITEMAP_URLS:
        pages = -(-total // SITEMAP_URLS)
        return _xml("discovery/sitemap_index.xml", base_url=settings().base_url, pages=pages)
    return _sitemap_page(0)


@bp.get("/sitemap-jobs-<int:page>.xml")
def sitemap_page(page: int) -> Any:
    if not 1 <= page <= 10_000:
        abort(404)
    return _sitemap_page(page - 1)


def _sitemap_page(index: int) -> Response:
    stamps = open_job_stamps(db(), limit=SITEMAP_URLS, offset=index * SITEMAP_URLS)
    if index and not stamps:
        abort(404)
    return _xml(
        "discovery/sitemap.xml",
        base_url=settings().base_url,
        stamps=stamps,
        with_lists=index == 0,
    )


@bp.get("/jobs.atom")
def jobs_feed() -> Any:
    """An Atom feed of the newest open jobs; `?interest=slug` narrows it to one interest."""
    session = db()
    slug = text_arg("interest", 120)
    interest = interest_by_slug(session, slug) if slug else None
    if slug and interest is None:
        abort(404)
    jobs = list_open_jobs(session, interest_slug=slug, per_page=FEED_ENTRIES).jobs
    config = settings()
    self_url = config.base_url + url_for("discovery.jobs_feed", interest=slug)
    return Response(
        render_template(
            "discovery/jobs.atom.xml",
            base_url=config.base_url,
            self_url=self_url,
            interest=interest,
            jobs=jobs,
            # Plain text, so the template escapes the HTML into the Atom content element.
            descriptions={job.id: str(description_html(job.description)) for job in jobs},
            updated=max((job.updated_at for job in jobs), default=now()),
        ),
        mimetype="application/atom+xml",
    )
