"""`talentconnect worker` and `scheduler`: the background processes, and how `run` builds them."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import click

from jobs.digests import digest_context
from mailer.config import SmtpTarget
from mailer.models import MessageKind
from mailer.sender import SmtpSender
from mailer.worker import OutboxWorker
from portal.cli.context import settings_for, stop_on_signals
from portal.config import Settings
from preferences.db import make_engine, make_session_factory

if TYPE_CHECKING:
    from jobs.scheduler import PeriodicTask


def campaign_dispatcher(settings: Settings) -> Callable[[Any], object]:
    """The scheduler's campaign dispatch, with the sender settings its size check needs."""
    # Imported here: only a scheduler dispatches campaigns; `worker` never loads it.
    from mailer.campaign_admin import dispatch_due_campaigns

    mail = settings.mail_settings()
    return lambda factory: dispatch_due_campaigns(factory, settings=mail)


def scheduled_tasks(settings: Settings) -> list[PeriodicTask]:
    """The portal's housekeeping, run by whichever scheduler leads (`run` or `scheduler`):
    pruning unclaimed uploads and expired API idempotency keys, syncing each enabled job
    feed on its interval, and the daily retention run."""
    # Imported here, like the scheduler: `talentconnect worker` loads none of them.
    from portal.auth.idempotency import idempotency_prune_task
    from portal.cli.retention import retention_task
    from portal.connect.uploads import prune_task
    from portal.console.feeds import feed_policy, feeds_task

    return [
        prune_task(settings.upload_dir, settings.upload_unclaimed_hours),
        idempotency_prune_task(),
        feeds_task(feed_policy(settings)),
        retention_task(settings),
    ]


def make_worker(
    settings: Settings, factory: Any, target: SmtpTarget, batch_size: int | None = None
) -> OutboxWorker:
    """The sender worker as `worker` and `run` build it, with job-alert digests wired in."""
    return OutboxWorker(
        factory,
        lambda: SmtpSender(target),
        settings.mail_settings(),
        batch_size=batch_size or settings.worker_batch_size,
        lease=timedelta(minutes=5),
        connections=settings.smtp_connections,
        rate=settings.send_rate,
        context_sources={MessageKind.JOB_ALERT: digest_context},
    )


@click.command()
@click.option("--until-empty", is_flag=True, help="Exit once no message is due.")
@click.option("--batch-size", type=click.IntRange(1, 10_000), help="Rows claimed at once.")
@click.pass_context
def worker(ctx: click.Context, until_empty: bool, batch_size: int | None) -> None:
    """Send queued outbox messages over SMTP (TALENTCONNECT_SMTP_URL)."""
    settings = settings_for(ctx)
    target = settings.smtp_target
    if target is None:
        raise click.UsageError(
            "TALENTCONNECT_SMTP_URL is not set; the worker needs a relay "
            "(`talentconnect run` starts a development sink instead)"
        )
    engine = make_engine(settings.database_url)
    factory = make_session_factory(engine)
    sender = make_worker(settings, factory, target, batch_size)
    with stop_on_signals(sender.stop):
        sender.run(poll_interval=settings.worker_poll_seconds, until_empty=until_empty)
    engine.dispose()


@click.command()
@click.pass_context
def scheduler(ctx: click.Context) -> None:
    """Run the alert scheduler until stopped.

    On PostgreSQL any number may run: the one holding the leader advisory lock
    runs alerts, the others stand by and take over within a minute if it stops.
    On SQLite run exactly one (or use `talentconnect run`).
    """
    # Imported here: `talentconnect worker` and the other commands never load the scheduler.
    from jobs.scheduler import AlertScheduler

    settings = settings_for(ctx)
    engine = make_engine(settings.database_url)
    alert_scheduler = AlertScheduler(
        make_session_factory(engine),
        reload_seconds=settings.scheduler_reload_seconds,
        dispatch_campaigns=campaign_dispatcher(settings),
        tasks=scheduled_tasks(settings),
    )
    done = threading.Event()
    try:
        alert_scheduler.start()
        with stop_on_signals(done.set):
            while not done.wait(1.0):
                pass
    finally:
        # Releases the leader lock at once, so a standby need not wait for a timeout.
        alert_scheduler.shutdown()
        engine.dispose()
