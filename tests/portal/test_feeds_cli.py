"""`talentconnect feeds add|list|sync` and the scheduler's feed syncing, as real processes."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from jobs.feed_models import FeedSync
from jobs.models import JobPosting
from portal.migrate import upgrade
from preferences.db import make_engine, session_scope
from tests.portal.feed_server import (
    FeedServer,
    greenhouse_board,
    greenhouse_job,
    lever_posting,
    running_feed_server,
)
from tests.portal.helpers import clean_env, run_cli, running_cli, wait_until


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with running_feed_server() as running:
        yield running


@pytest.fixture
def env(database_url: str, tmp_path: Path, server: FeedServer) -> dict[str, str]:
    return clean_env(
        DATABASE_URL=database_url,
        INSTANCE_DIR=str(tmp_path / "instance"),
        FEED_ALLOWED_HOSTS=server.host,
    )


def _count(sessions: sessionmaker[Session], model: type) -> int:
    with session_scope(sessions) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_add_list_and_sync_print_the_report(
    env: dict[str, str], tmp_path: Path, server: FeedServer, sessions: sessionmaker[Session]
) -> None:
    """A feed added by the CLI syncs on demand; list and sync print what happened."""
    bad = lever_posting("l2", "Bad")
    bad["applyUrl"] = bad["hostedUrl"] = "ftp://nowhere"
    lever_url = server.serve("/v0/postings/acme", [lever_posting("l1", "Data Engineer"), bad])
    gh_url = server.serve("/v1/boards/acme/jobs", greenhouse_board(greenhouse_job(7, "SRE")))
    added = run_cli(
        ["feeds", "add", "lever-main", "--kind", "lever", "--url", lever_url + "?mode=json"],
        env=env,
        cwd=tmp_path,
    )
    assert added.returncode == 0, added.stderr
    assert "feed lever-main added" in added.stdout
    run_cli(
        ["feeds", "add", "gh", "--kind", "greenhouse", "--url", gh_url, "--interval", "30"],
        env=env,
        cwd=tmp_path,
    )
    listed = run_cli(["feeds", "list"], env=env, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "lever-main" in listed.stdout and "30 min" in listed.stdout
    assert "never" in listed.stdout
    synced = run_cli(["feeds", "sync", "lever-main"], env=env, cwd=tmp_path)
    assert synced.returncode == 0, synced.stderr
    assert "lever-main: rejected id l2: apply_url: 'ftp://nowhere' is not an https:// URL" in (
        synced.stdout
    )
    row = next(line for line in synced.stdout.splitlines() if line.startswith("│ lever-main"))
    cells = [cell.strip() for cell in row.split("│")][1:-1]
    assert cells == ["lever-main", "ok", "1", "0", "0", "0", "1"]
    assert _count(sessions, JobPosting) == 1
    every = run_cli(["feeds", "sync", "--all"], env=env, cwd=tmp_path)
    assert every.returncode == 0, every.stderr
    assert _count(sessions, JobPosting) == 2
    assert _count(sessions, FeedSync) == 3
    listed = run_cli(["feeds", "list"], env=env, cwd=tmp_path)
    assert " ok" in listed.stdout


def test_usage_errors_and_failures_exit_non_zero(
    env: dict[str, str], tmp_path: Path, server: FeedServer, sessions: sessionmaker[Session]
) -> None:
    """Bad input is a usage error (2); a failed sync prints its reason and exits 1."""
    bad = run_cli(
        ["feeds", "add", "Bad Name", "--kind", "lever", "--url", "http://example.com/"],
        env=env,
        cwd=tmp_path,
    )
    assert bad.returncode == 2
    assert "Enter a name of 1 to 40 lowercase letters" in bad.stderr
    assert "http:// is only for hosts in TALENTCONNECT_FEED_ALLOWED_HOSTS" in bad.stderr
    assert run_cli(["feeds", "sync"], env=env, cwd=tmp_path).returncode == 2
    unknown = run_cli(["feeds", "sync", "nope"], env=env, cwd=tmp_path)
    assert unknown.returncode == 2 and "no feed named 'nope'" in unknown.stderr
    run_cli(
        ["feeds", "add", "gone", "--kind", "json", "--url", server.url("/missing.json")],
        env=env,
        cwd=tmp_path,
    )
    failed = run_cli(["feeds", "sync", "gone"], env=env, cwd=tmp_path)
    assert failed.returncode == 1
    assert "gone: the server answered HTTP 404" in failed.stdout
    assert _count(sessions, JobPosting) == 0


def test_the_scheduler_syncs_enabled_feeds(tmp_path: Path, server: FeedServer) -> None:
    """`talentconnect scheduler` syncs a feed that was never synced, without being asked."""
    database = tmp_path / "db.sqlite"
    env = clean_env(
        INSTANCE_DIR=str(tmp_path),
        DATABASE_URL=f"sqlite:///{database}",
        FEED_ALLOWED_HOSTS=server.host,
    )
    engine = make_engine(f"sqlite:///{database}")
    upgrade(engine)
    url = server.serve("/jobs", greenhouse_board(greenhouse_job(1, "A"), greenhouse_job(2, "B")))
    added = run_cli(
        ["feeds", "add", "gh", "--kind", "greenhouse", "--url", url], env=env, cwd=tmp_path
    )
    assert added.returncode == 0, added.stderr

    def postings() -> int:
        with engine.connect() as conn:
            return conn.scalar(select(func.count()).select_from(JobPosting)) or 0

    with running_cli(["scheduler"], env=env, cwd=tmp_path) as proc:
        proc.wait_for_output("scheduler started", timeout=30)
        wait_until(lambda: postings() == 2, timeout=30, what="the feed to be synced")
        proc.signal(signal.SIGTERM)
        assert proc.wait(10) == 0, proc.output()
    engine.dispose()
    assert "feed synced" in proc.stderr()
