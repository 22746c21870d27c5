"""What every /api/v1 view shares: the blueprint, routes, JSON errors, token checks,
JSON bodies and Idempotency-Key handling.

`portal.views.api` (postings, the OpenAPI document, error handlers),
`portal.views.api_candidates` and `portal.views.api_webhooks` register their views on
this one blueprint.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Blueprint, Response, g, jsonify, make_response, request
from flask_limiter.util import get_remote_address
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from portal.auth.api_tokens import ApiToken, authenticate_token
from portal.auth.idempotency import (
    KeyReused,
    StoredAnswer,
    find_answer,
    is_valid_key,
    request_hash,
    store_answer,
)
from portal.console.job_records import JsonNumberTooLong, load_json
from portal.web.runtime import db

API_PREFIX = "/api/v1"
bp = Blueprint("api", __name__, url_prefix=API_PREFIX)
NO_SUCH_ENDPOINT = f"no such API endpoint; see {API_PREFIX}/openapi.json"

log = logging.getLogger("portal.api")
# The key in `g` of a view's stand-in for its stored answer (see `idempotent`).
STORED_BODY = "api_idempotent_body"
# The key in `g` of the id of the candidate a view's answer is about (`answer_about`).
ANSWER_ABOUT = "api_answer_about"

F = TypeVar("F", bound=Callable[..., Any])


# Every route takes every standard method and answers a wrong one with a JSON 405 (with
# Allow): Flask would otherwise raise its routing 405, an HTML page, before this blueprint's
# error handlers apply. OPTIONS is answered here too (204 with Allow), not by Flask, whose
# automatic answer would list every method of ANY_METHOD rather than the supported ones.
ANY_METHOD = ["GET", "PUT", "POST", "PATCH", "DELETE", "OPTIONS", "TRACE", "QUERY", "CONNECT"]
# Endpoints of views wrapped in `token_required`, filled in as they are defined;
# `portal.app` hands them to `portal.web.limits`, which rate-limits each with API_RATE_LIMIT.
TOKEN_ENDPOINTS: set[str] = set()


def route(rule: str, **options: Any) -> Callable[[F], F]:
    """An API route: every method reaches the view (which answers 405 itself), and a path
    is never redirected (no merging of doubled slashes): it matches, or is a JSON 404."""
    return bp.route(
        rule, methods=ANY_METHOD, provide_automatic_options=False, merge_slashes=False, **options
    )


def error(status: int, message: str, fields: dict[str, str] | None = None) -> Response:
    response = jsonify({"error": message, "fields": fields or {}})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="talentconnect-api"'
    return response


def is_api_path(path: str) -> bool:
    """Whether `path` is under the API, whether or not a route matched it."""
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


def unrouted(exc: HTTPException) -> Response:
    """The JSON answer for an API path that no route took.

    The catch-all below misses a path with a newline (Werkzeug's `path` converter
    does not match one) or a doubled slash (API routes don't merge them): both
    answer "no such endpoint" as JSON, never the site's HTML page.
    """
    if exc.code is None or exc.code < 400 or exc.code == 404:
        return error(404, NO_SUCH_ENDPOINT)
    return error(exc.code, exc.description or exc.name)


def presented_token() -> ApiToken | None:
    """The active API token this request presents, else None; looked up once per request.

    The rate limit's key needs it before the view runs; `token_required` reuses it.
    """
    if "api_token" not in g:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        found = None
        if scheme.lower() == "bearer" and token.strip():
            found = authenticate_token(db(), token.strip())
        g.api_token = found
    token_row: ApiToken | None = g.api_token
    return token_row


def rate_limit_key() -> str:
    """Whose API_RATE_LIMIT budget a request spends: its token's, else its client address's.

    By the token's row id, never the secret, so integrations behind one address
    each have their own budget, while guessing tokens spends the address's.
    """
    token = presented_token()
    if token is not None:
        return f"api-token:{token.id}"
    return f"api-address:{get_remote_address()}"


@bp.teardown_request
def _forget_token(_exc: BaseException | None) -> None:
    # g outlives the request when a caller (a test, a script) holds an app context
    # across requests; a token must never carry over to the next one.
    g.pop("api_token", None)
    g.pop(STORED_BODY, None)
    g.pop(ANSWER_ABOUT, None)


def token_required(view: F) -> F:
    """Answer 401 unless the request carries an active API token."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if not header:
            return error(401, "send your API token as 'Authorization: Bearer <token>'")
        if scheme.lower() != "bearer" or not token.strip():
            return error(401, "the Authorization header must be 'Bearer <token>'")
        if presented_token() is None:
            return error(401, "that API token is not valid, or has been revoked")
        return view(*args, **kwargs)

    TOKEN_ENDPOINTS.add(f"{bp.name}.{view.__name__}")
    return cast(F, wrapper)


def wrong_method(allowed: list[str]) -> Response:
    """A 405 naming the methods this URL takes; for OPTIONS, a 204 listing them."""
    if request.method == "OPTIONS":
        response = Response(status=204)
    else:
        response = error(405, f"use {' or '.join(allowed)} here")
    response.headers["Allow"] = ", ".join(allowed)
    return response


def json_body(what: str = "fields") -> tuple[dict[str, Any] | None, Response | None]:
    """The request's JSON object, or the error response to send instead."""
    if not request.is_json:
        return None, error(415, "send the body as JSON, with 'Content-Type: application/json'")
    raw = request.get_data(cache=False)
    try:
        body = load_json(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, error(400, f"the body is not valid JSON: {exc}")
    except RecursionError:
        return None, error(400, "the body is not valid JSON: it is nested too deeply")
    except JsonNumberTooLong as exc:
        return None, error(400, f"the body can't be read: {exc}")
    if not isinstance(body, dict):
        return None, error(400, f"the body must be a JSON object with the {what}")
    return body, None


def current_token() -> ApiToken:
    """The request's token (in a view wrapped in `token_required`)."""
    token: ApiToken = g.api_token
    return token


# --- Idempotency-Key ---------------------------------------------------------------------

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# A view may set g.<STORED_BODY> to what a replay should answer instead of its body (a
# new secret is shown once: its replay carries none).
# Answers a retry gets again: successes, and refusals of the request itself (the same
# request is refused the same way). Never a 5xx or 429 (a retry may well succeed), nor a
# 404 (what was missing may exist by the retry).
STORED_STATUSES = frozenset({400, 415, 422})


def _storable(status: int) -> bool:
    return 200 <= status < 300 or status in STORED_STATUSES


def answer_about(candidate_id: int) -> None:
    """Say that this request's answer is about one candidate (it may show their address).

    A stored answer (`idempotent`) then names them, and erasing them deletes it.
    """
    g.setdefault(ANSWER_ABOUT, candidate_id)


def _replay(answer: StoredAnswer) -> Response:
    """The stored answer again, marked as a replay; a 201 names what it created again."""
    response = Response(answer.body, status=answer.status_code)
    if answer.body:
        response.mimetype = "application/json"
    response.headers[REPLAYED_HEADER] = "true"
    if answer.status_code == 201:
        try:
            created = json.loads(answer.body).get("id")
        except (ValueError, AttributeError):
            created = None
        if isinstance(created, str):
            response.headers["Location"] = f"{request.path}/{created}"
    return response


def _answer_after_race(token_id: int, key: str, digest: str) -> Response | None:
    """After a rollback: the stored answer of the request that won the key, if it finished."""
    try:
        stored = find_answer(db(), token_id, key, digest)
    except KeyReused as exc:
        return error(422, str(exc))
    return _replay(stored) if stored is not None else None


def idempotent(view: F) -> F:
    """Honour an `Idempotency-Key` header on the view's POSTs (other methods pass through).

    Without the header the POST runs as usual. With one (1 to 255 printable ASCII
    characters, else 400), the answer is stored with the change, in its transaction,
    under (token, key); a retry with the same key, method, path and body gets that
    answer again (`Idempotent-Replayed: true`) and changes nothing, and the same key
    with another request is a 422. Two requests racing with one key: the second's
    insert of the key fails on the unique constraint (or its change fails on one
    first), its transaction is rolled back, and it answers with the first's answer.
    Refusals are stored in a transaction of their own (they changed nothing).
    """

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if request.method != "POST" or key is None:
            return view(*args, **kwargs)
        if not is_valid_key(key):
            return error(
                400,
                f"the {IDEMPOTENCY_HEADER} header must be 1 to 255 printable ASCII characters",
                {IDEMPOTENCY_HEADER: "1 to 255 printable ASCII characters"},
            )
        session = db()
        token_id = current_token().id
        digest = request_hash(request.method, request.path, request.get_data(cache=True))
        try:
            stored = find_answer(session, token_id, key, digest)
        except KeyReused as exc:
            return error(422, str(exc))
        if stored is not None:
            return _replay(stored)
        try:
            response = make_response(view(*args, **kwargs))
        except IntegrityError:
            # The same change, made first by a request with this key that has committed.
            session.rollback()
            raced = _answer_after_race(token_id, key, digest)
            if raced is None:
                raise
            return raced
        if not _storable(response.status_code):
            return response
        body = g.get(STORED_BODY)
        answer = StoredAnswer(
            response.status_code,
            body if isinstance(body, str) else response.get_data(as_text=True),
        )
        refused = response.status_code >= 400
        if refused:
            # The app commits only answers below 400; a refusal changed nothing, so its
            # key goes in a transaction of its own.
            session.rollback()
        try:
            store_answer(
                session,
                token_id,
                key,
                method=request.method,
                path=request.path,
                digest=digest,
                answer=answer,
                candidate_id=g.get(ANSWER_ABOUT),
            )
            if refused:
                session.commit()
        except IntegrityError:
            session.rollback()
            raced = _answer_after_race(token_id, key, digest)
            if raced is None:
                return error(
                    409,
                    f"another request with this {IDEMPOTENCY_HEADER} did not finish; send it again",
                )
            return raced
        return response

    return cast(F, wrapper)
