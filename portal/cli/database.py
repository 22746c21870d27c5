"""`talentconnect db`: apply the schema migrations and show the revision."""

from __future__ import annotations

import click

from portal.cli.context import make_database_dir, settings_for
from portal.migrate import current_revision, head_revision, upgrade
from preferences.db import make_engine


@click.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
@click.pass_context
def db_upgrade(ctx: click.Context, revision: str) -> None:
    """Apply migrations up to REVISION."""
    make_database_dir(settings_for(ctx).database_url)
    engine = make_engine(settings_for(ctx).database_url)
    try:
        before = current_revision(engine)
        upgrade(engine, revision)
        after = current_revision(engine)
    finally:
        engine.dispose()
    click.echo(f"database at revision {after} (was {before or 'empty'})")


@db.command("current")
@click.pass_context
def db_current(ctx: click.Context) -> None:
    """Print the database revision and the newest one available."""
    engine = make_engine(settings_for(ctx).database_url)
    try:
        click.echo(f"current: {current_revision(engine) or 'empty'}  head: {head_revision()}")
    finally:
        engine.dispose()
