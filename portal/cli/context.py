"""What every command shares: the settings of this invocation, and stopping on a signal.

Command modules import these; `portal.cli.main` imports the command modules to
register them, so nothing here imports a command.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import click
from sqlalchemy.engine import make_url

# Registers the portal's erasure hook (stored API answers): commands erase candidates too.
import portal.auth.idempotency  # noqa: F401
from portal.config import Settings, load_settings
from portal.logs import configure_logging
from portal.web import consent_texts

log = logging.getLogger("portal.cli")


def settings_for(ctx: click.Context) -> Settings:
    """Load the settings on first use, so `--help` works even with a bad setting."""
    obj: dict[str, Any] = ctx.find_root().obj
    if obj.get("settings") is None:
        overrides = {"CONFIG_FILE": obj["config_file"]} if obj.get("config_file") else None
        obj["settings"] = load_settings(overrides=overrides)
        configure_logging(obj["settings"].log_level)
        # Consent events a command or its workers record name these settings' wordings.
        consent_texts.install(obj["settings"])
    settings: Settings = obj["settings"]
    return settings


def make_database_dir(database_url: str) -> None:
    """Create the folder of a SQLite database file, which SQLite will not do itself."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)


@contextmanager
def stop_on_signals(stop: Callable[[], None], *, interrupt: bool = False) -> Iterator[None]:
    """Call `stop` on SIGTERM and SIGINT while the block runs.

    With `interrupt`, the first signal also raises KeyboardInterrupt in the main
    thread, which is how waitress's serving loop is ended cleanly.
    """
    received = threading.Event()

    def handler(signum: int, _frame: FrameType | None) -> None:
        first = not received.is_set()
        received.set()
        log.info("signal received, shutting down", extra={"signal": signal.Signals(signum).name})
        stop()
        if interrupt and first:
            raise KeyboardInterrupt

    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
