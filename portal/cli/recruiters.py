"""`talentconnect recruiter`: recruiter accounts from the command line."""

from __future__ import annotations

import logging
import sys

import click

from portal.cli.context import settings_for
from portal.console.recruiter_admin import RecruiterError, create_recruiter, make_login_link_token
from preferences.db import make_engine, make_session_factory, session_scope
from preferences.errors import InvalidEmail
from preferences.models import RecruiterRole

log = logging.getLogger("portal.cli")


@click.group()
def recruiter() -> None:
    """Recruiter accounts for the console at /admin."""


@recruiter.command("create")
@click.argument("email")
@click.option(
    "--role",
    type=click.Choice([r.value for r in RecruiterRole]),
    default=RecruiterRole.RECRUITER.value,
    show_default=True,
    help="admin: also manages recruiter accounts.",
)
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from standard input instead of printing a one-time login link.",
)
@click.option("--name", default="", help="Display name.")
@click.pass_context
def recruiter_create(
    ctx: click.Context, email: str, role: str, password_stdin: bool, name: str
) -> None:
    """Create the recruiter EMAIL.

    Without --password-stdin, prints a one-time login link (valid 24 hours);
    the recruiter signs in with it once. An existing address is refused (exit 2).
    """
    # Imported here: portal.cli.main imports this module to register the command.

    password: str | None = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise click.UsageError("--password-stdin: no password on standard input")
    settings = settings_for(ctx)
    engine = make_engine(settings.database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            try:
                user = create_recruiter(
                    session, email, role=RecruiterRole(role), password=password, name=name
                )
            except (RecruiterError, InvalidEmail) as exc:
                raise click.UsageError(str(exc)) from None
            token = (
                None if password is not None else make_login_link_token(settings.secret_keys, user)
            )
            user_id, address = user.id, user.email
    finally:
        engine.dispose()
    log.info("recruiter created", extra={"recruiter_id": user_id, "role": role})
    if token is None:
        click.echo(f"created {role} {address}; they can log in at {settings.base_url}/admin/login")
    else:
        click.echo(f"created {role} {address}; one-time login link (valid 24 hours):")
        click.echo(f"{settings.base_url}/admin/login/{token}")
