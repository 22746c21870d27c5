"""Sending what the browser tests queued: one batch of the real sender worker."""

from __future__ import annotations

import threading

from mailer.config import SmtpTarget
from mailer.sink import MailSink
from mailer.worker import BatchResult
from portal.cli.workers import make_worker
from tests.browser.conftest import LivePortal


def deliver_one_batch(portal: LivePortal, sink: MailSink) -> BatchResult:
    """Run the real sender worker once, as `talentconnect run` builds it, into `sink`."""
    worker = make_worker(
        portal.settings, portal.sessions, SmtpTarget(host=sink.host, port=sink.port, timeout=5)
    )
    # Sync Playwright keeps an event loop on this thread; the worker runs its own.
    results: list[BatchResult] = []
    thread = threading.Thread(target=lambda: results.append(worker.run_once()))
    thread.start()
    thread.join(timeout=30)
    assert len(results) == 1, "the worker did not finish its batch"
    return results[0]
