"""`talentconnect jobs import`, `candidates import` and `api-token`, run as real processes."""

from __future__ import annotations

import os
import pty
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from jobs.models import JobPosting
from portal.auth.api_tokens import ApiToken, authenticate_token, hash_token
from preferences.db import session_scope
from preferences.models import Candidate, SuppressionReason
from preferences.suppressions import suppress
from tests.conftest import TEST_SECRET
from tests.portal.helpers import add_interest, clean_env, run_cli, talentconnect_command

JOBS_CSV = (
    "reference,title,description,location,apply_url,interests,posted_at\n"
    "R-1,Backend Engineer,,Berlin,https://ats.example.com/1,engineering,2026-11-01\n"
    "R-2,Designer,,Remote,https://ats.example.com/2,,\n"
)


def cli_env(tmp_path: Path, database_url: str) -> dict[str, str]:
    return clean_env(
        DATABASE_URL=database_url,
        INSTANCE_DIR=str(tmp_path / "instance"),
        SECRET_KEYS=TEST_SECRET,
    )


@pytest.fixture
def engineering(sessions: sessionmaker[Session]) -> None:
    with session_scope(sessions) as session:
        add_interest(session, "Engineering", slug="engineering")


def references(sessions: sessionmaker[Session]) -> dict[str, str]:
    with sessions() as session:
        return {j.reference: j.title for j in session.scalars(select(JobPosting))}


def test_jobs_import_prints_a_summary_and_updates_on_a_second_run(
    tmp_path: Path, database_url: str, sessions: sessionmaker[Session], engineering: None
) -> None:
    """A good file is stored and summarized; importing it changed reports the update."""
    path = tmp_path / "jobs.csv"
    path.write_text(JOBS_CSV, encoding="utf-8")
    env = cli_env(tmp_path, database_url)
    first = run_cli(["jobs", "import", str(path)], env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "jobs: 2 created, 0 updated, 0 unchanged, 0 skipped" in first.stdout
    assert references(sessions) == {"R-1": "Backend Engineer", "R-2": "Designer"}
    path.write_text(JOBS_CSV.replace("Designer", "Senior Designer"), encoding="utf-8")
    second = run_cli(["jobs", "import", str(path)], env=env, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "jobs: 0 created, 1 updated, 1 unchanged, 0 skipped" in second.stdout
    assert references(sessions)["R-2"] == "Senior Designer"


def test_a_rejected_file_prints_every_bad_row_exits_1_and_stores_nothing(
    tmp_path: Path, database_url: str, sessions: sessionmaker[Session], engineering: None
) -> None:
    """Each bad row is printed as FILE:LINE: reason, the exit code is 1 and no posting is stored."""
    path = tmp_path / "jobs.csv"
    path.write_text(
        JOBS_CSV
        + "R-3,,,,https://ats.example.com/3,,\n"
        + "R-4,Engineer,,,ftp://ats.example.com/4,Astronomy,\n",
        encoding="utf-8",
    )
    result = run_cli(
        ["jobs", "import", str(path)], env=cli_env(tmp_path, database_url), cwd=tmp_path
    )
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert "jobs.csv:4: title: is required" in lines
    assert "jobs.csv:5: apply_url: 'ftp://ats.example.com/4' is not an https:// URL" in lines
    assert "jobs.csv:5: interests: unknown interest 'Astronomy'" in lines
    assert "3 problem(s); nothing was stored" in result.stderr
    assert result.stdout == ""
    assert references(sessions) == {}


def test_candidates_import_reports_skipped_addresses(
    tmp_path: Path, database_url: str, sessions: sessionmaker[Session], engineering: None
) -> None:
    """Candidates are created, and a suppressed address is listed as skipped with its reason."""
    with session_scope(sessions) as session:
        suppress(session, "spam@example.com", SuppressionReason.COMPLAINT)
    path = tmp_path / "pool.csv"
    path.write_text(
        "email,first_name,last_name,phone,interests,mass_email,consent_source,consent_at\n"
        "ana@example.com,Ana,,,engineering,yes,Fair,2024-01-01\n"
        "spam@example.com,S,,,engineering,yes,Fair,2024-01-01\n",
        encoding="utf-8",
    )
    result = run_cli(
        ["candidates", "import", str(path)], env=cli_env(tmp_path, database_url), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "skipped line 3: spam@example.com: the person reported our mail as spam" in result.stdout
    assert "candidates: 1 created, 0 updated, 0 unchanged, 1 skipped" in result.stdout
    with sessions() as session:
        assert list(session.scalars(select(Candidate.email))) == ["ana@example.com"]


def test_a_missing_file_is_a_usage_error(tmp_path: Path, database_url: str) -> None:
    """A file that does not exist exits 2 with click's usage message."""
    result = run_cli(
        ["jobs", "import", str(tmp_path / "nope.csv")],
        env=cli_env(tmp_path, database_url),
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "does not exist" in result.stderr


def test_import_shows_a_progress_bar_on_a_terminal(
    tmp_path: Path, database_url: str, sessions: sessionmaker[Session], engineering: None
) -> None:
    """With stderr on a terminal the import draws its progress bar there."""
    path = tmp_path / "jobs.csv"
    path.write_text(JOBS_CSV, encoding="utf-8")
    env = cli_env(tmp_path, database_url)
    env.pop("NO_COLOR", None)
    env["TERM"] = "xterm"
    primary, secondary = pty.openpty()
    try:
        process = subprocess.Popen(
            [*talentconnect_command(), "jobs", "import", str(path)],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=secondary,
        )
        os.close(secondary)
        out, _ = process.communicate(timeout=60)
        seen = b""
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(primary)
    assert process.returncode == 0
    assert b"Importing jobs" in seen
    assert b"jobs: 2 created" in out


def test_api_token_create_list_and_revoke(
    tmp_path: Path, database_url: str, sessions: sessionmaker[Session]
) -> None:
    """create prints the token once (only its hash is kept), list hides it, revoke disables it."""
    env = cli_env(tmp_path, database_url)
    made = run_cli(["api-token", "create", "greenhouse"], env=env, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("tc_") and len(token) > 40
    with sessions() as session:
        row = session.scalars(select(ApiToken)).one()
        assert row.token_hash == hash_token(token)
        assert authenticate_token(session, token) is not None
    listed = run_cli(["api-token", "list"], env=env, cwd=tmp_path)
    assert listed.returncode == 0
    assert "greenhouse" in listed.stdout and "active" in listed.stdout
    assert token not in listed.stdout
    duplicate = run_cli(["api-token", "create", "greenhouse"], env=env, cwd=tmp_path)
    assert duplicate.returncode == 2
    assert "already exists" in duplicate.stderr
    revoked = run_cli(["api-token", "revoke", "greenhouse"], env=env, cwd=tmp_path)
    assert revoked.returncode == 0
    assert "token greenhouse revoked" in revoked.stdout
    with sessions() as session:
        assert authenticate_token(session, token) is None
    again = run_cli(["api-token", "revoke", "greenhouse"], env=env, cwd=tmp_path)
    assert "already revoked" in again.stdout
    unknown = run_cli(["api-token", "revoke", "nobody"], env=env, cwd=tmp_path)
    assert unknown.returncode == 2
    assert "no token named 'nobody'" in unknown.stderr
    bad_name = run_cli(["api-token", "create", "has space"], env=env, cwd=tmp_path)
    assert bad_name.returncode == 2
    with sessions() as session:
        assert list(session.scalars(select(ApiToken.name))) == ["greenhouse"]
