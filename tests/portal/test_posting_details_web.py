"""A posting's optional facts through every way in (API, CSV/JSON import, console form) and
on the job page."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from jobs.models import JobPosting
from jobs.posting_fields import EmploymentType, SalaryPeriod, Workplace
from portal.app import create_app
from portal.auth.api_tokens import create_token
from portal.console.imports import ImportRejected, import_jobs
from preferences.db import session_scope
from tests.conftest import make_settings
from tests.portal.helpers import add_interest, csrf_token, login

DETAILS = {
    "employment_type": "full_time",
    "workplace": "hybrid",
    "department": "Data",
    "salary_min": 55000,
    "salary_max": 70000,
    "salary_currency": "EUR",
    "salary_period": "year",
    "valid_through": "2099-01-31",
    "language": "en-GB",
}
BODY = {
    "title": "Data Engineer",
    "description": "Build pipelines.",
    "location": "Leeds",
    "apply_url": "https://ats.example.com/apply/r-1",
    "posted_at": "2026-11-02T09:00:00Z",
}


def stored(sessions: sessionmaker[Session], reference: str = "R-1") -> JobPosting | None:
    with sessions() as session:
        job = session.scalar(select(JobPosting).where(JobPosting.reference == reference))
        if job is not None:
            session.expunge(job)
        return job


@pytest.fixture
def token(sessions: sessionmaker[Session]) -> str:
    with session_scope(sessions) as session:
        _row, secret = create_token(session, "ats")
    return secret


def test_api_takes_and_returns_the_facts(
    client: FlaskClient, sessions: sessionmaker[Session], token: str
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    created = client.put("/api/v1/jobs/R-1", json={**BODY, **DETAILS}, headers=headers)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert {k: body[k] for k in DETAILS} == {
        **DETAILS,
        "valid_through": "2099-01-31T23:59:59.999999+00:00",
    }
    job = stored(sessions)
    assert job is not None and job.salary_max == Decimal("70000")
    again = client.put("/api/v1/jobs/R-1", json={**BODY, **DETAILS}, headers=headers)
    assert again.status_code == 200
    cleared = client.put("/api/v1/jobs/R-1", json=BODY, headers=headers)
    got = cleared.get_json()
    assert got["workplace"] is None and got["salary_min"] is None
    assert got["language"] == "en", "a posting that names no language is in the company's"


def test_api_names_each_bad_fact_and_changes_nothing(
    client: FlaskClient, sessions: sessionmaker[Session], token: str
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    assert client.put("/api/v1/jobs/R-1", json=BODY, headers=headers).status_code == 201
    bad = client.put(
        "/api/v1/jobs/R-1",
        json={
            **BODY,
            "title": "Changed",
            "salary_min": 70000,
            "salary_max": 50000,
            "salary_currency": "EUR",
            "salary_period": "year",
            "workplace": "moon",
            "valid_through": "2026-11-01",
        },
        headers=headers,
    )
    assert bad.status_code == 422
    assert bad.get_json()["fields"] == {
        "salary_max": "must not be less than salary_min",
        "workplace": "must be one of on_site, hybrid, remote",
        "valid_through": "must be later than posted_at",
    }
    job = stored(sessions)
    assert job is not None and job.title == "Data Engineer" and job.salary_min is None


def test_openapi_documents_the_facts(client: FlaskClient) -> None:
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    inputs = next(
        s for name, s in schemas.items() if "required" in s and "apply_url" in s["properties"]
    )
    for name in DETAILS:
        assert name in inputs["properties"], name
        assert name in schemas["Job"]["properties"], name
    assert inputs["properties"]["workplace"]["enum"] == ["on_site", "hybrid", "remote", None]


HEADER = "reference,title,description,location,apply_url,interests,posted_at"


def test_csv_and_json_imports_take_the_new_columns(db_session: Session) -> None:
    add_interest(db_session, "Engineering", slug="engineering")
    data = (
        f"{HEADER},employment_type,workplace,salary_min,salary_max,salary_currency,salary_period\n"
        "R-1,Engineer,Build,Berlin,https://ats.example.com/r1,engineering,2026-11-02,"
        'Full-time,Remote,"55,000",70000,eur,Year\n'
    ).encode()
    report = import_jobs(db_session, data, "jobs.csv")
    assert report.created == 1
    job = db_session.scalar(select(JobPosting))
    assert job is not None
    assert (job.employment_type, job.workplace, job.salary_min, job.salary_period) == (
        EmploymentType.FULL_TIME,
        Workplace.REMOTE,
        Decimal("55000"),
        SalaryPeriod.YEAR,
    )
    again = import_jobs(db_session, data, "jobs.csv")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    as_json = json.dumps(
        [
            {
                **BODY,
                "reference": "R-1",
                "posted_at": "2026-11-02",
                "salary_min": 60000,
                "salary_currency": "EUR",
                "salary_period": "year",
            }
        ]
    ).encode()
    assert import_jobs(db_session, as_json, "jobs.json").updated == 1
    assert job.salary_min == Decimal("60000") and job.workplace is None


def test_an_import_with_a_bad_fact_names_the_row_and_stores_nothing(db_session: Session) -> None:
    data = (
        f"{HEADER},salary_min\n"
        "R-1,Engineer,Build,Berlin,https://ats.example.com/r1,,2026-11-02,55000\n"
    ).encode()
    with pytest.raises(ImportRejected) as info:
        import_jobs(db_session, data, "jobs.csv")
    assert info.value.errors == [
        (2, "salary_currency: is required with a salary"),
        (2, "salary_period: is required with a salary (hour, month or year)"),
    ]
    assert db_session.scalar(select(JobPosting)) is None


def _console_form(client: FlaskClient, recruiter: tuple[str, str]) -> dict[str, str]:
    assert login(client, *recruiter).status_code == 302
    page = client.get("/admin/jobs/new")
    for label in ("Employment type", "Workplace", "Salary from", "Currency", "Open until"):
        assert label in page.text
    return {
        "csrf_token": csrf_token(page.text),
        "reference": "R-1",
        "title": "Data Engineer",
        "location": "Leeds",
        "apply_url": "https://jobs.acme.example.com/apply/r-1",
        "posted_at": "",
        "description": "Build pipelines.",
    }


def test_console_form_stores_the_facts_and_shows_them_to_edit(
    client: FlaskClient, recruiter: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    form = _console_form(client, recruiter)
    facts = {k: str(v) for k, v in DETAILS.items()}
    response = client.post("/admin/jobs/new", data={**form, **facts})
    assert response.status_code == 302
    job = stored(sessions)
    assert job is not None and job.workplace is Workplace.HYBRID and job.language == "en-GB"
    edit = client.get(f"/admin/jobs/{job.id}/edit").text
    assert 'value="2099-01-31"' in edit and 'value="55000.00"' in edit
    assert '<option selected value="hybrid">' in edit


def test_console_form_words_bad_facts_and_stores_nothing(
    client: FlaskClient, recruiter: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    form = _console_form(client, recruiter)
    response = client.post(
        "/admin/jobs/new", data={**form, "salary_min": "55.000,00", "salary_currency": "€"}
    )
    assert response.status_code == 400
    assert "Enter an amount like 55000 or 27.50" in response.text
    assert "Enter a currency code like EUR, USD or GBP." in response.text
    assert stored(sessions) is None


def test_job_page_shows_place_type_and_pay_for_the_company_locale(
    tmp_path: Path, database_url: str, sessions: sessionmaker[Session]
) -> None:
    with session_scope(sessions) as session:
        job = JobPosting(
            reference="R-1",
            title="Data Engineer",
            location="Leeds",
            apply_url="https://jobs.example.com/r-1",
            employment_type=EmploymentType.PART_TIME,
            workplace=Workplace.HYBRID,
            department="Data",
            salary_min=Decimal("55000"),
            salary_max=Decimal("70000"),
            salary_currency="EUR",
            salary_period=SalaryPeriod.YEAR,
        )
        session.add(job)
        session.flush()
        job_id = job.id
    # DEFAULT_LOCALE is also the pages' language: a German company's page is in German.
    for locale, pay, part_time in (
        ("en", "€55,000\u2013€70,000 a year", "Part time"),
        ("de", "55.000\xa0€\u201370.000\xa0€ pro Jahr", "Teilzeit"),
    ):
        app = create_app(make_settings(tmp_path, database_url, DEFAULT_LOCALE=locale))
        try:
            page = app.test_client().get(f"/jobs/{job_id}").text
        finally:
            app.extensions["talentconnect"].engine.dispose()
        assert "Hybrid · Leeds" in page
        assert part_time in page and "Data" in page
        assert pay in page, locale
