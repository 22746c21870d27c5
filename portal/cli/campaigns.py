"""`talentconnect campaigns`: list campaigns and queue the ones that are due (for cron)."""

from __future__ import annotations

import logging

import click
from rich.console import Console
from rich.table import Table

from mailer.campaign_admin import dispatch_due_campaigns, list_campaigns
from portal.cli.context import settings_for
from portal.cli.progress import progress_bar
from preferences.db import make_engine, make_session_factory, session_scope

log = logging.getLogger("portal.cli")


@click.group()
def campaigns() -> None:
    """Mass campaigns: list them, and queue those whose send time has come."""


@campaigns.command("dispatch")
@click.pass_context
def campaigns_dispatch(ctx: click.Context) -> None:
    """Queue every campaign whose send time has passed; safe to run from cron every minute.

    Each campaign's audience is queued in one statement with one row per
    recipient, so a second run, or a run after a crash, queues nobody twice.
    The worker sends the rows and re-checks every opt-out first. A campaign
    with an image without alt text, or whose email passes 100 KB of HTML, is
    not queued: it goes back to draft, with a warning in the log.
    """
    # Imported here: portal.cli.main imports this module to register the command.

    settings = settings_for(ctx)
    engine = make_engine(settings.database_url)
    try:
        with progress_bar("Queueing campaigns") as on_progress:
            done = dispatch_due_campaigns(
                make_session_factory(engine),
                on_progress=on_progress,
                settings=settings.mail_settings(),
            )
    finally:
        engine.dispose()
    for item in done:
        log.info(
            "campaign dispatched", extra={"campaign_id": item.campaign_id, "queued": item.queued}
        )
    total = sum(item.queued for item in done)
    click.echo(f"{len(done)} campaign(s) dispatched, {total} message(s) queued")


@campaigns.command("list")
@click.pass_context
def campaigns_list(ctx: click.Context) -> None:
    """Print every campaign with its status and send time."""

    engine = make_engine(settings_for(ctx).database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            rows = [
                (c.id, c.name, c.status.value, c.scheduled_at, c.sent_at)
                for c in list_campaigns(session)
            ]
    finally:
        engine.dispose()
    table = Table(title="Campaigns")
    for column in ("Id", "Name", "Status", "Send time (UTC)", "Queued (UTC)"):
        table.add_column(column)
    for campaign_id, name, status, scheduled_at, sent_at in rows:
        table.add_row(
            str(campaign_id),
            name,
            status,
            f"{scheduled_at:%Y-%m-%d %H:%M}" if scheduled_at else "",
            f"{sent_at:%Y-%m-%d %H:%M}" if sent_at else "",
        )
    Console().print(table)
