"""The console home's figures: subscribers, open jobs, next alert run, messages queued,
and the job feeds that are failing.

Each figure comes from the package that owns its rows, as one COUNT query (the next
run reads the few enabled schedules, since a cron's next time isn't computed in SQL).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from jobs.postings import count_open_jobs
from jobs.schedules import NextRun, next_scheduled_run
from mailer.outbox import count_queued
from portal.console.feeds import failing_feed_names
from preferences.clock import now
from preferences.subscriptions import count_subscribers


@dataclass(frozen=True)
class ConsoleOverview:
    subscribers: int
    open_jobs: int
    next_run: NextRun | None
    queued: int
    # Names of the job feeds whose last three syncs or more failed.
    failing_feeds: list[str]


def console_overview(session: Session) -> ConsoleOverview:
    return ConsoleOverview(
        subscribers=count_subscribers(session),
        open_jobs=count_open_jobs(session),
        next_run=next_scheduled_run(session),
        queued=count_queued(session),
        failing_feeds=failing_feed_names(session),
    )


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"


def time_until(at: datetime, *, since: datetime | None = None) -> str:
    """How far off `at` is, in words: "in 5 minutes", "in 3 hours", "in 2 days"."""
    seconds = (at - (since or now())).total_seconds()
    if seconds < 60:
        return "in under a minute"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"in {_plural(minutes, 'minute')}"
    hours = round(seconds / 3600)
    if hours < 24:
        return f"in {_plural(hours, 'hour')}"
    return f"in {_plural(round(seconds / 86400), 'day')}"


def when_in_words(at: datetime) -> str:
    """A run time for people: "Monday 7 December at 08:00 CET"."""
    return f"{at:%A} {at.day} {at:%B} at {at:%H:%M} {at.tzname() or ''}".rstrip()
