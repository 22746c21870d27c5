"""alert_run.finished: written with the row that finishes an alert run, and only then."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

import jobs.alerts as alerts_module
from jobs.alerts import run_instant, run_schedule
from jobs.models import AlertRun, AlertRunStatus, AlertSchedule, FrequencyClass, JobPosting
from preferences.clock import FrozenClock, frozen
from preferences.db import make_session_factory, session_scope
from preferences.events import WebhookEvent
from preferences.models import Candidate, Frequency, Interest, Subscription, SubscriptionStatus
from tests.webhook_events import assert_no_personal_data, stored_events

from .support import T0


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def clock() -> Iterator[FrozenClock]:
    with frozen(T0) as fixed:
        yield fixed


@pytest.fixture
def schedule_id(sessions: sessionmaker[Session], clock: FrozenClock) -> int:
    """Two daily subscribers to Engineering, two new Engineering jobs, a daily schedule."""
    with session_scope(sessions) as session:
        eng = Interest(name="Engineering", slug="eng")
        session.add(eng)
        session.flush()
        for name in ("dee", "eli"):
            person = Candidate(email=f"{name}@example.com", first_name=name.title())
            session.add(person)
            session.flush()
            session.add(
                Subscription(
                    candidate_id=person.id,
                    interest_id=eng.id,
                    status=SubscriptionStatus.SUBSCRIBED,
                    frequency=Frequency.DAILY,
                    last_alerted_at=T0 - timedelta(days=1),
                )
            )
        for n in (1, 2):
            session.add(
                JobPosting(
                    reference=f"R-{n}",
                    title=f"Engineer {n}",
                    apply_url="https://jobs.example.com/apply",
                    posted_at=T0 - timedelta(hours=1),
                    interests=[eng],
                )
            )
        schedule = AlertSchedule(
            name="Daily",
            all_interests=True,
            frequency_class=FrequencyClass.DAILY,
            cron="0 8 * * *",
            timezone="UTC",
        )
        session.add(schedule)
        session.flush()
        return schedule.id


def test_a_finished_run_is_one_event_with_its_counts(
    sessions: sessionmaker[Session], schedule_id: int
) -> None:
    """The run's id, schedule, status, matched, recipients and distinct jobs; no candidate."""
    summary = run_schedule(sessions, schedule_id, batch_size=1)  # two chunks
    facts = stored_events(sessions)
    assert facts == [
        (
            "alert_run.finished",
            None,
            {
                "alert_run_id": summary.run_id,
                "schedule_id": schedule_id,
                "status": "succeeded",
                "candidates_matched": 2,
                "recipients": 2,
                "jobs": 2,
            },
            None,
        )
    ]
    assert summary.jobs_listed == 4  # two jobs for each of two people: counted once each
    assert_no_personal_data(facts, "dee", "eli", "engineer")


def test_an_instant_run_that_found_nothing_leaves_no_run_and_no_event(
    sessions: sessionmaker[Session], schedule_id: int
) -> None:
    """No instant subscriber: no alert run row, so nothing to tell."""
    assert run_instant(sessions).run_id is None
    assert stored_events(sessions) == []


def test_a_failed_run_is_finished_too(
    sessions: sessionmaker[Session], schedule_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run that fails while matching is recorded failed, and its event says so."""

    def broken(*_args: Any) -> int:
        raise RuntimeError("database went away")

    monkeypatch.setattr(alerts_module, "_match", broken)
    summary = run_schedule(sessions, schedule_id)
    assert summary.status is AlertRunStatus.FAILED
    [fact] = stored_events(sessions, "alert_run.finished")
    assert fact[2]["status"] == "failed"
    assert fact[2]["alert_run_id"] == summary.run_id
    assert (fact[2]["recipients"], fact[2]["jobs"]) == (0, 0)


def test_when_finishing_fails_after_the_event_neither_is_stored(
    sessions: sessionmaker[Session], schedule_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last transaction breaks after the event's INSERT: the run stays unfinished, no event."""

    real = alerts_module._drop_temp

    def breaks(conn: Connection) -> None:
        real(conn)
        # Only in the last transaction, once the event is in (matching drops tables too).
        if conn.execute(select(func.count()).select_from(WebhookEvent)).scalar():
            raise RuntimeError("connection lost while finishing")

    monkeypatch.setattr(alerts_module, "_drop_temp", breaks)
    with pytest.raises(RuntimeError):
        run_schedule(sessions, schedule_id)
    assert stored_events(sessions) == []
    with sessions() as session:
        run = session.scalars(select(AlertRun)).one()
        assert (run.status, run.finished_at) == (AlertRunStatus.RUNNING, None)
