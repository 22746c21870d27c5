"""`talentconnect alerts`: list the alert schedules and run them from the command line."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import click
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from jobs.alerts import AlertRunSummary, run_schedule
from jobs.models import AlertRun, AlertRunStatus, AlertSchedule
from jobs.scheduler import cron_trigger
from portal.cli.context import settings_for
from portal.cli.progress import progress_bars
from preferences.clock import now
from preferences.db import make_engine, make_session_factory, session_scope

log = logging.getLogger("portal.cli")


@dataclass(frozen=True)
class ScheduleRow:
    """An alert schedule as the CLI shows it."""

    id: int
    name: str
    interests: str
    frequency_class: str
    cron: str
    timezone: str
    enabled: bool
    next_run: datetime | None
    problem: str
    last_success: datetime | None
    created_at: datetime

    def due(self, at: datetime) -> bool:
        """Enabled, and a scheduled time has passed since its last successful run."""
        if not self.enabled or self.problem:
            return False
        since = self.last_success or self.created_at
        # From just after `since`: a run at exactly a scheduled time covers that time.
        fire = cron_trigger(self.cron, self.timezone).get_next_fire_time(
            None, since + timedelta(microseconds=1)
        )
        return fire is not None and fire <= at


def load_schedules(session: Session, at: datetime) -> list[ScheduleRow]:
    """Every schedule, with its next run time and its last successful run."""
    last_success: dict[int | None, datetime] = {
        schedule_id: started
        for schedule_id, started in session.execute(
            select(AlertRun.schedule_id, func.max(AlertRun.started_at))
            .where(AlertRun.status == AlertRunStatus.SUCCEEDED, AlertRun.schedule_id.is_not(None))
            .group_by(AlertRun.schedule_id)
        )
    }
    rows = []
    for schedule in session.scalars(select(AlertSchedule).order_by(AlertSchedule.name)):
        problem = ""
        next_run: datetime | None = None
        try:
            next_run = cron_trigger(schedule.cron, schedule.timezone).get_next_fire_time(None, at)
        except (ValueError, LookupError) as exc:
            problem = f"bad cadence: {exc}"
        interests = (
            "all"
            if schedule.all_interests
            else ", ".join(sorted(i.name for i in schedule.interests)) or "(none)"
        )
        rows.append(
            ScheduleRow(
                id=schedule.id,
                name=schedule.name,
                interests=interests,
                frequency_class=schedule.frequency_class.value,
                cron=schedule.cron,
                timezone=schedule.timezone,
                enabled=schedule.enabled,
                next_run=next_run,
                problem=problem,
                last_success=last_success.get(schedule.id),
                created_at=schedule.created_at,
            )
        )
    return rows


def _factory(ctx: click.Context) -> tuple[sessionmaker[Session], Engine]:

    engine = make_engine(settings_for(ctx).database_url)
    return make_session_factory(engine), engine


@click.group()
def alerts() -> None:
    """Job-alert schedules: list them, run them now."""


@alerts.command("list")
@click.pass_context
def alerts_list(ctx: click.Context) -> None:
    """Print every alert schedule with its cadence and next run time."""
    factory, engine = _factory(ctx)
    try:
        with session_scope(factory) as session:
            rows = load_schedules(session, now())
    finally:
        engine.dispose()
    table = Table(title="Alert schedules")
    for column in (
        "Name",
        "Interests",
        "Frequency class",
        "Cadence (cron)",
        "Timezone",
        "Enabled",
        "Next run",
    ):
        table.add_column(column)
    for row in rows:
        if row.problem:
            next_run = row.problem
        elif not row.enabled:
            next_run = "(disabled)"
        elif row.next_run is not None:
            next_run = row.next_run.strftime("%Y-%m-%d %H:%M %Z")
        else:
            next_run = "never"
        table.add_row(
            row.name,
            row.interests,
            row.frequency_class,
            row.cron,
            row.timezone,
            "yes" if row.enabled else "no",
            next_run,
        )
    out = Console(width=200)
    if rows:
        out.print(table)
    out.print(f"{len(rows)} schedule(s)")


@alerts.command("run")
@click.option("--schedule", "name", metavar="NAME", help="Run the schedule with this name.")
@click.option("--all-due", is_flag=True, help="Run enabled schedules due since their last run.")
@click.option("--all", "run_all", is_flag=True, help="Run every enabled schedule now.")
@click.option(
    "--batch-size",
    default=1000,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Candidates written per transaction.",
)
@click.pass_context
def alerts_run(
    ctx: click.Context, name: str | None, all_due: bool, run_all: bool, batch_size: int
) -> None:
    """Match new jobs to subscribers and queue digests: one schedule, the due ones, or all.

    Exactly one of --schedule NAME, --all-due and --all. A job already sent to a
    candidate is never listed again, so running a schedule twice is safe. Exits 1
    if any run failed.
    """
    if sum((name is not None, all_due, run_all)) != 1:
        raise click.UsageError("give exactly one of --schedule NAME, --all-due or --all")
    factory, engine = _factory(ctx)
    try:
        at = now()
        with session_scope(factory) as session:
            rows = load_schedules(session, at)
        if name is not None:
            chosen = [row for row in rows if row.name == name]
            if not chosen:
                known = ", ".join(row.name for row in rows) or "none"
                raise click.BadParameter(
                    f"no schedule named {name!r} (schedules: {known})", param_hint="--schedule"
                )
            if not chosen[0].enabled:
                raise click.BadParameter(
                    f"schedule {name!r} is disabled; enable it first", param_hint="--schedule"
                )
        elif run_all:
            chosen = [row for row in rows if row.enabled]
        else:
            chosen = [row for row in rows if row.due(at)]
        summaries = _run_all(factory, chosen, batch_size)
    finally:
        engine.dispose()
    _print_summaries(summaries)
    if any(not s.succeeded for s in summaries):
        raise SystemExit(1)


def _run_all(
    factory: sessionmaker[Session], chosen: list[ScheduleRow], batch_size: int
) -> list[AlertRunSummary]:
    summaries = []
    with progress_bars() as bars:
        for row in chosen:
            advance = bars.task(f"{row.name}: candidates")
            summaries.append(
                run_schedule(factory, row.id, batch_size=batch_size, on_progress=advance)
            )
    return summaries


def _print_summaries(summaries: list[AlertRunSummary]) -> None:
    out = Console(width=200)
    if not summaries:
        out.print("no schedule to run")
        return
    table = Table(title="Alert runs")
    for column in ("Schedule", "Run", "Status", "Candidates", "Digests queued", "Jobs", "Seconds"):
        table.add_column(
            column, justify="right" if column not in ("Schedule", "Status") else "left"
        )
    for s in summaries:
        seconds = (s.finished_at - s.started_at).total_seconds()
        table.add_row(
            s.name,
            str(s.run_id) if s.run_id is not None else "-",
            s.status.value,
            str(s.candidates_matched),
            str(s.digests_queued),
            str(s.jobs_listed),
            f"{seconds:.2f}",
        )
    out.print(table)
    for s in summaries:
        if s.error:
            out.print(f"{s.name}: {s.error}")
        elif s.explanation:
            out.print(f"{s.name}: nothing queued. {s.explanation}")
