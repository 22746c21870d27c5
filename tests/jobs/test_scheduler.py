"""The alert scheduler keeps one APScheduler job per enabled, valid alert schedule."""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, delete, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from jobs.models import AlertRun, AlertSchedule
from jobs.scheduler import (
    INSTANT_JOB_ID,
    RELOAD_JOB_ID,
    AdvisoryLock,
    AlertScheduler,
    PeriodicTask,
    SingleSchedulerLock,
    cron_trigger,
    next_fire_times,
)
from preferences.clock import frozen, now
from preferences.db import make_engine, make_session_factory, session_scope

NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def add_schedule(factory: sessionmaker[Session]) -> Callable[..., int]:
    """Commit one alert schedule and return its id."""

    def add(name: str, cron: str = "0 8 * * *", timezone: str = "UTC", enabled: bool = True) -> int:
        with session_scope(factory) as session:
            row = AlertSchedule(name=name, cron=cron, timezone=timezone, enabled=enabled)
            session.add(row)
            session.flush()
            return row.id

    return add


@pytest.fixture
def fired() -> list[tuple[int, str]]:
    return []


@pytest.fixture
def fired_event() -> threading.Event:
    return threading.Event()


@pytest.fixture
def scheduler(
    factory: sessionmaker[Session], fired: list[tuple[int, str]], fired_event: threading.Event
) -> Iterator[AlertScheduler]:
    def run_schedule(_factory: sessionmaker[Session], schedule_id: int) -> None:
        with session_scope(factory) as session:
            name = session.get_one(AlertSchedule, schedule_id).name
        fired.append((schedule_id, name))
        fired_event.set()

    # A long reload interval: reloads in these tests happen only when the test asks.
    instance = AlertScheduler(
        factory,
        reload_seconds=3600,
        instant_seconds=3600,
        run_schedule=run_schedule,
        run_instant=lambda _factory: None,
        lock_key=secrets.randbits(62),
    )
    try:
        yield instance
    finally:
        instance.shutdown()


def job(scheduler: AlertScheduler, schedule_id: int) -> Any:
    found = scheduler._scheduler.get_job(f"schedule:{schedule_id}")
    assert found is not None, f"schedule {schedule_id} is not loaded"
    return found


def edit(factory: sessionmaker[Session], schedule_id: int, **values: Any) -> None:
    with session_scope(factory) as session:
        session.execute(
            update(AlertSchedule).where(AlertSchedule.id == schedule_id).values(**values)
        )


def test_start_loads_only_enabled_schedules(
    scheduler: AlertScheduler, add_schedule: Callable[..., int]
) -> None:
    """Enabled schedules become jobs; disabled ones do not."""
    daily = add_schedule("daily")
    add_schedule("paused", enabled=False)
    weekly = add_schedule("weekly", cron="0 9 * * 1")
    scheduler.start()
    assert scheduler.scheduled_ids() == sorted([f"schedule:{daily}", f"schedule:{weekly}"])
    assert job(scheduler, weekly).args == (weekly, "weekly")
    assert job(scheduler, weekly).name == "weekly"


def test_start_registers_the_periodic_reload(scheduler: AlertScheduler) -> None:
    """start() adds the reload job at the configured interval, separate from schedule jobs."""
    scheduler.start()
    reload_job = scheduler._scheduler.get_job(RELOAD_JOB_ID)
    assert reload_job is not None
    assert reload_job.trigger.interval == timedelta(seconds=3600)
    assert scheduler.scheduled_ids() == []


@pytest.mark.parametrize(
    ("cron", "timezone"),
    [
        ("0 8 * *", "UTC"),
        ("61 8 * * *", "UTC"),
        ("every day", "UTC"),
        ("", "UTC"),
        ("0 8 * * *", "Mars/Olympus"),
    ],
)
def test_bad_schedule_is_skipped_and_the_others_load(
    scheduler: AlertScheduler,
    add_schedule: Callable[..., int],
    caplog: pytest.LogCaptureFixture,
    cron: str,
    timezone: str,
) -> None:
    """A malformed cron or unknown zone is logged and skipped; the good schedules still load."""
    first = add_schedule("first")
    bad = add_schedule("bad", cron=cron, timezone=timezone)
    last = add_schedule("last", cron="30 7 * * 1-5")
    with caplog.at_level(logging.ERROR, logger="jobs.scheduler"):
        scheduler.start()
    assert scheduler.scheduled_ids() == sorted([f"schedule:{first}", f"schedule:{last}"])
    (record,) = [r for r in caplog.records if r.getMessage() == "schedule has a bad cadence"]
    assert record.schedule_id == bad  # type: ignore[attr-defined]
    assert record.cron == cron  # type: ignore[attr-defined]


def test_reload_removes_disabled_and_deleted_and_adds_new(
    scheduler: AlertScheduler, add_schedule: Callable[..., int], factory: sessionmaker[Session]
) -> None:
    """reload() drops schedules disabled or deleted since the last load and picks up new ones."""
    kept = add_schedule("kept")
    disabled = add_schedule("to disable")
    deleted = add_schedule("to delete")
    scheduler.start()
    assert len(scheduler.scheduled_ids()) == 3
    edit(factory, disabled, enabled=False)
    with session_scope(factory) as session:
        session.execute(delete(AlertSchedule).where(AlertSchedule.id == deleted))
    added = add_schedule("new", cron="15 6 * * *")
    scheduler.reload()
    assert scheduler.scheduled_ids() == sorted([f"schedule:{kept}", f"schedule:{added}"])
    edit(factory, disabled, enabled=True)
    scheduler.reload()
    assert f"schedule:{disabled}" in scheduler.scheduled_ids()


def test_reload_leaves_an_unchanged_schedule_alone(
    scheduler: AlertScheduler, add_schedule: Callable[..., int]
) -> None:
    """Reloading an unchanged schedule keeps the same job and next run time."""
    schedule_id = add_schedule("daily")
    scheduler.start()
    before = job(scheduler, schedule_id)
    scheduler.reload()
    after = job(scheduler, schedule_id)
    assert after.next_run_time == before.next_run_time
    assert repr(after.trigger) == repr(before.trigger)


def test_reload_picks_up_a_changed_cron(
    scheduler: AlertScheduler, add_schedule: Callable[..., int], factory: sessionmaker[Session]
) -> None:
    """A schedule whose cron changed is rescheduled on reload."""
    schedule_id = add_schedule("daily", cron="0 8 * * *", timezone="America/New_York")
    scheduler.start()
    edit(factory, schedule_id, cron="45 17 * * *")
    scheduler.reload()
    local = job(scheduler, schedule_id).next_run_time.astimezone(NEW_YORK)
    assert (local.hour, local.minute) == (17, 45)


def test_reload_picks_up_a_changed_timezone(
    scheduler: AlertScheduler, add_schedule: Callable[..., int], factory: sessionmaker[Session]
) -> None:
    """A schedule moved to another zone with the same cron fires at the new zone's local time."""
    schedule_id = add_schedule("daily", cron="0 8 * * *", timezone="America/New_York")
    scheduler.start()
    edit(factory, schedule_id, timezone="Asia/Tokyo")
    scheduler.reload()
    loaded = job(scheduler, schedule_id)
    assert str(loaded.trigger.timezone) == "Asia/Tokyo"
    local = loaded.next_run_time.astimezone(TOKYO)
    assert (local.hour, local.minute) == (8, 0)


def test_reload_picks_up_a_renamed_schedule(
    scheduler: AlertScheduler,
    add_schedule: Callable[..., int],
    factory: sessionmaker[Session],
) -> None:
    """A renamed schedule fires with its new name after a reload."""
    schedule_id = add_schedule("Morning digest")
    scheduler.start()
    edit(factory, schedule_id, name="Engineering morning digest")
    scheduler.reload()
    loaded = job(scheduler, schedule_id)
    assert loaded.args == (schedule_id, "Engineering morning digest")
    assert loaded.name == "Engineering morning digest"


def test_schedule_edited_to_a_bad_cron_is_unloaded(
    scheduler: AlertScheduler, add_schedule: Callable[..., int], factory: sessionmaker[Session]
) -> None:
    """A schedule edited to a malformed cron stops firing instead of keeping its old cadence."""
    schedule_id = add_schedule("daily")
    scheduler.start()
    edit(factory, schedule_id, cron="0 25 * * *")
    scheduler.reload()
    assert scheduler.scheduled_ids() == []
    edit(factory, schedule_id, cron="0 23 * * *")
    scheduler.reload()
    assert scheduler.scheduled_ids() == [f"schedule:{schedule_id}"]


def test_next_run_honours_the_schedule_timezone(
    scheduler: AlertScheduler, add_schedule: Callable[..., int]
) -> None:
    """The same cron in two zones runs at 08:30 local time in each, hours apart in UTC."""
    new_york = add_schedule("ny", cron="30 8 * * *", timezone="America/New_York")
    tokyo = add_schedule("tokyo", cron="30 8 * * *", timezone="Asia/Tokyo")
    started = datetime.now(UTC)
    scheduler.start()
    for schedule_id, zone in ((new_york, NEW_YORK), (tokyo, TOKYO)):
        next_run = job(scheduler, schedule_id).next_run_time
        local = next_run.astimezone(zone)
        assert (local.hour, local.minute, local.second) == (8, 30, 0)
        assert started < next_run <= started + timedelta(days=1)
    ny_utc = job(scheduler, new_york).next_run_time.astimezone(UTC)
    tokyo_utc = job(scheduler, tokyo).next_run_time.astimezone(UTC)
    assert (ny_utc.hour, tokyo_utc.hour) in {(12, 23), (13, 23)}


def test_cron_trigger_follows_daylight_saving_time() -> None:
    """08:00 New York is 13:00 UTC before the March DST change and 12:00 UTC after it."""
    trigger = cron_trigger("0 8 * * *", "America/New_York")
    before = trigger.get_next_fire_time(None, datetime(2026, 3, 7, 14, 0, tzinfo=UTC))
    after = trigger.get_next_fire_time(None, datetime(2026, 3, 8, 14, 0, tzinfo=UTC))
    assert before.astimezone(UTC) == datetime(2026, 3, 8, 12, 0, tzinfo=UTC)
    assert after.astimezone(UTC) == datetime(2026, 3, 9, 12, 0, tzinfo=UTC)
    first = trigger.get_next_fire_time(None, datetime(2026, 3, 6, 14, 0, tzinfo=UTC))
    assert first.astimezone(UTC) == datetime(2026, 3, 7, 13, 0, tzinfo=UTC)


def test_cron_trigger_day_of_week_is_cron_numbering() -> None:
    """Day-of-week 1 in a crontab means Monday, as in cron, not APScheduler's Tuesday."""
    trigger = cron_trigger("0 9 * * 1", "UTC")
    # 2026-11-04 is a Wednesday; the next Monday is 2026-11-09.
    fire = trigger.get_next_fire_time(None, datetime(2026, 11, 4, 0, 0, tzinfo=UTC))
    assert fire == datetime(2026, 11, 9, 9, 0, tzinfo=UTC)
    assert fire.strftime("%A") == "Monday"


def fire_days(expression: str) -> list[str]:
    """The weekdays a trigger fires on during the week starting Sunday 2026-11-01."""
    trigger = cron_trigger(expression, "UTC")
    start = datetime(2026, 11, 1, tzinfo=UTC)
    days: list[str] = []
    previous = None
    at = start - timedelta(seconds=1)
    while True:
        fire = trigger.get_next_fire_time(previous, at)
        if fire is None or fire >= start + timedelta(days=7):
            return days
        days.append(fire.strftime("%a"))
        previous, at = fire, fire + timedelta(seconds=1)


@pytest.mark.parametrize(
    ("weekday_field", "expected"),
    [
        ("*", ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]),
        ("0", ["Sun"]),
        ("7", ["Sun"]),
        ("1", ["Mon"]),
        ("6", ["Sat"]),
        ("1-5", ["Mon", "Tue", "Wed", "Thu", "Fri"]),
        ("0,6", ["Sun", "Sat"]),
        ("*/2", ["Sun", "Tue", "Thu", "Sat"]),
        ("1-5/2", ["Mon", "Wed", "Fri"]),
        ("5-7", ["Sun", "Fri", "Sat"]),
        ("mon", ["Mon"]),
        ("MON-FRI", ["Mon", "Tue", "Wed", "Thu", "Fri"]),
        ("sat,sun", ["Sun", "Sat"]),
    ],
)
def test_cron_trigger_weekdays_match_crontab(weekday_field: str, expected: list[str]) -> None:
    """Every crontab weekday spelling fires on the same days cron would fire."""
    assert fire_days(f"0 9 * * {weekday_field}") == expected


@pytest.mark.parametrize(
    ("cron", "timezone", "error"),
    [
        ("0 8 * *", "UTC", ValueError),
        ("0 8 * * * *", "UTC", ValueError),
        ("0 24 * * *", "UTC", ValueError),
        ("0 8 * * 8", "UTC", ValueError),
        ("0 8 * * 5-1", "UTC", ValueError),
        ("0 8 * * */0", "UTC", ValueError),
        ("0 8 * * 1,,2", "UTC", ValueError),
        ("0 8 * * funday", "UTC", ValueError),
        ("0 8 * * *", "Nowhere/Special", LookupError),
    ],
)
def test_cron_trigger_rejects_bad_input(cron: str, timezone: str, error: type[Exception]) -> None:
    """cron_trigger raises ValueError for a bad expression and LookupError for an unknown zone."""
    with pytest.raises(error):
        cron_trigger(cron, timezone)


def test_due_schedule_calls_the_runner_with_its_id(
    scheduler: AlertScheduler,
    add_schedule: Callable[..., int],
    fired: list[tuple[int, str]],
    fired_event: threading.Event,
) -> None:
    """When a schedule comes due, the schedule runner gets its id."""
    schedule_id = add_schedule("Weekly design")
    scheduler.start()
    job(scheduler, schedule_id).modify(next_run_time=datetime.now(UTC))
    assert fired_event.wait(5), "the due schedule never fired"
    assert fired[0] == (schedule_id, "Weekly design")


def test_shutdown_stops_the_scheduler_and_is_repeatable(
    scheduler: AlertScheduler, add_schedule: Callable[..., int]
) -> None:
    """shutdown() stops a running scheduler and a second call is harmless."""
    add_schedule("daily")
    scheduler.start()
    assert scheduler._scheduler.running is True
    scheduler.shutdown()
    assert scheduler._scheduler.running is False
    scheduler.shutdown()


# ---------------------------------------------------------------- frozen-clock fire times

BERLIN = ZoneInfo("Europe/Berlin")


def local_times(cron: str, zone: str, after: datetime, count: int) -> list[str]:
    """The next `count` fire times as local wall-clock strings with their UTC offset."""
    return [
        f.astimezone(ZoneInfo(zone)).strftime("%a %Y-%m-%d %H:%M %z")
        for f in next_fire_times(cron_trigger(cron, zone), after, count)
    ]


def test_daily_at_a_time_fires_every_day_at_that_local_time() -> None:
    """Daily at 08:15 in Berlin fires at 08:15 local on each of the next three days."""
    with frozen(datetime(2026, 6, 10, 7, 0, tzinfo=UTC)):
        assert local_times("15 8 * * *", "Europe/Berlin", now(), 3) == [
            "Thu 2026-06-11 08:15 +0200",
            "Fri 2026-06-12 08:15 +0200",
            "Sat 2026-06-13 08:15 +0200",
        ]


def test_weekly_on_a_day_fires_on_that_weekday_only() -> None:
    """Weekly on Monday at 09:30 (crontab day 1) fires on three successive Mondays."""
    after = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)  # a Wednesday
    assert local_times("30 9 * * 1", "America/New_York", after, 3) == [
        "Mon 2026-06-15 09:30 -0400",
        "Mon 2026-06-22 09:30 -0400",
        "Mon 2026-06-29 09:30 -0400",
    ]


def test_a_cron_expression_fires_on_every_matching_minute() -> None:
    """'*/20 9 * * 1-5' fires at 09:00, 09:20 and 09:40 on weekdays, then the next weekday."""
    after = datetime(2026, 6, 12, 6, 0, tzinfo=UTC)  # Friday 08:00 in Berlin
    assert local_times("*/20 9 * * 1-5", "Europe/Berlin", after, 4) == [
        "Fri 2026-06-12 09:00 +0200",
        "Fri 2026-06-12 09:20 +0200",
        "Fri 2026-06-12 09:40 +0200",
        "Mon 2026-06-15 09:00 +0200",
    ]


def test_spring_forward_runs_a_skipped_time_once_just_after_the_change() -> None:
    """On 2026-03-29 Berlin skips 02:00-03:00: daily 02:30 runs once, at 03:30 CEST."""
    after = datetime(2026, 3, 27, 12, 0, tzinfo=UTC)
    assert local_times("30 2 * * *", "Europe/Berlin", after, 3) == [
        "Sat 2026-03-28 02:30 +0100",
        "Sun 2026-03-29 03:30 +0200",
        "Mon 2026-03-30 02:30 +0200",
    ]
    # Every half hour from 01:00 to 03:59: the skipped 02:00 and 02:30 merge into
    # 03:00 and 03:30, each still fired once.
    assert local_times(
        "*/30 1-3 * * *", "Europe/Berlin", datetime(2026, 3, 28, 23, 0, tzinfo=UTC), 5
    ) == [
        "Sun 2026-03-29 01:00 +0100",
        "Sun 2026-03-29 01:30 +0100",
        "Sun 2026-03-29 03:00 +0200",
        "Sun 2026-03-29 03:30 +0200",
        "Mon 2026-03-30 01:00 +0200",
    ]


def test_fall_back_runs_a_repeated_time_once() -> None:
    """On 2026-10-25 Berlin repeats 02:00-03:00: daily 02:30 runs once, then the next day."""
    after = datetime(2026, 10, 23, 12, 0, tzinfo=UTC)
    assert local_times("30 2 * * *", "Europe/Berlin", after, 3) == [
        "Sat 2026-10-24 02:30 +0200",
        "Sun 2026-10-25 02:30 +0200",
        "Mon 2026-10-26 02:30 +0100",
    ]
    assert local_times(
        "*/30 1-3 * * *", "Europe/Berlin", datetime(2026, 10, 24, 22, 0, tzinfo=UTC), 7
    ) == [
        "Sun 2026-10-25 01:00 +0200",
        "Sun 2026-10-25 01:30 +0200",
        "Sun 2026-10-25 02:00 +0200",
        "Sun 2026-10-25 02:30 +0200",
        "Sun 2026-10-25 03:00 +0100",
        "Sun 2026-10-25 03:30 +0100",
        "Mon 2026-10-26 01:00 +0100",
    ]


def test_fall_back_never_returns_a_time_at_or_before_the_previous_one() -> None:
    """APScheduler asks again with the last fire time; a fall-back night never answers with it.

    (APScheduler's own CronTrigger does, which makes a job fire in a loop.)
    """
    trigger = cron_trigger("30 2 * * *", "America/New_York")
    fire = trigger.get_next_fire_time(None, datetime(2026, 10, 31, 12, 0, tzinfo=UTC))
    for _ in range(5):
        later = trigger.get_next_fire_time(fire, fire + timedelta(hours=3))
        assert later is not None and later > fire
        fire = later
    assert fire.astimezone(NEW_YORK).strftime("%m-%d %H:%M") == "11-06 02:30"


# ---------------------------------------------------------------- missed while down

MORNING = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)  # "0 8 * * *" in UTC was due then


@pytest.fixture
def runs(factory: sessionmaker[Session]) -> list[int]:
    return []


def recording_scheduler(
    factory: sessionmaker[Session], runs: list[int], event: threading.Event, key: int
) -> AlertScheduler:
    """A scheduler whose runner records the call and an alert run, as jobs.alerts does."""

    def run_schedule(session_factory: sessionmaker[Session], schedule_id: int) -> None:
        with session_scope(session_factory) as session:
            session.add(AlertRun(schedule_id=schedule_id, started_at=now()))
        runs.append(schedule_id)
        event.set()

    return AlertScheduler(
        factory,
        reload_seconds=3600,
        instant_seconds=3600,
        run_schedule=run_schedule,
        run_instant=lambda _factory: None,
        lock_key=key,
    )


def seed_schedule(factory: sessionmaker[Session], *, last_run: datetime | None) -> int:
    """A daily 08:00 UTC schedule edited long ago, last run at `last_run`."""
    with session_scope(factory) as session:
        schedule = AlertSchedule(
            name="Morning",
            cron="0 8 * * *",
            timezone="UTC",
            created_at=MORNING - timedelta(days=30),
            updated_at=MORNING - timedelta(days=30),
        )
        session.add(schedule)
        session.flush()
        if last_run is not None:
            session.add(AlertRun(schedule_id=schedule.id, started_at=last_run))
        return schedule.id


def test_a_schedule_missed_while_down_runs_once_within_the_grace_period(
    factory: sessionmaker[Session], runs: list[int], caplog: pytest.LogCaptureFixture
) -> None:
    """Back an hour after a missed 08:00 run: it runs once, and not again on reload or restart."""
    schedule_id = seed_schedule(factory, last_run=MORNING - timedelta(days=1))
    event = threading.Event()
    key = secrets.randbits(62)
    with frozen(MORNING + timedelta(hours=1)) as clock:
        first = recording_scheduler(factory, runs, event, key)
        try:
            with caplog.at_level(logging.INFO, logger="jobs.scheduler"):
                first.start()
            assert event.wait(5), "the missed schedule did not run"
            first.reload()
            time.sleep(0.5)
        finally:
            first.shutdown()
        assert runs == [schedule_id]
        assert "missed schedule runs now" in caplog.messages
        # A restart (a new process, nothing in memory) finds the alert run and waits.
        clock.advance(timedelta(minutes=5))
        second = recording_scheduler(factory, runs, threading.Event(), key)
        try:
            second.start()
            time.sleep(0.5)
        finally:
            second.shutdown()
    assert runs == [schedule_id]


def test_a_schedule_missed_beyond_the_grace_period_is_skipped(
    factory: sessionmaker[Session], runs: list[int], caplog: pytest.LogCaptureFixture
) -> None:
    """Back seven hours after a missed 08:00 run (grace is six): it waits for the next 08:00."""
    seed_schedule(factory, last_run=MORNING - timedelta(days=1))
    event = threading.Event()
    with frozen(MORNING + timedelta(hours=7)):
        instance = recording_scheduler(factory, runs, event, secrets.randbits(62))
        try:
            with caplog.at_level(logging.INFO, logger="jobs.scheduler"):
                instance.start()
            assert not event.wait(1.0)
        finally:
            instance.shutdown()
    assert runs == []
    assert "missed schedule skipped, beyond the grace period" in caplog.messages


def test_a_schedule_that_already_ran_or_is_new_is_not_caught_up(
    factory: sessionmaker[Session], runs: list[int]
) -> None:
    """No catch-up when the last run is after the due time, or the schedule was saved after it."""
    ran = seed_schedule(factory, last_run=MORNING + timedelta(seconds=2))
    with session_scope(factory) as session:
        session.add(
            AlertSchedule(
                name="Created at 08:30",
                cron="0 8 * * *",
                timezone="UTC",
                updated_at=MORNING + timedelta(minutes=30),
            )
        )
    event = threading.Event()
    with frozen(MORNING + timedelta(hours=1)):
        instance = recording_scheduler(factory, runs, event, secrets.randbits(62))
        try:
            instance.start()
            assert not event.wait(1.0)
            assert len(instance.scheduled_ids()) == 2
        finally:
            instance.shutdown()
    assert ran and runs == []


def test_instant_alerts_run_on_their_own_interval(factory: sessionmaker[Session]) -> None:
    """The instant job calls run_instant every `instant_seconds`, apart from any schedule."""
    calls: list[float] = []
    done = threading.Event()

    def run_instant(_factory: sessionmaker[Session]) -> None:
        calls.append(time.monotonic())
        if len(calls) >= 2:
            done.set()

    instance = AlertScheduler(
        factory,
        reload_seconds=3600,
        instant_seconds=0.2,
        run_schedule=lambda _f, _i: None,
        run_instant=run_instant,
        lock_key=secrets.randbits(62),
    )
    try:
        instance.start()
        instant = instance._scheduler.get_job(INSTANT_JOB_ID)
        assert instant is not None and instant.trigger.interval == timedelta(seconds=0.2)
        assert done.wait(5), "run_instant was not called twice"
    finally:
        instance.shutdown()


def test_a_registered_task_runs_once_on_taking_the_lead_then_on_its_interval(
    factory: sessionmaker[Session],
) -> None:
    """Housekeeping handed in by another package runs at once, then every `seconds`."""
    calls: list[sessionmaker[Session]] = []
    done = threading.Event()

    def task(sessions: sessionmaker[Session]) -> None:
        calls.append(sessions)
        if len(calls) >= 2:
            done.set()

    instance = AlertScheduler(
        factory,
        reload_seconds=3600,
        instant_seconds=3600,
        run_schedule=lambda _f, _i: None,
        run_instant=lambda _f: None,
        lock_key=secrets.randbits(62),
        tasks=[PeriodicTask("tidy", 0.3, task)],
    )
    try:
        instance.start()
        assert done.wait(5), "the task did not run at the start and again"
        assert calls[0] is factory
    finally:
        instance.shutdown()


def test_due_campaigns_are_dispatched_by_the_real_campaign_service(
    factory: sessionmaker[Session],
) -> None:
    """The leader queues a campaign whose send time has come, with no other process running."""
    from mailer.campaign_admin import dispatch_due_campaigns
    from mailer.models import Campaign, CampaignStatus, OutboxMessage
    from preferences.models import Candidate, ConsentSource
    from preferences.subscriptions import opt_in_mass_email

    with session_scope(factory) as session:
        ana = Candidate(email="ana@example.com", first_name="Ana", email_verified_at=now())
        session.add(ana)
        session.flush()
        opt_in_mass_email(session, ana, source=ConsentSource.IMPORT)
        session.add(
            Campaign(
                name="News",
                subject="News",
                body="Hello.",
                audience={"interest_ids": []},
                status=CampaignStatus.SCHEDULED,
                scheduled_at=now() - timedelta(minutes=1),
            )
        )
    dispatched = threading.Event()

    def dispatch(session_factory: sessionmaker[Session]) -> None:
        dispatch_due_campaigns(session_factory)
        dispatched.set()

    instance = AlertScheduler(
        factory,
        reload_seconds=3600,
        instant_seconds=0.2,
        run_schedule=lambda _f, _i: None,
        run_instant=lambda _f: None,
        dispatch_campaigns=dispatch,
        lock_key=secrets.randbits(62),
    )
    try:
        instance.start()
        assert dispatched.wait(5), "due campaigns were not dispatched"
    finally:
        instance.shutdown()
    with session_scope(factory) as session:
        rows = session.scalars(select(OutboxMessage.to_address)).all()
        assert rows == ["ana@example.com"]


def test_a_failing_run_is_logged_and_the_scheduler_keeps_going(
    scheduler: AlertScheduler,
    add_schedule: Callable[..., int],
    caplog: pytest.LogCaptureFixture,
    factory: sessionmaker[Session],
) -> None:
    """An exception from the runner is logged with the schedule id; later firings still run."""
    boom = add_schedule("boom")
    calls: list[int] = []

    def failing(_factory: sessionmaker[Session], schedule_id: int) -> None:
        calls.append(schedule_id)
        raise RuntimeError("matching failed")

    scheduler._run_schedule = failing
    scheduler.start()
    with caplog.at_level(logging.ERROR, logger="jobs.scheduler"):
        for _ in range(2):
            job(scheduler, boom).modify(next_run_time=datetime.now(UTC))
            deadline = time.monotonic() + 5
            before = len(calls)
            while len(calls) == before and time.monotonic() < deadline:
                time.sleep(0.02)
        time.sleep(0.1)
    assert calls == [boom, boom]
    failures = [r for r in caplog.records if r.getMessage() == "alert run failed"]
    assert failures and failures[0].schedule_id == boom  # type: ignore[attr-defined]


# ---------------------------------------------------------------- leader election


@pytest.mark.parametrize("backend", ["sqlite"])
def test_sqlite_runs_a_single_scheduler_without_a_lock(
    factory: sessionmaker[Session], backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    """On SQLite the scheduler leads at once, with no lock to compete for."""
    instance = AlertScheduler(
        factory, run_schedule=lambda _f, _i: None, run_instant=lambda _f: None
    )
    try:
        with caplog.at_level(logging.INFO, logger="jobs.scheduler"):
            instance.start()
        assert instance.is_leader
        assert isinstance(instance._lock, SingleSchedulerLock)
        assert "leader acquired" in caplog.messages
    finally:
        instance.shutdown()


def wait_for(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


class Contender:
    """One scheduler with its own engine (its own connections), recording instant runs."""

    def __init__(self, url: str, key: int) -> None:
        self.engine = make_engine(url)
        self.runs: list[float] = []
        self.scheduler = AlertScheduler(
            make_session_factory(self.engine),
            reload_seconds=3600,
            instant_seconds=0.1,
            retry_seconds=0.2,
            run_schedule=lambda _f, _i: None,
            run_instant=lambda _f: self.runs.append(time.monotonic()),
            lock_key=key,
        )

    def ran_since(self, moment: float) -> bool:
        return any(t > moment for t in list(self.runs))

    def close(self) -> None:
        self.scheduler.shutdown()
        self.engine.dispose()


@pytest.fixture
def contenders(database_url: str, backend: str) -> Iterator[tuple[Contender, Contender]]:
    assert backend == "postgresql", "leader election takes a PostgreSQL advisory lock"
    key = secrets.randbits(62)
    pair = (Contender(database_url, key), Contender(database_url, key))
    try:
        yield pair
    finally:
        for contender in pair:
            contender.close()


@pytest.mark.parametrize("backend", ["postgresql"])  # leader election
def test_only_the_lock_holder_runs_jobs_and_a_standby_takes_over_when_it_dies(
    contenders: tuple[Contender, Contender], engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """Two schedulers: one leads and runs jobs; kill its connection and the other takes over."""
    first, second = contenders
    with caplog.at_level(logging.INFO, logger="jobs.scheduler"):
        first.scheduler.start()
        second.scheduler.start()
    assert first.scheduler.is_leader and not second.scheduler.is_leader
    assert "standing by" in caplog.messages
    assert wait_for(lambda: len(first.runs) >= 3, 5), "the leader did not run jobs"
    time.sleep(0.5)
    assert second.runs == [], "the standby ran jobs"

    # The leader's connection drops, as when its process dies.
    lock = first.scheduler._lock
    assert isinstance(lock, AdvisoryLock) and lock.backend_pid is not None
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": lock.backend_pid})
    assert wait_for(lambda: second.scheduler.is_leader, 10), "the standby never took over"
    assert wait_for(lambda: not first.scheduler.is_leader, 10), "the old leader kept leading"
    moment = time.monotonic()
    assert wait_for(lambda: second.ran_since(moment), 5)
    time.sleep(0.5)
    moment = time.monotonic()
    time.sleep(0.5)
    assert not first.ran_since(moment), "the old leader still runs jobs"


@pytest.mark.parametrize("backend", ["postgresql"])  # leader election
def test_a_stopped_leader_hands_over_at_once(contenders: tuple[Contender, Contender]) -> None:
    """shutdown() releases the lock, so the standby leads on its next try."""
    first, second = contenders
    first.scheduler.start()
    second.scheduler.start()
    assert first.scheduler.is_leader and not second.scheduler.is_leader
    first.scheduler.shutdown()
    assert wait_for(lambda: second.scheduler.is_leader, 5)
    moment = time.monotonic()
    assert wait_for(lambda: second.ran_since(moment), 5)
