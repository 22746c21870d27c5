"""The public career portal: landing page, job list, job pages, health and hardening."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from jobs.models import JobPosting
from mailer.sink import free_port
from portal.app import create_app
from preferences.clock import now
from preferences.models import InterestStatus
from tests.conftest import make_settings
from tests.portal.helpers import add_interest, add_job

JOB_LINK = re.compile(r'<a href="/jobs/(\d+)">([^<]*)</a>')


def _job_titles(page: str) -> list[str]:
    return [html.unescape(title) for _, title in JOB_LINK.findall(page)]


def _links(page: str) -> dict[str, str]:
    """Map the visible text of each plain link to its href."""
    return {
        html.unescape(text.strip()): html.unescape(href)
        for href, text in re.findall(r'<a [^>]*href="([^"]*)"[^>]*>([^<]+)</a>', page)
    }


@pytest.fixture
def catalogue(sessions: sessionmaker[Session]) -> dict[str, int]:
    """Two interests and jobs in every state; returns job ids by title."""
    at = now()
    with sessions.begin() as session:
        design = add_interest(session, "Design & UX", slug="design-and-ux", position=1)
        data = add_interest(session, "Data & Analytics", slug="data-and-analytics", position=2)
        add_interest(session, "Old Area", slug="old-area", status=InterestStatus.RETIRED)
        jobs = [
            add_job(
                session,
                "Product Designer",
                interests=[design],
                location="Lisbon, Portugal",
                posted_at=at - timedelta(days=1),
                apply_url="https://ats.example.net/acme/apply?job=designer&src=portal",
            ),
            add_job(
                session,
                "Data Analyst",
                interests=[data],
                location="Remote (Europe)",
                description="SQL and dashboards.\n\nYou will love our warehouse.",
                posted_at=at - timedelta(days=2),
            ),
            add_job(
                session,
                "Design Data Engineer",
                interests=[design, data],
                location="Berlin, Germany",
                posted_at=at - timedelta(days=3),
            ),
            add_job(
                session,
                "Closed Role",
                interests=[design],
                posted_at=at - timedelta(days=20),
                closed_at=at - timedelta(days=1),
            ),
            add_job(
                session,
                "Closes Next Week",
                interests=[data],
                location="Toronto, Canada",
                posted_at=at - timedelta(days=4),
                closed_at=at + timedelta(days=7),
            ),
            add_job(
                session,
                "Future Role",
                interests=[design],
                posted_at=at + timedelta(days=2),
            ),
        ]
        return {job.title: job.id for job in jobs}


# --- landing page --------------------------------------------------------------------


def test_landing_page_invites_candidates_in(client: FlaskClient, catalogue: dict[str, int]) -> None:
    """`/` shows the company, a Connect With Us link to /connect and a Log in link."""
    response = client.get("/")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.text
    links = _links(page)
    assert links["Connect With Us"] == "/connect"
    assert links["Log in"] == "/login"
    assert "Careers at Acme" in page
    assert "<title>Careers · Acme</title>" in page
    assert "1 Test Street, Testville" in page  # the postal address in the footer


def test_landing_page_lists_latest_open_jobs(
    client: FlaskClient, catalogue: dict[str, int]
) -> None:
    """The landing page shows the newest open jobs, never closed or future ones."""
    page = client.get("/").text
    assert _job_titles(page) == [
        "Product Designer",
        "Data Analyst",
        "Design Data Engineer",
        "Closes Next Week",
    ]
    assert "View all 4 jobs" in page
    # Active interests link to their filtered job list; retired ones are hidden.
    assert 'href="/jobs?interest=design-and-ux"' in page
    assert "Old Area" not in page


def test_landing_page_without_jobs(client: FlaskClient) -> None:
    """With an empty database the landing page still renders and says there are no jobs."""
    response = client.get("/")
    assert response.status_code == 200
    assert "There are no open jobs right now" in response.text


def test_candidate_pages_render(client: FlaskClient, catalogue: dict[str, int]) -> None:
    """/connect and /login render with the site chrome; the interests step lists active ones."""
    connect = client.get("/connect")
    assert connect.status_code == 200
    assert "Join our talent community" in connect.text
    assert client.get("/connect/").status_code == 200
    interests = client.get("/connect/interests")
    assert "Design &amp; UX" in interests.text
    assert "Old Area" not in interests.text
    login = client.get("/login")
    assert login.status_code == 200
    assert 'href="/admin/login"' in login.text


# --- job list ------------------------------------------------------------------------


def test_jobs_lists_open_jobs_only(client: FlaskClient, catalogue: dict[str, int]) -> None:
    """/jobs lists open jobs newest first; closed and future-dated postings are excluded."""
    response = client.get("/jobs")
    assert response.status_code == 200
    titles = _job_titles(response.text)
    assert titles == [
        "Product Designer",
        "Data Analyst",
        "Design Data Engineer",
        "Closes Next Week",
    ]
    assert "4 open roles" in response.text


def test_jobs_filter_by_interest(client: FlaskClient, catalogue: dict[str, int]) -> None:
    """?interest=slug keeps only jobs tagged with that interest and names it."""
    response = client.get("/jobs?interest=design-and-ux")
    assert response.status_code == 200
    assert _job_titles(response.text) == ["Product Designer", "Design Data Engineer"]
    assert "<h1>Design &amp; UX jobs</h1>" in response.text
    assert '<option value="design-and-ux" selected>' in response.text


def test_jobs_filter_by_unknown_interest_is_empty(
    client: FlaskClient, catalogue: dict[str, int]
) -> None:
    """An unknown interest slug shows an empty list with a way forward, not an error."""
    response = client.get("/jobs?interest=underwater-basket-weaving")
    assert response.status_code == 200
    assert _job_titles(response.text) == []
    assert "No open jobs match your search." in response.text


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("designer", ["Product Designer", "Design Data Engineer"]),  # stemmed: design
        ("DATA", ["Data Analyst", "Design Data Engineer"]),
        ("design data", ["Design Data Engineer"]),  # every word must match
        ("lisbon", []),  # places are the location filter's, not keywords
        ("warehouse", ["Data Analyst"]),  # description
        # The closed "Closed Role" is not searchable; "closes" and "closed" share a stem.
        ("closed role", ["Closes Next Week"]),
        ("nothing-matches-this", []),
        ("%", []),  # punctuation alone has no word to look up
        ("_", []),
    ],
)
def test_jobs_filter_by_words(
    client: FlaskClient, catalogue: dict[str, int], query: str, expected: list[str]
) -> None:
    """?q=words matches every word (stemmed, any case) in the title or the description."""
    response = client.get("/jobs", query_string={"q": query})
    assert response.status_code == 200
    assert _job_titles(response.text) == expected
    assert f'value="{html.escape(query)}"' in response.text


def test_jobs_filters_combine(client: FlaskClient, catalogue: dict[str, int]) -> None:
    """Interest and place filter together."""
    response = client.get("/jobs?interest=data-and-analytics&location=berlin")
    assert _job_titles(response.text) == ["Design Data Engineer"]


@pytest.fixture
def many_jobs(sessions: sessionmaker[Session]) -> None:
    """45 open jobs, Job 01 the newest, plus one closed one."""
    at = now()
    with sessions.begin() as session:
        for n in range(1, 46):
            add_job(session, f"Job {n:02d}", posted_at=at - timedelta(hours=n))
        add_job(session, "Closed", posted_at=at, closed_at=at - timedelta(minutes=1))


def test_jobs_paginate_by_twenty(client: FlaskClient, many_jobs: None) -> None:
    """45 open jobs make three pages of 20, 20 and 5, with working Previous/Next links."""
    first = client.get("/jobs")
    assert _job_titles(first.text) == [f"Job {n:02d}" for n in range(1, 21)]
    assert "Page 1 of 3" in first.text
    assert 'rel="next" href="/jobs?page=2"' in first.text
    assert 'rel="prev"' not in first.text

    second = client.get("/jobs?page=2")
    assert _job_titles(second.text) == [f"Job {n:02d}" for n in range(21, 41)]
    assert 'rel="prev" href="/jobs?page=1"' in second.text
    assert 'rel="next" href="/jobs?page=3"' in second.text

    third = client.get("/jobs?page=3")
    assert _job_titles(third.text) == [f"Job {n:02d}" for n in range(41, 46)]
    assert 'rel="next"' not in third.text
    assert "45 open roles" in third.text


def test_pagination_keeps_the_filters(client: FlaskClient, many_jobs: None) -> None:
    """Next/Previous links carry the search words along."""
    page = client.get("/jobs?q=job").text
    assert 'rel="next" href="/jobs?q=job&amp;page=2"' in page


@pytest.mark.parametrize(
    "page",
    # "\u00b2" is a superscript two and "\u0661" an Arabic-Indic one: both are "digits".
    ["0", "-1", "abc", "1.5", "", "99999999999999999999", "\u00b2", "\u0661", "%00", "2;drop"],
)
def test_bad_page_numbers_do_not_fail(client: FlaskClient, many_jobs: None, page: str) -> None:
    """A malformed page number shows a page of jobs instead of an error."""
    response = client.get("/jobs", query_string={"page": page})
    assert response.status_code == 200
    assert len(_job_titles(response.text)) in (20, 0)
    assert "Something went wrong" not in response.text


def test_page_past_the_end_is_empty_not_an_error(client: FlaskClient, many_jobs: None) -> None:
    """A page number past the last page answers 200 with no jobs."""
    response = client.get("/jobs?page=50")
    assert response.status_code == 200
    assert _job_titles(response.text) == []


@pytest.mark.parametrize("param", ["q", "interest"])
def test_odd_characters_in_filters_do_not_fail(
    client: FlaskClient, catalogue: dict[str, int], param: str
) -> None:
    """NUL bytes, quotes, LIKE wildcards and long values in the filters never cause a 500."""
    for value in ["\x00", "a\x00b", "'; DROP TABLE job_postings; --", "x" * 5000, "😀 ünï"]:
        response = client.get("/jobs", query_string={param: value})
        assert response.status_code == 200, (param, value)
    # The data survived.
    assert len(_job_titles(client.get("/jobs").text)) == 4


# --- job pages -----------------------------------------------------------------------


def test_job_page_shows_the_posting(client: FlaskClient, catalogue: dict[str, int]) -> None:
    """/jobs/<id> shows title, location, areas and an Apply link that leads to its apply_url."""
    job_id = catalogue["Product Designer"]
    response = client.get(f"/jobs/{job_id}")
    assert response.status_code == 200
    page = response.text
    assert "<h1>Product Designer</h1>" in page
    assert "Lisbon, Portugal" in page
    assert 'href="/jobs?interest=design-and-ux">Design &amp; UX</a>' in page
    assert _links(page)["Apply"] == f"/jobs/{job_id}/apply"
    applied = client.get(f"/jobs/{job_id}/apply")
    assert applied.status_code == 303
    assert applied.headers["Location"] == (
        "https://ats.example.net/acme/apply?job=designer&src=portal"
    )
    assert "no longer accepts applications" not in page


def test_job_page_splits_description_into_paragraphs(
    client: FlaskClient, catalogue: dict[str, int]
) -> None:
    """Blank lines in a description become separate paragraphs."""
    page = client.get(f"/jobs/{catalogue['Data Analyst']}").text
    assert "<p>SQL and dashboards.</p>" in page
    assert "<p>You will love our warehouse.</p>" in page


def test_closed_job_has_a_notice_and_no_apply_link(
    client: FlaskClient, catalogue: dict[str, int]
) -> None:
    """A closed posting still has a page, with a notice instead of the Apply link."""
    response = client.get(f"/jobs/{catalogue['Closed Role']}")
    assert response.status_code == 200
    assert "This position is closed and no longer accepts applications." in response.text
    assert "Apply" not in _links(response.text)
    assert "/apply/" not in response.text


def test_job_closing_later_is_still_open(client: FlaskClient, catalogue: dict[str, int]) -> None:
    """A posting with a closing date in the future still takes applications."""
    page = client.get(f"/jobs/{catalogue['Closes Next Week']}").text
    assert "Apply" in _links(page)


def test_future_job_is_not_published_yet(client: FlaskClient, catalogue: dict[str, int]) -> None:
    """A posting dated in the future is not reachable by its id before it goes live."""
    response = client.get(f"/jobs/{catalogue['Future Role']}")
    assert response.status_code == 404
    assert "Future Role" not in response.text


@pytest.mark.parametrize("path", ["/jobs/999999", "/jobs/99999999999999999999", "/jobs/abc"])
def test_unknown_job_gives_the_friendly_404(
    client: FlaskClient, catalogue: dict[str, int], path: str
) -> None:
    """An unknown job id answers 404 with the site's own error page."""
    response = client.get(path)
    assert response.status_code == 404
    assert "We couldn't find that page" in html.unescape(response.text)
    assert 'href="/"' in response.text  # a way back home
    assert "Connect With Us" in response.text  # the normal site chrome


def test_unknown_page_gives_the_friendly_404(client: FlaskClient) -> None:
    """Any unknown URL answers with the friendly 404 page."""
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "We couldn't find that page" in html.unescape(response.text)


def test_wrong_method_gives_a_friendly_405(client: FlaskClient) -> None:
    """A POST to a read-only page gets the friendly error page."""
    response = client.post("/jobs", data={"csrf_token": "x"})
    assert response.status_code in (400, 405)
    assert "<h1>" in response.text
    assert "Traceback" not in response.text


# --- escaping and headers ------------------------------------------------------------


def test_user_text_is_escaped(client: FlaskClient, sessions: sessionmaker[Session]) -> None:
    """A job title, location or search word with HTML renders as text, never as markup."""
    with sessions.begin() as session:
        job = add_job(
            session,
            '<script>alert("title")</script>',
            location="<img src=x onerror=alert(1)>",
            description="<b>bold?</b>",
        )
        job_id = job.id
    for path in ("/", "/jobs", f"/jobs/{job_id}", "/jobs?q=%3Cscript%3Ealert(2)%3C/script%3E"):
        page = client.get(path).text
        assert "<script>" not in page, path
        assert "<img src=x" not in page, path
    detail = client.get(f"/jobs/{job_id}").text
    assert "&lt;script&gt;alert(&#34;title&#34;)&lt;/script&gt;" in detail
    assert "&lt;b&gt;bold?&lt;/b&gt;" in detail
    search = client.get("/jobs?q=%3Cscript%3Ealert(2)%3C/script%3E").text
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in search


@pytest.mark.parametrize("path", ["/", "/jobs", "/connect", "/no-such-page", "/healthz"])
def test_security_headers(client: FlaskClient, path: str) -> None:
    """Every response carries a strict CSP, nosniff, a referrer policy and frame protection."""
    response = client.get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'self'" in csp
    assert "object-src 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"


def test_static_assets_are_served(client: FlaskClient) -> None:
    """The stylesheet and favicon the pages link to exist."""
    page = client.get("/").text
    for asset in ("/static/site.css", "/static/favicon.svg"):
        assert f'href="{asset}"' in page
        response = client.get(asset)
        assert response.status_code == 200
        response.close()


def test_pages_have_no_inline_scripts_or_styles(
    client: FlaskClient, catalogue: dict[str, int]
) -> None:
    """Pages work under the CSP: no inline script or style attribute to be blocked.

    A job page's JSON-LD is a data block (`type="application/ld+json"`), which browsers
    never run, so the CSP does not apply to it; any other script must be a file."""
    for path in ("/", "/jobs", f"/jobs/{catalogue['Product Designer']}", "/connect", "/login"):
        page = client.get(path).text
        # Scripts load from files (the header's menu.js); none is written into the page.
        scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", page, re.S)
        assert page.count("<script") == len(scripts), path
        for attributes, body in scripts:
            if attributes.strip() == 'type="application/ld+json"':
                continue
            assert re.search(r'\bsrc="/static/[\w.-]+\.js"', attributes), (path, attributes)
            assert body.strip() == "", path
        assert " style=" not in page, path
        assert " onclick=" not in page, path


# --- health --------------------------------------------------------------------------


def test_healthz_ok(client: FlaskClient) -> None:
    """/healthz answers 200 JSON {"status": "ok"} when the database answers."""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.is_json
    assert response.get_json()["status"] == "ok"


@pytest.fixture(params=["postgresql-port-closed", "sqlite-missing-directory"])
def unreachable_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    """An app whose database cannot be reached."""
    if request.param == "postgresql-port-closed":
        url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test?connect_timeout=3"
    else:
        url = f"sqlite:///{tmp_path / 'no-such-dir' / 'x.db'}"
    application = create_app(make_settings(tmp_path, url))
    yield application
    application.extensions["talentconnect"].engine.dispose()


def test_healthz_unavailable_without_database(unreachable_app: Flask) -> None:
    """/healthz answers 503 JSON when the database is unreachable."""
    response = unreachable_app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.is_json
    assert response.get_json()["status"] == "unavailable"


def test_pages_fail_politely_without_database(unreachable_app: Flask) -> None:
    """With the database down, pages show the friendly 500 page, not a traceback."""
    response = unreachable_app.test_client().get("/jobs")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.text
    assert "Traceback" not in response.text
    assert "OperationalError" not in response.text


def test_request_commits_nothing_on_a_get(
    client: FlaskClient, catalogue: dict[str, int], sessions: sessionmaker[Session]
) -> None:
    """Browsing changes no stored data."""
    with sessions() as session:
        before = session.scalar(select(func.count()).select_from(JobPosting))
    for path in ("/", "/jobs", "/jobs?page=2", f"/jobs/{catalogue['Data Analyst']}"):
        client.get(path)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(JobPosting)) == before
