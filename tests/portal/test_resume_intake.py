"""Bounded resume intake in the web app: budgets, busy parsers, per-visitor caps and pruning."""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from portal.app import create_app
from portal.config import Settings
from portal.connect.uploads import (
    PendingUpload,
    check_upload_quota,
    prune_orphan_uploads,
    visitor_key,
)
from portal.migrate import upgrade
from portal.web.runtime import EXTENSION_KEY
from preferences.clock import now
from preferences.db import make_engine, session_scope
from preferences.models import Resume
from preferences.subscriptions import get_or_create_candidate
from tests.conftest import make_settings
from tests.portal.test_connect_uploads import choose, upload
from tests.portal.test_dashboard_resume import (
    assert_untouched,
    log_in,
    seed_member,
)
from tests.portal.test_dashboard_resume import (
    upload as dashboard_upload,
)
from tests.resumes.support import corpus_bytes, shared_stream_pdf

from .helpers import add_interest, clean_env, running_cli, wait_until

TOO_SLOW = "We couldn&#39;t read this file in time; please upload a simpler PDF or Word file"


def make_app(settings: Settings) -> Iterator[Flask]:
    application = create_app(settings)
    application.config["TESTING"] = True
    yield application
    application.extensions[EXTENSION_KEY].engine.dispose()


@pytest.fixture
def interest_id(sessions: sessionmaker[Session]) -> int:
    with session_scope(sessions) as session:
        return add_interest(session, "Software Engineering", position=1).id


def stored_files(settings: Settings) -> list[str]:
    folder = settings.upload_dir
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def pending(sessions: sessionmaker[Session]) -> list[PendingUpload]:
    with session_scope(sessions) as session:
        return list(session.scalars(select(PendingUpload)))


def hold_every_parse_slot(app: Flask) -> None:
    """Take the parser's slots, as that many parses in flight would."""
    parser = app.extensions[EXTENSION_KEY].parser
    for _ in range(parser.budget.concurrency):
        assert parser._slots.acquire(blocking=False)


# --- the connect flow -------------------------------------------------------------


@pytest.fixture
def slow_app(tmp_path: Path, database_url: str) -> Iterator[Flask]:
    """An app with a 0.2 s parse budget."""
    yield from make_app(make_settings(tmp_path, database_url, RESUME_PARSE_SECONDS="0.2"))


def slow_pdf() -> bytes:
    """A small PDF under every cap that still takes about a second to read: 20 pages showing
    one stream of 2,800 operations (56,000 in all)."""
    return shared_stream_pdf(pages=20, operations=2_800, first_line=b"Jane Doe")


def test_a_file_over_the_parse_budget_is_refused_at_the_field(
    slow_app: Flask,
    sessions: sessionmaker[Session],
    interest_id: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Over the budget: a message at the file field, nothing stored, size and kind logged."""
    settings = slow_app.extensions[EXTENSION_KEY].settings
    client = slow_app.test_client()
    choose(client, interest_id)
    data = slow_pdf()
    with caplog.at_level(logging.WARNING):
        r = upload(client, "cv.pdf", data)
    assert r.status_code == 400
    # At the field: the input is marked invalid and described by the message.
    assert f'<p class="field-error" id="error-resume">{TOO_SLOW}, or skip.</p>' in r.text
    assert 'aria-invalid="true"' in r.text
    assert stored_files(settings) == []
    assert pending(sessions) == []
    # The draft has no resume: the review step shows none.
    assert "cv.pdf" not in client.get("/connect/review").text
    record = next(r for r in caplog.records if "over the parse budget" in r.getMessage())
    assert (record.__dict__["kind"], record.__dict__["bytes"]) == ("pdf", len(data))
    assert "Jane" not in caplog.text  # never the content


def test_a_visitor_over_the_parser_limit_gets_503_with_retry_after(
    app: Flask, client: FlaskClient, settings: Settings, interest_id: int
) -> None:
    """Every parse slot busy: 503, Retry-After, the same form with a "try again" message."""
    choose(client, interest_id)
    hold_every_parse_slot(app)
    r = upload(client, "cv.pdf", corpus_bytes("01_one_column.pdf"))
    assert r.status_code == 503
    # At least our 5 s (the rate limiter may name its own, later, reset).
    assert r.headers["Retry-After"] == "5"
    assert "try again in a few seconds" in r.text
    assert 'name="resume"' in r.text
    assert stored_files(settings) == []


@pytest.fixture
def capped_app(tmp_path: Path, database_url: str) -> Iterator[Flask]:
    yield from make_app(make_settings(tmp_path, database_url, UPLOAD_VISITOR_MAX_FILES="2"))


def test_unclaimed_uploads_are_capped_per_visitor(
    capped_app: Flask, sessions: sessionmaker[Session], interest_id: int
) -> None:
    """Two drafts from one address are kept; a third visitor session from it is refused (429)."""
    settings = capped_app.extensions[EXTENSION_KEY].settings
    data = corpus_bytes("01_one_column.pdf")
    for _ in range(2):
        client = capped_app.test_client()  # a new cookie each time, as a script would
        choose(client, interest_id)
        assert upload(client, "cv.pdf", data).status_code == 302
    assert len(stored_files(settings)) == 2
    third = capped_app.test_client()
    choose(third, interest_id)
    r = upload(third, "cv.pdf", data)
    assert r.status_code == 429
    assert "aren&#39;t part of a profile yet" in r.text
    assert len(stored_files(settings)) == 2
    assert len(pending(sessions)) == 2


def test_replacing_a_draft_resume_frees_its_place(
    capped_app: Flask, sessions: sessionmaker[Session], interest_id: int
) -> None:
    """One visitor replacing their draft's file many times holds one file, never the cap."""
    settings = capped_app.extensions[EXTENSION_KEY].settings
    client = capped_app.test_client()
    choose(client, interest_id)
    for _ in range(4):
        assert upload(client, "cv.pdf", corpus_bytes("01_one_column.pdf")).status_code == 302
    assert len(stored_files(settings)) == 1
    assert [p.storage_name for p in pending(sessions)] == stored_files(settings)


def test_claimed_uploads_do_not_count_against_the_visitor(db_session: Session) -> None:
    """Files a profile claimed, and old ones, are outside the count."""
    visitor = visitor_key("k" * 32, "203.0.113.9")
    candidate, _ = get_or_create_candidate(db_session, "ana@example.com")
    for n in range(3):
        db_session.add(PendingUpload(storage_name=f"{n:032x}", visitor=visitor, size_bytes=10))
    db_session.add(
        PendingUpload(
            storage_name="f" * 32,
            visitor=visitor,
            size_bytes=10,
            created_at=now() - timedelta(hours=30),
        )
    )
    db_session.add(
        Resume(
            candidate_id=candidate.id,
            storage_name=f"{0:032x}",
            original_filename="cv.pdf",
            content_type="application/pdf",
            size_bytes=10,
            sha256="0" * 64,
        )
    )
    db_session.flush()
    # Two unclaimed and recent: under a cap of three, at a cap of two.
    check_upload_quota(db_session, visitor, max_files=3, max_bytes=1000)
    with pytest.raises(Exception, match="2 unclaimed files"):
        check_upload_quota(db_session, visitor, max_files=2, max_bytes=1000)
    with pytest.raises(Exception, match="unclaimed"):
        check_upload_quota(db_session, visitor, max_files=3, max_bytes=25, incoming_bytes=10)
    check_upload_quota(db_session, visitor_key("k" * 32, "198.51.100.1"), max_files=1, max_bytes=1)


# --- the dashboard ------------------------------------------------------------------


def test_dashboard_upload_over_the_budget_keeps_the_resume_on_file(
    slow_app: Flask, sessions: sessionmaker[Session]
) -> None:
    """On the dashboard a refused file changes nothing: old row, old file, no audit event."""
    settings = slow_app.extensions[EXTENSION_KEY].settings
    member = seed_member(sessions, settings)
    client = slow_app.test_client()
    log_in(client)
    r = dashboard_upload(client, "new.pdf", slow_pdf())
    assert r.status_code == 400
    assert TOO_SLOW + ".<" in r.text  # without the connect flow's "or skip"
    assert_untouched(sessions, settings, member)


def test_dashboard_upload_with_every_parser_busy_answers_503(
    app: Flask, client: FlaskClient, settings: Settings, sessions: sessionmaker[Session]
) -> None:
    """Busy on the dashboard: 503 with Retry-After, and the resume on file as it was."""
    member = seed_member(sessions, settings)
    log_in(client)
    hold_every_parse_slot(app)
    r = dashboard_upload(client, "new.pdf", corpus_bytes("01_one_column.pdf"))
    assert r.status_code == 503
    # At least our 5 s (the rate limiter may name its own, later, reset).
    assert r.headers["Retry-After"] == "5"
    assert "try again in a few seconds" in r.text
    assert_untouched(sessions, settings, member)


# --- pruning ------------------------------------------------------------------------


def test_prune_forgets_old_upload_records_and_their_files(
    db_session: Session, tmp_path: Path
) -> None:
    """An unclaimed upload older than the cut-off loses its file and its record."""
    folder = tmp_path / "uploads"
    folder.mkdir()
    old_name, new_name = "a" * 32, "b" * 32
    for name in (old_name, new_name):
        (folder / name).write_bytes(b"%PDF-1.4")
        db_session.add(PendingUpload(storage_name=name, visitor="v", size_bytes=8))
    db_session.flush()
    db_session.get_one(PendingUpload, old_name).created_at = now() - timedelta(hours=25)
    past = time.time() - 25 * 3600
    os.utime(folder / old_name, (past, past))
    db_session.flush()
    removed = prune_orphan_uploads(db_session, folder, older_than_hours=24)
    assert removed == [old_name]
    assert [p.storage_name for p in db_session.scalars(select(PendingUpload))] == [new_name]


def test_the_running_scheduler_prunes_unclaimed_uploads(tmp_path: Path) -> None:
    """`talentconnect scheduler` deletes abandoned uploads by itself, without a cron job."""
    database = tmp_path / "db.sqlite"
    env = clean_env(
        INSTANCE_DIR=str(tmp_path),
        DATABASE_URL=f"sqlite:///{database}",
        UPLOAD_UNCLAIMED_HOURS="1",
    )
    engine = make_engine(f"sqlite:///{database}")
    upgrade(engine)
    engine.dispose()
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    orphan, fresh = uploads / ("d" * 32), uploads / ("e" * 32)
    orphan.write_bytes(b"%PDF-1.4")
    fresh.write_bytes(b"%PDF-1.4")
    past = time.time() - 2 * 3600
    os.utime(orphan, (past, past))
    with running_cli(["scheduler"], env=env, cwd=tmp_path) as proc:
        proc.wait_for_output("scheduler started", timeout=30)
        wait_until(lambda: not orphan.exists(), timeout=30, what="the orphan to be pruned")
        assert fresh.exists()
        proc.signal(signal.SIGTERM)
        assert proc.wait(10) == 0, proc.output()
    assert "uploads pruned" in proc.stderr()
