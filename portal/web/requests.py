"""The portal's request class: asking for a query, form or cookie value that is not there
is cheap.

Werkzeug's `MultiDict.get` looks a missing name up by raising and catching a
`BadRequestKeyError`, an HTTP exception that is slow to build. A busy page asks for several
names that are usually absent (`?lang=`, `?done=`, the language cookie), so each request
paid for a handful of exceptions. These dictionaries answer a missing name directly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Request
from werkzeug.datastructures import ImmutableMultiDict


class Values(ImmutableMultiDict[str, Any]):
    """Query, form and cookie values whose `get` of a missing name raises nothing."""

    def get(  # type: ignore[override]
        self, key: str, default: Any = None, type: Callable[[Any], Any] | None = None
    ) -> Any:
        if key not in self:
            return default
        return super().get(key, default) if type is None else super().get(key, default, type)


class PortalRequest(Request):
    parameter_storage_class = Values
    dict_storage_class = Values
