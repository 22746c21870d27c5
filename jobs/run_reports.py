"""Reports of alert runs for the console: the recent runs, and what became of one run's digests.

The counting is `mailer.reports.send_report` over the run's outbox rows, picked by
the dedupe-key prefix `jobs.alerts.ALERT_RUN` builds; this module adds the run and
its schedule's name, which live in `jobs`, a package `mailer` may not import. A
run's schedule may be gone: `alert_runs.schedule_id` is SET NULL when a schedule is
deleted, and instant runs never had one, so the name is None for both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Select, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from jobs.alerts import ALERT_RUN
from jobs.errors import AlertError
from jobs.models import AlertRun, AlertSchedule
from mailer.reports import UNSUBSCRIBE_WINDOW, SendReport, send_report
from preferences.models import ConsentScope

RECENT_RUNS = 20


class AlertRunNotFound(AlertError):
    """No alert run has this id."""

    def __init__(self, run_id: int) -> None:
        super().__init__(f"there is no alert run {run_id}")
        self.run_id = run_id


@dataclass(frozen=True)
class AlertRunEntry:
    """An alert run and the name of its schedule (None: instant alerts or a deleted schedule)."""

    run: AlertRun
    schedule_name: str | None


def _entries() -> Select[AlertRun, str | None]:
    """Runs with their schedule's name; an outer join, so a run without one has None."""
    return select(AlertRun, AlertSchedule.name).outerjoin(
        AlertSchedule, AlertSchedule.id == AlertRun.schedule_id
    )


def list_alert_runs(session: Session, *, limit: int = RECENT_RUNS) -> list[AlertRunEntry]:
    """The latest `limit` alert runs, newest first, with their schedules' names.

    Ids follow start order (a run's row is inserted when it starts), and the
    primary key serves the ordering without a sort.
    """
    rows = session.execute(_entries().order_by(AlertRun.id.desc()).limit(limit))
    return [AlertRunEntry(run, name) for run, name in rows]


def alert_run_rows(run_id: int) -> ColumnElement[bool]:
    """The outbox rows of one alert run's digests, by their dedupe-key prefix."""
    return ALERT_RUN.rows(run_id)


def alert_run_send_report(
    session: Session, run_id: int, *, window: timedelta = UNSUBSCRIBE_WINDOW
) -> SendReport:
    """The report of one alert run's digests; its unsubscribes are one-click opt-outs of
    interest alerts or saved searches (a digest may cover both)."""
    return send_report(
        session,
        alert_run_rows(run_id),
        unsubscribe_scope=(ConsentScope.INTEREST, ConsentScope.SAVED_SEARCH),
        window=window,
        send_key=ALERT_RUN.prefix(run_id),
    )


def alert_run_report(
    session: Session, run_id: int, *, window: timedelta = UNSUBSCRIBE_WINDOW
) -> tuple[AlertRunEntry, SendReport]:
    """The run and what became of its digests. Raises `AlertRunNotFound`.

    Its unsubscribes are one-click withdrawals from interest alerts or saved searches by
    the run's recipients, from the first send until `window` after the last.
    """
    row = session.execute(_entries().where(AlertRun.id == run_id)).first()
    if row is None:
        raise AlertRunNotFound(run_id)
    run, name = row
    return AlertRunEntry(run, name), alert_run_send_report(session, run_id, window=window)
