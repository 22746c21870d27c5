"""Resume uploads, limits, configuration and hostile input in the connect flow."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from portal.app import create_app
from portal.config import Settings
from preferences.db import session_scope
from preferences.models import Candidate, Resume, Subscription
from tests.conftest import make_settings

from .helpers import add_interest, add_job, csrf_token

CORPUS = Path(__file__).resolve().parent.parent / "data" / "resumes"


@pytest.fixture
def interests(sessions: sessionmaker[Session]) -> dict[str, int]:
    with session_scope(sessions) as session:
        eng = add_interest(session, "Software Engineering", position=1)
        eng.keywords = ["python", "javascript", "react", "go"]
        design = add_interest(session, "Design", position=2)
        add_job(session, "Backend Engineer", interests=[eng])
        return {"eng": eng.id, "design": design.id}


def choose(client: FlaskClient, interest_id: int) -> None:
    page = client.get("/connect/interests")
    r = client.post(
        "/connect/interests",
        data={"csrf_token": csrf_token(page.text), "interest": [str(interest_id)]},
    )
    assert r.status_code == 302


def upload(client: FlaskClient, name: str, data: bytes) -> Any:
    """Post a multipart upload built in memory, as a browser would send it."""
    page = client.get("/connect/resume")
    boundary = "----talentconnect-test-boundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
        f"{csrf_token(page.text)}\r\n".encode(),
        f'--{boundary}\r\nContent-Disposition: form-data; name="action"\r\n\r\nupload\r\n'.encode(),
        f'--{boundary}\r\nContent-Disposition: form-data; name="resume"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + data
        + b"\r\n",
        f"--{boundary}--\r\n".encode(),
    ]
    # A prebuilt body keeps the test client from spooling it to a temporary file.
    return client.post(
        "/connect/resume",
        data=b"".join(parts),
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def stored_files(settings: Settings) -> list[Path]:
    return sorted(settings.upload_dir.glob("*")) if settings.upload_dir.exists() else []


def test_uploaded_resume_prefills_review_and_is_stored_on_submit(
    client: FlaskClient,
    settings: Settings,
    sessions: sessionmaker[Session],
    interests: dict[str, int],
) -> None:
    """A PDF resume fills the review form, and Submit Profile stores it with its parsed fields."""
    choose(client, interests["design"])
    r = upload(client, "cv.pdf", (CORPUS / "01_one_column.pdf").read_bytes())
    assert r.status_code == 302 and r.headers["Location"].endswith("/connect/review")
    review = client.get("/connect/review")
    assert 'value="Emily"' in review.text and 'value="(415) 555-2671"' in review.text
    assert "https://github.com/ecarter" in review.text
    # The resume mentions engineering keywords: that interest is suggested, never pre-ticked.
    assert re.search(rf'value="{interests["eng"]}"\s+data-suggested>', review.text)
    assert "Suggested from your resume" in review.text
    r = client.post(
        "/connect/review",
        data={
            "csrf_token": csrf_token(review.text),
            "first_name": "Emily",
            "last_name": "Carter",
            "email": "emily.carter@example.com",
            "interest": [str(interests["design"]), str(interests["eng"])],
            "alerts": "yes",
            "action": "submit",
        },
    )
    assert r.status_code == 302
    with session_scope(sessions) as session:
        resume = session.scalars(select(Resume)).one()
        assert resume.original_filename == "cv.pdf"
        assert resume.parsed_fields["phone"] == "+14155552671"
        assert (settings.upload_dir / resume.storage_name).is_file()
        assert session.scalar(select(func.count()).select_from(Subscription)) == 2


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("cv.pdf", b"MZ\x90\x00" + b"\x00" * 200, "PDF, Word"),
        ("empty.pdf", b"", "empty"),
        ("cv.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog", None),
    ],
    ids=["exe-named-pdf", "zero-bytes", "truncated-pdf"],
)
def test_hostile_uploads_get_a_clear_answer_and_no_500(
    client: FlaskClient,
    settings: Settings,
    interests: dict[str, int],
    name: str,
    data: bytes,
    message: str | None,
) -> None:
    """Executables, empty files and broken PDFs are refused or survive parsing; never a 500."""
    choose(client, interests["design"])
    r = upload(client, name, data)
    if message is None:
        # A truncated PDF is still a PDF: it is kept, the parse fails and the flow goes on.
        assert r.status_code == 302
        review = client.get("/connect/review")
        assert "read the text of" in review.text
    else:
        assert r.status_code == 400
        assert message.lower() in r.text.lower()
        assert stored_files(settings) == []


def test_docx_bomb_is_refused(
    client: FlaskClient, settings: Settings, interests: dict[str, int]
) -> None:
    """A DOCX whose entries inflate far beyond the limit is refused and not kept."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"\x00" * (120 * 1024 * 1024))
    choose(client, interests["design"])
    r = upload(client, "bomb.docx", buffer.getvalue())
    assert r.status_code == 400
    assert stored_files(settings) == []


def test_file_over_the_limit_gets_a_friendly_413(
    tmp_path: Path, database_url: str, sessions: sessionmaker[Session], interests: dict[str, int]
) -> None:
    """A file over MAX_UPLOAD_MB gets the friendly 413 page, and nothing is stored."""
    small = make_settings(tmp_path, database_url, MAX_UPLOAD_MB="1")
    app = create_app(small)
    client = app.test_client()
    choose(client, interests["design"])
    over_form_limit = upload(client, "big.pdf", b"%PDF-1.4\n" + b"0" * (3 * 1024 * 1024))
    assert over_form_limit.status_code == 413
    assert "That file is too large" in over_form_limit.text
    assert "Files can be up to 1 MB." in over_form_limit.text  # MAX_UPLOAD_MB, not a fixed 10
    client.get("/connect?lang=fr")
    french = upload(client, "big.pdf", b"%PDF-1.4\n" + b"0" * (3 * 1024 * 1024))
    assert "Les fichiers peuvent faire jusqu’à 1\u202fMo." in french.text  # noqa: RUF001
    just_over = upload(client, "big.pdf", b"%PDF-1.4\n" + b"0" * (1024 * 1024 + 10))
    assert just_over.status_code == 413
    assert stored_files(small) == []
    app.extensions["talentconnect"].engine.dispose()


def test_fifty_megabyte_upload_is_refused_without_a_broken_connection(
    client: FlaskClient, settings: Settings, interests: dict[str, int]
) -> None:
    """A 50 MB upload answers 413 with the friendly page."""
    choose(client, interests["design"])
    r = upload(client, "huge.pdf", b"%PDF-1.4\n" + b"0" * (50 * 1024 * 1024))
    assert r.status_code == 413 and "That file is too large" in r.text
    assert stored_files(settings) == []


def test_submissions_are_rate_limited_per_address(
    tmp_path: Path, database_url: str, interests: dict[str, int]
) -> None:
    """Past CONNECT_RATE_LIMIT, form posts get the friendly 429 page."""
    app = create_app(make_settings(tmp_path, database_url, CONNECT_RATE_LIMIT="3 per minute"))
    client = app.test_client()
    page = client.get("/connect/interests")
    token = csrf_token(page.text)
    codes = [
        client.post("/connect/interests", data={"csrf_token": token}).status_code for _ in range(4)
    ]
    assert codes == [400, 400, 400, 429]
    last = client.post("/connect/interests", data={"csrf_token": token})
    assert "Too many attempts" in last.text
    app.extensions["talentconnect"].engine.dispose()


def test_company_configuration_changes_texts_colour_and_required_fields(
    tmp_path: Path, database_url: str, sessions: sessionmaker[Session], interests: dict[str, int]
) -> None:
    """Button texts, brand colour, required fields and the resume step follow the settings."""
    app = create_app(
        make_settings(
            tmp_path,
            database_url,
            TEXTS='{"connect_button": "Join our network", "submit_button": "Send my profile"}',
            BRAND_COLOR="#7a1f5c",
            REQUIRED_FIELDS="first_name,phone",
            RESUME_STEP="false",
        )
    )
    client = app.test_client()
    home = client.get("/")
    assert "Join our network" in home.text and "Connect With Us" not in home.text
    assert "--brand: #7a1f5c" in client.get("/brand.css").text
    page = client.get("/connect/interests")
    r = client.post(
        "/connect/interests",
        data={"csrf_token": csrf_token(page.text), "interest": [str(interests["design"])]},
    )
    assert r.headers["Location"].endswith("/connect/review")  # no resume step
    review = client.get("/connect/review")
    assert "Send my profile" in review.text
    r = client.post(
        "/connect/review",
        data={
            "csrf_token": csrf_token(review.text),
            "first_name": "Ana",
            "email": "ana@example.com",
            "interest": [str(interests["design"])],
            "alerts": "yes",
            "action": "submit",
        },
    )
    assert r.status_code == 400 and "Phone is required." in r.text
    assert "Last name is required." not in r.text
    with session_scope(sessions) as session:
        assert session.scalar(select(func.count()).select_from(Candidate)) == 0
    app.extensions["talentconnect"].engine.dispose()


FIELDS = st.sampled_from(
    [
        "first_name",
        "last_name",
        "email",
        "phone",
        "location",
        "linkedin_url",
        "github_url",
        "portfolio_url",
        "interest",
        "alerts",
        "mass_email",
        "action",
    ]
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    form=st.lists(st.tuples(FIELDS, st.text(max_size=400)), max_size=14),
    path=st.sampled_from(
        ["/connect/details", "/connect/interests", "/connect/review", "/connect/confirm/resend"]
    ),
)
def test_malformed_form_fields_never_cause_a_500(
    client: FlaskClient,
    sessions: sessionmaker[Session],
    interests: dict[str, int],
    form: list[tuple[str, str]],
    path: str,
) -> None:
    """Any mix of junk field values gets a 302, 400 or 200 answer, never a server error."""
    page = client.get(path)
    data: dict[str, Any] = {"csrf_token": csrf_token(page.text)}
    for key, value in form:
        data.setdefault(key, []).append(value) if key == "interest" else data.update({key: value})
    r = client.post(path, data=data)
    assert r.status_code in (200, 302, 400), r.status_code
