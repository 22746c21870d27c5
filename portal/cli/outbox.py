"""`talentconnect outbox status`: what the sender worker has still to do."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from mailer.outbox import outbox_report
from portal.cli.context import settings_for
from preferences.db import make_engine, make_session_factory, session_scope


@click.group()
def outbox() -> None:
    """Outbox commands."""


@outbox.command("status")
@click.pass_context
def outbox_status(ctx: click.Context) -> None:
    """Print counts by status, the oldest pending message and recent errors."""
    engine = make_engine(settings_for(ctx).database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            report = outbox_report(session)
    finally:
        engine.dispose()
    out = Console()
    table = Table(title="Outbox")
    table.add_column("Status")
    table.add_column("Messages", justify="right")
    for status, count in report.counts.items():
        table.add_row(status, str(count))
    out.print(table)
    oldest = report.oldest_pending_at.isoformat() if report.oldest_pending_at else "none"
    out.print(f"Oldest pending: {oldest}")
    for message_id, status, error in report.recent_errors:
        out.print(f"  #{message_id} {status}: {error}")
