"""The JSON REST API at /api/v1: postings for applicant-tracking systems, candidates' opt-in
and preferences (`portal.views.api_candidates`), webhook endpoints
(`portal.views.api_webhooks`), and the OpenAPI document (`portal.views.api_openapi`).

Every answer is JSON, errors included: `{"error": "...", "fields": {...}}`. Requests
authenticate with `Authorization: Bearer <token>` (see `talentconnect api-token`);
the OpenAPI document is public. No cookies, so no CSRF token (the app exempts
this blueprint). Every POST takes an optional `Idempotency-Key` header
(`portal.views.api_common.idempotent`).

Every endpoint that needs a token is rate-limited by `API_RATE_LIMIT`
(`portal.web.limits` applies it to `TOKEN_ENDPOINTS`): per token, or per client
address for requests without a valid token; past it the answer is a JSON 429.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request, url_for
from flask_limiter import RateLimitExceeded
from werkzeug.exceptions import HTTPException

from jobs.posting_admin import MAX_REFERENCE
from portal.auth.api_tokens import mark_used
from portal.console.job_records import (
    InterestIndex,
    InvalidJob,
    close_posting,
    find_posting,
    posting_as_dict,
    save_job,
    validate_job,
)

# Their routes register on the blueprint when these are imported.
from portal.views import api_candidates, api_webhooks
from portal.views.api_common import (
    API_PREFIX,
    NO_SUCH_ENDPOINT,
    TOKEN_ENDPOINTS,
    bp,
    current_token,
    error,
    idempotent,
    is_api_path,
    json_body,
    log,
    presented_token,
    rate_limit_key,
    route,
    token_required,
    unrouted,
    wrong_method,
)
from portal.views.api_openapi import openapi_document
from portal.web.runtime import db, settings
from preferences.text import is_clean_line

__all__ = [
    "API_PREFIX",
    "TOKEN_ENDPOINTS",
    "api_candidates",
    "api_webhooks",
    "bp",
    "is_api_path",
    "openapi_document",
    "rate_limit_key",
    "unrouted",
]


def _storable_reference(reference: str) -> bool:
    """Whether a reference from the URL could name a posting: one clean line, not too long.

    Anything else (a NUL, a line break, spaces at the ends) names no posting, and is never
    looked up: PostgreSQL refuses a NUL in a query parameter.
    """
    return is_clean_line(reference) and 0 < len(reference) <= MAX_REFERENCE


@route("/jobs/<reference>")
@token_required
def job(reference: str) -> Any:
    if request.method in ("GET", "HEAD"):
        found = find_posting(db(), reference) if _storable_reference(reference) else None
        if found is None:
            return error(404, f"no posting with reference {reference!r}")
        return jsonify(posting_as_dict(found, settings().default_locale))
    if request.method != "PUT":
        return wrong_method(["GET", "PUT"])
    if not _storable_reference(reference):
        return error(
            422,
            "the posting has errors",
            {
                "reference": f"must be at most {MAX_REFERENCE} characters of one line, "
                "without control characters or spaces at the ends"
            },
        )
    body, problem = json_body("posting's fields")
    if body is None:
        return problem
    given = body.get("reference", reference)
    if given != reference:
        return error(
            422, "the posting has errors", {"reference": "does not match the reference in the URL"}
        )
    session = db()
    try:
        fields = validate_job({**body, "reference": reference}, InterestIndex(session))
    except InvalidJob as exc:
        return error(422, "the posting has errors", exc.fields)
    posting, outcome = save_job(session, fields)
    token = current_token()
    mark_used(session, token)
    log.info(
        "api posting saved", extra={"reference": reference, "outcome": outcome, "token": token.name}
    )
    response = jsonify(posting_as_dict(posting, settings().default_locale))
    response.status_code = 201 if outcome == "created" else 200
    if outcome == "created":
        response.headers["Location"] = url_for("api.job", reference=reference)
    return response


@route("/jobs/<reference>/close")
@token_required
@idempotent
def close_job(reference: str) -> Any:
    if request.method != "POST":
        return wrong_method(["POST"])
    session = db()
    posting = close_posting(session, reference) if _storable_reference(reference) else None
    if posting is None:
        return error(404, f"no posting with reference {reference!r}")
    token = current_token()
    mark_used(session, token)
    log.info("api posting closed", extra={"reference": reference, "token": token.name})
    return Response(status=204)


@route("/openapi.json")
def openapi() -> Any:
    if request.method not in ("GET", "HEAD"):
        return wrong_method(["GET"])
    return jsonify(
        openapi_document(request.url_root.rstrip("/") + API_PREFIX, settings().api_rate_limit)
    )


@route("", strict_slashes=False)
@route("/<path:_rest>")
def not_found(_rest: str = "") -> Any:
    return error(404, NO_SUCH_ENDPOINT)


@bp.errorhandler(RateLimitExceeded)
def _too_many_requests(exc: RateLimitExceeded) -> Any:
    # Flask-Limiter's after-request hook adds Retry-After and the X-RateLimit-* headers.
    who = "with this API token" if presented_token() is not None else "from your address"
    return error(
        429,
        f"too many requests {who} (at most {exc.limit.limit}); "
        "wait the number of seconds in Retry-After, then try again",
    )


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Any:
    if exc.code is None or exc.code < 400:
        return exc
    return error(exc.code, exc.description or exc.name)


@bp.errorhandler(Exception)
def _unexpected(exc: Exception) -> Any:
    log.exception("unhandled API error", extra={"path": request.path})
    return error(500, "something went wrong on our side; please try again")
