"""The production web server: gunicorn, one pre-forked worker process per core.

`talentconnect serve` uses this; so does the minimal page of `bench/web.py`, so
that both are measured on the same server. Each worker process builds its own
app (and so its own database engine) after the fork: no connection is ever
shared between processes.
"""

from __future__ import annotations

import gc
import os
import socket
from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

# Allocations between young-generation collections in a web worker (Python's default: 700).
GC_YOUNG_THRESHOLD = 50_000


def default_workers() -> int:
    """One worker process per core available to this process (at least 2)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(2, cores)


def check_port_free(host: str, port: int) -> str | None:
    """Return why host:port cannot be listened on, or None when it can."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


class StructuredLogs(Logger):
    """gunicorn's own messages go through the app's logging (logfmt lines on stderr)."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for handler in list(self.error_log.handlers):
            self.error_log.removeHandler(handler)
        self.error_log.propagate = True


class WebServer(BaseApplication):
    """gunicorn, configured in code instead of from its own command line."""

    def __init__(
        self,
        factory: Callable[[], Any],
        *,
        host: str,
        port: int,
        workers: int,
        threads: int = 1,
        log_level: str = "info",
    ) -> None:
        self._factory = factory
        self._options: dict[str, Any] = {
            "bind": [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"],
            "workers": workers,
            "threads": threads,
            # Sync workers behind a proxy (the usual set-up); threads only when asked for.
            "worker_class": "gthread" if threads > 1 else "sync",
            "proc_name": "talentconnect-web",
            "accesslog": None,  # the app logs one structured line per request itself
            "errorlog": "-",
            "loglevel": log_level.lower(),
            "graceful_timeout": 20,
            "timeout": 60,
            "keepalive": 5,
            "preload_app": False,
            "logger_class": StructuredLogs,
            # gunicorn >= 25 opens a control socket under $HOME unless told not to.
            "control_socket_disable": True,
        }
        super().__init__(prog="talentconnect serve")

    def load_config(self) -> None:
        for key, value in self._options.items():
            if key in self.cfg.settings:  # settings newer than the installed gunicorn are skipped
                self.cfg.set(key, value)

    def load(self) -> Any:
        app = self._factory()
        # The app's own objects (modules, templates, the engine) live as long as the
        # process: move them out of the collector's sight, and collect young objects
        # less often. A request frees nearly everything it makes by reference count;
        # a full collection walking every long-lived object each time stalled a worker
        # for long enough to show in the 99th percentile (bench/README.md).
        gc.collect()
        gc.freeze()
        gc.set_threshold(GC_YOUNG_THRESHOLD, 50, 100)
        return app
