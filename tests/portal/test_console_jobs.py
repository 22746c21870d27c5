"""The job-postings console: login, CSRF, create, edit, close, filters and file import."""

from __future__ import annotations

import io
from datetime import datetime

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from jobs.models import JobPosting
from preferences.db import session_scope
from preferences.models import InterestStatus
from tests.portal.helpers import (
    CONFIRMED,
    add_interest,
    add_job,
    ask_first,
    confirm,
    csrf_token,
    login,
)


def _signed_in(client: FlaskClient, recruiter: tuple[str, str]) -> str:
    assert login(client, *recruiter).status_code == 302
    page = client.get("/admin/jobs/new")
    assert page.status_code == 200
    return csrf_token(page.text)


def _form(token: str, **values: object) -> dict[str, object]:
    data: dict[str, object] = {
        "csrf_token": token,
        "reference": "R-1",
        "title": "Data Engineer",
        "location": "Lisbon, Portugal",
        "apply_url": "https://jobs.acme.example.com/apply/r-1",
        "posted_at": "",
        "description": "Build pipelines.",
    }
    data.update(values)
    return data


def _count(sessions: sessionmaker[Session]) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(JobPosting)) or 0


def test_job_pages_need_a_recruiter_login(client: FlaskClient) -> None:
    """Signed out, the list, the form and the import page redirect to the login page."""
    for path in ("/admin/jobs/", "/admin/jobs/new", "/admin/jobs/import", "/admin/jobs/1/edit"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert "/admin/login" in response.headers["Location"]


def test_create_without_csrf_is_refused(
    client: FlaskClient, recruiter: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    """A posting form without its CSRF token stores nothing."""
    token = _signed_in(client, recruiter)
    data = _form(token)
    del data["csrf_token"]
    assert client.post("/admin/jobs/new", data=data).status_code == 400
    assert _count(sessions) == 0


def test_create_tagged_posting_shows_on_the_careers_site(
    client: FlaskClient, recruiter: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    """A new posting tagged with an interest is listed in the console and on /jobs by interest."""
    with session_scope(sessions) as s:
        data_id = add_interest(s, "Data Science", position=1).id
        add_interest(s, "Design", position=2)
    token = _signed_in(client, recruiter)
    page = client.get("/admin/jobs/new")
    assert 'name="interests"' in page.text and "Design" in page.text
    response = client.post("/admin/jobs/new", data=_form(token, interests=[str(data_id)]))
    assert response.status_code == 302
    listing = client.get("/admin/jobs/")
    assert "Saved R-1: Data Engineer." in listing.text
    assert "R-1" in listing.text and "Data Science" in listing.text
    public = client.get("/jobs?interest=data-science")
    assert "Data Engineer" in public.text
    assert "Data Engineer" not in client.get("/jobs?interest=design").text


def test_bad_postings_are_refused_with_messages_and_nothing_stored(
    client: FlaskClient, recruiter: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    """http URLs, a used reference, a retired interest and a bad date are each explained."""
    with session_scope(sessions) as s:
        old = add_interest(s, "Old", status=InterestStatus.RETIRED)
        add_job(s, "Existing", reference="TAKEN")
        old_id = old.id
    token = _signed_in(client, recruiter)
    cases = [
        ({"apply_url": "http://jobs.example.com/1"}, "Enter an https:// address"),
        ({"apply_url": "javascript:alert(1)"}, "Enter an https:// address"),
        ({"reference": "TAKEN"}, "Reference TAKEN is already used by a posting."),
        ({"posted_at": "tomorrow-ish"}, "Enter a date and time, like 2026-11-30T09:00."),
        ({"interests": [str(old_id)]}, "is not a valid choice for this field."),
        ({"title": "  "}, "This field is required."),
        ({"title": "Two\x01lines"}, "Remove the control character U+0001"),
    ]
    for values, message in cases:
        response = client.post("/admin/jobs/new", data=_form(token, **values))
        assert response.status_code == 400, values
        assert message in response.text, (values, message)
    assert _count(sessions) == 1


def test_edit_and_close(
    client: FlaskClient, recruiter: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    """Editing saves changes (a clashing reference is refused); closing takes it off /jobs."""
    with session_scope(sessions) as s:
        job_id = add_job(s, "Designer", reference="D-1").id
        add_job(s, "Other", reference="O-1")
    token = _signed_in(client, recruiter)
    edit = client.get(f"/admin/jobs/{job_id}/edit")
    assert 'value="D-1"' in edit.text
    response = client.post(
        f"/admin/jobs/{job_id}/edit", data=_form(token, reference="O-1", title="Renamed")
    )
    assert response.status_code == 400 and "Reference O-1 is already used" in response.text
    response = client.post(
        f"/admin/jobs/{job_id}/edit",
        data=_form(token, reference="D-1", title="Senior Designer", posted_at="2020-01-02T03:04"),
    )
    assert response.status_code == 302
    with sessions() as s:
        job = s.get_one(JobPosting, job_id)
        assert job.title == "Senior Designer"
        assert job.posted_at.isoformat() == "2020-01-02T03:04:00+00:00"
    assert "Senior Designer" in client.get("/jobs").text
    confirmed = {"csrf_token": token, **CONFIRMED}
    assert client.post(f"/admin/jobs/{job_id}/close", data=confirmed).status_code == 302
    assert "Senior Designer" not in client.get("/jobs").text
    assert "Closed D-1: it is no longer on the careers site." in client.get("/admin/jobs/").text
    assert "Senior Designer" not in client.get("/admin/jobs/?show=open").text
    assert "Senior Designer" in client.get("/admin/jobs/?show=closed").text
    assert client.post("/admin/jobs/9999/close", data={"csrf_token": token}).status_code == 404


def _closed_at(sessions: sessionmaker[Session], job_id: int) -> datetime | None:
    with sessions() as s:
        return s.get_one(JobPosting, job_id).closed_at


def test_close_asks_first_and_changes_nothing(
    client: FlaskClient, recruiter: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    """Close first asks (the job stays open); an unticked box says what to do; ticked, it closes."""
    with session_scope(sessions) as s:
        job_id = add_job(s, "Senior Designer", reference="D-1", location="Lisbon").id
    token = _signed_in(client, recruiter)
    listing = client.get("/admin/jobs/")
    assert 'data-confirm="Close D-1: Senior Designer?' in listing.text
    assert "/static/confirm.js" in listing.text
    url = f"/admin/jobs/{job_id}/close"
    said, unticked = ask_first(client, url, token)
    assert "Close this job posting?" in said and "Nothing has changed yet." in said
    assert "D-1" in said and "Senior Designer" in said
    assert "leaves the careers site's job list and search" in said
    assert "job alerts stop including it" in said
    assert "A closed posting can't be reopened." in said
    assert 'name="confirm" value="yes"' in said and 'name="step" value="confirm"' in said
    assert _closed_at(sessions, job_id) is None
    assert "Senior Designer" in client.get("/jobs").text
    assert "Tick the box to confirm. Nothing has been closed." in unticked
    assert 'aria-invalid="true"' in unticked
    assert _closed_at(sessions, job_id) is None
    done = confirm(client, url, token)
    assert done.status_code == 302
    assert _closed_at(sessions, job_id) is not None
    assert "Closed D-1: it is no longer on the careers site." in client.get("/admin/jobs/").text
    assert "Senior Designer" not in client.get("/jobs").text


def test_the_dialogs_ok_closes_at_once(
    client: FlaskClient, recruiter: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    """With JavaScript the list's dialog asks: its OK sends confirm=yes, which closes the job."""
    with session_scope(sessions) as s:
        job_id = add_job(s, "Designer", reference="D-2").id
    token = _signed_in(client, recruiter)
    response = client.post(
        f"/admin/jobs/{job_id}/close", data={"csrf_token": token, "confirm": "yes"}
    )
    assert response.status_code == 302
    assert _closed_at(sessions, job_id) is not None


def test_close_without_a_good_csrf_token_is_refused(
    client: FlaskClient, recruiter: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    """A confirmed close with a missing or tampered CSRF token is refused; the job stays open."""
    with session_scope(sessions) as s:
        job_id = add_job(s, "Designer", reference="D-3").id
    token = _signed_in(client, recruiter)
    url = f"/admin/jobs/{job_id}/close"
    for data in (
        CONFIRMED,
        {"csrf_token": token[:-4] + "AAAA", **CONFIRMED},
        {},
    ):
        response = client.post(url, data=data)
        assert response.status_code == 400, data
        assert "Close this job posting?" not in response.text
    assert _closed_at(sessions, job_id) is None
    signed_out = client.application.test_client()
    response = signed_out.post(url, data={"csrf_token": token, "confirm": "yes"})
    assert response.status_code in (302, 400)
    assert _closed_at(sessions, job_id) is None


def test_import_page_imports_a_csv(
    client: FlaskClient, recruiter: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    """A good CSV upload creates its postings and says how many."""
    with session_scope(sessions) as s:
        add_interest(s, "Data Science")
    token = _signed_in(client, recruiter)
    csv = (
        b"reference,title,description,location,apply_url,interests,posted_at\n"
        b"I-1,Analyst,Numbers,Remote,https://jobs.example.com/i-1,data-science,\n"
    )
    response = client.post(
        "/admin/jobs/import",
        data={"csrf_token": token, "file": (io.BytesIO(csv), "jobs.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert "Imported jobs.csv: 1 created" in client.get("/admin/jobs/").text
    assert _count(sessions) == 1


def test_import_page_lists_every_bad_row_and_imports_nothing(
    client: FlaskClient, recruiter: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    """A CSV with bad rows shows each problem with its line number and stores nothing."""
    token = _signed_in(client, recruiter)
    csv = (
        b"reference,title,description,location,apply_url,interests,posted_at\n"
        b"I-1,Analyst,Numbers,Remote,https://jobs.example.com/i-1,,\n"
        b"I-2,Broken,x,y,http://insecure.example.com,,\n"
    )
    response = client.post(
        "/admin/jobs/import",
        data={"csrf_token": token, "file": (io.BytesIO(csv), "jobs.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "Nothing was imported" in response.text
    assert "Line 3:" in response.text
    assert _count(sessions) == 0
    response = client.post("/admin/jobs/import", data={"csrf_token": token})
    assert response.status_code == 400 and "This field is required." in response.text


def test_a_description_typed_in_the_console_keeps_its_paragraphs_and_lists(
    client: FlaskClient, recruiter: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    """Browsers send CRLF: the description is stored with LF and its job page shows the
    paragraphs, the bulleted and numbered lists and the line breaks as typed."""
    token = _signed_in(client, recruiter)
    typed = (
        "We build data pipelines.\r\nYou will:\r\n- design schemas\r\n- review code\r\n"
        "\r\nSteps:\r\n1. Call\r\n2. Onsite\r\n\r\nAsk us anything.\r\nReally."
    )
    response = client.post("/admin/jobs/new", data=_form(token, description=typed))
    assert response.status_code == 302
    with sessions() as s:
        job = s.scalars(select(JobPosting)).one()
    assert "\r" not in job.description
    page = client.get(f"/jobs/{job.id}").text
    assert "<p>We build data pipelines.<br>\nYou will:</p>" in page
    assert "<ul>\n<li>design schemas</li>\n<li>review code</li>\n</ul>" in page
    assert "<ol>\n<li>Call</li>\n<li>Onsite</li>\n</ol>" in page
    assert "<p>Ask us anything.<br>\nReally.</p>" in page
