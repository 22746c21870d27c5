"""Every exception the portal defines descends from `portal.errors.PortalError`."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import portal
from portal.errors import PortalError

# Migrations run only under Alembic; _warm preloads the parser in the fork server.
SKIPPED = ("portal.migrations", "portal.resumes._warm")


def _portal_exceptions() -> list[type[BaseException]]:
    found = []
    for info in pkgutil.walk_packages(portal.__path__, prefix="portal."):
        if info.name.startswith(SKIPPED):
            continue
        module = importlib.import_module(info.name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, BaseException) and value.__module__ == module.__name__:
                found.append(value)
    return found


def test_every_portal_exception_is_a_portal_error() -> None:
    exceptions = _portal_exceptions()
    assert len(exceptions) >= 10, "the walk found the portal's exceptions"
    outside = sorted(
        f"{e.__module__}.{e.__qualname__}" for e in exceptions if not issubclass(e, PortalError)
    )
    assert outside == []


def test_value_errors_stay_value_errors() -> None:
    """Callers catch these as ValueError too (form validation, the JSON number hook)."""
    from portal.auth.accounts import PasswordRefused
    from portal.console.job_records import JsonNumberTooLong

    assert issubclass(PasswordRefused, ValueError)
    assert issubclass(JsonNumberTooLong, ValueError)
