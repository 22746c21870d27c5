"""Alert schedules: checking, creating and editing them, and describing when they run.

A cadence is chosen as "daily at HH:MM", "weekly on DAY at HH:MM" or a cron
expression, and always stored as a five-field cron string ("daily at 08:00" is
"0 8 * * *"; weekdays use crontab numbering, 0 = Sunday).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from zoneinfo import available_timezones

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from jobs.errors import ScheduleError, ScheduleNotFound
from jobs.models import AlertSchedule, FrequencyClass, JobPosting, job_interests
from jobs.scheduler import cron_trigger, next_fire_times
from mailer.models import MessageKind
from mailer.outbox import enqueue
from preferences.clock import now
from preferences.models import Interest, InterestStatus
from preferences.text import TextKind, UnstorableText, clean_text, unstorable

CADENCES = ("daily", "weekly", "cron")
# Crontab numbering, Monday first as people read a week.
WEEKDAYS: tuple[tuple[str, str], ...] = (
    ("1", "Monday"),
    ("2", "Tuesday"),
    ("3", "Wednesday"),
    ("4", "Thursday"),
    ("5", "Friday"),
    ("6", "Saturday"),
    ("0", "Sunday"),
)
FREQUENCY_LABELS = {
    FrequencyClass.DAILY: "Daily subscribers",
    FrequencyClass.WEEKLY: "Weekly subscribers",
    FrequencyClass.BOTH: "Daily and weekly subscribers",
}
DIGEST_SIZE = 10
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
_DAY_NAMES = dict(WEEKDAYS) | {"7": "Sunday"}


class InvalidSchedule(ScheduleError):
    """Input that cannot make a schedule; `errors` maps each bad field to a message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class NothingToSend(ScheduleError):
    """A test digest needs at least one open job among the schedule's interests."""


@dataclass(frozen=True)
class ScheduleInput:
    """What a recruiter typed into the schedule form, before it is checked."""

    name: str
    cadence: str
    time: str = ""
    weekday: str = ""
    cron: str = ""
    timezone: str = "UTC"
    all_interests: bool = True
    interest_ids: tuple[int, ...] = field(default_factory=tuple)
    frequency_class: str = FrequencyClass.DAILY.value
    enabled: bool = True


@dataclass(frozen=True)
class ScheduleSummary:
    """One row of the schedule list."""

    id: int
    name: str
    interests: list[str]  # empty means every interest
    frequency: str
    cadence: str
    timezone: str
    enabled: bool
    next_runs: list[datetime]


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def is_timezone(name: str) -> bool:
    return name in _zones()


@cache
def available_zone_names() -> tuple[str, ...]:
    """Every IANA time zone name, sorted, for the form's suggestions."""
    return tuple(sorted(_zones()))


def _parse_time(value: str) -> tuple[int, int] | None:
    match = _TIME.match(value.strip())
    if match is None:
        return None
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        return None
    return hour, minute


def _cadence_cron(data: ScheduleInput, errors: dict[str, str]) -> str:
    if data.cadence not in CADENCES:
        errors["cadence"] = "Choose daily, weekly or a cron expression."
        return ""
    if data.cadence == "cron":
        if unstorable(data.cron) is not None:
            errors["cron"] = "Use only the characters of a cron expression: digits, * , - and /."
            return ""
        expression = " ".join(data.cron.split())
        if not expression:
            errors["cron"] = "Enter a cron expression, for example 0 8 * * 1-5."
        return expression
    parsed = _parse_time(data.time)
    if parsed is None:
        errors["time"] = "Enter the time as HH:MM on a 24-hour clock, for example 08:00."
        return ""
    hour, minute = parsed
    if data.cadence == "daily":
        return f"{minute} {hour} * * *"
    if data.weekday not in dict(WEEKDAYS):
        errors["weekday"] = "Choose the day of the week."
        return ""
    return f"{minute} {hour} * * {data.weekday}"


def _check(
    session: Session, data: ScheduleInput, schedule_id: int | None
) -> tuple[str, FrequencyClass, list[Interest]]:
    """The cron string, frequency class and interests of valid input; raises InvalidSchedule."""
    errors: dict[str, str] = {}
    try:
        name = clean_text(data.name, TextKind.LINE)
    except UnstorableText as exc:
        name, errors["name"] = "", exc.message
    if "name" in errors:
        pass
    elif not name:
        errors["name"] = "Enter a name."
    elif len(name) > 120:
        errors["name"] = "Use at most 120 characters for the name."
    else:
        # Compared in Python: SQLite's lower() folds ASCII only (see interest names).
        rows = session.execute(select(AlertSchedule.id, AlertSchedule.name))
        clash = next((i for i, n in rows if n.casefold() == name.casefold()), None)
        if clash is not None and clash != schedule_id:
            errors["name"] = f"A schedule named {name!r} already exists."
    timezone = data.timezone.strip()
    if not is_timezone(timezone):
        errors["timezone"] = (
            f"{timezone!r} is not a time zone we know. "
            "Use a name such as Europe/Berlin, America/New_York or UTC."
        )
    cron = _cadence_cron(data, errors)
    if cron and "cadence" not in errors and "cron" not in errors:
        try:
            trigger = cron_trigger(cron, timezone if "timezone" not in errors else "UTC")
        except ValueError:
            errors["cron"] = cron_problem(cron)
        else:
            if not next_fire_times(trigger, now(), 1):
                errors["cron"] = "That cron expression never runs."
    try:
        frequency = FrequencyClass(data.frequency_class)
    except ValueError:
        errors["frequency_class"] = "Choose daily subscribers, weekly subscribers or both."
        frequency = FrequencyClass.DAILY
    interests: list[Interest] = []
    if not data.all_interests:
        wanted = set(data.interest_ids)
        if not wanted:
            errors["interests"] = "Choose at least one interest, or choose all interests."
        else:
            interests = list(
                session.scalars(
                    select(Interest).where(Interest.id.in_(wanted)).order_by(Interest.position)
                )
            )
            retired = [i.name for i in interests if i.status is not InterestStatus.ACTIVE]
            if len(interests) != len(wanted):
                errors["interests"] = "One of the chosen interests no longer exists."
            elif retired:
                errors["interests"] = f"Retired interests cannot be chosen: {', '.join(retired)}."
    if errors:
        raise InvalidSchedule(errors)
    return cron, frequency, interests


def _apply(
    session: Session,
    schedule: AlertSchedule,
    data: ScheduleInput,
    checked: tuple[str, FrequencyClass, list[Interest]],
) -> AlertSchedule:
    cron, frequency, interests = checked
    schedule.name = clean_text(data.name, TextKind.LINE)
    schedule.cron = cron
    schedule.timezone = data.timezone.strip()
    schedule.frequency_class = frequency
    schedule.all_interests = data.all_interests
    schedule.interests = interests
    schedule.enabled = data.enabled
    # Set even when only the interests changed, so schedulers notice the edit.
    schedule.updated_at = now()
    session.flush()
    return schedule


def create_schedule(session: Session, data: ScheduleInput) -> AlertSchedule:
    """Add a schedule; raises InvalidSchedule (nothing stored) for bad input."""
    checked = _check(session, data, None)
    schedule = AlertSchedule()
    session.add(schedule)
    return _apply(session, schedule, data, checked)


def update_schedule(session: Session, schedule_id: int, data: ScheduleInput) -> AlertSchedule:
    """Change a schedule; raises InvalidSchedule (the schedule unchanged) for bad input."""
    schedule = get_schedule(session, schedule_id)
    return _apply(session, schedule, data, _check(session, data, schedule_id))


def get_schedule(session: Session, schedule_id: int) -> AlertSchedule:
    schedule = session.get(
        AlertSchedule, schedule_id, options=[selectinload(AlertSchedule.interests)]
    )
    if schedule is None:
        raise ScheduleNotFound(schedule_id)
    return schedule


# The five crontab fields: name, allowed numbers, and a harmless expression to test one in.
_CRON_FIELDS = (
    ("minute", "0 to 59", "{} * * * *"),
    ("hour", "0 to 23", "0 {} * * *"),
    ("day of the month", "1 to 31", "0 0 {} * *"),
    ("month", "1 to 12", "0 0 1 {} *"),
    ("day of the week", "0 to 6 (0 is Sunday)", "0 0 * * {}"),
)
_CRON_SHAPES = "*, a list (1,5), a range (1-5) or a step (*/2)"


def cron_problem(cron: str) -> str:
    """A plain sentence saying what is wrong with a cron expression the trigger refused."""
    fields = cron.split()
    example = "for example 0 8 * * 1-5 (08:00 on weekdays)"
    if len(fields) != 5:
        return (
            f"That cron expression has {len(fields)} field{'s' if len(fields) != 1 else ''}; "
            "use five: minute, hour, day of the month, month and day of the week, "
            f"{example}."
        )
    for value, (name, numbers, probe) in zip(fields, _CRON_FIELDS, strict=True):
        try:
            cron_trigger(probe.format(value), "UTC")
        except ValueError:
            return (
                f"The {name} field, {value!r}, is not valid: use {numbers}, or {_CRON_SHAPES}; "
                f"{example}."
            )
    return f"That cron expression is not valid; {example}."


def _at(minute: str, hour: str) -> str:
    return f"{int(hour):02d}:{int(minute):02d}"


def _day_list(field: str) -> str | None:
    """Day-of-week numbers in words: "Monday and Thursday", or None if not a plain list."""
    days = field.split(",")
    if not all(day in _DAY_NAMES for day in days):
        return None
    names = [_DAY_NAMES[day] for day in days]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def describe_cadence(cron: str) -> str:
    """The cadence in words ("Daily at 08:00", "Every weekday at 07:30", "Every hour at
    :15"); the cron itself only when no words fit."""
    fields = cron.split()
    if len(fields) != 5:
        return f"Cron: {cron}"
    minute, hour, day, month, weekday = fields
    if day != "*" or month != "*" or not minute.isdigit() or int(minute) >= 60:
        return f"Cron: {cron}"
    if hour == "*" and weekday == "*":
        return f"Every hour at :{int(minute):02d}"
    if hour.startswith("*/") and hour[2:].isdigit() and weekday == "*":
        return f"Every {int(hour[2:])} hours at :{int(minute):02d}"
    if not hour.isdigit() or int(hour) >= 24:
        return f"Cron: {cron}"
    at = _at(minute, hour)
    if weekday in ("1-5", "MON-FRI", "mon-fri"):
        return f"Every weekday at {at}"
    if weekday in ("0,6", "6,0", "6,7", "6-7", "SAT,SUN", "sat,sun"):
        return f"Every weekend day at {at}"
    if weekday == "*":
        return f"Daily at {at}"
    if weekday in _DAY_NAMES:
        return f"Weekly on {_DAY_NAMES[weekday]} at {at}"
    days = _day_list(weekday)
    if days is not None:
        return f"Every {days} at {at}"
    return f"Cron: {cron}"


def cadence_input(cron: str) -> dict[str, str]:
    """The form fields that show a stored cron: cadence, time, weekday and cron."""
    words = describe_cadence(cron)
    fields = cron.split()
    if words.startswith(("Daily", "Weekly")):
        time = f"{int(fields[1]):02d}:{int(fields[0]):02d}"
        if words.startswith("Daily"):
            return {"cadence": "daily", "time": time, "weekday": "1", "cron": cron}
        day = "0" if fields[4] == "7" else fields[4]
        return {"cadence": "weekly", "time": time, "weekday": day, "cron": cron}
    return {"cadence": "cron", "time": "08:00", "weekday": "1", "cron": cron}


def upcoming_runs(schedule: AlertSchedule, count: int = 3) -> list[datetime]:
    """The next `count` run times in the schedule's zone; none if disabled or malformed."""
    if not schedule.enabled:
        return []
    try:
        trigger = cron_trigger(schedule.cron, schedule.timezone)
    except (ValueError, LookupError):
        return []
    return next_fire_times(trigger, now(), count)


@dataclass(frozen=True)
class NextRun:
    """The soonest run of any enabled schedule."""

    schedule_id: int
    name: str
    at: datetime


def next_scheduled_run(session: Session) -> NextRun | None:
    """The next alert run of all enabled schedules; None when none is due to run.

    Reads only the enabled schedules' id, name, cron and zone (a handful of short rows):
    a cron expression's next time can't be computed in SQL.
    """
    soonest: NextRun | None = None
    rows = session.execute(
        select(AlertSchedule.id, AlertSchedule.name, AlertSchedule.cron, AlertSchedule.timezone)
        .where(AlertSchedule.enabled.is_(True))
        .order_by(AlertSchedule.name)
    )
    at_now = now()
    for schedule_id, name, cron, timezone in rows:
        try:
            times = next_fire_times(cron_trigger(cron, timezone), at_now, 1)
        except (ValueError, LookupError):
            continue
        if times and (soonest is None or times[0] < soonest.at):
            soonest = NextRun(schedule_id=schedule_id, name=name, at=times[0])
    return soonest


def list_schedules(session: Session) -> list[ScheduleSummary]:
    """Every schedule, by name, with its cadence in words and next three runs."""
    rows = session.scalars(
        select(AlertSchedule)
        .options(selectinload(AlertSchedule.interests))
        .order_by(AlertSchedule.name)
    )
    return [
        ScheduleSummary(
            id=s.id,
            name=s.name,
            interests=[] if s.all_interests else [i.name for i in s.interests],
            frequency=FREQUENCY_LABELS[s.frequency_class],
            cadence=describe_cadence(s.cron),
            timezone=s.timezone,
            enabled=s.enabled,
            next_runs=upcoming_runs(s),
        )
        for s in rows
    ]


def active_interests(session: Session) -> list[Interest]:
    return list(
        session.scalars(
            select(Interest)
            .where(Interest.status == InterestStatus.ACTIVE)
            .order_by(Interest.position, Interest.name)
        )
    )


def queue_test_digest(
    session: Session, schedule_id: int, to_address: str, *, console_url: str
) -> int:
    """Queue a sample digest of the schedule's newest open jobs to a recruiter.

    The row is a job alert marked `test` with no candidate; its footer links
    point at `console_url`, as there is no subscriber to sign links for.
    Returns how many jobs it lists; raises NothingToSend if no open job matches.
    """
    schedule = get_schedule(session, schedule_id)
    interest_ids = (
        [i.id for i in schedule.interests]
        if not schedule.all_interests
        else [i.id for i in active_interests(session)]
    )
    at = now()
    open_jobs = (
        select(JobPosting.id)
        .join(job_interests, job_interests.c.job_id == JobPosting.id)
        .where(
            job_interests.c.interest_id.in_(interest_ids),
            JobPosting.posted_at <= at,
            (JobPosting.closed_at.is_(None)) | (JobPosting.closed_at > at),
        )
        .group_by(JobPosting.id, JobPosting.posted_at)
        .order_by(JobPosting.posted_at.desc(), JobPosting.id.desc())
    )
    job_ids = list(session.scalars(open_jobs.limit(DIGEST_SIZE + 1)))
    if not job_ids:
        raise NothingToSend(
            "No open job matches this schedule's interests yet, so a sample digest "
            "would be empty. Post a job first."
        )
    total = session.scalar(select(func.count()).select_from(open_jobs.subquery())) or 0
    listed = job_ids[:DIGEST_SIZE]
    enqueue(
        session,
        kind=MessageKind.JOB_ALERT,
        template="job_alert",
        to_address=to_address,
        # One per second at most: a double-click queues one test, not two.
        dedupe_key=f"schedule-test:{schedule_id}:{to_address}:{at:%Y%m%dT%H%M%S}",
        context={
            "test": True,
            "schedule_id": schedule_id,
            "interest_id": interest_ids[0],
            "interest_ids": interest_ids,
            "job_ids": listed,
            "more_count": max(0, total - len(listed)),
            "preferences_url": console_url,
            "unsubscribe_url": console_url,
        },
    )
    session.flush()
    return len(listed)
