"""`talentconnect uploads prune`: delete resumes no profile claimed."""

from __future__ import annotations

import logging

import click

from portal.cli.context import settings_for
from portal.connect.uploads import prune_orphan_uploads
from preferences.db import make_engine, make_session_factory, session_scope

log = logging.getLogger("portal.cli")


@click.group()
def uploads() -> None:
    """Upload-folder housekeeping."""


@uploads.command("prune")
@click.option(
    "--older-than",
    "hours",
    default=None,
    type=click.FloatRange(min=0),
    help="Only files older than this many hours (default: UPLOAD_UNCLAIMED_HOURS, 24).",
)
@click.pass_context
def uploads_prune(ctx: click.Context, hours: float | None) -> None:
    """Delete uploaded resumes that no profile claimed (abandoned connect drafts).

    The running scheduler (`run`, `scheduler`) does this every hour by itself.
    """
    settings = settings_for(ctx)
    if hours is None:
        hours = settings.upload_unclaimed_hours
    engine = make_engine(settings.database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            removed = prune_orphan_uploads(session, settings.upload_dir, older_than_hours=hours)
    finally:
        engine.dispose()
    log.info("uploads pruned", extra={"removed": len(removed), "folder": str(settings.upload_dir)})
    click.echo(f"removed {len(removed)} orphaned upload(s)")
