"""`talentconnect inbound`: the SMTP listener for mail sent to the portal."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

import click

from mailer.inbound import InboundHandler, InboundListener, InboundRoute, UnsubscribeRoute
from portal.cli.context import settings_for, stop_on_signals
from preferences.db import make_engine, make_session_factory

log = logging.getLogger("portal.cli")


@click.group()
def inbound() -> None:
    """Inbound mail: unsubscribe requests sent by email."""


@inbound.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=2525, show_default=True, type=click.IntRange(1, 65535))
@click.pass_context
def inbound_serve(ctx: click.Context, host: str, port: int) -> None:
    """Receive mail for TALENTCONNECT_UNSUBSCRIBE_MAILBOX over SMTP until SIGTERM or SIGINT.

    Route that address here from your MX (for example a Postfix transport). A message
    whose Subject (or body) holds the token of a bulk email's mailto: unsubscribe link
    unsubscribes exactly like the one-click link; other recipients are refused with 550.
    """
    # Imported here: portal.cli.main imports this module to register the command.

    settings = settings_for(ctx)
    run_listener(
        settings.database_url,
        [UnsubscribeRoute(settings.unsubscribe_mailbox, settings.secret_keys)],
        host=host,
        port=port,
        started="inbound listener listening",
        fields={"unsubscribe_mailbox": settings.unsubscribe_mailbox},
    )


def run_listener(
    database_url: str,
    routes: Sequence[InboundRoute],
    *,
    host: str,
    port: int,
    started: str,
    fields: dict[str, str],
) -> None:
    """Serve `routes` over SMTP on host:port until SIGTERM or SIGINT (the `serve` commands)."""

    engine = make_engine(database_url)
    listener = InboundListener(
        InboundHandler(make_session_factory(engine), list(routes)), host=host, port=port
    )
    try:
        listener.start()
    except OSError as exc:
        engine.dispose()
        raise click.ClickException(
            f"cannot listen on {host}:{port}: {exc.strerror or exc} "
            "(is another copy running? choose another --port)"
        ) from None
    log.info(started, extra={"smtp": listener.url, **fields})
    done = threading.Event()
    try:
        with stop_on_signals(done.set):
            while not done.wait(1.0):
                pass
    finally:
        listener.stop()
        engine.dispose()
    log.info("stopped")
