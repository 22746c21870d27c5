"""Stopping the waitress servers the browser tests run in a thread."""

from __future__ import annotations

import threading
from typing import Any

from waitress import wasyncore


def stop_waitress(server: Any, thread: threading.Thread) -> None:
    """End `server`'s loop in `thread`, then close its sockets and worker threads.

    Closing sockets while the loop sits in select() makes select fail with EBADF
    in the server thread, so the loop is emptied and woken first.
    """
    sockets = dict(server._map)
    server._map.clear()  # the loop ends at its next turn...
    server.trigger.pull_trigger()  # ...which this starts at once
    thread.join(timeout=10)
    server._map.update(sockets)
    server.task_dispatcher.shutdown()
    wasyncore.close_all(server._map)
