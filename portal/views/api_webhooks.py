"""/api/v1/webhooks: managing webhook endpoints from an integration (the console's Webhooks
page does the same through `portal.webhooks.endpoints`, with the same checks and messages).

A signing secret is shown once: in the answer to the POST that made it (creating an
endpoint, rotating its secret). A replay of such a POST (same Idempotency-Key) answers
with `"secret": null`; whoever lost the first answer rotates the secret again.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from flask import Response, g, jsonify, request
from sqlalchemy import select

from portal.auth.api_tokens import mark_used
from portal.views.api_common import (
    STORED_BODY,
    current_token,
    error,
    idempotent,
    json_body,
    log,
    route,
    token_required,
    wrong_method,
)
from portal.web.runtime import db, settings
from portal.webhooks.delivery import send_test_event
from portal.webhooks.endpoints import (
    EndpointInput,
    InvalidEndpoint,
    active_secrets,
    create_endpoint,
    delete_endpoint,
    find_endpoint,
    list_endpoints,
    rotate_secret,
    update_endpoint,
)
from portal.webhooks.models import WebhookEndpoint, as_dict
from portal.webhooks.sealing import secret_seal
from preferences.events import WebhookEvent

ENDPOINT_FIELDS = ("url", "description", "event_types", "enabled", "include_contact_data")
INVALID = "the webhook endpoint has errors"
# `portal.webhooks.models.new_endpoint_id`: "ep_" and hex digits.
ENDPOINT_ID_RE = re.compile(r"[A-Za-z0-9_]{1,32}")


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


_shown = as_dict


def _with_secret(status: int, data: dict[str, Any], secret: str) -> Response:
    """An answer carrying a new secret; its stored copy (for replays) carries none."""
    g.setdefault(STORED_BODY, json.dumps({**data, "secret": None}))
    response = jsonify({**data, "secret": secret})
    response.status_code = status
    return response


def _checked_input(
    body: dict[str, Any], current: WebhookEndpoint | None
) -> EndpointInput | dict[str, str]:
    """The body (over `current`'s values for a PATCH) as an EndpointInput, or type problems."""
    problems = {
        str(k)[:60]: "is not a field of a webhook endpoint"
        for k in body
        if k not in ENDPOINT_FIELDS
    }
    values: dict[str, Any] = (
        {
            "url": current.url,
            "description": current.description,
            "event_types": list(current.event_types or []),
            "enabled": current.enabled,
            "include_contact_data": current.include_contact_data,
        }
        if current is not None
        else {"description": "", "event_types": [], "enabled": True, "include_contact_data": False}
    )
    for name in ("url", "description"):
        if name in body:
            if isinstance(body[name], str):
                values[name] = body[name]
            else:
                problems[name] = "must be a string"
    if current is None and "url" not in body:
        problems["url"] = "is required: the receiver's URL, starting with https://"
    if "event_types" in body:
        types = body["event_types"]
        if isinstance(types, list) and all(isinstance(t, str) for t in types) and len(types) < 50:
            values["event_types"] = types
        else:
            problems["event_types"] = "must be a list of event type names (empty: every type)"
    for name in ("enabled", "include_contact_data"):
        if name in body:
            if isinstance(body[name], bool):
                values[name] = body[name]
            else:
                problems[name] = "must be true or false"
    if problems:
        return problems
    return EndpointInput(
        url=values["url"],
        description=values["description"],
        event_types=tuple(values["event_types"]),
        enabled=values["enabled"],
        include_contact_data=values["include_contact_data"],
    )


def _find(endpoint_id: str) -> WebhookEndpoint | None:
    """The endpoint with this id; an id that can't be one (a NUL, which PostgreSQL refuses
    in a parameter, or other odd characters) is never looked up."""
    if not ENDPOINT_ID_RE.fullmatch(endpoint_id):
        return None
    return find_endpoint(db(), endpoint_id)


def _no_endpoint(endpoint_id: str) -> Response:
    return error(404, f"no webhook endpoint with id {endpoint_id[:40]!r}")


@route("/webhooks")
@token_required
@idempotent
def webhooks() -> Any:
    if request.method in ("GET", "HEAD"):
        return jsonify({"webhooks": [_shown(e) for e in list_endpoints(db())]})
    if request.method != "POST":
        return wrong_method(["GET", "POST"])
    body, problem = json_body("endpoint's fields")
    if body is None:
        return problem
    checked = _checked_input(body, None)
    if not isinstance(checked, EndpointInput):
        return error(422, INVALID, checked)
    session = db()
    try:
        endpoint, secret = create_endpoint(
            session,
            checked,
            settings().webhook_allowed_hosts,
            secret_seal(settings().secret_keys),
        )
    except InvalidEndpoint as exc:
        return error(422, INVALID, exc.fields)
    token = current_token()
    mark_used(session, token)
    log.info("api webhook created", extra={"endpoint": endpoint.public_id, "token": token.name})
    response = _with_secret(201, _shown(endpoint), secret)
    response.headers["Location"] = f"{request.path}/{endpoint.public_id}"
    return response


@route("/webhooks/<endpoint_id>")
@token_required
def webhook(endpoint_id: str) -> Any:
    if request.method not in ("GET", "HEAD", "PATCH", "DELETE"):
        return wrong_method(["GET", "PATCH", "DELETE"])
    session = db()
    endpoint = _find(endpoint_id)
    if endpoint is None:
        return _no_endpoint(endpoint_id)
    if request.method in ("GET", "HEAD"):
        return jsonify(_shown(endpoint))
    token = current_token()
    if request.method == "DELETE":
        delete_endpoint(session, endpoint)
        mark_used(session, token)
        log.info("api webhook deleted", extra={"endpoint": endpoint_id, "token": token.name})
        return Response(status=204)
    body, problem = json_body("fields to change")
    if body is None:
        return problem
    checked = _checked_input(body, endpoint)
    if not isinstance(checked, EndpointInput):
        return error(422, INVALID, checked)
    try:
        update_endpoint(session, endpoint, checked, settings().webhook_allowed_hosts)
    except InvalidEndpoint as exc:
        return error(422, INVALID, exc.fields)
    mark_used(session, token)
    log.info("api webhook changed", extra={"endpoint": endpoint_id, "token": token.name})
    return jsonify(_shown(endpoint))


@route("/webhooks/<endpoint_id>/rotate-secret")
@token_required
@idempotent
def webhook_rotate_secret(endpoint_id: str) -> Any:
    if request.method != "POST":
        return wrong_method(["POST"])
    session = db()
    endpoint = _find(endpoint_id)
    if endpoint is None:
        return _no_endpoint(endpoint_id)
    grace = timedelta(hours=settings().webhook_secret_grace_hours)
    secret = rotate_secret(session, endpoint, grace, secret_seal(settings().secret_keys))
    old = [s.expires_at for s in active_secrets(endpoint) if s.expires_at is not None]
    token = current_token()
    mark_used(session, token)
    log.info("api webhook secret rotated", extra={"endpoint": endpoint_id, "token": token.name})
    data = {
        "id": endpoint.public_id,
        "previous_secrets_expire_at": _iso(max(old)) if old else None,
    }
    return _with_secret(200, data, secret)


@route("/webhooks/<endpoint_id>/test")
@token_required
@idempotent
def webhook_test(endpoint_id: str) -> Any:
    if request.method != "POST":
        return wrong_method(["POST"])
    session = db()
    endpoint = _find(endpoint_id)
    if endpoint is None:
        return _no_endpoint(endpoint_id)
    delivery = send_test_event(session, endpoint)
    event_id = session.scalar(
        select(WebhookEvent.public_id).where(WebhookEvent.id == delivery.event_id)
    )
    token = current_token()
    mark_used(session, token)
    log.info("api webhook test queued", extra={"endpoint": endpoint_id, "token": token.name})
    response = jsonify({"id": endpoint.public_id, "delivery_id": delivery.id, "event_id": event_id})
    response.status_code = 202
    return response
