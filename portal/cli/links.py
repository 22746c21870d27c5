"""`talentconnect preference-link`: a fresh preference-center URL, for support staff."""

from __future__ import annotations

import sys

import click

from portal.cli.context import settings_for
from portal.web.links import preference_url
from preferences.db import make_engine, make_session_factory, session_scope
from preferences.errors import InvalidEmail
from preferences.models import CandidateStatus
from preferences.subscriptions import find_candidate


@click.command("preference-link")
@click.argument("email")
@click.pass_context
def preference_link(ctx: click.Context, email: str) -> None:
    """Print a fresh preference-center URL for EMAIL (for support staff)."""
    settings = settings_for(ctx)
    engine = make_engine(settings.database_url)
    url: str | None = None
    try:
        with session_scope(make_session_factory(engine)) as session:
            try:
                candidate = find_candidate(session, email)
            except InvalidEmail:
                candidate = None
            if candidate is not None and candidate.status is not CandidateStatus.DELETED:
                url = preference_url(settings, candidate)
    finally:
        engine.dispose()
    if url is None:
        click.echo(f"talentconnect: no active candidate with the address {email}", err=True)
        # sys.exit, not ctx.exit: main() runs click with standalone_mode=False, which
        # would turn ctx.exit(1) into a returned value and exit 0.
        sys.exit(1)
    click.echo(url)
