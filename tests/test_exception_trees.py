"""Each domain package raises one exception tree: every public exception descends from its root."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

import pytest

import jobs.alerts
import jobs.schedules
from jobs.errors import AlertError, JobsError, ScheduleError, ScheduleNotFound
from jobs.posting_admin import PostingRejected
from mailer.dkim import DkimError
from mailer.errors import MailerError
from mailer.message import HeaderError
from preferences.clock import TimeOutOfRange
from preferences.db import WriteBeforeSlowWork
from preferences.errors import PreferencesError
from preferences.text import UnstorableText

ROOTS: dict[str, type[Exception]] = {
    "preferences": PreferencesError,
    "jobs": JobsError,
    "mailer": MailerError,
}


def modules_of(package: str) -> list[ModuleType]:
    """The package and every module below it, imported."""
    root = importlib.import_module(package)
    found = [root]
    for info in pkgutil.walk_packages(root.__path__, f"{package}."):
        found.append(importlib.import_module(info.name))
    return found


def exceptions_defined_in(module: ModuleType) -> list[type[BaseException]]:
    """The exception classes a module defines itself (not the ones it imports)."""
    return [
        obj
        for obj in vars(module).values()
        if inspect.isclass(obj)
        and issubclass(obj, BaseException)
        and obj.__module__ == module.__name__
    ]


@pytest.mark.parametrize("package", sorted(ROOTS))
def test_every_public_exception_descends_from_its_package_root(package: str) -> None:
    """A public exception class of preferences, jobs or mailer is a PreferencesError, a
    JobsError or a MailerError; private ones (a leading underscore) may stay outside."""
    root = ROOTS[package]
    public = [
        cls
        for module in modules_of(package)
        for cls in exceptions_defined_in(module)
        if not cls.__name__.startswith("_")
    ]
    assert root in public
    strays = [f"{cls.__module__}.{cls.__name__}" for cls in public if not issubclass(cls, root)]
    assert strays == []


def test_the_package_roots_are_unrelated() -> None:
    """No root hides another package's errors: each is a plain Exception subclass."""
    for root in ROOTS.values():
        assert root.__bases__ == (Exception,)


def test_one_schedule_not_found_for_runs_and_the_schedule_service() -> None:
    """The alert runner and the schedule service raise the same ScheduleNotFound, which both
    families (and JobsError) catch."""
    assert jobs.alerts.ScheduleNotFound is jobs.schedules.ScheduleNotFound is ScheduleNotFound
    error = ScheduleNotFound(999)
    assert isinstance(error, AlertError) and isinstance(error, ScheduleError)
    assert str(error) == "no alert schedule 999" and error.schedule_id == 999


def test_posting_rejected_is_a_jobs_error_not_a_preferences_one() -> None:
    """Posting input errors belong to jobs."""
    assert issubclass(PostingRejected, JobsError)
    assert not issubclass(PostingRejected, PreferencesError)


def test_value_error_mixins_stay_for_callers_that_catch_them() -> None:
    """Exceptions that callers catch as ValueError or RuntimeError still are those too."""
    for cls in (UnstorableText, TimeOutOfRange, DkimError, HeaderError):
        assert issubclass(cls, ValueError)
    assert issubclass(WriteBeforeSlowWork, RuntimeError)
