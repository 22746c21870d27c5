"""The gunicorn set-up of `talentconnect serve` (portal.web.serving)."""

from __future__ import annotations

import json
import subprocess
import sys

from portal.web.serving import GC_YOUNG_THRESHOLD

# Run in a child process: freezing the collector would change this test process.
LOAD_IN_CHILD = """
import gc, json
from portal.web.serving import WebServer
made = []
server = WebServer(lambda: made.append(object()) or "app", host="127.0.0.1", port=0, workers=1)
before = gc.get_freeze_count()
app = server.load()
print(json.dumps({"app": app, "made": len(made), "before": before,
                  "frozen": gc.get_freeze_count(), "threshold": gc.get_threshold()}))
"""


def test_a_worker_loads_the_app_then_freezes_its_objects_out_of_the_collector() -> None:
    """load() builds the app once, moves what exists then into the permanent generation,
    and raises the young-generation threshold, so full collections stop walking the
    app's long-lived objects mid-request."""
    done = subprocess.run(
        [sys.executable, "-c", LOAD_IN_CHILD], capture_output=True, text=True, check=True
    )
    seen = json.loads(done.stdout)
    assert (seen["app"], seen["made"]) == ("app", 1)
    assert seen["before"] == 0
    assert seen["frozen"] > 1000
    assert seen["threshold"] == [GC_YOUNG_THRESHOLD, 50, 100]
