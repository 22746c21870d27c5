"""`talentconnect preference-link EMAIL`, run as a real process, for support staff."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from preferences.db import session_scope
from preferences.models import Candidate, CandidateStatus
from preferences.subscriptions import get_or_create_candidate
from preferences.tokens import LinkPurpose, candidate_for_link, read_link_token
from tests.conftest import TEST_SECRET
from tests.portal.helpers import clean_env, run_cli

BASE_URL = "https://careers.acme.example.com"


def cli_env(tmp_path: Path, database_url: str) -> dict[str, str]:
    return clean_env(
        DATABASE_URL=database_url,
        INSTANCE_DIR=str(tmp_path / "instance"),
        SECRET_KEYS=TEST_SECRET,
        BASE_URL=BASE_URL,
    )


@pytest.fixture
def ana_id(sessions: sessionmaker[Session]) -> str:
    with session_scope(sessions) as session:
        candidate, _ = get_or_create_candidate(session, "ana@example.com", first_name="Ana")
        return candidate.public_id


def test_prints_a_preference_url_that_names_the_candidate(
    tmp_path: Path, database_url: str, sessions: sessionmaker[Session], ana_id: str
) -> None:
    """The command prints one URL whose token is a valid preferences token for that candidate."""
    result = run_cli(
        ["preference-link", "  Ana@Example.com "], env=cli_env(tmp_path, database_url), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    url = lines[0]
    assert url.startswith(f"{BASE_URL}/preferences/")
    token = url.removeprefix(f"{BASE_URL}/preferences/")
    data = read_link_token([TEST_SECRET], LinkPurpose.PREFERENCES, token)
    assert data.public_id == ana_id
    with session_scope(sessions) as session:
        assert candidate_for_link(session, data).email == "ana@example.com"


@pytest.mark.parametrize("email", ["nobody@example.com", "not an address"])
def test_an_unknown_address_exits_1_with_one_line_on_stderr(
    tmp_path: Path, database_url: str, ana_id: str, email: str
) -> None:
    """An address with no candidate prints nothing on stdout and one clear line on stderr."""
    result = run_cli(["preference-link", email], env=cli_env(tmp_path, database_url), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        f"talentconnect: no active candidate with the address {email}"
    ]


def test_an_erased_candidate_gets_no_link(
    tmp_path: Path, database_url: str, sessions: sessionmaker[Session], ana_id: str
) -> None:
    """A deleted (erased) candidate is treated like an unknown address: exit 1, no URL."""
    with session_scope(sessions) as session:
        candidate = session.scalars(select(Candidate).where(Candidate.public_id == ana_id)).one()
        candidate.status = CandidateStatus.DELETED
    result = run_cli(
        ["preference-link", "ana@example.com"], env=cli_env(tmp_path, database_url), cwd=tmp_path
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
