"""`talentconnect bounces`: the bounce and complaint listener, and the Maildir reader."""

from __future__ import annotations

import logging
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from mailer.bounces import BounceOutcome, BounceRoute, read_maildir
from mailer.verp import bounce_mailbox
from portal.cli.context import settings_for
from portal.cli.inbound import run_listener
from portal.cli.progress import progress_bar
from preferences.db import make_engine, make_session_factory

log = logging.getLogger("portal.cli")


def _quiet_detectors() -> None:
    # flufl.bounce logs every detector it tries at INFO (a dozen lines per message),
    # and a traceback at ERROR when a heuristic detector chokes on a malformed
    # message, which mailer.bounces already treats as "no failure found" and logs.
    logging.getLogger("flufl.bounce").setLevel(logging.CRITICAL)


@click.group()
def bounces() -> None:
    """Bounces and complaints: the VERP return path and feedback-loop reports."""


@bounces.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=2526, show_default=True, type=click.IntRange(1, 65535))
@click.pass_context
def bounces_serve(ctx: click.Context, host: str, port: int) -> None:
    """Receive bounces and complaint reports over SMTP until SIGTERM or SIGINT.

    Route bounces@ and bounces+*@ TALENTCONNECT_BOUNCE_DOMAIN here from your MX.
    A DSN about the address its signed return path names suppresses it only when
    the address does not work (no such user, bad domain); a full mailbox, a size
    limit or greylisting scores it (soft bounce); a policy or spam refusal is
    recorded and never counts against it. An ARF abuse report opts the candidate
    out and suppresses the address. Unsigned or forged bounces+ addresses, and any
    other recipient, are refused with 550.
    """
    # Imported here: portal.cli.main imports this module to register the command.

    settings = settings_for(ctx)
    _quiet_detectors()
    mail = settings.mail_settings()
    run_listener(
        settings.database_url,
        [BounceRoute(mail)],
        host=host,
        port=port,
        started="bounce listener listening",
        fields={"bounce_mailbox": bounce_mailbox(mail)},
    )


@bounces.command("read")
@click.argument(
    "maildir", type=click.Path(exists=True, file_okay=False, dir_okay=True, path_type=Path)
)
@click.pass_context
def bounces_read(ctx: click.Context, maildir: Path) -> None:
    """Process every unread bounce and complaint report in the Maildir MAILDIR.

    For a mailbox your MTA delivers bounces@ and bounces+*@ mail to, run from
    cron. Each message is processed like `bounces serve` would, then moved to
    cur/ and flagged seen, so the next run skips it.
    """

    if not all((maildir / sub).is_dir() for sub in ("cur", "new", "tmp")):
        raise click.UsageError(f"{maildir} is not a Maildir (it needs cur/, new/ and tmp/)")
    settings = settings_for(ctx)
    _quiet_detectors()
    engine = make_engine(settings.database_url)
    try:
        with progress_bar("Reading reports") as on_progress:
            run = read_maildir(
                make_session_factory(engine),
                maildir,
                settings.mail_settings(),
                on_progress=on_progress,
            )
    finally:
        engine.dispose()
    log.info(
        "maildir read",
        extra={"processed": run.processed, "already_seen": run.already_seen, **run.outcomes},
    )
    table = Table(title=f"Bounces read from {maildir}")
    table.add_column("Outcome")
    table.add_column("Messages", justify="right")
    for outcome in BounceOutcome:
        if run.outcomes[outcome.value]:
            label = f"{outcome.value} (ignored)" if outcome.ignored else outcome.value
            table.add_row(label, str(run.outcomes[outcome.value]))
    out = Console()
    if run.processed:
        out.print(table)
    out.print(f"{run.processed} message(s) processed, {run.already_seen} already seen and skipped")
