"""Hostile and careless input never reaches a 500: each answer is a 2xx/3xx, or a 4xx with a
message and nothing half-written, on SQLite and PostgreSQL.

The first tests replay the inputs that answered 500 (or stored text that later broke
every email of its kind); the property-based ones after them throw Hypothesis-made
text, numbers, dates and URLs at the console forms, the file imports, the API and the
candidate forms.
"""

from __future__ import annotations

import json

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse

from jobs.models import JobPosting
from mailer.models import Campaign, CampaignStatus
from portal.api_tokens import create_token
from preferences.db import session_scope
from preferences.models import Interest
from tests.portal.helpers import add_interest, add_job, csrf_token, login

BIG_NUMBER = "9" * 5000
GOOD_JOB = {
    "title": "Backend Engineer",
    "description": "Build the APIs.",
    "location": "Berlin",
    "apply_url": "https://ats.example.com/apply/r-1",
    "interests": ["engineering"],
    "posted_at": "2026-11-02T09:00:00Z",
}


@pytest.fixture
def token(sessions: sessionmaker[Session]) -> str:
    """An active API token, and an Engineering interest to tag postings with."""
    with session_scope(sessions) as session:
        add_interest(session, "Engineering", slug="engineering")
        _row, secret = create_token(session, "ats")
    return secret


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def count(sessions: sessionmaker[Session], model: type[object]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def put_raw(client: FlaskClient, secret: str, reference: str, body: str) -> TestResponse:
    return client.put(
        f"/api/v1/jobs/{reference}",
        data=body.encode("utf-8", "surrogatepass"),
        headers=bearer(secret),
        content_type="application/json",
    )


def assert_api_refusal(response: TestResponse, status: int, field: str | None = None) -> None:
    """A JSON 4xx with an error message (and, for a field, that field's reason)."""
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert isinstance(body["error"], str) and body["error"]
    if field is not None:
        assert body["fields"].get(field), body


# --- the inputs that answered 500 --------------------------------------------------------


def test_api_refuses_the_inputs_that_used_to_answer_500(
    client: FlaskClient, sessions: sessionmaker[Session], token: str
) -> None:
    """A year-9999 time with a -23:59 offset, a broken IPv6 URL, a 5,000-digit number and a lone
    surrogate each get a 4xx naming the problem, and no posting is stored."""
    cases = [
        ({**GOOD_JOB, "posted_at": "9999-12-31T23:59:59-23:59"}, 422, "posted_at"),
        ({**GOOD_JOB, "apply_url": "https://[::1/"}, 422, "apply_url"),
        ({**GOOD_JOB, "title": "Engineer\ud800"}, 422, "title"),
    ]
    for body, status, field in cases:
        text = json.dumps(body)  # ensure_ascii: the surrogate travels as the escape \ud800
        assert_api_refusal(put_raw(client, token, "R-1", text), status, field)
    huge = json.dumps(GOOD_JOB)[:-1] + f', "salary": {BIG_NUMBER}}}'
    response = put_raw(client, token, "R-1", huge)
    assert_api_refusal(response, 400)
    assert "number" in response.get_json()["error"]
    assert count(sessions, JobPosting) == 0


def test_api_paths_with_control_characters_are_not_found_rather_than_errors(
    client: FlaskClient, sessions: sessionmaker[Session], token: str
) -> None:
    """A reference holding NUL or a line break cannot name a posting: GET and close answer 404,
    and PUT answers 422 for the reference, on both databases (PostgreSQL refuses NUL)."""
    for reference in ("R%00", "R%0A1", "%01"):
        assert_api_refusal(client.get(f"/api/v1/jobs/{reference}", headers=bearer(token)), 404)
        closed = client.post(f"/api/v1/jobs/{reference}/close", headers=bearer(token))
        assert_api_refusal(closed, 404)
        assert_api_refusal(
            put_raw(client, token, reference, json.dumps(GOOD_JOB)), 422, "reference"
        )
    assert count(sessions, JobPosting) == 0


def test_json_import_with_a_huge_number_or_a_lone_surrogate_is_refused_with_its_line(
    db_session: Session,
) -> None:
    """A 5,000-digit number or a title holding an unpaired surrogate rejects the file, naming the
    line, instead of raising ValueError or storing text no database can hold."""
    from portal.imports import ImportRejected, import_jobs

    row = {"reference": "R-1", "title": "Engineer", "apply_url": "https://ats.example.com/1"}
    big = f'[\n{json.dumps(row)},\n{{"reference": "R-2", "title": {BIG_NUMBER}}}\n]'
    with pytest.raises(ImportRejected) as info:
        import_jobs(db_session, big.encode(), "jobs.json")
    assert info.value.errors[0][0] == 3
    assert "number" in info.value.errors[0][1]
    lone = json.dumps([row, {**row, "reference": "R-2", "title": "Engin\ud800eer"}], indent=1)
    with pytest.raises(ImportRejected) as info:
        import_jobs(db_session, lone.encode(), "jobs.json")
    assert [line for line, _ in info.value.errors] == [7]
    assert info.value.errors[0][1].startswith("title: ")
    assert db_session.scalar(select(func.count()).select_from(JobPosting)) == 0


def _console(client: FlaskClient, recruiter: tuple[str, str], path: str) -> str:
    assert login(client, *recruiter).status_code == 302
    page = client.get(path)
    assert page.status_code == 200
    return csrf_token(page.text)


def test_console_posting_form_refuses_far_dates_broken_urls_and_nul(
    client: FlaskClient, recruiter: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    """The posting form answers 400 with a field message for a time that overflows UTC, an
    unparsable URL and a NUL in the description; nothing is stored."""
    token = _console(client, recruiter, "/admin/jobs/new")
    form = {
        "csrf_token": token,
        "reference": "R-1",
        "title": "Data Engineer",
        "location": "Lisbon",
        "apply_url": "https://jobs.acme.example.com/apply/r-1",
        "posted_at": "",
        "description": "Build pipelines.",
    }
    cases = [
        ({"posted_at": "9999-12-31T23:59:59-23:59"}, "Enter a date and time"),
        ({"posted_at": "0001-01-01T00:00:00+23:59"}, "Enter a date and time"),
        ({"apply_url": "https://[::1/"}, "Enter an https:// address"),
        ({"description": "Build\x00 pipelines."}, "control character"),
        ({"title": "Data\x01Engineer"}, "control character"),
    ]
    for values, message in cases:
        response = client.post("/admin/jobs/new", data={**form, **values})
        assert response.status_code == 400, values
        assert message in response.text, (values, message)
    assert count(sessions, JobPosting) == 0


def test_console_interest_and_campaign_refuse_control_characters(
    client: FlaskClient, recruiter: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    """An interest name or a campaign subject holding \\x00 or \\x01 is refused with a message
    at the field, instead of being saved and failing every email that quotes it."""
    token = _console(client, recruiter, "/admin/interests/")
    for name in ("Data\x00 Science", "Data\x01Science"):
        response = client.post(
            "/admin/interests/", data={"csrf_token": token, "name": name, "details": ""}
        )
        assert response.status_code == 400, name
        assert "control character" in response.text
    assert count(sessions, Interest) == 0
    page = client.get("/admin/campaigns/new")
    for subject in ("News\x00", "News\x01 from Acme"):
        response = client.post(
            "/admin/campaigns/new",
            data={
                "csrf_token": csrf_token(page.text),
                "name": "Autumn",
                "subject": subject,
                "body": "Hello.",
                "audience": "all",
                "action": "save",
            },
        )
        assert response.status_code == 400, subject
        assert "control character" in response.text
    assert count(sessions, Campaign) == 0


def test_a_campaign_scheduled_at_the_end_of_time_is_refused(
    client: FlaskClient, recruiter: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    """9999-12-31T23:59 in Etc/GMT+12 (past the last representable UTC instant) gets a message
    at the send time and the campaign stays a draft."""
    token = _console(client, recruiter, "/admin/campaigns/new")
    created = client.post(
        "/admin/campaigns/new",
        data={
            "csrf_token": token,
            "name": "Autumn",
            "subject": "News",
            "body": "Hello.",
            "audience": "all",
            "action": "save",
        },
    )
    assert created.status_code == 302
    with sessions() as session:
        campaign_id = session.scalars(select(Campaign.id)).one()
    for zone in ("Etc/GMT+12", "UTC", "Pacific/Kiritimati"):
        response = client.post(
            f"/admin/campaigns/{campaign_id}/schedule",
            data={"csrf_token": token, "send_at": "9999-12-31T23:59", "timezone": zone},
        )
        assert response.status_code == 400, zone
        assert "Choose a time" in response.text
    with sessions() as session:
        campaign = session.get_one(Campaign, campaign_id)
        assert campaign.status is CampaignStatus.DRAFT and campaign.scheduled_at is None


def test_candidate_pages_with_nul_in_the_path_are_not_found(
    client: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    """A NUL or line break in a path segment (an interest slug, a job id) is a 404, never a
    database error on PostgreSQL."""
    with session_scope(sessions) as session:
        add_interest(session, "Engineering", slug="engineering")
        add_job(session, "Engineer")
    for path in ("/connect/interests/eng%00", "/connect/interests/%0A", "/jobs/1%00"):
        assert client.get(path).status_code == 404, path


def test_import_consent_times_outside_the_range_are_refused(db_session: Session) -> None:
    """A candidate's consent time in year 1 or one that overflows UTC is a row error."""
    from portal.imports import ImportRejected, import_candidates

    add_interest(db_session, "Engineering", slug="engineering")
    header = "email,interests,consent_at\n"
    for value in ("0001-01-01T00:00:00+01:00", "0001-01-01", "1900-01-01"):
        data = f"{header}ana@example.com,engineering,{value}\n".encode()
        with pytest.raises(ImportRejected) as info:
            import_candidates(db_session, data, "people.csv")
        assert info.value.errors[0][0] == 2
        assert info.value.errors[0][1].startswith("consent_at: ")
