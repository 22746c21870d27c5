"""The alert scheduler: APScheduler 3 jobs built from the `alert_schedules` table."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from jobs.models import AlertSchedule
from preferences.db import session_scope

log = logging.getLogger("jobs.scheduler")

RELOAD_JOB_ID = "reload-schedules"
# A schedule missed during downtime still runs once if the scheduler is back within this.
MISFIRE_GRACE_SECONDS = 6 * 3600


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


def cron_trigger(expression: str, timezone: str) -> CronTrigger:
    """Build a trigger from a five-field cron expression; raises ValueError if malformed.

    Day-of-week numbers follow crontab: 0 and 7 are Sunday, 1 is Monday.
    """
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"Wrong number of fields; got {len(fields)}, expected 5")
    minute, hour, day, month, weekday = fields
    return CronTrigger(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=_crontab_weekdays(weekday),
        timezone=timezone,
    )


def _log_fired(schedule_id: int, name: str) -> None:
    log.info("schedule fired", extra={"schedule_id": schedule_id, "schedule": name})


class AlertScheduler:
    """Keeps one APScheduler job per enabled alert schedule, reloaded periodically.

    `on_fire(schedule_id, name)` is called when a schedule comes due; the alert
    run itself (matching and digests) plugs in there.
    """

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        reload_seconds: int = 60,
        on_fire: Callable[[int, str], None] = _log_fired,
    ) -> None:
        self._sessions = session_factory
        self._reload_seconds = reload_seconds
        self._on_fire = on_fire
        self._scheduler = BackgroundScheduler(timezone=UTC)

    def start(self) -> None:
        self._scheduler.start()
        self._scheduler.add_job(
            self.reload,
            "interval",
            seconds=self._reload_seconds,
            id=RELOAD_JOB_ID,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
        )
        self.reload()
        log.info("scheduler started", extra={"reload_seconds": self._reload_seconds})

    def reload(self) -> None:
        """Bring the APScheduler jobs in line with the enabled schedules in the database."""
        with session_scope(self._sessions) as session:
            rows = session.execute(
                select(
                    AlertSchedule.id, AlertSchedule.name, AlertSchedule.cron, AlertSchedule.timezone
                ).where(AlertSchedule.enabled.is_(True))
            ).all()
        wanted: set[str] = set()
        for row in rows:
            job_id = f"schedule:{row.id}"
            try:
                trigger = cron_trigger(row.cron, row.timezone)
            except (ValueError, LookupError) as exc:
                log.error(
                    "schedule has a bad cadence",
                    extra={"schedule_id": row.id, "cron": row.cron, "error": str(exc)},
                )
                continue
            wanted.add(job_id)
            existing = self._scheduler.get_job(job_id)
            # repr, not str: only repr includes the time zone. The args carry the name.
            if (
                existing is not None
                and repr(existing.trigger) == repr(trigger)
                and tuple(existing.args) == (row.id, row.name)
            ):
                continue
            job = self._scheduler.add_job(
                self._on_fire,
                trigger,
                args=(row.id, row.name),
                id=job_id,
                name=row.name,
                replace_existing=True,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=MISFIRE_GRACE_SECONDS,
            )
            log.info(
                "schedule loaded",
                extra={
                    "schedule_id": row.id,
                    "schedule": row.name,
                    "next_run": job.next_run_time.isoformat() if job.next_run_time else None,
                },
            )
        for job in self._scheduler.get_jobs():
            if job.id.startswith("schedule:") and job.id not in wanted:
                job.remove()
                log.info("schedule unloaded", extra={"job": job.id})

    def scheduled_ids(self) -> list[str]:
        return sorted(j.id for j in self._scheduler.get_jobs() if j.id.startswith("schedule:"))

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)
        log.info("scheduler stopped")
