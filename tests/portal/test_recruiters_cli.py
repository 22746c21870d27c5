"""`talentconnect recruiter create`, run as a real process against the test database."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from portal.auth.passwords import verify_password
from preferences.models import RecruiterRole, RecruiterUser
from tests.conftest import TEST_SECRET
from tests.portal.helpers import clean_env, csrf_token, login, talentconnect_command

BASE = "https://careers.acme.example.com"


def _run(
    args: list[str], tmp_path: Path, database_url: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    env = clean_env(
        DATABASE_URL=database_url,
        INSTANCE_DIR=str(tmp_path / "instance"),
        SECRET_KEYS=TEST_SECRET,
        BASE_URL=BASE,
    )
    return subprocess.run(
        [*talentconnect_command(), "recruiter", "create", *args],
        env=env,
        cwd=tmp_path,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _accounts(sessions: sessionmaker[Session]) -> list[tuple[str, str, str | None]]:
    with sessions() as s:
        rows = s.execute(
            select(RecruiterUser.email, RecruiterUser.role, RecruiterUser.password_hash)
        )
        return sorted((e, r.value, h) for e, r, h in rows)


def test_create_prints_a_one_time_login_link_that_works_once(
    app: Flask, tmp_path: Path, database_url: str, sessions: sessionmaker[Session]
) -> None:
    """Without --password-stdin the command prints a link that signs the recruiter in once."""
    result = _run(["Lee@Acme.example.com", "--role", "admin"], tmp_path, database_url)
    assert result.returncode == 0, result.stderr
    assert "created admin lee@acme.example.com" in result.stdout
    match = re.search(rf"{re.escape(BASE)}(/admin/login/\S+)", result.stdout)
    assert match is not None, result.stdout
    assert _accounts(sessions) == [("lee@acme.example.com", "admin", None)]
    client = app.test_client()
    page = client.get(match.group(1))
    assert page.status_code == 200
    response = client.post(match.group(1), data={"csrf_token": csrf_token(page.text)})
    assert response.status_code == 302
    assert client.get("/admin/recruiters").status_code == 200  # an admin's page
    again = app.test_client().get(match.group(1))
    assert again.status_code == 400 and "already used" in again.text


def test_password_stdin_sets_a_password_and_prints_no_link(
    app: Flask, tmp_path: Path, database_url: str, sessions: sessionmaker[Session]
) -> None:
    """--password-stdin reads the password; the recruiter then logs in with it."""
    password = "a long enough password"
    result = _run(
        ["sam@acme.example.com", "--password-stdin"], tmp_path, database_url, password + "\n"
    )
    assert result.returncode == 0, result.stderr
    assert "/admin/login/" not in result.stdout
    [(email, role, hashed)] = _accounts(sessions)
    assert (email, role) == ("sam@acme.example.com", RecruiterRole.RECRUITER.value)
    assert verify_password(hashed, password)
    assert login(app.test_client(), email, password).status_code == 302


def test_existing_or_bad_input_exits_2_and_changes_nothing(
    tmp_path: Path, database_url: str, sessions: sessionmaker[Session]
) -> None:
    """Taken or bad address, short or missing password: exit 2, a clear error, no change."""
    assert _run(["kim@acme.example.com"], tmp_path, database_url).returncode == 0
    before = _accounts(sessions)
    cases = [
        (["KIM@acme.example.com", "--role", "admin"], "", "already exists"),
        (["not-an-address"], "", "not a valid email address"),
        (["new@acme.example.com", "--password-stdin"], "short\n", "at least 12 characters"),
        (["new@acme.example.com", "--password-stdin"], "", "no password on standard input"),
        (["new@acme.example.com", "--role", "owner"], "", "Invalid value for '--role'"),
    ]
    for args, stdin, message in cases:
        result = _run(args, tmp_path, database_url, stdin)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
    assert _accounts(sessions) == before
