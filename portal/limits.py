"""Rate limits (Flask-Limiter), keyed by client address, one limiter per app."""

from __future__ import annotations

import functools
from collections.abc import Iterable
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
    "admin.login",
    "console_people.login_link",
    "auth.login",
    "auth.forgot",
    "auth.login_link",
    "preferences.center",
    "preferences.undo",
    "dashboard.preferences_undo",
    "preferences.resend",
    # Signed in, but these store, parse and delete resume files.
    "dashboard.resume_upload",
    "dashboard.resume_delete",
    # Signed in, but each one sends an email.
    "console_campaigns.test_send",
)
# GET endpoints that start work elsewhere (a call to a sign-in provider).
LIMITED_GET_ENDPOINTS = ("social.login", "social.callback")


def init_limiter(
    app: Flask, storage_url: str, rate: str, endpoints: Iterable[str] = LIMITED_ENDPOINTS
) -> Limiter:
    """Attach a limiter to `app` and limit POSTs to `endpoints` to `rate` per client address."""
    limiter = Limiter(get_remote_address, app=app, storage_uri=storage_url, headers_enabled=True)

    endpoints = tuple(endpoints)
    limited_posts = frozenset(endpoints)
    limited_gets = frozenset(LIMITED_GET_ENDPOINTS)

    @limiter.request_filter
    def _not_limited() -> bool:
        # Skip the limiter's bookkeeping on requests no limit applies to (most of them).
        if request.method == "POST":
            return request.endpoint not in limited_posts
        return request.method != "GET" or request.endpoint not in limited_gets

    targets = [(e, ["POST"]) for e in endpoints] + [(e, ["GET"]) for e in LIMITED_GET_ENDPOINTS]
    for endpoint, methods in targets:
        view = app.view_functions.get(endpoint)
        if view is not None:
            app.view_functions[endpoint] = _limit_only(
                view, limiter.limit(rate, methods=methods)(view), methods
            )
    return limiter


def _limit_only(view: Any, limited: Any, methods: list[str]) -> Any:
    """Call the limited view for `methods`, the plain one otherwise (no limiter overhead)."""

    @functools.wraps(view)
    def choose(*args: Any, **kwargs: Any) -> Any:
        return (limited if request.method in methods else view)(*args, **kwargs)

    return choose
