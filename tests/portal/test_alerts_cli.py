"""`talentconnect alerts list` and `alerts run`, run as real processes against a real database."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from jobs.models import AlertRun, AlertRunStatus, AlertSchedule, FrequencyClass
from mailer.models import OutboxMessage
from preferences.clock import now
from preferences.db import session_scope
from preferences.models import Candidate, Subscription, SubscriptionStatus
from tests.portal.helpers import add_interest, add_job, clean_env, run_cli


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return clean_env(DATABASE_URL=database_url, INSTANCE_DIR=str(tmp_path / "instance"))


@pytest.fixture
def seeded(sessions: sessionmaker[Session]) -> None:
    """Ana subscribed daily to Engineering, one new job, and four schedules."""
    at = now()
    with session_scope(sessions) as session:
        engineering = add_interest(session, "Engineering")
        design = add_interest(session, "Design")
        ana = Candidate(email="ana@example.com", first_name="Ana")
        session.add(ana)
        session.flush()
        session.add(
            Subscription(
                candidate_id=ana.id,
                interest_id=engineering.id,
                status=SubscriptionStatus.SUBSCRIBED,
                last_alerted_at=at - timedelta(days=1),
            )
        )
        add_job(
            session, "Backend engineer", interests=[engineering], posted_at=at - timedelta(hours=1)
        )
        session.add_all(
            [
                # Created days ago, so a 08:00 run has come and gone: due.
                AlertSchedule(name="Daily", cron="0 8 * * *", created_at=at - timedelta(days=3)),
                AlertSchedule(
                    name="Weekly design",
                    all_interests=False,
                    interests=[design],
                    frequency_class=FrequencyClass.WEEKLY,
                    cron="0 9 * * mon",
                    timezone="Europe/Berlin",
                    enabled=False,
                    created_at=at - timedelta(days=30),
                ),
                # Its first run is next New Year: not due.
                AlertSchedule(name="New year", cron="0 0 1 1 *", created_at=at),
                AlertSchedule(name="Broken", cron="61 * * * *", created_at=at - timedelta(days=3)),
            ]
        )


def runs(sessions: sessionmaker[Session]) -> list[tuple[str, AlertRunStatus, int]]:
    with sessions() as session:
        return [
            (name, status, queued)
            for name, status, queued in session.execute(
                select(AlertSchedule.name, AlertRun.status, AlertRun.digests_queued)
                .join(AlertSchedule, AlertSchedule.id == AlertRun.schedule_id)
                .order_by(AlertRun.id)
            )
        ]


def outbox_count(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(OutboxMessage)) or 0


def test_alerts_list_prints_every_schedule_with_its_next_run(
    env: dict[str, str], tmp_path: Path, seeded: None
) -> None:
    """Name, interests, class, cadence, timezone, enabled and next run (or why there is none)."""
    result = run_cli(["alerts", "list"], env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = {line.split("│")[1].strip(): line for line in result.stdout.splitlines() if "│" in line}
    daily = [cell.strip() for cell in lines["Daily"].split("│")[1:-1]]
    assert daily[:6] == ["Daily", "all", "daily", "0 8 * * *", "UTC", "yes"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d 08:00 UTC", daily[6]), daily
    weekly = [cell.strip() for cell in lines["Weekly design"].split("│")[1:-1]]
    assert weekly == [
        "Weekly design",
        "Design",
        "weekly",
        "0 9 * * mon",
        "Europe/Berlin",
        "no",
        "(disabled)",
    ]
    assert "bad cadence" in lines["Broken"]
    assert "4 schedule(s)" in result.stdout


def test_alerts_run_one_schedule_queues_the_digest_once(
    env: dict[str, str], tmp_path: Path, seeded: None, sessions: sessionmaker[Session]
) -> None:
    """--schedule NAME runs it and prints a summary; a second run lists no job again."""
    result = run_cli(["alerts", "run", "--schedule", "Daily"], env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert re.search(r"Daily\s*│\s*1\s*│\s*succeeded\s*│\s*1\s*│\s*1\s*│\s*1\s*│", result.stdout)
    assert "nothing queued" not in result.stdout
    again = run_cli(["alerts", "run", "--schedule", "Daily"], env=env, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    # A run that queues nothing says why, with counts.
    assert "Daily: nothing queued. No new jobs since the last alert: 1 subscriber" in " ".join(
        again.stdout.split()
    )
    assert runs(sessions) == [
        ("Daily", AlertRunStatus.SUCCEEDED, 1),
        ("Daily", AlertRunStatus.SUCCEEDED, 0),
    ]
    assert outbox_count(sessions) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "exactly one of --schedule NAME, --all-due or --all"),
        (["--all", "--all-due"], "exactly one of --schedule NAME, --all-due or --all"),
        (["--schedule", "Nope"], "no schedule named 'Nope'"),
        (["--schedule", "Weekly design"], "is disabled"),
        (["--batch-size", "0", "--all"], "--batch-size"),
    ],
)
def test_alerts_run_usage_errors_exit_2_and_change_nothing(
    env: dict[str, str],
    tmp_path: Path,
    seeded: None,
    sessions: sessionmaker[Session],
    args: list[str],
    message: str,
) -> None:
    """Bad options say what is wrong, exit 2, and record no run."""
    result = run_cli(["alerts", "run", *args], env=env, cwd=tmp_path)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert message in result.stderr
    assert runs(sessions) == []
    assert outbox_count(sessions) == 0


def test_all_due_runs_only_schedules_past_a_scheduled_time_and_all_runs_every_enabled_one(
    env: dict[str, str], tmp_path: Path, seeded: None, sessions: sessionmaker[Session]
) -> None:
    """--all-due picks Daily once; --all then runs every enabled schedule, due or not."""
    due = run_cli(["alerts", "run", "--all-due"], env=env, cwd=tmp_path)
    assert due.returncode == 0, due.stderr
    assert runs(sessions) == [("Daily", AlertRunStatus.SUCCEEDED, 1)]
    nothing = run_cli(["alerts", "run", "--all-due"], env=env, cwd=tmp_path)
    assert nothing.returncode == 0, nothing.stderr
    assert "no schedule to run" in nothing.stdout
    everything = run_cli(["alerts", "run", "--all"], env=env, cwd=tmp_path)
    assert everything.returncode == 0, everything.stderr
    assert sorted(name for name, _, _ in runs(sessions)[1:]) == ["Broken", "Daily", "New year"]
    assert outbox_count(sessions) == 1
