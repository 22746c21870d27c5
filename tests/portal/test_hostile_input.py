"""Hostile and careless input never reaches a 500: each answer is a 2xx/3xx, or a 4xx with a
message and nothing half-written, on SQLite and PostgreSQL.

The first tests replay the inputs that answered 500 (or stored text that later broke
every email of its kind); the property-based ones after them throw Hypothesis-made
text, numbers, dates and URLs at the console forms, the file imports, the API and the
candidate forms.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse

from jobs.models import AlertSchedule, JobPosting
from mailer.models import Campaign, CampaignStatus
from portal.auth.accounts import set_password
from portal.auth.api_tokens import create_token
from portal.auth.recruiters import set_recruiter
from portal.config import Settings
from portal.connect.profile import check_profile
from portal.console.imports import ImportRejected, import_candidates, import_jobs
from preferences.clock import EARLIEST, LATEST
from preferences.db import session_scope
from preferences.models import (
    Candidate,
    ConsentEvent,
    Interest,
    RecruiterRole,
    RecruiterUser,
    Subscription,
)
from preferences.subscriptions import get_or_create_candidate
from preferences.text import TextKind, clean_text
from tests.conftest import make_settings
from tests.hostile import (
    form_text,
    hostile_datetimes,
    hostile_text,
    hostile_urls,
    json_values,
    postable,
    postable_text,
)
from tests.portal.helpers import RECRUITER_PASSWORD, add_interest, add_job, csrf_token, login

BIG_NUMBER = "9" * 5000
CANDIDATE_PASSWORD = "a long enough passphrase"
GOOD_JOB = {
    "title": "Backend Engineer",
    "description": "Build the APIs.",
    "location": "Berlin",
    "apply_url": "https://ats.example.com/apply/r-1",
    "interests": ["engineering"],
    "posted_at": "2026-11-02T09:00:00Z",
}


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """The test settings, with an API rate limit the property tests never reach."""
    return make_settings(tmp_path, database_url, API_RATE_LIMIT="100000 per minute")


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


def test_a_repeated_non_ascii_interest_or_schedule_name_is_a_message_not_a_500(
    client: FlaskClient, recruiter: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    """SQLite's lower() folds ASCII only, so "Éclairage" twice used to pass the name check and
    hit the unique index; now it is "already exists" on both databases, in any letter case."""
    token = _console(client, recruiter, "/admin/interests/")
    first = client.post("/admin/interests/", data={"csrf_token": token, "name": "Éclairage"})
    assert first.status_code == 302
    for name in ("Éclairage", "éCLAIRAGE"):
        again = client.post("/admin/interests/", data={"csrf_token": token, "name": name})
        assert again.status_code == 400 and "already exists" in again.text, name
    assert count(sessions, Interest) == 1
    schedule = {
        "csrf_token": token,
        "cadence": "daily",
        "time": "08:00",
        "timezone": "UTC",
        "audience": "all",
        "frequency_class": "daily",
    }
    first = client.post("/admin/schedules/new", data={**schedule, "name": "Ünternehmen"})
    assert first.status_code == 302
    again = client.post("/admin/schedules/new", data={**schedule, "name": "üNTERNEHMEN"})
    assert again.status_code == 400 and "already exists" in again.text
    assert count(sessions, AlertSchedule) == 1


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


def test_candidate_details_refuse_control_characters_and_ports_out_of_range() -> None:
    """A name holding NUL is a message at the field (the form shows it again without the NUL),
    a tab in a name is a space, and a link with port 99999 is refused like a broken one."""
    check = check_profile(
        {
            "email": "ana@example.com",
            "first_name": "A\x00na",
            "last_name": "Sil\tva",
            "location": "Berlin\x1b[2J",
            "portfolio_url": "https://ana.example.com:99999/",
        },
        required=("email",),
        region="US",
    )
    assert check.errors["first_name"] == (
        "First name contains the control character U+0000; remove it."
    )
    assert "U+001B" in check.errors["location"]
    assert "portfolio_url" in check.errors
    assert check.values["first_name"] == "Ana"
    assert check.values["last_name"] == "Sil va"


def test_posted_ids_that_int_cannot_read_are_ignored(
    client: FlaskClient, recruiter: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    """A 5,000-digit interest id (past int()'s limit) or "²" (a digit int() refuses) in a
    form, or as a page number, is no id at all: a message or the first page, not a 500."""
    page = client.get("/connect/interests")
    response = client.post(
        "/connect/interests",
        data={"csrf_token": csrf_token(page.text), "interest": ["9" * 5000, "²"]},
    )
    assert response.status_code == 400 and "Choose at least one" in response.text
    token = _console(client, recruiter, "/admin/schedules/new")
    response = client.post(
        "/admin/schedules/new",
        data={
            "csrf_token": token,
            "name": "Morning",
            "cadence": "daily",
            "time": "08:00",
            "timezone": "UTC",
            "audience": "selected",
            "interests": ["²", "9" * 5000, "9" * 25],
            "frequency_class": "daily",
        },
    )
    assert response.status_code == 400 and "Choose at least one interest" in response.text
    assert count(sessions, AlertSchedule) == 0
    for number in ("²", "9" * 5000):
        log = client.get(
            "/admin/reports/send-log", query_string={"email": "a@b.example", "page": number}
        )
        assert log.status_code == 200


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
    add_interest(db_session, "Engineering", slug="engineering")
    header = "email,interests,consent_at\n"
    for value in ("0001-01-01T00:00:00+01:00", "0001-01-01", "1900-01-01"):
        data = f"{header}ana@example.com,engineering,{value}\n".encode()
        with pytest.raises(ImportRejected) as info:
            import_candidates(db_session, data, "people.csv")
        assert info.value.errors[0][0] == 2
        assert info.value.errors[0][1].startswith("consent_at: ")


# --- property-based: every boundary, any input --------------------------------------------

# Modest budgets: each example is a request (or an import) on a real database, twice over.
PROPERTY = hypothesis_settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ADMIN_EMAIL = "ada.admin@acme.example.com"
HTML_MESSAGE = re.compile(r'class="(?:field-error|form-error|error-summary)"')


def maybe(good: object, hostile: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Often a good value (so the success path is exercised too), otherwise a hostile one."""
    return st.one_of(st.just(good), hostile)


def assert_stored(value: str | None, kind: TextKind = TextKind.LINE) -> None:
    """A stored text passes the stored-text rule unchanged."""
    if value:
        assert clean_text(value, kind) == value, repr(value)


def assert_html_answer(response: TestResponse, ok: tuple[int, ...] = (200, 302)) -> bool:
    """A page answer: a success, or a 400 showing a message. Returns whether it succeeded."""
    assert response.status_code in (*ok, 400), response.status_code
    if response.status_code == 400:
        assert HTML_MESSAGE.search(response.get_data(as_text=True)), "a 400 without a message"
        return False
    return True


@pytest.fixture
def admin(client: FlaskClient, sessions: sessionmaker[Session]) -> str:
    """A signed-in admin (two interests exist); returns the session's CSRF token."""
    with session_scope(sessions) as session:
        add_interest(session, "Engineering", slug="engineering", position=1)
        add_interest(session, "Design", slug="design", position=2)
        set_recruiter(session, ADMIN_EMAIL, password=RECRUITER_PASSWORD, role=RecruiterRole.ADMIN)
    assert login(client, ADMIN_EMAIL, RECRUITER_PASSWORD).status_code == 302
    return csrf_token(client.get("/admin/jobs/new").text)


def postings(sessions: sessionmaker[Session]) -> list[tuple[Any, ...]]:
    with sessions() as session:
        return [
            (j.reference, j.title, j.description, j.location, j.apply_url, j.posted_at, j.closed_at)
            for j in session.scalars(select(JobPosting).order_by(JobPosting.id))
        ]


def assert_postings_stored_cleanly(rows: list[tuple[Any, ...]]) -> None:
    for reference, title, description, location, apply_url, posted_at, _closed in rows:
        for value in (reference, title, location, apply_url):
            assert_stored(value)
        assert_stored(description, TextKind.TEXT)
        assert EARLIEST <= posted_at < LATEST


@PROPERTY
@given(
    reference=maybe("R-1", form_text(max_size=20)),
    title=maybe("Data Engineer", form_text()),
    location=form_text(),
    apply_url=maybe("https://jobs.example.com/1", postable(hostile_urls)),
    posted_at=maybe("", postable(hostile_datetimes)),
    description=form_text(max_size=200),
)
def test_console_posting_form_never_fails(
    client: FlaskClient,
    sessions: sessionmaker[Session],
    admin: str,
    reference: str,
    title: str,
    location: str,
    apply_url: str,
    posted_at: str,
    description: str,
) -> None:
    """Any text, date or URL in the posting form is saved cleanly or refused with a message;
    a refusal changes no posting."""
    before = postings(sessions)
    response = client.post(
        "/admin/jobs/new",
        data={
            "csrf_token": admin,
            "reference": reference,
            "title": title,
            "location": location,
            "apply_url": apply_url,
            "posted_at": posted_at,
            "description": description,
        },
    )
    after = postings(sessions)
    if assert_html_answer(response, ok=(302,)):
        assert len(after) == len(before) + 1
    else:
        assert after == before
    assert_postings_stored_cleanly(after)


def interests_rows(sessions: sessionmaker[Session]) -> list[tuple[Any, ...]]:
    with sessions() as session:
        return [
            (i.name, i.slug, i.details, tuple(i.keywords or ()), i.status)
            for i in session.scalars(select(Interest).order_by(Interest.id))
        ]


@PROPERTY
@given(
    name=maybe("Data Science", form_text()),
    details=form_text(max_size=200),
    keywords=form_text(max_size=80),
)
def test_console_interest_form_never_fails(
    client: FlaskClient,
    sessions: sessionmaker[Session],
    admin: str,
    name: str,
    details: str,
    keywords: str,
) -> None:
    """Any name, details and keywords make a clean interest or a message, and a refusal
    changes no interest."""
    before = interests_rows(sessions)
    response = client.post(
        "/admin/interests/",
        data={"csrf_token": admin, "name": name, "details": details, "keywords": keywords},
    )
    after = interests_rows(sessions)
    if assert_html_answer(response, ok=(302,)):
        assert len(after) == len(before) + 1
    else:
        assert after == before
    for stored_name, slug, stored_details, stored_keywords, _status in after:
        assert_stored(stored_name)
        assert_stored(slug)
        assert_stored(stored_details, TextKind.TEXT)
        for keyword in stored_keywords:
            assert_stored(keyword)


def campaigns(sessions: sessionmaker[Session]) -> list[tuple[Any, ...]]:
    with sessions() as session:
        return [
            (c.name, c.subject, c.body, c.status, c.scheduled_at)
            for c in session.scalars(select(Campaign).order_by(Campaign.id))
        ]


@PROPERTY
@given(
    name=maybe("Autumn", form_text()),
    subject=maybe("News from Acme", form_text()),
    body=maybe("Hello **all**.", form_text(max_size=200)),
    audience=st.sampled_from(["all", "interests", "", "x\x00"]),
    interest_ids=st.lists(
        st.one_of(st.sampled_from(["1", "2", "²", "9" * 30, "9" * 5000, "-1"]), form_text()),
        max_size=3,
    ),
    send_at=maybe("2030-05-01T09:00", postable(hostile_datetimes)),
    timezone=maybe("Europe/Berlin", st.one_of(st.timezone_keys(), form_text(max_size=20))),
)
def test_console_campaign_forms_never_fail(
    client: FlaskClient,
    sessions: sessionmaker[Session],
    admin: str,
    name: str,
    subject: str,
    body: str,
    audience: str,
    interest_ids: list[str],
    send_at: str,
    timezone: str,
) -> None:
    """The campaign form and the schedule form take any text, ids, time and zone: a clean
    draft or schedule, or a message and no change."""
    before = campaigns(sessions)
    response = client.post(
        "/admin/campaigns/new",
        data={
            "csrf_token": admin,
            "name": name,
            "subject": subject,
            "body": body,
            "audience": audience,
            "interest_ids": interest_ids,
            "action": "save",
        },
    )
    after = campaigns(sessions)
    if not assert_html_answer(response, ok=(302,)):
        assert after == before
        return
    assert len(after) == len(before) + 1
    stored_name, stored_subject, stored_body, _status, _at = after[-1]
    assert_stored(stored_name)
    assert_stored(stored_subject)
    assert_stored(stored_body, TextKind.TEXT)
    campaign_id = int(response.headers["Location"].rstrip("/").rsplit("/", 1)[-1])
    scheduled = client.post(
        f"/admin/campaigns/{campaign_id}/schedule",
        data={"csrf_token": admin, "send_at": send_at, "timezone": timezone},
    )
    final = campaigns(sessions)
    if assert_html_answer(scheduled, ok=(302,)):
        status, at = final[-1][3], final[-1][4]
        assert status is CampaignStatus.SCHEDULED and EARLIEST <= at < LATEST
    else:
        assert final == after


def schedules(sessions: sessionmaker[Session]) -> list[tuple[Any, ...]]:
    with sessions() as session:
        return [
            (s.name, s.cron, s.timezone, s.enabled, tuple(i.id for i in s.interests))
            for s in session.scalars(select(AlertSchedule).order_by(AlertSchedule.id))
        ]


@PROPERTY
@given(
    name=maybe("Morning digest", form_text()),
    cadence=st.sampled_from(["daily", "weekly", "cron", "", "x"]),
    time=maybe("08:00", form_text(max_size=8)),
    weekday=st.one_of(st.sampled_from(["0", "1", "7", "²", ""]), form_text(max_size=4)),
    cron=maybe(
        "0 8 * * 1-5",
        st.one_of(
            st.sampled_from(["0 ٣ * * *", "*/99999999999999999999 * * * *", "0 8 * * ²"]),
            form_text(max_size=30),
        ),
    ),
    timezone=maybe("Europe/Berlin", st.one_of(st.timezone_keys(), form_text(max_size=20))),
    audience=st.sampled_from(["all", "selected"]),
    interests=st.lists(st.sampled_from(["1", "2", "²", "9" * 30, "9" * 5000, "x"]), max_size=3),
    frequency_class=st.sampled_from(["daily", "weekly", "both", "", "hourly"]),
)
def test_console_schedule_form_never_fails(
    client: FlaskClient,
    sessions: sessionmaker[Session],
    admin: str,
    name: str,
    cadence: str,
    time: str,
    weekday: str,
    cron: str,
    timezone: str,
    audience: str,
    interests: list[str],
    frequency_class: str,
) -> None:
    """Any schedule input is a clean schedule or a message with nothing stored."""
    before = schedules(sessions)
    response = client.post(
        "/admin/schedules/new",
        data={
            "csrf_token": admin,
            "name": name,
            "cadence": cadence,
            "time": time,
            "weekday": weekday,
            "cron": cron,
            "timezone": timezone,
            "audience": audience,
            "interests": interests,
            "frequency_class": frequency_class,
            "enabled": "on",
        },
    )
    after = schedules(sessions)
    if assert_html_answer(response, ok=(302,)):
        assert len(after) == len(before) + 1
        assert_stored(after[-1][0])
        assert_stored(after[-1][1])
    else:
        assert after == before
    assert client.get("/admin/schedules/").status_code == 200


def recruiters(sessions: sessionmaker[Session]) -> list[tuple[str, str]]:
    with sessions() as session:
        return [
            (r.email, r.name)
            for r in session.scalars(select(RecruiterUser).order_by(RecruiterUser.id))
        ]


@PROPERTY
@given(
    email=maybe("new.recruiter@acme.example.com", form_text(max_size=40)),
    name=form_text(),
    role=st.sampled_from(["recruiter", "admin", "owner", ""]),
)
def test_recruiter_invite_never_fails(
    client: FlaskClient,
    sessions: sessionmaker[Session],
    admin: str,
    email: str,
    name: str,
    role: str,
) -> None:
    """Any address, name and role invite a clean account or get a message; nothing else."""
    before = recruiters(sessions)
    response = client.post(
        "/admin/recruiters", data={"csrf_token": admin, "email": email, "name": name, "role": role}
    )
    after = recruiters(sessions)
    if assert_html_answer(response, ok=(200,)):
        assert len(after) == len(before) + 1
        assert_stored(after[-1][1])
    else:
        assert after == before


# Raw bodies no dict can produce: huge and odd numbers, constants, broken and deep JSON.
RAW_BODIES = st.sampled_from(
    [
        BIG_NUMBER,
        f'{{"title": {BIG_NUMBER}}}',
        f'{{"title": -{BIG_NUMBER}}}',
        f'{{"title": 1{"0" * 5000}.5}}',
        '{"title": 1e999, "apply_url": -1e999}',
        '{"title": NaN, "posted_at": Infinity}',
        '{"title": "\\ud800", "apply_url": "https://x.example/\\udfff"}',
        '{"title": "a\\u0000b"}',
        '{"title": "x", "title": "y"}',
        "[" * 5000,
        '"just a string"',
        "null",
        "",
        "{",
        '{"a": 1} trailing',
        "\ufeff{}",
    ]
)
# Hostile values for each field of a posting, and for fields it doesn't have.
API_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "title": st.one_of(hostile_text(), json_values),
    "description": st.one_of(hostile_text(max_size=200), json_values),
    "location": st.one_of(hostile_text(), json_values),
    "apply_url": st.one_of(hostile_urls, json_values),
    "interests": st.one_of(st.lists(hostile_text(max_size=12), max_size=3), json_values),
    "posted_at": st.one_of(hostile_datetimes, json_values),
    "reference": st.one_of(hostile_text(max_size=12), json_values),
    "salary": json_values,
}
API_BODIES = st.one_of(
    # A good posting with up to three fields replaced by hostile values: the success path
    # sees the cleaning rule at work (a tab in a title), the failure path one bad field.
    st.lists(st.sampled_from(list(API_FIELDS)), max_size=3, unique=True)
    .flatmap(lambda names: st.fixed_dictionaries({n: API_FIELDS[n] for n in names}))
    .map(lambda hostile: {**GOOD_JOB, **hostile}),
    # Anything at all.
    st.dictionaries(hostile_text(max_size=8), json_values, max_size=4),
)
REFERENCES = st.one_of(
    st.from_regex(r"[A-Za-z0-9._-]{1,12}", fullmatch=True), hostile_text(max_size=12)
)


def api_snapshot(sessions: sessionmaker[Session]) -> list[tuple[Any, ...]]:
    return postings(sessions)


def assert_api_answer(response: TestResponse) -> None:
    """Never a 5xx; every error is JSON with a message and a fields object."""
    assert response.status_code < 500, response.get_data(as_text=True)
    if response.status_code >= 400:
        body = response.get_json()
        assert isinstance(body["error"], str) and body["error"]
        assert isinstance(body["fields"], dict)
        assert all(isinstance(v, str) and v for v in body["fields"].values())


@PROPERTY
@given(
    reference=REFERENCES,
    body=st.one_of(API_BODIES.map(json.dumps), RAW_BODIES),
    content_type=st.sampled_from(
        ["application/json", "application/json; charset=utf-8", "text/plain"]
    ),
)
def test_api_put_never_fails(
    client: FlaskClient,
    sessions: sessionmaker[Session],
    token: str,
    reference: str,
    body: str,
    content_type: str,
) -> None:
    """PUT /jobs/{reference} with any reference and body: a clean posting (readable again by
    GET) or a JSON 4xx with a message, and then no posting changed."""
    before = api_snapshot(sessions)
    path = "/api/v1/jobs/" + quote(reference.encode("utf-8", "surrogatepass"), safe="")
    response = client.put(
        path,
        data=body.encode("utf-8", "surrogatepass"),
        headers=bearer(token),
        content_type=content_type,
    )
    assert_api_answer(response)
    __import__("hypothesis").event(str(response.status_code))
    after = api_snapshot(sessions)
    if response.status_code >= 400:
        assert after == before
    else:
        assert response.status_code in (200, 201)
        assert len(after) - len(before) == (1 if response.status_code == 201 else 0)
        again = client.get(path, headers=bearer(token))
        assert again.status_code == 200 and again.get_json() == response.get_json()
    assert_postings_stored_cleanly(after)
    for method, url in (("GET", path), ("POST", path + "/close")):
        assert_api_answer(client.open(url, method=method, headers=bearer(token)))


def _csv(rows: list[dict[str, str]], columns: list[str]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(c, "") for c in columns])
    return out.getvalue().encode("utf-8")


GOOD_ROW = {**GOOD_JOB, "reference": "R-1", "interests": "engineering"}


def _numbered(rows: list[Any]) -> list[Any]:
    """The rows with their text references made distinct (R-1 0, R-1 1, …), as a file has."""
    return [
        {**row, "reference": f"{row['reference']} {i}"}
        if isinstance(row, dict) and isinstance(row.get("reference"), str)
        else row
        for i, row in enumerate(rows)
    ]


CSV_ROWS = st.lists(
    st.lists(st.sampled_from(list(API_FIELDS)), max_size=2, unique=True)
    .flatmap(
        lambda names: st.fixed_dictionaries(
            {n: maybe(str(GOOD_ROW.get(n, "")), form_text()) for n in names}
        )
    )
    .map(lambda hostile: {**GOOD_ROW, **hostile}),
    min_size=1,
    max_size=3,
).map(_numbered)
JSON_ROWS = st.lists(
    st.one_of(API_BODIES.map(lambda body: {"reference": "R-1", **body}), json_values),
    min_size=1,
    max_size=3,
).map(_numbered)
IMPORT_FILES = st.one_of(
    CSV_ROWS.map(lambda rows: (_csv(rows, [*GOOD_ROW]), "jobs.csv")),
    CSV_ROWS.map(lambda rows: (_csv(rows, [*GOOD_ROW, "salary"]), "jobs.csv")),
    JSON_ROWS.map(lambda rows: (json.dumps(rows).encode(), "jobs.json")),
    RAW_BODIES.map(lambda raw: (f"[{raw}]".encode("utf-8", "surrogatepass"), "jobs.json")),
    st.binary(max_size=200).map(lambda data: (data, "jobs.csv")),
)


@PROPERTY
@given(file=IMPORT_FILES)
def test_console_job_import_never_fails(
    client: FlaskClient, sessions: sessionmaker[Session], admin: str, file: tuple[bytes, str]
) -> None:
    """Any CSV, JSON or binary file uploaded to the import page imports cleanly or is refused
    with its problems listed, and a refused file changes no posting."""
    data, filename = file
    before = postings(sessions)
    response = client.post(
        "/admin/jobs/import",
        data={"csrf_token": admin, "file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )
    after = postings(sessions)
    if not assert_html_answer(response, ok=(302,)):
        assert after == before
    assert_postings_stored_cleanly(after)


CANDIDATE_COLUMNS = [
    "email",
    "first_name",
    "last_name",
    "phone",
    "interests",
    "mass_email",
    "consent_source",
    "consent_at",
]
GOOD_CANDIDATE = {
    "email": "ana@example.com",
    "first_name": "Ana",
    "last_name": "Silva",
    "phone": "+49 30 901820",
    "interests": "engineering",
    "mass_email": "yes",
    "consent_source": "Careers fair 2025",
    "consent_at": "2025-03-01T09:00Z",
}
CANDIDATE_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "email": st.one_of(form_text(), st.emails().map(str)),
    "first_name": hostile_text(),
    "last_name": hostile_text(),
    "phone": st.one_of(
        hostile_text(max_size=20), st.from_regex(r"\+?[0-9 ()-]{3,25}", fullmatch=True)
    ),
    "interests": st.one_of(hostile_text(), st.lists(hostile_text(max_size=12), max_size=2)),
    "mass_email": st.one_of(st.sampled_from(["yes", "no", "", "YES "]), json_values),
    "consent_source": hostile_text(max_size=60),
    "consent_at": hostile_datetimes,
    "extra": json_values,
}
CANDIDATE_ROWS = st.lists(
    st.lists(st.sampled_from(list(CANDIDATE_VALUES)), max_size=3, unique=True)
    .flatmap(lambda names: st.fixed_dictionaries({n: CANDIDATE_VALUES[n] for n in names}))
    .map(lambda hostile: {**GOOD_CANDIDATE, **hostile}),
    min_size=1,
    max_size=3,
)


def candidate_rows(session: Session) -> list[tuple[Any, ...]]:
    return [
        (c.email, c.first_name, c.last_name, c.phone_e164)
        for c in session.scalars(select(Candidate).order_by(Candidate.id))
    ]


@PROPERTY
@given(rows=CANDIDATE_ROWS, as_json=st.booleans())
def test_candidate_import_never_fails(
    db_session: Session, rows: list[dict[str, Any]], as_json: bool
) -> None:
    """Any candidate rows, as JSON or CSV, import cleanly or are refused with a line and a
    reason for each problem, and a refused file adds no candidate, subscription or event."""
    if not db_session.scalar(select(func.count()).select_from(Interest)):
        add_interest(db_session, "Engineering", slug="engineering")
    if as_json:
        data, filename = json.dumps(rows).encode(), "people.json"
    else:
        text_rows = [{k: v for k, v in r.items() if isinstance(v, str)} for r in rows]
        data = _csv(
            [{k: postable_text(v) for k, v in r.items()} for r in text_rows], CANDIDATE_COLUMNS
        )
        filename = "people.csv"
    before = (
        candidate_rows(db_session),
        db_session.scalar(select(func.count()).select_from(Subscription)),
        db_session.scalar(select(func.count()).select_from(ConsentEvent)),
    )
    try:
        import_candidates(db_session, data, filename)
    except ImportRejected as exc:
        assert exc.errors and all(
            line >= 1 and isinstance(reason, str) and reason for line, reason in exc.errors
        )
        after = (
            candidate_rows(db_session),
            db_session.scalar(select(func.count()).select_from(Subscription)),
            db_session.scalar(select(func.count()).select_from(ConsentEvent)),
        )
        assert after == before
    for email, first_name, last_name, phone in candidate_rows(db_session):
        for value in (email, first_name, last_name, phone):
            assert_stored(value)


GOOD_PROFILE = {
    "first_name": "Ana",
    "last_name": "Silva",
    "email": "ana@example.com",
    "phone": "+49 30 901820",
    "location": "Berlin",
    "linkedin_url": "https://www.linkedin.com/in/ana",
    "github_url": "",
    "portfolio_url": "ana.example.com",
}
PROFILE_FIELDS = {
    "first_name": form_text(),
    "last_name": form_text(),
    "email": st.one_of(form_text(), st.emails().map(str)),
    "phone": form_text(max_size=20),
    "location": form_text(),
    "linkedin_url": postable(hostile_urls),
    "github_url": postable(hostile_urls),
    "portfolio_url": postable(hostile_urls),
}
# A good profile with up to three fields replaced by hostile values (or left out).
PROFILES = (
    st.lists(st.sampled_from(list(PROFILE_FIELDS)), max_size=3, unique=True)
    .flatmap(
        lambda names: st.fixed_dictionaries(
            {n: st.one_of(st.none(), PROFILE_FIELDS[n]) for n in names}
        )
    )
    .map(lambda hostile: {k: v for k, v in {**GOOD_PROFILE, **hostile}.items() if v is not None})
)


def candidates_snapshot(sessions: sessionmaker[Session]) -> list[tuple[Any, ...]]:
    with sessions() as session:
        return [
            (
                c.email,
                c.first_name,
                c.last_name,
                c.phone_e164,
                c.location,
                c.linkedin_url,
                c.github_url,
                c.portfolio_url,
            )
            for c in session.scalars(select(Candidate).order_by(Candidate.id))
        ]


def assert_candidates_stored_cleanly(rows: list[tuple[Any, ...]]) -> None:
    for row in rows:
        for value in row:
            assert_stored(value)


@PROPERTY
@given(profile=PROFILES, interest=maybe("1", st.sampled_from(["2", "²", "9" * 5000, ""])))
def test_connect_review_never_fails(
    client: FlaskClient,
    sessions: sessionmaker[Session],
    profile: dict[str, str],
    interest: str,
) -> None:
    """Submit Profile with any details stores a clean candidate or shows a message at the
    field, and a refused form stores no candidate."""
    with session_scope(sessions) as session:
        if not session.scalar(select(func.count()).select_from(Interest)):
            add_interest(session, "Engineering", slug="engineering", position=1)
    before = candidates_snapshot(sessions)
    page = client.get("/connect/review")
    response = client.post(
        "/connect/review",
        data={
            "csrf_token": csrf_token(page.text),
            **profile,
            "interest": [interest],
            "alerts": "yes",
            "action": "submit",
        },
    )
    after = candidates_snapshot(sessions)
    if not assert_html_answer(response, ok=(302,)):
        assert after == before
    assert_candidates_stored_cleanly(after)


@PROPERTY
@given(profile=PROFILES)
def test_dashboard_profile_never_fails(
    client: FlaskClient, sessions: sessionmaker[Session], profile: dict[str, str]
) -> None:
    """The dashboard's profile form saves clean values or shows a message and changes nothing."""
    with session_scope(sessions) as session:
        candidate = session.scalar(select(Candidate))
        if candidate is None:
            candidate, _ = get_or_create_candidate(session, "ana@example.com", first_name="Ana")
            set_password(candidate, CANDIDATE_PASSWORD)
    if client.get("/dashboard/profile").status_code != 200:
        page = client.get("/login")
        client.post(
            "/login",
            data={
                "csrf_token": csrf_token(page.text),
                "email": "ana@example.com",
                "password": CANDIDATE_PASSWORD,
                "action": "password",
            },
        )
    page = client.get("/dashboard/profile")
    assert page.status_code == 200
    before = candidates_snapshot(sessions)
    response = client.post(
        "/dashboard/profile", data={"csrf_token": csrf_token(page.text), **profile}
    )
    after = candidates_snapshot(sessions)
    if not assert_html_answer(response, ok=(302,)):
        assert after == before
    assert_candidates_stored_cleanly(after)
