"""The alert scheduler: APScheduler 3 jobs built from the `alert_schedules` table.

One scheduler leads and runs jobs; on PostgreSQL the leader is whoever holds a
session-level advisory lock on a dedicated connection, and any others stand by,
retrying every few seconds, so one of them takes over soon after the leader's
connection drops. SQLite serves one machine, so there is no lock there: run a
single scheduler (`talentconnect run` or `talentconnect scheduler`).

While leading, the scheduler keeps one cron job per enabled schedule (reloaded
every `reload_seconds`), an interval job for instant subscribers, and catches up
a firing missed while no scheduler was leading, once, within the grace period.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Connection, Engine, func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from jobs import alerts as alert_runs
from jobs.models import AlertRun, AlertSchedule
from mailer import campaign_admin
from preferences.clock import now
from preferences.db import session_scope

log = logging.getLogger("jobs.scheduler")

RELOAD_JOB_ID = "reload-schedules"
INSTANT_JOB_ID = "instant-alerts"
CAMPAIGN_JOB_ID = "due-campaigns"
# A schedule missed during downtime still runs once if the scheduler is back within this.
MISFIRE_GRACE_SECONDS = 6 * 3600
# Instant subscribers hear of a new job within a minute.
INSTANT_SECONDS = 30
# How often a standby tries the lock, and how often the leader checks it still holds it.
LEADER_RETRY_SECONDS = 10.0
# The advisory lock key every Talent Connect scheduler of one database competes for.
LEADER_LOCK_KEY = 0x7C_5C_4E_D0_1E_AD_E2
# The database server drops a dead leader's connection (and so its lock) after about
# idle + interval * count seconds, well inside the minute a standby has to take over.
_KEEPALIVES = {"tcp_keepalives_idle": 15, "tcp_keepalives_interval": 5, "tcp_keepalives_count": 3}

ScheduleRunner = Callable[[sessionmaker[Session], int], object]
InstantRunner = Callable[[sessionmaker[Session]], object]


@dataclass(frozen=True)
class PeriodicTask:
    """Housekeeping another package hands the scheduler to run while it leads.

    `run(session_factory)` is called once when this process takes the lead, then
    every `seconds`. The scheduler knows nothing of what it does: `jobs` may not
    import `portal`, so the portal registers its own tasks (e.g. pruning uploads).
    """

    name: str
    seconds: float
    run: InstantRunner


_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _cron_day(token: str) -> int:
    if token.isdigit() and 0 <= int(token) <= 7:
        return int(token)
    if token in _CRON_DAYS:
        return _CRON_DAYS.index(token)
    raise ValueError(f"{token!r} is not a day of the week (0-7 or sun-sat)")


def _crontab_weekdays(field: str) -> str:
    """Translate a crontab day-of-week field into APScheduler day names.

    Crontab counts 0 (or 7) as Sunday, but APScheduler 3 counts 0 as Monday, so
    the numbers are spelled out as names, which both read the same way.
    """
    if field == "*":
        return field
    days: set[int] = set()
    for part in field.lower().split(","):
        spec, slash, step_text = part.partition("/")
        if slash and not step_text.isdigit():
            raise ValueError(f"{part!r} has a bad step")
        step = int(step_text) if slash else 1
        if step < 1:
            raise ValueError(f"{part!r} has a bad step")
        if spec == "*":
            first, last = 0, 6
        elif "-" in spec:
            start, _, end = spec.partition("-")
            first, last = _cron_day(start), _cron_day(end)
            if first > last:
                raise ValueError(f"{part!r} is a backwards range")
        else:
            first = _cron_day(spec)
            last = 6 if slash else first
        days.update(day % 7 for day in range(first, last + 1, step))
    return ",".join(_CRON_DAYS[day] for day in sorted(days))


class CrontabTrigger(BaseTrigger):
    """A five-field cron expression read on a zone's wall clock.

    APScheduler's own CronTrigger does its arithmetic on aware datetimes and, on
    a fall-back night, returns the repeated hour's time again and again (one
    schedule would fire in a loop). Here matching is done on naive wall-clock
    times and only then placed in the zone: a wall time that happens twice
    fires once, at its first occurrence; one skipped by a spring-forward fires
    at the same distance after the change (02:30 becomes 03:30), like cron.
    """

    __slots__ = ("_wall", "expression", "timezone")

    def __init__(self, expression: str, timezone: str) -> None:
        fields = expression.split()
        if len(fields) != 5:
            raise ValueError(f"Wrong number of fields; got {len(fields)}, expected 5")
        minute, hour, day, month, weekday = fields
        self.expression = " ".join(fields)
        self.timezone = ZoneInfo(timezone)
        # UTC has no DST, so this trigger's "UTC" times are plain wall-clock times.
        self._wall = CronTrigger(
            minute=minute,
            hour=hour,
            day=day,
            month=month,
            day_of_week=_crontab_weekdays(weekday),
            timezone=UTC,
        )

    def __repr__(self) -> str:
        return f"<CrontabTrigger {self.expression!r} timezone={self.timezone.key!r}>"

    def _instant(self, wall: datetime) -> datetime:
        # fold=0: the first of a repeated time, and, for a skipped time, the offset
        # from before the change, which lands as far past the change as it was meant.
        local = wall.replace(tzinfo=self.timezone, fold=0)
        return local.astimezone(UTC).astimezone(self.timezone)

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        if previous_fire_time is not None:
            # As APScheduler's triggers do: a late caller gets the missed times too.
            start = min(now, previous_fire_time + timedelta(microseconds=1))
        else:
            start = now
        wall = start.astimezone(self.timezone).replace(tzinfo=UTC)
        for _ in range(10_000):
            found = self._wall.get_next_fire_time(None, wall)
            if found is None:
                return None
            instant = self._instant(found.replace(tzinfo=None))
            if instant >= start and (previous_fire_time is None or instant > previous_fire_time):
                return instant
            # Already passed: the first pass of a repeated hour, or a skipped time
            # that maps onto one already fired.
            wall = found + timedelta(microseconds=1)
        raise RuntimeError(f"no fire time found for {self!r}")  # pragma: no cover


def cron_trigger(expression: str, timezone: str) -> CrontabTrigger:
    """Build a trigger from a five-field cron expression; raises ValueError if malformed.

    Day-of-week numbers follow crontab: 0 and 7 are Sunday, 1 is Monday. An
    unknown time zone raises LookupError.
    """
    return CrontabTrigger(expression, timezone)


def next_fire_times(trigger: BaseTrigger, after: datetime, count: int) -> list[datetime]:
    """The next `count` fire times strictly after `after`."""
    times: list[datetime] = []
    previous: datetime | None = None
    at = after + timedelta(microseconds=1)
    while len(times) < count:
        fire = trigger.get_next_fire_time(previous, at)
        if fire is None:
            break
        times.append(fire)
        previous, at = fire, fire + timedelta(microseconds=1)
    return times


def last_fire_time(trigger: BaseTrigger, *, since: datetime, until: datetime) -> datetime | None:
    """The latest fire time in (since, until], or None."""
    latest: datetime | None = None
    for fire in _fire_times_between(trigger, since, until):
        latest = fire
    return latest


def _fire_times_between(trigger: BaseTrigger, since: datetime, until: datetime) -> list[datetime]:
    times: list[datetime] = []
    previous: datetime | None = None
    at = since + timedelta(microseconds=1)
    while True:
        fire = trigger.get_next_fire_time(previous, at)
        if fire is None or fire > until:
            return times
        times.append(fire)
        previous, at = fire, fire + timedelta(microseconds=1)


# ---------------------------------------------------------------- leader election


class LeaderLock(Protocol):
    """Who may run jobs: `try_acquire` claims the lead, `still_held` confirms it."""

    exclusive: bool

    def try_acquire(self) -> bool: ...

    def still_held(self) -> bool: ...

    def release(self) -> None: ...


class SingleSchedulerLock:
    """SQLite: one machine, one scheduler, nothing to compete for."""

    exclusive = False

    def try_acquire(self) -> bool:
        return True

    def still_held(self) -> bool:
        return True

    def release(self) -> None:
        return None


class AdvisoryLock:
    """A PostgreSQL session-level advisory lock held on a connection of its own.

    The lock lives exactly as long as that connection: if the process dies or
    its connection drops, the server releases it and a standby's next try wins.
    """

    exclusive = True

    def __init__(self, engine: Engine, key: int = LEADER_LOCK_KEY) -> None:
        self._engine = engine
        self.key = key
        self._conn: Connection | None = None
        self.backend_pid: int | None = None

    def _connect(self) -> Connection:
        if self._conn is None:
            # Autocommit: a lock holder idle in a transaction would block vacuum.
            conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            self._conn = conn
            for name, value in _KEEPALIVES.items():
                conn.execute(text(f"SET {name} = {int(value)}"))
            self.backend_pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        return self._conn

    def _drop(self) -> None:
        conn, self._conn, self.backend_pid = self._conn, None, None
        if conn is not None:
            try:
                # Never hand a connection that may still hold the lock back to the pool.
                conn.invalidate()
                conn.close()
            except SQLAlchemyError:  # pragma: no cover - already broken
                pass

    def try_acquire(self) -> bool:
        try:
            conn = self._connect()
            got = conn.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
            ).scalar_one()
        except SQLAlchemyError as exc:
            log.warning("leader lock unreachable", extra={"error": str(exc).splitlines()[0]})
            self._drop()
            return False
        return bool(got)

    def still_held(self) -> bool:
        if self._conn is None:
            return False
        try:
            # A session-level lock is held until unlocked or the session ends, so a
            # live connection means the lock is still ours.
            self._conn.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            log.warning("leader connection lost", extra={"error": str(exc).splitlines()[0]})
            self._drop()
            return False
        return True

    def release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(SQLAlchemyError):
                self._conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
        self._drop()


def leader_lock(engine: Engine, key: int = LEADER_LOCK_KEY) -> LeaderLock:
    """The advisory lock on PostgreSQL; on SQLite, no lock (run one scheduler)."""
    if engine.dialect.name == "postgresql":
        return AdvisoryLock(engine, key)
    return SingleSchedulerLock()


# ---------------------------------------------------------------- runners


def run_schedule_now(session_factory: sessionmaker[Session], schedule_id: int) -> object:
    """The default schedule runner: `jobs.alerts.run_schedule`."""
    return alert_runs.run_schedule(session_factory, schedule_id)


def run_instant_now(session_factory: sessionmaker[Session]) -> object:
    """The default instant runner: `jobs.alerts.run_instant`."""
    return alert_runs.run_instant(session_factory)


def dispatch_campaigns_now(session_factory: sessionmaker[Session]) -> object:
    """The default campaign runner: queue the campaigns whose send time has come."""
    return campaign_admin.dispatch_due_campaigns(session_factory)


# ---------------------------------------------------------------- the scheduler


class AlertScheduler:
    """Runs alert schedules and instant alerts while this process leads.

    `run_schedule(session_factory, schedule_id)` runs one schedule and
    `run_instant(session_factory)` queues instant alerts; both are injectable so
    tests can record calls.
    """

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        reload_seconds: int = 60,
        instant_seconds: float = INSTANT_SECONDS,
        retry_seconds: float = LEADER_RETRY_SECONDS,
        grace_seconds: int = MISFIRE_GRACE_SECONDS,
        run_schedule: ScheduleRunner = run_schedule_now,
        run_instant: InstantRunner = run_instant_now,
        dispatch_campaigns: InstantRunner = dispatch_campaigns_now,
        lock: LeaderLock | None = None,
        lock_key: int = LEADER_LOCK_KEY,
        tasks: Sequence[PeriodicTask] = (),
    ) -> None:
        self._sessions = session_factory
        self._reload_seconds = reload_seconds
        self._instant_seconds = instant_seconds
        self._retry_seconds = retry_seconds
        self._grace = timedelta(seconds=grace_seconds)
        self._run_schedule = run_schedule
        self._run_instant = run_instant
        self._dispatch_campaigns = dispatch_campaigns
        self._tasks = tuple(tasks)
        engine: Engine = session_factory.kw["bind"]
        self._lock = lock if lock is not None else leader_lock(engine, lock_key)
        self._scheduler = BackgroundScheduler(timezone=UTC)
        self._state = threading.RLock()
        self._leading = False
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        # schedule id -> when this process last fired it; the alert_runs table
        # tells the same across restarts and leader changes.
        self._fired: dict[int, datetime] = {}
        self._skipped: set[tuple[int, datetime]] = set()

    @property
    def is_leader(self) -> bool:
        return self._leading

    def start(self) -> None:
        """Start; lead now if the lock is free, else stand by and keep trying."""
        self._stop.clear()
        self._scheduler.start()
        self._try_to_lead(first=True)
        if self._lock.exclusive:
            self._watcher = threading.Thread(
                target=self._watch, name="scheduler-leader", daemon=True
            )
            self._watcher.start()
        log.info(
            "scheduler started",
            extra={
                "reload_seconds": self._reload_seconds,
                "leader": self._leading,
                "election": "advisory lock" if self._lock.exclusive else "none (single scheduler)",
            },
        )

    def _watch(self) -> None:
        while not self._stop.wait(self._retry_seconds):
            if self._leading:
                if not self._lock.still_held():
                    self._step_down()
            else:
                self._try_to_lead(first=False)

    def _try_to_lead(self, *, first: bool) -> None:
        if not self._lock.try_acquire():
            if first:
                log.info("standing by", extra={"retry_seconds": self._retry_seconds})
            return
        with self._state:
            if self._stop.is_set():
                self._lock.release()
                return
            self._leading = True
            log.info("leader acquired", extra={"exclusive": self._lock.exclusive})
            self._scheduler.add_job(
                self.reload,
                "interval",
                seconds=self._reload_seconds,
                id=RELOAD_JOB_ID,
                replace_existing=True,
                coalesce=True,
                max_instances=1,
            )
            for job, job_id in (
                (self._instant, INSTANT_JOB_ID),
                (self._campaigns, CAMPAIGN_JOB_ID),
            ):
                self._scheduler.add_job(
                    job,
                    "interval",
                    seconds=self._instant_seconds,
                    id=job_id,
                    replace_existing=True,
                    coalesce=True,
                    max_instances=1,
                )
            for task in self._tasks:
                self._scheduler.add_job(
                    self._run_task,
                    "interval",
                    args=(task,),
                    seconds=task.seconds,
                    id=f"task:{task.name}",
                    replace_existing=True,
                    coalesce=True,
                    max_instances=1,
                    # Once at once (APScheduler's wall clock, like the catch-up below).
                    next_run_time=datetime.now(UTC),
                )
        self.reload()

    def _step_down(self) -> None:
        with self._state:
            self._leading = False
            self._scheduler.remove_all_jobs()
        log.warning("leadership lost, standing by", extra={"retry_seconds": self._retry_seconds})

    def _fire(self, schedule_id: int, name: str) -> None:
        if not self._leading:
            return
        with self._state:
            self._fired[schedule_id] = now()
        log.info("schedule fired", extra={"schedule_id": schedule_id, "schedule": name})
        try:
            self._run_schedule(self._sessions, schedule_id)
        except Exception:
            log.exception("alert run failed", extra={"schedule_id": schedule_id, "schedule": name})

    def _instant(self) -> None:
        if not self._leading:
            return
        try:
            self._run_instant(self._sessions)
        except Exception:
            log.exception("instant alerts failed")

    def _campaigns(self) -> None:
        # Scheduled campaigns are queued within INSTANT_SECONDS of their send time.
        if not self._leading:
            return
        try:
            self._dispatch_campaigns(self._sessions)
        except Exception:
            log.exception("campaign dispatch failed")

    def _run_task(self, task: PeriodicTask) -> None:
        if not self._leading:
            return
        try:
            task.run(self._sessions)
        except Exception:
            log.exception("scheduled task failed", extra={"task": task.name})

    def reload(self) -> None:
        """Bring the jobs in line with the enabled schedules, then catch up missed firings."""
        with session_scope(self._sessions) as session:
            rows = session.execute(
                select(
                    AlertSchedule.id,
                    AlertSchedule.name,
                    AlertSchedule.cron,
                    AlertSchedule.timezone,
                    AlertSchedule.updated_at,
                ).where(AlertSchedule.enabled.is_(True))
            ).all()
            last_runs: dict[int, datetime] = {}
            for schedule_id, started_at in session.execute(
                select(AlertRun.schedule_id, func.max(AlertRun.started_at))
                .where(AlertRun.schedule_id.is_not(None))
                .group_by(AlertRun.schedule_id)
            ):
                if schedule_id is not None and started_at is not None:
                    last_runs[schedule_id] = started_at
        with self._state:
            if not self._leading:
                return
            wanted: set[str] = set()
            for row in rows:
                trigger = self._load(row)
                if trigger is None:
                    continue
                wanted.add(f"schedule:{row.id}")
                reference = max(
                    d for d in (row.updated_at, last_runs.get(row.id), self._fired.get(row.id)) if d
                )
                self._catch_up(row.id, row.name, trigger, reference)
            for job in self._scheduler.get_jobs():
                if job.id.startswith("schedule:") and job.id not in wanted:
                    job.remove()
                    log.info("schedule unloaded", extra={"job": job.id})

    def _load(self, row: Any) -> BaseTrigger | None:
        job_id = f"schedule:{row.id}"
        try:
            trigger = cron_trigger(row.cron, row.timezone)
        except (ValueError, LookupError) as exc:
            log.error(
                "schedule has a bad cadence",
                extra={"schedule_id": row.id, "cron": row.cron, "error": str(exc)},
            )
            return None
        existing = self._scheduler.get_job(job_id)
        # repr includes the zone; the args carry the name.
        if (
            existing is not None
            and repr(existing.trigger) == repr(trigger)
            and tuple(existing.args) == (row.id, row.name)
        ):
            return trigger
        job = self._scheduler.add_job(
            self._fire,
            trigger,
            args=(row.id, row.name),
            id=job_id,
            name=row.name,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=int(self._grace.total_seconds()),
        )
        log.info(
            "schedule loaded",
            extra={
                "schedule_id": row.id,
                "schedule": row.name,
                "next_run": job.next_run_time.isoformat() if job.next_run_time else None,
            },
        )
        return trigger

    def _catch_up(
        self, schedule_id: int, name: str, trigger: BaseTrigger, reference: datetime
    ) -> None:
        """Run a schedule once now if it came due after `reference` and within the grace."""
        at = now()
        missed = last_fire_time(trigger, since=max(reference, at - self._grace), until=at)
        if missed is not None:
            self._fired[schedule_id] = at
            log.info(
                "missed schedule runs now",
                extra={"schedule_id": schedule_id, "schedule": name, "due": missed.isoformat()},
            )
            # The schedule's own job, made due now: coalesced with any firing under way.
            job = self._scheduler.get_job(f"schedule:{schedule_id}")
            if job is not None:
                # APScheduler runs on the wall clock, not on preferences.clock: a frozen
                # `now()` in the past would count as a misfire and the run would be dropped.
                job.modify(next_run_time=datetime.now(UTC))
            return
        late = last_fire_time(trigger, since=max(reference, at - 2 * self._grace), until=at)
        if late is not None and (schedule_id, late) not in self._skipped:
            self._skipped.add((schedule_id, late))
            log.warning(
                "missed schedule skipped, beyond the grace period",
                extra={"schedule_id": schedule_id, "schedule": name, "due": late.isoformat()},
            )

    def scheduled_ids(self) -> list[str]:
        return sorted(j.id for j in self._scheduler.get_jobs() if j.id.startswith("schedule:"))

    def shutdown(self) -> None:
        """Stop running jobs and give up the lead, so a standby takes over at once."""
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(timeout=30)
            self._watcher = None
        with self._state:
            self._leading = False
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)
        self._lock.release()
        log.info("scheduler stopped")
