"""Replacing and deleting the resume on file from the candidate dashboard."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from portal.app import create_app
from portal.auth.accounts import set_password
from portal.config import Settings
from portal.resumes import EmptyFile, NoFileChosen, UnsafeArchive, UnsupportedFile, store_upload
from portal.web.phrases import local_size
from preferences.clock import now
from preferences.db import session_scope
from preferences.models import AuditEvent, Candidate, Resume, ResumeSource
from preferences.subscriptions import get_or_create_candidate
from tests.conftest import make_settings
from tests.resumes.support import ELF_HEADER, PNG_BYTES, corpus_bytes, docx_bomb

from .helpers import add_interest, csrf_token

EMAIL = "ana@example.com"
PASSWORD = "a long enough passphrase"
OLD_NAME = "Ana Lima CV.txt"
MB = 1024 * 1024


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """The test settings with a 1 MB upload cap, so "too large" is cheap to reach."""
    return make_settings(tmp_path, database_url, MAX_UPLOAD_MB="1")


@dataclass(frozen=True)
class Member:
    """Ana, who can log in with a password and has a plain-text resume on file."""

    id: int
    public_id: str
    resume_id: int
    storage_name: str
    data: bytes


def seed_member(
    sessions: sessionmaker[Session], settings: Settings, *, with_resume: bool = True
) -> Member:
    data = corpus_bytes("08_plain.txt")
    with session_scope(sessions) as session:
        software = add_interest(session, "Software Engineering")
        software.keywords = ["python", "kubernetes"]
        candidate, _ = get_or_create_candidate(session, EMAIL, first_name="Ana")
        set_password(candidate, PASSWORD)
        if not with_resume:
            session.flush()
            return Member(candidate.id, candidate.public_id, 0, "", b"")
        stored = store_upload(io.BytesIO(data), OLD_NAME, settings.upload_dir, max_bytes=MB)
        resume = Resume(
            storage_name=stored.storage_name,
            original_filename=stored.original_filename,
            content_type=stored.content_type,
            size_bytes=stored.size_bytes,
            sha256=stored.sha256,
            parsed_fields={"first_name": "Marcus"},
            source=ResumeSource.UPLOAD,
        )
        candidate.resumes.append(resume)
        session.flush()
        return Member(candidate.id, candidate.public_id, resume.id, stored.storage_name, data)


@pytest.fixture
def member(sessions: sessionmaker[Session], settings: Settings) -> Member:
    return seed_member(sessions, settings)


def log_in(client: FlaskClient) -> None:
    page = client.get("/login")
    r = client.post(
        "/login",
        data={
            "csrf_token": csrf_token(page.text),
            "email": EMAIL,
            "password": PASSWORD,
            "action": "password",
        },
    )
    assert r.status_code == 302 and r.headers["Location"].endswith("/dashboard")


def upload(client: FlaskClient, name: str, data: bytes, *, token: str | None = None) -> Any:
    """Post the dashboard's resume form with a file, as a browser would."""
    if token is None:
        token = csrf_token(client.get("/dashboard").text)
    boundary = "----talentconnect-test-boundary"
    body = b"".join(
        [
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
            f"{token}\r\n".encode(),
            f'--{boundary}\r\nContent-Disposition: form-data; name="resume"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n".encode(),
            data,
            f"\r\n--{boundary}--\r\n".encode(),
        ]
    )
    # A prebuilt body keeps the test client from spooling it to a temporary file.
    return client.post(
        "/dashboard/resume",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def files(settings: Settings) -> list[str]:
    """Names of everything in the upload folder."""
    if not settings.upload_dir.exists():
        return []
    return sorted(p.name for p in settings.upload_dir.iterdir())


def resumes(sessions: sessionmaker[Session], member: Member) -> list[Resume]:
    with session_scope(sessions) as session:
        return list(
            session.scalars(
                select(Resume).where(Resume.candidate_id == member.id).order_by(Resume.id)
            )
        )


def audit(sessions: sessionmaker[Session], member: Member) -> list[tuple[str, str, dict[str, Any]]]:
    with session_scope(sessions) as session:
        return [
            (e.actor, e.action, e.detail)
            for e in session.scalars(
                select(AuditEvent)
                .where(AuditEvent.subject == member.public_id)
                .order_by(AuditEvent.id)
            )
        ]


def assert_untouched(sessions: sessionmaker[Session], settings: Settings, member: Member) -> None:
    """The seeded resume row, and its file byte for byte, are all there is."""
    [row] = resumes(sessions, member)
    assert (row.id, row.storage_name, row.original_filename) == (
        member.resume_id,
        member.storage_name,
        OLD_NAME,
    )
    assert row.sha256 == hashlib.sha256(member.data).hexdigest()
    assert row.parsed_fields == {"first_name": "Marcus"}
    assert files(settings) == [member.storage_name]
    assert (settings.upload_dir / member.storage_name).read_bytes() == member.data
    assert [action for _, action, _ in audit(sessions, member)] == []


def test_home_shows_the_resume_on_file_with_replace_and_delete(
    client: FlaskClient, member: Member
) -> None:
    """The dashboard's "Your resume" card names the file, its size and date, and both actions."""
    log_in(client)
    page = client.get("/dashboard")
    assert page.status_code == 200
    assert "Your resume" in page.text
    assert OLD_NAME in page.text
    assert f"{len(member.data) // 1024 or 1} kB" in page.text  # Babel's unit (CLDR)
    assert now().strftime("%b %-d, %Y") in page.text
    assert 'enctype="multipart/form-data"' in page.text
    assert '<label for="field-resume">Replace it with a new file</label>' in page.text
    assert "Replace resume" in page.text
    assert 'href="/dashboard/resume/delete"' in page.text
    assert "up to 1 MB" in page.text


def test_without_a_resume_the_card_offers_an_upload_that_adds_one(
    client: FlaskClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    """No resume on file: an upload form and no delete; uploading adds the row and the file."""
    member = seed_member(sessions, settings, with_resume=False)
    log_in(client)
    page = client.get("/dashboard")
    assert "You have no resume on file." in page.text
    assert "Upload resume" in page.text and "/dashboard/resume/delete" not in page.text
    assert files(settings) == []

    r = upload(client, "cv.pdf", corpus_bytes("01_one_column.pdf"))
    assert r.status_code == 302 and r.headers["Location"].endswith("/dashboard#resume")
    [row] = resumes(sessions, member)
    assert row.original_filename == "cv.pdf" and row.content_type == "application/pdf"
    assert files(settings) == [row.storage_name]
    assert [a for _, a, _ in audit(sessions, member)] == ["resume.added"]
    assert "Your resume cv.pdf is uploaded." in client.get("/dashboard").text


def test_replace_stores_the_new_file_updates_the_row_and_removes_the_old_file(
    client: FlaskClient, sessions: sessionmaker[Session], settings: Settings, member: Member
) -> None:
    """Replace: the same row now describes the new file, parsed; only the new file remains."""
    log_in(client)
    new = corpus_bytes("01_one_column.pdf")
    r = upload(client, "Emily Carter.pdf", new)
    assert r.status_code == 302 and r.headers["Location"].endswith("/dashboard#resume")

    [row] = resumes(sessions, member)
    assert row.id == member.resume_id
    assert row.storage_name != member.storage_name
    assert row.original_filename == "Emily Carter.pdf"
    assert row.content_type == "application/pdf" and row.size_bytes == len(new)
    assert row.sha256 == hashlib.sha256(new).hexdigest()
    assert row.source is ResumeSource.UPLOAD
    # Parsed afresh: the old file's fields are gone, the new file's are there.
    assert row.parsed_fields["email"] == "emily.carter@example.com"
    assert row.parsed_fields["first_name"] == "Emily"
    assert files(settings) == [row.storage_name]
    assert (settings.upload_dir / row.storage_name).read_bytes() == new
    assert not (settings.upload_dir / member.storage_name).exists()

    [(actor, action, detail)] = audit(sessions, member)
    assert (actor, action) == ("candidate", "resume.replaced")
    assert detail == {
        "resume_id": member.resume_id,
        "content_type": "application/pdf",
        "size_bytes": len(new),
    }

    page = client.get("/dashboard")
    assert "Your resume is replaced with Emily Carter.pdf." in page.text
    assert "Emily Carter.pdf" in page.text and OLD_NAME not in page.text


HOSTILE = {
    "program": ("resume.pdf", ELF_HEADER, 400, UnsupportedFile.message),
    "image": ("photo.pdf", PNG_BYTES, 400, UnsupportedFile.message),
    "empty": ("empty.pdf", b"", 400, EmptyFile.message),
    "zip bomb": ("bomb.docx", docx_bomb(2), 400, UnsafeArchive.message),
    "too large": (
        "big.pdf",
        b"%PDF-1.4\n" + b"0" * (MB + 10),
        413,
        "That file is too large. Please upload a resume smaller than 1 MB.",
    ),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_refused_upload_says_why_and_leaves_the_resume_on_file_alone(
    client: FlaskClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    member: Member,
    case: str,
) -> None:
    """Wrong type, empty, zip bomb or too large: a clear message, and nothing stored or changed."""
    name, data, status, message = HOSTILE[case]
    log_in(client)
    r = upload(client, name, data)
    assert r.status_code == status
    assert str(escape(message)) in r.text
    assert 'role="alert" id="resume-error"' in r.text
    assert 'aria-invalid="true"' in r.text
    assert "<title>Error: Dashboard" in r.text
    assert OLD_NAME in r.text  # the card still shows the resume on file
    assert_untouched(sessions, settings, member)


def test_a_post_without_a_file_asks_for_one(
    client: FlaskClient, sessions: sessionmaker[Session], settings: Settings, member: Member
) -> None:
    """Pressing Replace with no file chosen asks for one and changes nothing."""
    log_in(client)
    token = csrf_token(client.get("/dashboard").text)
    for data in (
        {"csrf_token": token},
        {"csrf_token": token, "resume": (io.BytesIO(b""), "")},
    ):
        r = client.post("/dashboard/resume", data=data, content_type="multipart/form-data")
        assert r.status_code == 400 and NoFileChosen.message in r.text
    assert_untouched(sessions, settings, member)


def test_a_body_over_the_request_limit_gets_the_413_page_and_changes_nothing(
    client: FlaskClient, sessions: sessionmaker[Session], settings: Settings, member: Member
) -> None:
    """A request larger than the form limit is refused before any view runs."""
    log_in(client)
    r = upload(client, "huge.pdf", b"%PDF-1.4\n" + b"0" * (3 * MB))
    assert r.status_code == 413 and "That file is too large" in r.text
    assert_untouched(sessions, settings, member)


def test_delete_asks_first_then_removes_the_row_and_the_file(
    client: FlaskClient, sessions: sessionmaker[Session], settings: Settings, member: Member
) -> None:
    """GET shows a confirmation and changes nothing; the POST deletes the row and the file."""
    log_in(client)
    page = client.get("/dashboard/resume/delete")
    assert page.status_code == 200
    assert "Delete your resume?" in page.text and OLD_NAME in page.text
    assert "Keep my resume" in page.text
    assert_untouched(sessions, settings, member)

    r = client.post("/dashboard/resume/delete", data={"csrf_token": csrf_token(page.text)})
    assert r.status_code == 302 and r.headers["Location"].endswith("/dashboard#resume")
    assert resumes(sessions, member) == []
    assert files(settings) == []
    [(actor, action, detail)] = audit(sessions, member)
    assert (actor, action) == ("candidate", "resume.deleted")
    assert detail["resume_id"] == member.resume_id and OLD_NAME not in str(detail)

    home = client.get("/dashboard")
    assert "Your resume is deleted." in home.text
    assert "You have no resume on file." in home.text
    # Nothing left to delete: the confirmation page sends the candidate back.
    again = client.get("/dashboard/resume/delete")
    assert again.status_code == 302
    assert "You have no resume on file." in client.get("/dashboard").text


def _refuse_writes_to_resumes(engine: Engine, backend: str) -> str:
    """Install a trigger that fails every change to a resume row; return the DROP statement.

    On PostgreSQL it is a deferred constraint trigger, so it fails at COMMIT itself.
    """
    with engine.begin() as conn:
        if backend == "sqlite":
            for op in ("UPDATE", "DELETE"):
                conn.execute(
                    text(
                        f"CREATE TRIGGER refuse_{op.lower()} BEFORE {op} ON resumes "
                        "BEGIN SELECT RAISE(ABORT, 'refused by test'); END"
                    )
                )
            return "DROP TRIGGER refuse_update; DROP TRIGGER refuse_delete"
        conn.execute(
            text(
                "CREATE FUNCTION refuse_resume_change() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'refused by test'; END $$"
            )
        )
        conn.execute(
            text(
                "CREATE CONSTRAINT TRIGGER refuse_resume_change AFTER UPDATE OR DELETE "
                "ON resumes DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
                "EXECUTE FUNCTION refuse_resume_change()"
            )
        )
    return "DROP TRIGGER refuse_resume_change ON resumes; DROP FUNCTION refuse_resume_change()"


@pytest.mark.parametrize("operation", ["replace", "delete"])
def test_when_the_database_refuses_the_change_the_old_file_stays(
    client: FlaskClient,
    engine: Engine,
    backend: str,
    sessions: sessionmaker[Session],
    settings: Settings,
    member: Member,
    operation: str,
) -> None:
    """The old file is deleted only after the commit: a failed write or commit keeps it."""
    log_in(client)
    token = csrf_token(client.get("/dashboard").text)
    drop = _refuse_writes_to_resumes(engine, backend)
    try:
        if operation == "replace":
            r = upload(client, "new.pdf", corpus_bytes("01_one_column.pdf"), token=token)
        else:
            r = client.post("/dashboard/resume/delete", data={"csrf_token": token})
    finally:
        with engine.begin() as conn:
            for statement in drop.split("; "):
                conn.execute(text(statement))
    assert r.status_code == 500
    [row] = resumes(sessions, member)
    assert (row.id, row.storage_name) == (member.resume_id, member.storage_name)
    assert (settings.upload_dir / member.storage_name).read_bytes() == member.data
    # The audit event was rolled back with the change it described.
    assert audit(sessions, member) == []


def test_resume_forms_need_a_csrf_token(
    client: FlaskClient, sessions: sessionmaker[Session], settings: Settings, member: Member
) -> None:
    """Replace and delete posts without the form's CSRF token are refused and change nothing."""
    log_in(client)
    r = client.post(
        "/dashboard/resume",
        data={"resume": (io.BytesIO(corpus_bytes("01_one_column.pdf")), "new.pdf")},
        content_type="multipart/form-data",
    )
    refused = str(escape("We couldn't verify that form"))
    assert r.status_code == 400 and refused in r.text
    r = client.post("/dashboard/resume/delete", data={"csrf_token": "forged"})
    assert r.status_code == 400 and refused in r.text
    assert_untouched(sessions, settings, member)


def test_resume_pages_send_visitors_without_a_session_to_log_in(
    client: FlaskClient, sessions: sessionmaker[Session], settings: Settings, member: Member
) -> None:
    """Without a session (even with a valid CSRF token) every resume route redirects to login."""
    token = csrf_token(client.get("/login").text)
    answers = [
        client.get("/dashboard/resume/delete"),
        client.post("/dashboard/resume/delete", data={"csrf_token": token}),
        upload(client, "new.pdf", corpus_bytes("01_one_column.pdf"), token=token),
        client.get("/dashboard/resume"),
    ]
    for r in answers:
        assert r.status_code == 302 and r.headers["Location"].endswith("/login"), r.request.path
    assert_untouched(sessions, settings, member)


def test_a_reload_of_the_upload_address_shows_the_dashboard(
    client: FlaskClient, member: Member
) -> None:
    """GET /dashboard/resume (reloading the page an error came back on) goes to the card."""
    log_in(client)
    r = client.get("/dashboard/resume")
    assert r.status_code == 302 and r.headers["Location"].endswith("/dashboard#resume")


def test_resume_posts_are_rate_limited(
    tmp_path: Path, database_url: str, sessions: sessionmaker[Session], member: Member
) -> None:
    """Past CONNECT_RATE_LIMIT, replace and delete posts get the 429 page."""
    app = create_app(
        make_settings(tmp_path, database_url, MAX_UPLOAD_MB="1", CONNECT_RATE_LIMIT="2 per minute")
    )
    try:
        client = app.test_client()
        log_in(client)
        token = csrf_token(client.get("/dashboard").text)
        codes = [
            client.post(
                "/dashboard/resume", data={"csrf_token": token}, content_type="multipart/form-data"
            ).status_code
            for _ in range(3)
        ]
        assert codes == [400, 400, 429]
        deletes = [
            client.post("/dashboard/resume/delete", data={"csrf_token": token}).status_code
            for _ in range(3)
        ]
        assert deletes == [302, 302, 429]
        last = client.post("/dashboard/resume/delete", data={"csrf_token": token})
        assert "Too many attempts" in last.text
    finally:
        app.extensions["talentconnect"].engine.dispose()


def test_the_newest_of_several_resumes_is_the_one_shown_and_deleted(
    client: FlaskClient, sessions: sessionmaker[Session], settings: Settings, member: Member
) -> None:
    """With two resumes (a second connect), the card and Delete act on the newest one."""
    newer = store_upload(
        io.BytesIO(corpus_bytes("01_one_column.pdf")),
        "newer.pdf",
        settings.upload_dir,
        max_bytes=MB,
    )
    with session_scope(sessions) as session:
        candidate = session.get_one(Candidate, member.id)
        candidate.resumes.append(
            Resume(
                storage_name=newer.storage_name,
                original_filename=newer.original_filename,
                content_type=newer.content_type,
                size_bytes=newer.size_bytes,
                sha256=newer.sha256,
            )
        )
    log_in(client)
    assert "newer.pdf" in client.get("/dashboard/resume/delete").text
    page = client.get("/dashboard")
    assert "newer.pdf" in page.text and OLD_NAME not in page.text
    client.post("/dashboard/resume/delete", data={"csrf_token": csrf_token(page.text)})
    [row] = resumes(sessions, member)
    assert row.storage_name == member.storage_name
    assert files(settings) == [member.storage_name]
    assert OLD_NAME in client.get("/dashboard").text


@pytest.mark.parametrize(
    ("lang", "sizes"),
    [("en", ("1.5 MB", "2 kB")), ("fr", ("1,5\u00a0Mo", "2\u00a0ko")), ("de", ("1,5 MB", "2 kB"))],
)
def test_file_sizes_are_written_as_the_page_language_writes_them(
    app: Flask, lang: str, sizes: tuple[str, str]
) -> None:
    """A resume's size (and an upload cap) uses the language's decimal mark and unit."""
    with app.test_request_context(f"/?lang={lang}"):
        shown = (local_size(1536 * 1024), local_size(2048))
    assert tuple(s.replace("\u202f", "\u00a0") for s in shown) == sizes
