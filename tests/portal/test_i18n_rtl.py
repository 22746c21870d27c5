"""Numbers and codes inside Arabic sentences are isolated (`<bdi>`), so they keep their
place and order on a right-to-left page; the "back" arrow turns round. English markup
keeps its numbers bare. (Three jobs: Arabic writes out the number two in words.)"""

from __future__ import annotations

import io

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from portal.auth.accounts import set_password
from portal.config import Settings
from portal.resumes import store_upload
from preferences.db import session_scope
from preferences.models import Resume, ResumeSource
from preferences.subscriptions import get_or_create_candidate

from .helpers import add_interest, add_job, csrf_token

EMAIL = "ana@example.com"
PASSWORD = "a long enough passphrase"
ARROW = '<span class="dir-arrow" aria-hidden="true">&larr;</span>'


def _jobs(sessions: sessionmaker[Session]) -> int:
    with session_scope(sessions) as session:
        design = add_interest(session, "Design", position=1)
        job = add_job(session, "Product Designer", interests=[design], reference="PD-2041")
        add_job(session, "Data Designer", interests=[design])
        add_job(session, "Type Designer", interests=[design])
        return job.id


def test_counts_and_the_job_reference_are_isolated_in_arabic(
    client: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    job = _jobs(sessions)
    home = client.get("/?lang=ar").text
    assert "<strong><bdi>3</bdi></strong>" in home
    listing = client.get("/jobs?lang=ar").text
    assert '<h2 class="result-count" id="result-count"><bdi>3</bdi>' in listing
    assert '<p class="lead"><bdi>3</bdi>' in listing
    detail = client.get(f"/jobs/{job}?lang=ar").text
    assert '<bdi dir="ltr">PD-2041</bdi>' in detail
    assert ARROW in detail


def test_english_pages_keep_their_numbers_bare(
    client: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    job = _jobs(sessions)
    home = client.get("/?lang=en").text
    assert "<strong>3</strong> open roles" in home
    main = home[home.index("<main") : home.index("</main>")]
    assert "<bdi>" not in main
    listing = client.get("/jobs?lang=en").text
    assert '<h2 class="result-count" id="result-count">3 jobs</h2>' in listing
    detail = client.get(f"/jobs/{job}?lang=en").text
    assert "Ref. PD-2041" in detail
    assert f"{ARROW} All jobs" in detail


def _member(sessions: sessionmaker[Session], settings: Settings) -> None:
    stored = store_upload(
        io.BytesIO(b"Ana Lima\nDesigner\n" * 200),
        "cv.txt",
        settings.upload_dir,
        max_bytes=1024 * 1024,
    )
    with session_scope(sessions) as session:
        candidate, _ = get_or_create_candidate(session, EMAIL, first_name="Ana", last_name="Lima")
        candidate.phone_e164 = "+442079460958"
        set_password(candidate, PASSWORD)
        candidate.resumes.append(
            Resume(
                storage_name=stored.storage_name,
                original_filename=stored.original_filename,
                content_type=stored.content_type,
                size_bytes=stored.size_bytes,
                sha256=stored.sha256,
                parsed_fields={},
                source=ResumeSource.UPLOAD,
            )
        )


def _dashboard(client: FlaskClient, lang: str) -> str:
    page = client.get("/login")
    answer = client.post(
        "/login",
        data={
            "csrf_token": csrf_token(page.text),
            "email": EMAIL,
            "password": PASSWORD,
            "action": "password",
        },
    )
    assert answer.status_code == 302
    response = client.get(f"/dashboard?lang={lang}")
    assert response.status_code == 200
    return response.text


def test_the_dashboard_keeps_a_phone_number_left_to_right_in_arabic(
    app: Flask, client: FlaskClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    """The leading + stays at the number's start; the resume's size is isolated too."""
    _member(sessions, settings)
    page = _dashboard(client, "ar")
    assert '<p><bdi dir="ltr">+44 20 7946 0958</bdi></p>' in page
    # The size in Arabic's own unit (Babel), isolated like every number.
    assert "<dd><bdi>3 كيلوبايت</bdi></dd>" in page


def test_the_english_dashboard_shows_the_phone_number_as_before(
    app: Flask, client: FlaskClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    _member(sessions, settings)
    page = _dashboard(client, "en")
    assert "<p>+44 20 7946 0958</p>" in page
    assert "<dd>3 kB</dd>" in page  # Babel's (CLDR) English unit
