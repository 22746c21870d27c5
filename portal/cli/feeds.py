"""`talentconnect feeds add|list|sync`: jobs from applicant tracking systems."""

from __future__ import annotations

import logging
import sys

import click
from rich.console import Console
from rich.table import Table

from jobs.feed_models import Feed, FeedKind, FeedSync, SyncStatus
from portal.cli.context import settings_for
from portal.console.feeds import (
    MAX_INTERVAL,
    MIN_INTERVAL,
    FeedInput,
    FeedNotFound,
    InvalidFeed,
    create_feed,
    feed_named,
    feed_policy,
    list_feeds,
    sync_feed,
)
from preferences.db import make_engine, make_session_factory, session_scope

log = logging.getLogger("portal.cli")

_STATUS_WORDS = {
    SyncStatus.OK: "ok",
    SyncStatus.NOT_MODIFIED: "unchanged (304)",
    SyncStatus.FAILED: "failed",
}


@click.group("feeds")
def feeds_group() -> None:
    """Job feeds: postings from Greenhouse, Lever, or a JSON/CSV file at a URL."""


@feeds_group.command("add")
@click.argument("name")
@click.option(
    "--kind", required=True, type=click.Choice([k.value for k in FeedKind]), help="Feed format."
)
@click.option("--url", required=True, help="https:// URL of the feed.")
@click.option(
    "--interval",
    default=60,
    show_default=True,
    type=click.IntRange(MIN_INTERVAL, MAX_INTERVAL),
    help="Minutes between scheduled syncs.",
)
@click.option("--disabled", is_flag=True, help="Add it without scheduled syncs.")
@click.pass_context
def feeds_add(
    ctx: click.Context, name: str, kind: str, url: str, interval: int, disabled: bool
) -> None:
    """Add a feed called NAME (lowercase letters, digits, hyphens; it starts each posting's
    reference, e.g. NAME-4012).

    Greenhouse: https://boards-api.greenhouse.io/v1/boards/BOARD/jobs?content=true;
    Lever: https://api.lever.co/v0/postings/SITE?mode=json; json and csv: a file in the
    `jobs import` format. The scheduler syncs it every --interval minutes.
    """
    settings = settings_for(ctx)
    engine = make_engine(settings.database_url)
    data = FeedInput(
        name=name, kind=kind, url=url, interval_minutes=str(interval), enabled=not disabled
    )
    try:
        with session_scope(make_session_factory(engine)) as session:
            feed = create_feed(session, data, feed_policy(settings))
            feed_name = feed.name
    except InvalidFeed as exc:
        raise click.UsageError(" ".join(exc.errors.values())) from None
    finally:
        engine.dispose()
    log.info("feed added", extra={"feed": feed_name, "kind": kind})
    click.echo(f"feed {feed_name} added; sync it now with `talentconnect feeds sync {feed_name}`")


@feeds_group.command("list")
@click.pass_context
def feeds_list(ctx: click.Context) -> None:
    """Print every feed with its URL, interval and last sync."""
    engine = make_engine(settings_for(ctx).database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            rows = [
                (
                    s.feed.name,
                    s.feed.kind.value,
                    s.feed.url,
                    f"{s.feed.interval_minutes} min" if s.feed.enabled else "disabled",
                    str(s.postings),
                    _last_sync(s.last_sync),
                    "FAILING" if s.feed.failing else "",
                )
                for s in list_feeds(session)
            ]
    finally:
        engine.dispose()
    if not rows:
        click.echo("no feeds (add one with `talentconnect feeds add NAME --kind KIND --url URL`)")
        return
    table = Table(title="Job feeds")
    for column in ("Name", "Kind", "URL", "Every", "Postings", "Last sync", ""):
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    Console().print(table)


def _last_sync(record: FeedSync | None) -> str:
    if record is None:
        return "never"
    return f"{record.started_at.isoformat(timespec='seconds')} {_STATUS_WORDS[record.status]}"


@feeds_group.command("sync")
@click.argument("name", required=False)
@click.option("--all", "all_feeds", is_flag=True, help="Sync every enabled feed.")
@click.pass_context
def feeds_sync(ctx: click.Context, name: str | None, all_feeds: bool) -> None:
    """Sync the feed NAME (or --all enabled feeds) now and print each report.

    Exits 1 if a sync failed.
    """
    if (name is None) == (not all_feeds):
        raise click.UsageError("give a feed NAME or --all, not both")
    settings = settings_for(ctx)
    policy = feed_policy(settings)
    engine = make_engine(settings.database_url)
    factory = make_session_factory(engine)
    reports: list[tuple[str, FeedSync]] = []
    try:
        with session_scope(factory) as session:
            if name is not None:
                try:
                    ids = [feed_named(session, name).id]
                except FeedNotFound:
                    raise click.UsageError(
                        f"no feed named {name!r} (see `talentconnect feeds list`)"
                    ) from None
            else:
                ids = [s.feed.id for s in list_feeds(session) if s.feed.enabled]
        for feed_id in ids:
            with session_scope(factory) as session:
                feed = session.get_one(Feed, feed_id)
                reports.append((feed.name, sync_feed(session, feed, policy)))
    finally:
        engine.dispose()
    _print_reports(reports)
    if any(record.status is SyncStatus.FAILED for _name, record in reports):
        sys.exit(1)


def _print_reports(reports: list[tuple[str, FeedSync]]) -> None:
    out = Console()
    if not reports:
        out.print("no enabled feed to sync")
        return
    table = Table(title="Feed syncs")
    for column in ("Feed", "Result", "Created", "Updated", "Closed", "Unchanged", "Rejected"):
        table.add_column(column)
    for name, r in reports:
        table.add_row(
            name,
            _STATUS_WORDS[r.status],
            *(str(n) for n in (r.created, r.updated, r.closed, r.unchanged, len(r.rejected))),
        )
    out.print(table)
    for name, r in reports:
        if r.status is SyncStatus.FAILED:
            out.print(f"{name}: {r.error}", markup=False, highlight=False)
        for where, reason in r.rejected:
            out.print(f"{name}: rejected {where}: {reason}", markup=False, highlight=False)
