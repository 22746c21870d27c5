"""`talentconnect webhooks`: the webhook delivery worker, a process beside the mail worker."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import click

from portal.cli.context import settings_for, stop_on_signals
from portal.config import Settings
from portal.webhooks.worker import WebhookWorker, webhook_policy
from preferences.db import make_engine, make_session_factory


def make_webhook_worker(
    settings: Settings,
    factory: Any,
    *,
    batch_size: int | None = None,
    lease: timedelta | None = None,
) -> WebhookWorker:
    """The webhook worker as `webhooks` and `run` build it."""
    return WebhookWorker(
        factory,
        webhook_policy(settings),
        batch_size=batch_size or 200,
        lease=lease,
    )


@click.command("webhooks")
@click.option(
    "--until-empty",
    is_flag=True,
    help="Exit once no event waits to be fanned out and no delivery is due or being sent "
    "(retries due later are left for the next run).",
)
@click.option(
    "--batch-size",
    type=click.IntRange(1, 5000),
    help="Deliveries claimed at once (default 200).",
)
@click.option(
    "--lease-seconds",
    type=click.IntRange(1, 86_400),
    help="How long claimed deliveries stay reserved to this worker; if it dies, another "
    "sends them again after this. Default: 5 minutes, or longer when a batch of "
    "receivers at the full timeout would need it. Keep it above the time a batch takes.",
)
@click.pass_context
def webhooks(
    ctx: click.Context, until_empty: bool, batch_size: int | None, lease_seconds: int | None
) -> None:
    """Deliver webhook events to the endpoints that want them (Standard Webhooks).

    Fans each new event out to the enabled endpoints, POSTs it signed with
    TALENTCONNECT_WEBHOOK_CONCURRENCY requests at a time, retries 5xx, 429 and network
    errors with backoff for TALENTCONNECT_WEBHOOK_RETRY_HOURS, disables an endpoint failing
    for TALENTCONNECT_WEBHOOK_DISABLE_AFTER_DAYS (emailing the admins), and prunes events
    older than TALENTCONNECT_WEBHOOK_KEEP_DAYS. A separate process from `talentconnect
    worker`, so a slow receiver never holds up mail. Run any number against one
    PostgreSQL; on SQLite run one (`talentconnect run` includes it). SIGTERM or Ctrl-C
    finishes the requests in flight and exits.
    """
    settings = settings_for(ctx)
    engine = make_engine(settings.database_url)
    factory = make_session_factory(engine)
    lease = timedelta(seconds=lease_seconds) if lease_seconds else None
    worker = make_webhook_worker(settings, factory, batch_size=batch_size, lease=lease)
    try:
        with stop_on_signals(worker.stop):
            worker.run(poll_interval=settings.worker_poll_seconds, until_empty=until_empty)
    finally:
        engine.dispose()
