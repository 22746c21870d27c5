"""Parse untrusted resumes in a separate process, with a time and a memory budget.

Each parse runs in a fresh child process forked from multiprocessing's fork server
(which has the parsing code imported already), so it starts in a few milliseconds
and hands every byte it used back to the system when it exits: a hostile file can
neither keep the web process busy nor leave it bigger. The child lowers its own
priority and sets its address-space limit (`RLIMIT_AS`) and a CPU-time limit before
it opens the file; the web process waits for its answer at most the wall-clock
budget, then kills it. `ExtractLimits` caps what the extractors build inside it.

Only a few parses run at once per process (`ResumeParser(concurrency=...)`); one
more is refused at once with `ParserBusy`, so visitors get "try again" instead of
waiting in a queue. A refused file raises `ParseRefused`, logged with its kind and
size (never its content).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import multiprocessing
import os
import resource
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import Any

from portal.resumes.errors import ParserBusy, ParseRefused
from portal.resumes.extract import DEFAULT_EXTRACT_LIMITS, ExtractLimits
from portal.resumes.parse import ParsedResume, parse_file
from portal.resumes.skills import InterestKeywords

log = logging.getLogger(__name__)

MB = 1024 * 1024
# The child gets at least this much address space beyond what it starts with, so a
# limit set below the interpreter's own size cannot refuse every file.
_MIN_HEADROOM = 64 * MB
# How far below normal the child runs, so web requests win the CPU over a parse.
_NICENESS = 10


@dataclass(frozen=True)
class ParseBudget:
    """What one parse may spend: wall-clock seconds and address space; and how many at once."""

    seconds: float = 5.0
    memory_mb: int = 256
    concurrency: int = 2


@dataclass(frozen=True)
class _Job:
    path: str
    kind: str
    interests: list[InterestKeywords]
    default_region: str
    limits: ExtractLimits
    memory_bytes: int
    cpu_seconds: int


@functools.cache
def _context() -> BaseContext:
    """The fork-server context, preloading the parser (and the main module, as multiprocessing
    would otherwise import it again in every child)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["__main__", __name__, "portal.resumes._warm"])
    return context


def _nothing() -> None:
    """A child that does nothing: forking it shows the fork server has finished loading."""


def warm_up(timeout: float = 60.0) -> None:
    """Start the fork server now, not on the first upload, and wait until it has loaded.

    The server imports the parser and reads a sample resume before it forks anything
    (a second or two of CPU). Waiting for one empty child here puts that work before
    the web worker takes its first request instead of beside its first requests.
    """
    context: Any = _context()
    child = context.Process(target=_nothing, name="resume-parser-warm-up", daemon=True)
    child.start()
    child.join(timeout)
    if child.is_alive():
        child.kill()
        child.join()


class ResumeParser:
    """Runs `parse_file` in a child process within a `ParseBudget`; one per web process."""

    def __init__(
        self, budget: ParseBudget | None = None, limits: ExtractLimits = DEFAULT_EXTRACT_LIMITS
    ) -> None:
        self.budget = budget or ParseBudget()
        self.limits = limits
        self._slots = threading.BoundedSemaphore(max(1, self.budget.concurrency))

    def parse(
        self,
        path: Path,
        kind: str,
        interests: Sequence[InterestKeywords],
        *,
        default_region: str = "US",
    ) -> ParsedResume:
        """Parse the stored file; raises ParserBusy (no slot free) or ParseRefused (over budget).

        A file whose text cannot be read at all still parses, to an empty result with
        `failed=True`, as `parse_file` does.
        """
        if not self._slots.acquire(blocking=False):
            log.warning("resume parse refused: every slot busy", extra={"kind": kind})
            raise ParserBusy(f"{self.budget.concurrency} parses already running")
        try:
            return self._run(Path(path), kind, interests, default_region)
        finally:
            self._slots.release()

    def _run(
        self, path: Path, kind: str, interests: Sequence[InterestKeywords], default_region: str
    ) -> ParsedResume:
        job = _Job(
            path=str(path),
            kind=kind,
            interests=[InterestKeywords(i.id, i.name, list(i.keywords)) for i in interests],
            default_region=default_region,
            limits=self.limits,
            memory_bytes=self.budget.memory_mb * MB,
            cpu_seconds=max(1, int(self.budget.seconds) + 1),
        )
        context = _context()
        receiver, sender = context.Pipe(duplex=False)
        child: Any = context.Process(  # type: ignore[attr-defined]
            target=_child_main, args=(sender, job), name="resume-parse", daemon=True
        )
        outcome: tuple[str, Any] = ("crash", None)
        try:
            child.start()
            sender.close()
            started = time.monotonic()
            if receiver.poll(self.budget.seconds):
                try:
                    outcome = receiver.recv()
                except (EOFError, OSError):
                    outcome = ("crash", None)  # died without an answer: killed by a limit
            else:
                outcome = ("time", None)
            elapsed_ms = round((time.monotonic() - started) * 1000)
        finally:
            receiver.close()
            sender.close()
            _reap(child)
        status, value = outcome
        if status == "ok":
            return ParsedResume.from_dict(value)
        size = _size(path)
        log.warning(
            "resume refused: over the parse budget",
            extra={
                "kind": kind,
                "bytes": size,
                "reason": {"time": "time budget", "memory": "memory budget"}.get(status, "crash"),
                "ms": elapsed_ms,
                "budget_seconds": self.budget.seconds,
                "budget_mb": self.budget.memory_mb,
            },
        )
        raise ParseRefused(f"{kind} of {size} bytes: {status}")


def _reap(child: Any) -> None:
    """Make sure the child is gone; kill it if it is still working."""
    if child.pid is None:
        return
    child.join(0.5)
    if child.exitcode is None:
        child.kill()
        child.join()
    child.close()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return -1


def _address_space() -> int:
    """The address space this process uses now, in bytes."""
    try:
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[0])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _limit_self(memory_bytes: int, cpu_seconds: int) -> None:
    with contextlib.suppress(OSError):
        os.nice(_NICENESS)
    limit = max(memory_bytes, _address_space() + _MIN_HEADROOM)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    # A second stop behind the parent's clock: SIGXCPU, then SIGKILL a second later.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))


def _child_main(sender: Connection, job: _Job) -> None:
    """In the child: limit this process, parse, send ("ok", fields) or ("memory", None)."""
    outcome: tuple[str, Any]
    try:
        _limit_self(job.memory_bytes, job.cpu_seconds)
        parsed = parse_file(
            Path(job.path),
            job.kind,
            job.interests,
            default_region=job.default_region,
            limits=job.limits,
        )
        outcome = ("ok", parsed.as_dict())
    except MemoryError:
        outcome = ("memory", None)
    try:
        sender.send(outcome)
    finally:
        sender.close()
