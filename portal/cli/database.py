"""`talentconnect db`: apply the schema migrations, show the revision, seal secrets."""

from __future__ import annotations

import click
from sqlalchemy import Engine

from portal.cli.context import make_database_dir, settings_for
from portal.config import Settings
from portal.migrate import current_revision, head_revision, upgrade
from portal.webhooks.sealing import SealReport, seal_stored_secrets, secret_seal
from preferences.db import make_engine, make_session_factory


def seal_secrets(settings: Settings, engine: Engine) -> SealReport:
    """Seal the stored webhook signing secrets under the first of SECRET_KEYS; the report."""
    return seal_stored_secrets(
        make_session_factory(engine), secret_seal(tuple(settings.secret_keys))
    )


def _echo_sealed(report: SealReport) -> None:
    click.echo(
        f"webhook signing secrets: {report.sealed} sealed now, {report.current} already "
        f"sealed with the first key, {report.unreadable} unreadable"
    )
    if report.unreadable:
        click.echo(
            "  unreadable: sealed with a key no longer in TALENTCONNECT_SECRET_KEYS; put it "
            "back after the first key and run again, or rotate those endpoints' secrets",
            err=True,
        )


@click.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
@click.pass_context
def db_upgrade(ctx: click.Context, revision: str) -> None:
    """Apply migrations up to REVISION; at the newest, seal webhook secrets stored in plain text."""
    settings = settings_for(ctx)
    make_database_dir(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        before = current_revision(engine)
        upgrade(engine, revision)
        after = current_revision(engine)
        report = seal_secrets(settings, engine) if after == head_revision() else None
    finally:
        engine.dispose()
    click.echo(f"database at revision {after} (was {before or 'empty'})")
    if report is not None and (report.sealed or report.unreadable):
        _echo_sealed(report)


@db.command("current")
@click.pass_context
def db_current(ctx: click.Context) -> None:
    """Print the database revision and the newest one available."""
    engine = make_engine(settings_for(ctx).database_url)
    try:
        click.echo(f"current: {current_revision(engine) or 'empty'}  head: {head_revision()}")
    finally:
        engine.dispose()


@db.command("seal-secrets")
@click.pass_context
def db_seal_secrets(ctx: click.Context) -> None:
    """Seal every webhook signing secret under the first of SECRET_KEYS.

    Secrets stored in plain text by an earlier release, and those sealed under a key that
    is no longer first, are sealed again under the first; then an older key may leave
    TALENTCONNECT_SECRET_KEYS. Exits 1 if a secret can't be opened with any key.
    """
    settings = settings_for(ctx)
    engine = make_engine(settings.database_url)
    try:
        report = seal_secrets(settings, engine)
    finally:
        engine.dispose()
    _echo_sealed(report)
    if report.unreadable:
        ctx.exit(1)
