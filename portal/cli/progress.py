"""Progress bars for long CLI jobs: on stderr, and only when it is a terminal."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

OnProgress = Callable[[int, int], None]


class ProgressBars:
    """One rich Progress; `task` adds a bar and returns its `on_progress(done, total)`."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress

    def task(self, description: str) -> OnProgress:
        task_id = self._progress.add_task(description, total=None)

        def update(done: int, total: int, task_id: TaskID = task_id) -> None:
            self._progress.update(task_id, completed=done, total=total)

        return update


@contextmanager
def progress_bars() -> Iterator[ProgressBars]:
    """Bars that vanish when done; nothing is drawn when stderr is not a terminal (logs, cron)."""
    err = Console(stderr=True)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as progress:
        yield ProgressBars(progress)


@contextmanager
def progress_bar(description: str) -> Iterator[OnProgress]:
    """One bar; yields its `on_progress(done, total)` callback."""
    with progress_bars() as bars:
        yield bars.task(description)
