"""`talentconnect retention run`, and the scheduler's daily retention task."""

from __future__ import annotations

import logging
from typing import Any

import click

from jobs.scheduler import PeriodicTask
from mailer.retention import STEPS, RunReport, ran_today, run_retention
from portal.cli.context import settings_for
from portal.cli.progress import progress_bars
from portal.config import Settings
from preferences.db import make_engine, make_session_factory

log = logging.getLogger("portal.cli")

# The scheduler looks every hour and runs once a day (UTC), so a scheduler that was
# down at midnight still runs that day's retention when it is back.
RETENTION_CHECK_SECONDS = 3600.0

_STEP_WORDS = {
    "repermission_queued": "Re-permission emails",
    "reminders_queued": "Reminders",
    "anonymized": "Anonymizing",
}


def retention_task(settings: Settings) -> PeriodicTask:
    """The daily retention run, for whichever scheduler leads."""
    policy = settings.retention_policy
    upload_dir = settings.upload_dir

    def run(session_factory: Any) -> object:
        with session_factory() as session:
            if ran_today(session):
                return None
        return run_retention(session_factory, policy, upload_dir=upload_dir, trigger="scheduler")

    return PeriodicTask("retention", RETENTION_CHECK_SECONDS, run)


@click.group()
def retention() -> None:
    """Retention: re-permission emails, reminders and anonymization at expiry."""


@retention.command("run")
@click.option("--dry-run", is_flag=True, help="Count what the run would do; change nothing.")
@click.pass_context
def retention_run(ctx: click.Context, dry_run: bool) -> None:
    """Run retention once now: queue re-permission emails and reminders, anonymize the
    candidates whose retention period ended unanswered, and print the counts.

    The running scheduler (`run`, `scheduler`) does this once a day by itself; running it
    again the same day does nothing twice (nobody is asked twice for one expiry, nobody
    anonymized twice).
    """
    settings = settings_for(ctx)
    engine = make_engine(settings.database_url)
    try:
        with progress_bars() as bars:
            tasks = {step: bars.task(_STEP_WORDS[step]) for step in STEPS}
            report = run_retention(
                make_session_factory(engine),
                settings.retention_policy,
                upload_dir=settings.upload_dir,
                dry_run=dry_run,
                on_progress=lambda step, done, total: tasks[step](done, total),
            )
    finally:
        engine.dispose()
    click.echo(_summary(report, settings))


def _summary(report: RunReport, settings: Settings) -> str:
    counts = report.counts
    would = report.dry_run
    by_country = ", ".join(
        f"{country}={months}"
        for country, months in sorted(settings.retention_months_by_country.items())
    )
    lines = [
        ("Dry run: nothing was changed." if would else f"Retention run {report.run_id}:"),
        f"  re-permission emails {'to queue' if would else 'queued'}: "
        f"{counts.get('repermission_queued', 0)}",
        f"  reminders {'to queue' if would else 'queued'}: {counts.get('reminders_queued', 0)}",
        f"  {'to anonymize' if would else 'anonymized'}: {counts.get('anonymized', 0)}",
        f"  past expiry but held: {counts.get('held', 0)}",
        f"  policy: {settings.retention_months} months after last activity"
        + (f" ({by_country})" if by_country else "")
        + f", asked {settings.repermission_days} days before",
    ]
    return "\n".join(lines)
