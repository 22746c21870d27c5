"""Rate limits (Flask-Limiter), one limiter per app.

Form posts are keyed by client address; the REST API by token (the app factory
passes in `portal.views.api`'s endpoints and key function).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

# POST endpoints that take form submissions from anonymous visitors.
LIMITED_ENDPOINTS = (
    "connect.details",
    "connect.interests",
    "connect.resume",
    "connect.resume_import",
    "connect.review",
    "connect.confirm",
    "connect.resend",
    # "Email me jobs like this": each visitor's save may send an email.
    "saved_searches.save",
    "saved_searches.confirm",
    "admin.login",
    "console_people.login_link",
    "auth.login",
    "auth.forgot",
    "auth.login_link",
    "preferences.center",
    "preferences.undo",
    "preferences.saved_search",
    "dashboard.preferences_undo",
    "preferences.resend",
    # Signed in, but a stolen cookie must not try current passwords at will.
    "dashboard.password",
    # Signed in, but these store, parse and delete resume files.
    "dashboard.resume_upload",
    "dashboard.resume_delete",
    # Signed in, but each one sends an email.
    "console_campaigns.test_send",
)
# GET endpoints that start work elsewhere (a call to a sign-in provider).
LIMITED_GET_ENDPOINTS = ("social.login", "social.callback")


def init_limiter(
    app: Flask,
    storage_url: str,
    rate: str,
    endpoints: Iterable[str] = LIMITED_ENDPOINTS,
    *,
    api_rate: str,
    api_endpoints: Iterable[str] = (),
    api_key: Callable[[], str] = get_remote_address,
) -> Limiter:
    """Attach a limiter to `app`.

    POSTs to `endpoints` get `rate` per client address. Every method of each of
    `api_endpoints` (the token-protected API) gets `api_rate`, one budget across
    the API per `api_key` (the token, or the address without a valid token).
    """
    limiter = Limiter(get_remote_address, app=app, storage_uri=storage_url, headers_enabled=True)

    endpoints = tuple(endpoints)
    token_endpoints = frozenset(api_endpoints)
    no_endpoints: frozenset[str] = frozenset()
    limited_by_method = {
        "POST": frozenset(endpoints) | token_endpoints,
        "GET": frozenset(LIMITED_GET_ENDPOINTS) | token_endpoints,
        **{method: token_endpoints for method in ("HEAD", "PUT", "PATCH", "DELETE")},
    }

    @limiter.request_filter
    def _not_limited() -> bool:
        # Skip the limiter's bookkeeping on requests no limit applies to (most of them).
        return request.endpoint not in limited_by_method.get(request.method, no_endpoints)

    targets = [(e, ["POST"]) for e in endpoints] + [(e, ["GET"]) for e in LIMITED_GET_ENDPOINTS]
    for endpoint, methods in targets:
        view = app.view_functions.get(endpoint)
        if view is not None:
            app.view_functions[endpoint] = _limit_only(
                view, limiter.limit(rate, methods=methods)(view), methods
            )
    # One shared budget across the API per key. The key function looks the token up
    # (once per request; token_required reuses it), so this runs only for API requests.
    api_limit = limiter.shared_limit(api_rate, scope="api", key_func=api_key)
    for endpoint in sorted(token_endpoints):
        api_view: Any = app.view_functions.get(endpoint)
        if api_view is not None:
            app.view_functions[endpoint] = api_limit(api_view)
    return limiter


def _limit_only(view: Any, limited: Any, methods: list[str]) -> Any:
    """Call the limited view for `methods`, the plain one otherwise (no limiter overhead)."""

    @functools.wraps(view)
    def choose(*args: Any, **kwargs: Any) -> Any:
        return (limited if request.method in methods else view)(*args, **kwargs)

    return choose
