"""The exception tree of the jobs package, rooted in `JobsError`."""

from __future__ import annotations


class JobsError(Exception):
    """Base of every error the jobs package raises on purpose."""


class AlertError(JobsError):
    """Base class of the alert-run errors."""


class ScheduleError(JobsError):
    """Base of the errors raised on purpose by the schedule service."""


class ScheduleNotFound(AlertError, ScheduleError):
    """No alert schedule has this id: for a run, a preview or the schedule service alike."""

    def __init__(self, schedule_id: int) -> None:
        super().__init__(f"no alert schedule {schedule_id}")
        self.schedule_id = schedule_id
