"""`talentconnect api-token`: tokens for the REST API, shown once when made."""

from __future__ import annotations

import logging

import click
from rich.console import Console
from rich.table import Table

from portal.auth.api_tokens import ApiTokenError, create_token, list_tokens, revoke_token
from portal.cli.context import settings_for
from preferences.db import make_engine, make_session_factory, session_scope

log = logging.getLogger("portal.cli")


@click.group("api-token")
def api_token_group() -> None:
    """Tokens for the /api/v1 REST API (applicant-tracking systems)."""


@api_token_group.command("create")
@click.argument("name")
@click.pass_context
def api_token_create(ctx: click.Context, name: str) -> None:
    """Make a token called NAME and print it once (only its hash is stored)."""

    engine = make_engine(settings_for(ctx).database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            _row, token = create_token(session, name)
    except ApiTokenError as exc:
        raise click.UsageError(str(exc)) from None
    finally:
        engine.dispose()
    log.info("api token created", extra={"token_name": name})
    click.echo(f"Token {name} (shown only now; send it as 'Authorization: Bearer …'):", err=True)
    click.echo(token)


@api_token_group.command("list")
@click.pass_context
def api_token_list(ctx: click.Context) -> None:
    """Print every token's name, state and times (never the token)."""

    engine = make_engine(settings_for(ctx).database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            rows = [
                (
                    t.name,
                    "active" if t.active else "revoked",
                    t.created_at.isoformat(timespec="seconds"),
                    t.last_used_at.isoformat(timespec="seconds") if t.last_used_at else "never",
                )
                for t in list_tokens(session)
            ]
    finally:
        engine.dispose()
    if not rows:
        click.echo("no API tokens (make one with `talentconnect api-token create NAME`)")
        return
    table = Table(title="API tokens")
    for column in ("Name", "State", "Created", "Last write"):
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    Console().print(table)


@api_token_group.command("revoke")
@click.argument("name")
@click.pass_context
def api_token_revoke(ctx: click.Context, name: str) -> None:
    """Revoke the token called NAME; requests using it are refused from now on."""

    engine = make_engine(settings_for(ctx).database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            changed = revoke_token(session, name)
    except ApiTokenError as exc:
        raise click.UsageError(str(exc)) from None
    finally:
        engine.dispose()
    log.info("api token revoked", extra={"token_name": name, "changed": changed})
    click.echo(f"token {name} revoked" if changed else f"token {name} was already revoked")
