"""Pages opened by a signed link: their token stays out of logs and out of caches.

A route whose URL carries a bearer token declares it with the `link_token`
converter (`/preferences/<link_token:token>`). The view gets the token as a
`LinkToken` (a `str`), and from that alone the app knows, for any such route,
present or future, to log the path with `<redacted>` in place of the token and
to answer `Cache-Control: no-store`. `tests/portal/test_signed_routes.py` fails
if a route takes a `token` argument without the converter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask import current_app, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import BaseConverter
from werkzeug.routing.exceptions import RoutingException

CONVERTER = "link_token"
REDACTED = "<redacted>"
# Pages that show a signed-in candidate's own data: kept out of caches as well.
NO_STORE_BLUEPRINTS = frozenset({"dashboard"})
# For paths no route matched (a mistyped or truncated link): anything shaped like an
# itsdangerous token (payload.timestamp.signature, URL-safe base64) is redacted too.
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{16,}")


class LinkToken(str):
    """A URL segment that is a bearer credential: the token of a signed link."""

    __slots__ = ()


class LinkTokenConverter(BaseConverter):
    """`<link_token:name>`: one path segment, handed to the view as a `LinkToken`."""

    def to_python(self, value: str) -> Any:
        return LinkToken(value)


def _view_args() -> Mapping[str, Any]:
    """The matched route's arguments; for a 405, those of the route under another method."""
    if request.view_args is not None:
        return request.view_args
    error = request.routing_exception
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        adapter = current_app.create_url_adapter(request)
        if adapter is not None:
            try:
                _endpoint, args = adapter.match(method=next(iter(error.valid_methods)))
            except (HTTPException, RoutingException):
                return {}
            return args
    return {}


def _tokens() -> list[str]:
    return [value for value in _view_args().values() if isinstance(value, LinkToken)]


def redacted_path() -> str:
    """This request's path with every signed-link token replaced by `<redacted>`."""
    path = request.path
    tokens = _tokens()
    if tokens:
        for token in tokens:
            path = path.replace(token, REDACTED)
        return path
    if request.url_rule is None:
        return "/".join(
            REDACTED if _TOKEN_SHAPE.fullmatch(segment) else segment for segment in path.split("/")
        )
    return path


def needs_no_store() -> bool:
    """Whether this response must stay out of caches: a signed page, or the dashboard."""
    return request.blueprint in NO_STORE_BLUEPRINTS or bool(_tokens())
