"""The JSON REST API at /api/v1, for applicant-tracking systems to push and close postings.

Every answer is JSON, errors included: `{"error": "...", "fields": {...}}`. Requests
authenticate with `Authorization: Bearer <token>` (see `talentconnect api-token`);
the OpenAPI document is public. No cookies, so no CSRF token (the app exempts
this blueprint).

Every endpoint that needs a token is rate-limited by `API_RATE_LIMIT`
(`portal.web.limits` applies it to `TOKEN_ENDPOINTS`): per token, or per client
address for requests without a valid token; past it the answer is a JSON 429.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from enum import StrEnum
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Blueprint, Response, g, jsonify, request, url_for
from flask_limiter import RateLimitExceeded
from flask_limiter.util import get_remote_address
from werkzeug.exceptions import HTTPException

from jobs.posting_admin import MAX_DESCRIPTION, MAX_LOCATION, MAX_REFERENCE, MAX_TITLE, MAX_URL
from jobs.posting_fields import (
    MAX_DEPARTMENT,
    MAX_LANGUAGE,
    EmploymentType,
    SalaryPeriod,
    Workplace,
)
from portal.auth.api_tokens import ApiToken, authenticate_token, mark_used
from portal.console.job_records import (
    InterestIndex,
    InvalidJob,
    JsonNumberTooLong,
    close_posting,
    find_posting,
    load_json,
    posting_as_dict,
    save_job,
    validate_job,
)
from portal.web.runtime import db, settings
from preferences.text import is_clean_line

API_PREFIX = "/api/v1"
bp = Blueprint("api", __name__, url_prefix=API_PREFIX)
NO_SUCH_ENDPOINT = f"no such API endpoint; see {API_PREFIX}/openapi.json"

log = logging.getLogger("portal.api")

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


def _wrong_method(allowed: list[str]) -> Response:
    """A 405 naming the methods this URL takes; for OPTIONS, a 204 listing them."""
    if request.method == "OPTIONS":
        response = Response(status=204)
    else:
        response = error(405, f"use {' or '.join(allowed)} here")
    response.headers["Allow"] = ", ".join(allowed)
    return response


def _json_body() -> tuple[dict[str, Any] | None, Response | None]:
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
        return None, error(400, "the body must be a JSON object with the posting's fields")
    return body, None


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
        return _wrong_method(["GET", "PUT"])
    if not _storable_reference(reference):
        return error(
            422,
            "the posting has errors",
            {
                "reference": f"must be at most {MAX_REFERENCE} characters of one line, "
                "without control characters or spaces at the ends"
            },
        )
    body, problem = _json_body()
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
    token: ApiToken = g.api_token
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
def close_job(reference: str) -> Any:
    if request.method != "POST":
        return _wrong_method(["POST"])
    session = db()
    posting = close_posting(session, reference) if _storable_reference(reference) else None
    if posting is None:
        return error(404, f"no posting with reference {reference!r}")
    token: ApiToken = g.api_token
    mark_used(session, token)
    log.info("api posting closed", extra={"reference": reference, "token": token.name})
    return Response(status=204)


@route("/openapi.json")
def openapi() -> Any:
    if request.method not in ("GET", "HEAD"):
        return _wrong_method(["GET"])
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


# --- the OpenAPI document ---------------------------------------------------------

_ERROR_REF = {"$ref": "#/components/schemas/Error"}


def _answer(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"description": description}
    if schema is not None:
        body["content"] = {"application/json": {"schema": schema}}
    return body


def _errors(*codes: int) -> dict[str, Any]:
    meaning = {
        400: "The body is not JSON, not a JSON object, or holds a number too long to read.",
        401: "No token, a malformed header, or an unknown or revoked token.",
        404: "No posting has this reference (a reference holding a control character or "
        "a line break, or spaces at its ends, names none).",
        415: "The body is not sent as application/json.",
        422: "A field breaks a rule; `fields` names each one. Text may not hold control "
        "characters (NUL, U+0001 to U+0008, U+000E to U+001F but the separators, DEL, U+0080 "
        "to U+009F but NEL) or lone surrogates; tabs and line breaks in one-line fields "
        "become spaces.",
        429: "Too many requests: past the token's rate limit (or, without a valid token, "
        "the client address's). Nothing was changed; retry after Retry-After seconds.",
    }
    answers = {str(code): _answer(meaning[code], _ERROR_REF) for code in codes}
    if 429 in codes:
        answers["429"]["headers"] = _RATE_LIMIT_HEADERS
    return answers


_RATE_LIMIT_HEADERS = {
    "Retry-After": {
        "description": "Seconds until the limit's window resets.",
        "schema": {"type": "integer"},
    },
    "X-RateLimit-Limit": {
        "description": "Requests allowed in the window.",
        "schema": {"type": "integer"},
    },
    "X-RateLimit-Remaining": {
        "description": "Requests left in the window.",
        "schema": {"type": "integer"},
    },
    "X-RateLimit-Reset": {
        "description": "When the window resets, in seconds since the Unix epoch.",
        "schema": {"type": "integer"},
    },
}


_AMOUNT = {
    "type": ["number", "null"],
    "minimum": 0,
    "maximum": 9999999999.99,
    "description": "At most two decimals; needs salary_currency and salary_period.",
}


def _choice(kind: type[StrEnum]) -> dict[str, object]:
    return {"type": ["string", "null"], "enum": [*(m.value for m in kind), None]}


_DETAIL_INPUTS: dict[str, object] = {
    "employment_type": _choice(EmploymentType),
    "workplace": _choice(Workplace),
    "department": {"type": ["string", "null"], "maxLength": MAX_DEPARTMENT},
    "salary_min": _AMOUNT,
    "salary_max": {**_AMOUNT, "description": "Not less than salary_min."},
    "salary_currency": {
        "type": ["string", "null"],
        "description": "ISO 4217 code, like EUR.",
        "pattern": "^[A-Za-z]{3}$",
    },
    "salary_period": _choice(SalaryPeriod),
    "valid_through": {
        "type": ["string", "null"],
        "description": "ISO 8601; the posting closes itself then. A date alone means the "
        "end of that day (UTC). Later than posted_at.",
    },
    "language": {
        "type": ["string", "null"],
        "description": "BCP 47 tag, like en or pt-BR; empty: the company's language.",
        "maxLength": MAX_LANGUAGE,
    },
}
_DETAIL_OUTPUTS: dict[str, object] = {
    "employment_type": {"type": ["string", "null"]},
    "workplace": {"type": ["string", "null"]},
    "department": {"type": "string"},
    "salary_min": {"type": ["number", "null"]},
    "salary_max": {"type": ["number", "null"]},
    "salary_currency": {"type": ["string", "null"]},
    "salary_period": {"type": ["string", "null"]},
    "valid_through": {"type": ["string", "null"], "format": "date-time"},
    "language": {"type": "string", "description": "BCP 47; the company's when not given."},
}


def openapi_document(server_url: str, rate_limit: str) -> dict[str, Any]:
    """The OpenAPI 3.1 description of this API; `rate_limit` is API_RATE_LIMIT."""
    reference = {
        "name": "reference",
        "in": "path",
        "required": True,
        "description": "The posting's reference in your applicant-tracking system: one line, "
        "without control characters or spaces at its ends.",
        "schema": {"type": "string", "minLength": 1, "maxLength": MAX_REFERENCE},
    }
    job_ref = {"$ref": "#/components/schemas/Job"}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Talent Connect job postings API",
            "version": "1",
            "description": "Push, read and close job postings from an applicant-tracking "
            "system. Postings are keyed by your own reference.\n\n"
            f"Requests that need a token are rate-limited to {rate_limit} per token, "
            "across all endpoints; requests without a valid token share one such budget "
            "per client address. Each answer carries X-RateLimit-Limit, "
            "X-RateLimit-Remaining, X-RateLimit-Reset and Retry-After; past the limit the "
            "answer is 429 with an Error body, and the request changed nothing.",
        },
        "servers": [{"url": server_url}],
        "security": [{"bearerToken": []}],
        "paths": {
            "/jobs/{reference}": {
                "parameters": [reference],
                "get": {
                    "operationId": "getJob",
                    "summary": "Read a posting, open or closed.",
                    "responses": {
                        "200": _answer("The posting.", job_ref),
                        **_errors(401, 404, 429),
                    },
                },
                "put": {
                    "operationId": "putJob",
                    "summary": "Create the posting, or update the one with this reference.",
                    "description": "A closed posting stays closed. Omitting posted_at keeps "
                    "the stored time (or uses now for a new posting).",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/JobInput"}
                            }
                        },
                    },
                    "responses": {
                        "200": _answer("Updated.", job_ref),
                        "201": _answer("Created.", job_ref),
                        **_errors(400, 401, 415, 422, 429),
                    },
                },
            },
            "/jobs/{reference}/close": {
                "parameters": [reference],
                "post": {
                    "operationId": "closeJob",
                    "summary": "Close the posting now (closing twice is fine).",
                    "responses": {"204": _answer("Closed."), **_errors(401, 404, 429)},
                },
            },
            "/openapi.json": {
                "get": {
                    "operationId": "getOpenApi",
                    "summary": "This document.",
                    "security": [],
                    "responses": {"200": _answer("The OpenAPI document.", {"type": "object"})},
                }
            },
        },
        "components": {
            "securitySchemes": {
                "bearerToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A token from `talentconnect api-token create NAME`.",
                }
            },
            "schemas": {
                "JobInput": {
                    "type": "object",
                    "required": ["title", "apply_url"],
                    "additionalProperties": False,
                    "properties": {
                        "reference": {
                            "type": "string",
                            "description": "Optional; must equal the URL's reference.",
                        },
                        "title": {"type": "string", "minLength": 1, "maxLength": MAX_TITLE},
                        "description": {
                            "type": "string",
                            "maxLength": MAX_DESCRIPTION,
                            "description": "Several lines; CRLF and CR become LF.",
                        },
                        "location": {"type": "string", "maxLength": MAX_LOCATION},
                        "apply_url": {
                            "type": "string",
                            "format": "uri",
                            "pattern": "^https://",
                            "maxLength": MAX_URL,
                        },
                        "interests": {
                            "description": "Interest names or slugs: a list, or one "
                            "';'-separated string.",
                            "oneOf": [
                                {"type": "array", "items": {"type": "string"}},
                                {"type": "string"},
                            ],
                        },
                        "posted_at": {
                            "type": "string",
                            "description": "ISO 8601 date or date-time from 1970 to 2099; "
                            "UTC if no offset.",
                        },
                        **_DETAIL_INPUTS,
                    },
                },
                "Job": {
                    "type": "object",
                    "properties": {
                        "reference": {"type": "string"},
                        "title": {"type": "string"},
                        "description": {"type": "string"},
                        "location": {"type": "string"},
                        "apply_url": {"type": "string"},
                        "interests": {"type": "array", "items": {"type": "string"}},
                        "posted_at": {"type": "string", "format": "date-time"},
                        "closed_at": {"type": ["string", "null"], "format": "date-time"},
                        "open": {"type": "boolean"},
                        **_DETAIL_OUTPUTS,
                    },
                },
                "Error": {
                    "type": "object",
                    "required": ["error", "fields"],
                    "properties": {
                        "error": {"type": "string"},
                        "fields": {
                            "type": "object",
                            "additionalProperties": {"type": "string"},
                        },
                    },
                },
            },
        },
    }
