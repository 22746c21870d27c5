"""The alert scheduler keeps one APScheduler job per enabled, valid alert schedule."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, delete, update
from sqlalchemy.orm import Session, sessionmaker

from jobs.models import AlertSchedule
from jobs.scheduler import RELOAD_JOB_ID, AlertScheduler, cron_trigger
from preferences.db import make_session_factory, session_scope

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
    def on_fire(schedule_id: int, name: str) -> None:
        fired.append((schedule_id, name))
        fired_event.set()

    # A long reload interval: reloads in these tests happen only when the test asks.
    instance = AlertScheduler(factory, reload_seconds=3600, on_fire=on_fire)
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


def test_due_schedule_calls_on_fire_with_id_and_name(
    scheduler: AlertScheduler,
    add_schedule: Callable[..., int],
    fired: list[tuple[int, str]],
    fired_event: threading.Event,
) -> None:
    """When a schedule comes due, on_fire gets its id and name."""
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
