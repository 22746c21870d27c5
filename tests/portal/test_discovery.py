"""Job pages search engines read: JSON-LD JobPosting, sitemap, Atom feeds and robots.txt."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from jobs.models import JobPosting
from jobs.posting_fields import EmploymentType, SalaryPeriod, Workplace
from portal.app import create_app
from portal.views import discovery
from preferences.clock import now
from preferences.db import session_scope
from tests.conftest import make_settings
from tests.portal.helpers import add_interest, add_job

LD_RE = re.compile(r'<script type="application/ld\+json">(.*?)</script>', re.S)
ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def parse_xml(data: bytes) -> ET.Element:
    """Our own sitemap or feed (the portal's output, not untrusted input)."""
    return ET.fromstring(data)  # noqa: S314


def json_ld(html: str) -> list[dict[str, Any]]:
    return [json.loads(block) for block in LD_RE.findall(html)]


@pytest.fixture
def seo_app(tmp_path: Path, database_url: str) -> Any:
    app = create_app(
        make_settings(
            tmp_path,
            database_url,
            COMPANY_WEBSITE="https://www.acme.example.com",
            COMPANY_LOGO_URL="/static/favicon.svg",
        )
    )
    yield app
    app.extensions["talentconnect"].engine.dispose()


def _posting(sessions: sessionmaker[Session], **values: Any) -> int:
    with session_scope(sessions) as session:
        fields: dict[str, Any] = {
            "reference": "R-1",
            "title": "Data Engineer",
            "description": "Build **pipelines**.\n\n- Python\n- SQL",
            "location": "Leeds, United Kingdom",
            "apply_url": "https://ats.example.com/r-1",
            "posted_at": now() - timedelta(days=2),
        }
        fields.update(values)
        job = JobPosting(**fields)
        session.add(job)
        session.flush()
        return job.id


def test_an_open_job_page_carries_every_required_and_recommended_property(
    seo_app: Flask, sessions: sessionmaker[Session]
) -> None:
    job_id = _posting(
        sessions,
        employment_type=EmploymentType.CONTRACT,
        workplace=Workplace.HYBRID,
        salary_min=Decimal("55000"),
        salary_max=Decimal("70000.50"),
        salary_currency="GBP",
        salary_period=SalaryPeriod.YEAR,
        valid_through=now() + timedelta(days=30),
    )
    html = seo_app.test_client().get(f"/jobs/{job_id}").text
    [data] = json_ld(html)
    assert data["@context"] == "https://schema.org/" and data["@type"] == "JobPosting"
    assert data["title"] == "Data Engineer"
    assert (
        "<strong>pipelines</strong>" in data["description"]
        and "<li>SQL</li>" in data["description"]
    )
    assert datetime.fromisoformat(data["datePosted"]).tzinfo is not None
    assert datetime.fromisoformat(data["validThrough"]) > datetime.now(UTC)
    assert data["hiringOrganization"] == {
        "@type": "Organization",
        "name": "Acme",
        "sameAs": "https://www.acme.example.com",
        "logo": "http://127.0.0.1:8000/static/favicon.svg",
    }
    assert data["jobLocation"] == {
        "@type": "Place",
        "address": {
            "@type": "PostalAddress",
            "addressLocality": "Leeds",
            "addressCountry": "United Kingdom",
        },
    }
    assert data["employmentType"] == "CONTRACTOR"
    assert data["baseSalary"] == {
        "@type": "MonetaryAmount",
        "currency": "GBP",
        "value": {
            "@type": "QuantitativeValue",
            "minValue": 55000,
            "maxValue": 70000.5,
            "unitText": "YEAR",
        },
    }
    assert data["identifier"] == {"@type": "PropertyValue", "name": "Acme", "value": "R-1"}
    assert data["directApply"] is False
    assert f'<link rel="canonical" href="http://127.0.0.1:8000/jobs/{job_id}">' in html


def test_a_remote_job_is_telecommute_with_where_applicants_may_live(
    seo_app: Flask, sessions: sessionmaker[Session]
) -> None:
    job_id = _posting(sessions, workplace=Workplace.REMOTE, location="Germany")
    [data] = json_ld(seo_app.test_client().get(f"/jobs/{job_id}").text)
    assert data["jobLocationType"] == "TELECOMMUTE"
    assert data["applicantLocationRequirements"] == {"@type": "Country", "name": "Germany"}
    assert "jobLocation" not in data and "baseSalary" not in data and "employmentType" not in data


def test_json_ld_cannot_break_out_of_its_script(
    seo_app: Flask, sessions: sessionmaker[Session]
) -> None:
    job_id = _posting(sessions, title="</script><script>alert(1)</script>")
    html = seo_app.test_client().get(f"/jobs/{job_id}").text
    assert "<script>alert(1)" not in html
    [data] = json_ld(html)
    assert data["title"] == "</script><script>alert(1)</script>"


def test_a_closed_posting_says_so_and_has_no_json_ld(
    seo_app: Flask, sessions: sessionmaker[Session]
) -> None:
    job_id = _posting(sessions, closed_at=now() - timedelta(hours=1))
    html = seo_app.test_client().get(f"/jobs/{job_id}").text
    assert "This position is closed" in html
    assert json_ld(html) == []


def test_sitemap_lists_open_job_pages_with_lastmod(
    client: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    with session_scope(sessions) as session:
        open_job = add_job(session, "Open")
        closed = add_job(session, "Closed", closed_at=now() - timedelta(days=1))
        future = add_job(session, "Later", posted_at=now() + timedelta(days=1))
        ids = (open_job.id, closed.id, future.id)
    response = client.get("/sitemap.xml")
    assert response.status_code == 200 and response.mimetype == "application/xml"
    root = parse_xml(response.data)
    locs = {u.findtext(f"{SITEMAP}loc"): u.findtext(f"{SITEMAP}lastmod") for u in root}
    assert f"http://127.0.0.1:8000/jobs/{ids[0]}" in locs
    assert datetime.fromisoformat(locs[f"http://127.0.0.1:8000/jobs/{ids[0]}"] or "")
    assert f"http://127.0.0.1:8000/jobs/{ids[1]}" not in locs
    assert f"http://127.0.0.1:8000/jobs/{ids[2]}" not in locs


def test_more_jobs_than_one_sitemap_holds_make_an_index(
    client: FlaskClient, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(discovery, "SITEMAP_URLS", 2)
    with session_scope(sessions) as session:
        ids = [add_job(session, f"Job {n}").id for n in range(5)]
    root = parse_xml(client.get("/sitemap.xml").data)
    assert root.tag == f"{SITEMAP}sitemapindex"
    pages = [s.findtext(f"{SITEMAP}loc") for s in root]
    assert pages == [f"http://127.0.0.1:8000/sitemap-jobs-{n}.xml" for n in (1, 2, 3)]
    seen = []
    for n in (1, 2, 3):
        urls = parse_xml(client.get(f"/sitemap-jobs-{n}.xml").data)
        seen += [
            u.findtext(f"{SITEMAP}loc")
            for u in urls
            if "/jobs/" in (u.findtext(f"{SITEMAP}loc") or "")
        ]
    assert seen == [f"http://127.0.0.1:8000/jobs/{i}" for i in ids]
    assert client.get("/sitemap-jobs-4.xml").status_code == 404
    assert client.get("/sitemap-jobs-0.xml").status_code == 404


def test_atom_feed_of_new_jobs_and_per_interest(
    client: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    with session_scope(sessions) as session:
        data = add_interest(session, "Data & Analytics", slug="data")
        add_job(session, "Analyst <Senior>", interests=[data], description="Numbers & *charts*")
        add_job(session, "Designer")
    response = client.get("/jobs.atom")
    assert response.status_code == 200 and response.mimetype == "application/atom+xml"
    feed = parse_xml(response.data)
    assert feed.findtext(f"{ATOM}title") == "Jobs at Acme"
    titles = [e.findtext(f"{ATOM}title") for e in feed.iter(f"{ATOM}entry")]
    assert sorted(titles) == ["Analyst <Senior>", "Designer"]
    for e in feed.iter(f"{ATOM}entry"):
        assert e.findtext(f"{ATOM}id", "").startswith("http://127.0.0.1:8000/jobs/")
        assert datetime.fromisoformat(e.findtext(f"{ATOM}updated") or "")
    analyst = next(
        e for e in feed.iter(f"{ATOM}entry") if "Analyst" in (e.findtext(f"{ATOM}title") or "")
    )
    assert analyst.findtext(f"{ATOM}content") == "<p>Numbers &amp; <em>charts</em></p>"
    narrow = parse_xml(client.get("/jobs.atom?interest=data").data)
    assert narrow.findtext(f"{ATOM}title") == "Data & Analytics jobs at Acme"
    assert [e.findtext(f"{ATOM}title") for e in narrow.iter(f"{ATOM}entry")] == ["Analyst <Senior>"]
    assert client.get("/jobs.atom?interest=nope").status_code == 404
    assert client.get("/jobs.atom?interest=da%00ta").status_code == 200
    assert 'type="application/atom+xml"' in client.get("/jobs").text
    # In the reader's language, as the pages are (`?lang=`, then Accept-Language).
    spanish = parse_xml(client.get("/jobs.atom?interest=data&lang=es").data)
    assert spanish.findtext(f"{ATOM}title") == "Ofertas de Data & Analytics en Acme"
    assert spanish.get("{http://www.w3.org/XML/1998/namespace}lang") == "es"


def test_robots_allows_public_pages_and_disallows_signed_ones_and_the_console(
    client: FlaskClient,
) -> None:
    text = client.get("/robots.txt").text
    disallowed = {
        line.split(": ", 1)[1] for line in text.splitlines() if line.startswith("Disallow")
    }
    for prefix in (
        "/admin/",
        "/api/",
        "/dashboard",
        "/preferences/",
        "/unsubscribe/",
        "/login/link/",
        "/connect/confirm/",
    ):
        assert prefix in disallowed, prefix
    for public in ("/jobs", "/connect", "/"):
        assert public not in disallowed
    assert "Sitemap: http://127.0.0.1:8000/sitemap.xml" in text
