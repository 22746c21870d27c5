"""Hostile and careless input never reaches a 500: each answer is a 2xx/3xx, or a 4xx with a
message and nothing half-written, on SQLite and PostgreSQL.

The first tests replay the inputs that answered 500 (or stored text that later broke
every email of its kind); the property-based ones after them throw Hypothesis-made
text, numbers, dates and URLs at the console forms, the file imports, the API and the
candidate forms.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse

from jobs.models import AlertSchedule, JobPosting
from mailer.models import Campaign, CampaignStatus
from portal.api_tokens import create_token
from portal.recruiters import set_recruiter
from preferences.clock import EARLIEST, LATEST
from preferences.db import session_scope
from preferences.models import Interest, RecruiterRole, RecruiterUser
from preferences.text import TextKind, clean_text
from tests.hostile import form_text, hostile_datetimes, hostile_urls, postable
from tests.portal.helpers import RECRUITER_PASSWORD, add_interest, add_job, csrf_token, login

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


# --- property-based: every boundary, any input --------------------------------------------

# Modest budgets: each example is a request (or an import) on a real database, twice over.
PROPERTY = settings(
    max_examples=25,
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
