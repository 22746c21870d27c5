"""Structured logging: one logfmt line per record, and one line per request."""

from __future__ import annotations

import logging
import re
import sys

import pytest
from flask.testing import FlaskClient

from portal.logs import LogfmtFormatter


def _record(msg: str, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("portal.test", logging.WARNING, __file__, 1, msg, None, None)
    record.__dict__.update(extra)
    return record


def test_logfmt_line_has_fields_and_extras() -> None:
    """A record becomes ts, level, logger, msg and each extra field, on one line."""
    line = LogfmtFormatter().format(_record("batch done", sent=3, worker="host:1:2"))
    assert "\n" not in line
    assert re.match(r"ts=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00 ", line)
    assert " level=warning logger=portal.test " in line
    assert 'msg="batch done"' in line
    assert line.endswith("sent=3 worker=host:1:2")


def test_logfmt_quotes_and_escapes_values() -> None:
    """Spaces, quotes, backslashes and newlines are quoted so a line stays one parseable line."""
    line = LogfmtFormatter().format(_record('say "hi"\nnow', path="C:\\temp x", empty=""))
    assert 'msg="say \\"hi\\"\\nnow"' in line
    assert 'path="C:\\\\temp x"' in line
    assert 'empty=""' in line
    assert "\n" not in line


def test_logfmt_keeps_the_traceback_on_the_line() -> None:
    """An exception's traceback is carried in an exc= field, not on extra lines."""
    try:
        raise ValueError("boom")
    except ValueError:
        record = _record("failed")
        record.exc_info = sys.exc_info()
    line = LogfmtFormatter().format(record)
    assert "\n" not in line
    assert "exc=" in line and "ValueError: boom" in line


def test_each_request_is_logged(client: FlaskClient, caplog: pytest.LogCaptureFixture) -> None:
    """Every page request logs its method, path, status and duration."""
    with caplog.at_level(logging.INFO, logger="portal.request"):
        client.get("/no-such-page")
    (record,) = [r for r in caplog.records if r.name == "portal.request"]
    assert record.__dict__["method"] == "GET"
    assert record.__dict__["path"] == "/no-such-page"
    assert record.__dict__["status"] == 404
    assert record.__dict__["ms"] >= 0
