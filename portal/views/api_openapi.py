"""The OpenAPI 3.1 document of /api/v1 (served at /api/v1/openapi.json), with a `webhooks`
section describing the signed POSTs Talent Connect sends to webhook endpoints."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from jobs.posting_admin import MAX_DESCRIPTION, MAX_LOCATION, MAX_REFERENCE, MAX_TITLE, MAX_URL
from jobs.posting_fields import (
    MAX_DEPARTMENT,
    MAX_LANGUAGE,
    EmploymentType,
    SalaryPeriod,
    Workplace,
)
from portal.auth.idempotency import MAX_KEY
from portal.webhooks.endpoints import EVENT_TYPE_NAMES
from portal.webhooks.examples import example_payloads
from portal.webhooks.models import MAX_DESCRIPTION as MAX_ENDPOINT_DESCRIPTION
from portal.webhooks.models import MAX_URL as MAX_ENDPOINT_URL
from preferences.events import EventType
from preferences.models import Frequency, MassEmail, SubscriptionStatus

_ERROR_REF = {"$ref": "#/components/schemas/Error"}


def _answer(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"description": description}
    if schema is not None:
        body["content"] = {"application/json": {"schema": schema}}
    return body


_MEANINGS = {
    400: "The body is not JSON, not a JSON object, or holds a number too long to read; or "
    "the Idempotency-Key header is not 1 to 255 printable ASCII characters.",
    401: "No token, a malformed header, or an unknown or revoked token.",
    404: "Nothing has this id.",
    409: "Another request with this Idempotency-Key did not finish (it was rolled back); "
    "send the request again.",
    413: "The body is too large.",
    415: "The body is not sent as application/json.",
    422: "A field breaks a rule; `fields` names each one. Text may not hold control "
    "characters (NUL, U+0001 to U+0008, U+000E to U+001F but the separators, DEL, U+0080 "
    "to U+009F but NEL) or lone surrogates; tabs and line breaks in one-line fields "
    "become spaces. On a POST, also: this Idempotency-Key was used for a different request.",
    429: "Too many requests: past the token's rate limit (or, without a valid token, "
    "the client address's). Nothing was changed; retry after Retry-After seconds.",
}


def _errors(*codes: int, notes: dict[int, str] | None = None) -> dict[str, Any]:
    meaning = {**_MEANINGS, **(notes or {})}
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


# Examples the document shows (and the schemathesis test seeds, so its explicit examples
# reach real records).
EXAMPLE_CANDIDATE_ID = "Yx3Wq0kS9mZpL2vN8rT1uA"
EXAMPLE_INTEREST = "engineering"
EXAMPLE_ENDPOINT_ID = "ep_0123456789abcdef"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json_body(name: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _ref(name)}}}


_IDEMPOTENCY_KEY = {"$ref": "#/components/parameters/IdempotencyKey"}
_REPLAYED = {
    "Idempotent-Replayed": {
        "description": "`true` when this is the stored answer to an earlier request with "
        "the same Idempotency-Key (nothing was changed again).",
        "schema": {"type": "string", "enum": ["true"]},
    }
}
# Every POST: 400 (a malformed key), 409 (a racing request with the key failed), 422 (the
# key was used for another request).
_POST_ERRORS = (400, 401, 409, 422, 429)


def _replayable(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    answer = _answer(description, schema)
    answer["headers"] = dict(_REPLAYED)
    return answer


def _path_id(name: str, description: str, example: str, max_length: int) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string", "minLength": 1, "maxLength": max_length},
        "example": example,
    }


_NO_CANDIDATE = {404: "No active candidate has this id (an erased one has none)."}
_NO_ENDPOINT = {404: "No webhook endpoint has this id."}
_NO_POSTING = {
    404: "No posting has this reference (a reference holding a control character or "
    "a line break, or spaces at its ends, names none)."
}


def _job_paths() -> dict[str, Any]:
    reference = {
        "name": "reference",
        "in": "path",
        "required": True,
        "description": "The posting's reference in your applicant-tracking system: one line, "
        "without control characters or spaces at its ends.",
        "schema": {"type": "string", "minLength": 1, "maxLength": MAX_REFERENCE},
    }
    job_ref = _ref("Job")
    return {
        "/jobs/{reference}": {
            "parameters": [reference],
            "get": {
                "operationId": "getJob",
                "tags": ["Job postings"],
                "summary": "Read a posting, open or closed.",
                "responses": {
                    "200": _answer("The posting.", job_ref),
                    **_errors(401, 404, 429, notes=_NO_POSTING),
                },
            },
            "put": {
                "operationId": "putJob",
                "tags": ["Job postings"],
                "summary": "Create the posting, or update the one with this reference.",
                "description": "A closed posting stays closed. Omitting posted_at keeps "
                "the stored time (or uses now for a new posting).",
                "requestBody": _json_body("JobInput"),
                "responses": {
                    "200": _answer("Updated.", job_ref),
                    "201": _answer("Created.", job_ref),
                    **_errors(400, 401, 413, 415, 422, 429),
                },
            },
        },
        "/jobs/{reference}/close": {
            "parameters": [reference],
            "post": {
                "operationId": "closeJob",
                "tags": ["Job postings"],
                "summary": "Close the posting now (closing twice is fine).",
                "parameters": [_IDEMPOTENCY_KEY],
                "responses": {
                    "204": _replayable("Closed."),
                    **_errors(*_POST_ERRORS, 404, notes=_NO_POSTING),
                },
            },
        },
    }


def _candidate_paths() -> dict[str, Any]:
    candidate_id = _path_id("id", "The candidate's public id.", EXAMPLE_CANDIDATE_ID, max_length=32)
    interest = _path_id("interest", "The interest's slug.", EXAMPLE_INTEREST, max_length=120)
    tags = ["Candidates"]
    return {
        "/candidates": {
            "post": {
                "operationId": "createCandidate",
                "tags": tags,
                "summary": "Add a candidate and send the double opt-in email.",
                "description": "A new address gets unconfirmed subscriptions to `interests` "
                "and the confirmation email (mass email rides in its link); nothing else "
                "is sent to it until the person confirms. A known address is never "
                "changed: it may be emailed a list of what would be new to the person and "
                "hers to decide, to confirm (`confirmation_email` says whether a message "
                "was queued; per-address caps and a ten-minute window apply). A suppressed "
                "address (bounced, complained, erased, retention expired) is a 422. Consent "
                "events name source `api` and the token.",
                "parameters": [_IDEMPOTENCY_KEY],
                "requestBody": _json_body("CandidateInput"),
                "responses": {
                    "201": _replayable("Created; Location names it.", _ref("CandidateSignUp")),
                    "200": _replayable(
                        "The address was known; nothing in the record changed.",
                        _ref("CandidateSignUp"),
                    ),
                    **_errors(*_POST_ERRORS, 413, 415),
                },
            }
        },
        "/candidates/{id}": {
            "parameters": [candidate_id],
            "get": {
                "operationId": "getCandidate",
                "tags": tags,
                "summary": "Read a candidate's subscriptions, mass email and consent history.",
                "responses": {
                    "200": _answer("The candidate.", _ref("Candidate")),
                    **_errors(401, 404, 429, notes=_NO_CANDIDATE),
                },
            },
        },
        "/candidates/{id}/subscriptions/{interest}": {
            "parameters": [candidate_id, interest],
            "get": {
                "operationId": "getSubscription",
                "tags": tags,
                "summary": "Read one interest subscription (never made: unsubscribed).",
                "responses": {
                    "200": _answer("The subscription.", _ref("Subscription")),
                    **_errors(401, 404, 429, notes=_NO_CANDIDATE),
                },
            },
            "put": {
                "operationId": "putSubscription",
                "tags": tags,
                "summary": "Subscribe, change frequency or pause, or unsubscribe, on the "
                "candidate's behalf.",
                "description": "Unsubscribing applies at once. Subscribing applies at once "
                "for a candidate whose address is confirmed; for an unconfirmed one the "
                "subscription stays unconfirmed and the confirmation email lists it "
                "(double opt-in). Recorded with source `api` and the token's name.",
                "requestBody": _json_body("SubscriptionInput"),
                "responses": {
                    "200": _answer("The subscription now.", _ref("SubscriptionChange")),
                    **_errors(400, 401, 404, 413, 415, 422, 429, notes=_NO_CANDIDATE),
                },
            },
        },
        "/candidates/{id}/mass-email": {
            "parameters": [candidate_id],
            "get": {
                "operationId": "getMassEmail",
                "tags": tags,
                "summary": "Read the candidate's mass-email status.",
                "responses": {
                    "200": _answer("The status.", _ref("MassEmail")),
                    **_errors(401, 404, 429, notes=_NO_CANDIDATE),
                },
            },
            "put": {
                "operationId": "putMassEmail",
                "tags": tags,
                "summary": "Opt the candidate in to or out of mass email.",
                "description": "Opting out applies at once. Opting in applies at once for a "
                "confirmed address; for an unconfirmed one the confirmation email offers it "
                "(unless the person has made a choice of her own). Recorded with source "
                "`api` and the token's name.",
                "requestBody": _json_body("MassEmailInput"),
                "responses": {
                    "200": _answer("The status now.", _ref("MassEmailChange")),
                    **_errors(400, 401, 404, 413, 415, 422, 429, notes=_NO_CANDIDATE),
                },
            },
        },
        "/candidates/{id}/preference-link": {
            "parameters": [candidate_id],
            "post": {
                "operationId": "sendPreferenceLink",
                "tags": tags,
                "summary": "Email the candidate a link to their preference page.",
                "description": "At most one such email every ten minutes, within the "
                "address's ADDRESS_MAIL_LIMIT; the answer is the same either way.",
                "parameters": [_IDEMPOTENCY_KEY],
                "responses": {
                    "202": _replayable("Accepted.", _ref("PreferenceLink")),
                    **_errors(*_POST_ERRORS, 404, notes=_NO_CANDIDATE),
                },
            },
        },
    }


def _webhook_paths() -> dict[str, Any]:
    endpoint_id = _path_id("id", "The endpoint's id.", EXAMPLE_ENDPOINT_ID, max_length=32)
    tags = ["Webhook endpoints"]
    return {
        "/webhooks": {
            "get": {
                "operationId": "listWebhooks",
                "tags": tags,
                "summary": "List the webhook endpoints.",
                "responses": {
                    "200": _answer("Every endpoint, oldest first.", _ref("WebhookList")),
                    **_errors(401, 429),
                },
            },
            "post": {
                "operationId": "createWebhook",
                "tags": tags,
                "summary": "Add an endpoint; the answer shows its signing secret, once.",
                "description": "The URL must be https://, or http:// to a host listed in "
                "WEBHOOK_ALLOWED_HOSTS, with no user name or password. A replay (same "
                "Idempotency-Key) answers with `secret: null`.",
                "parameters": [_IDEMPOTENCY_KEY],
                "requestBody": _json_body("WebhookInput"),
                "responses": {
                    "201": _replayable("Created; Location names it.", _ref("WebhookWithSecret")),
                    **_errors(*_POST_ERRORS, 413, 415),
                },
            },
        },
        "/webhooks/{id}": {
            "parameters": [endpoint_id],
            "get": {
                "operationId": "getWebhook",
                "tags": tags,
                "summary": "Read an endpoint (never its secrets).",
                "responses": {
                    "200": _answer("The endpoint.", _ref("Webhook")),
                    **_errors(401, 404, 429, notes=_NO_ENDPOINT),
                },
            },
            "patch": {
                "operationId": "updateWebhook",
                "tags": tags,
                "summary": "Change some of an endpoint's fields.",
                "description": "Enabling a disabled endpoint starts its health afresh.",
                "requestBody": _json_body("WebhookPatch"),
                "responses": {
                    "200": _answer("The endpoint now.", _ref("Webhook")),
                    **_errors(400, 401, 404, 413, 415, 422, 429, notes=_NO_ENDPOINT),
                },
            },
            "delete": {
                "operationId": "deleteWebhook",
                "tags": tags,
                "summary": "Remove an endpoint with its secrets and deliveries.",
                "responses": {
                    "204": _answer("Deleted."),
                    **_errors(401, 404, 429, notes=_NO_ENDPOINT),
                },
            },
        },
        "/webhooks/{id}/rotate-secret": {
            "parameters": [endpoint_id],
            "post": {
                "operationId": "rotateWebhookSecret",
                "tags": tags,
                "summary": "Add a new signing secret; the old ones sign too until the grace "
                "period (WEBHOOK_SECRET_GRACE_HOURS) ends.",
                "description": "While both sign, `webhook-signature` carries one signature "
                "per secret, space-separated. A replay answers with `secret: null`.",
                "parameters": [_IDEMPOTENCY_KEY],
                "responses": {
                    "200": _replayable("The new secret, shown once.", _ref("RotatedSecret")),
                    **_errors(*_POST_ERRORS, 404, notes=_NO_ENDPOINT),
                },
            },
        },
        "/webhooks/{id}/test": {
            "parameters": [endpoint_id],
            "post": {
                "operationId": "testWebhook",
                "tags": tags,
                "summary": "Queue a `webhook.test` event for this endpoint only.",
                "parameters": [_IDEMPOTENCY_KEY],
                "responses": {
                    "202": _replayable("Queued.", _ref("TestDelivery")),
                    **_errors(*_POST_ERRORS, 404, notes=_NO_ENDPOINT),
                },
            },
        },
    }


def _enum(kind: type[StrEnum], *extra: str, nullable: bool = False) -> dict[str, Any]:
    values: list[Any] = [*(m.value for m in kind), *extra]
    if nullable:
        return {"type": ["string", "null"], "enum": [*values, None]}
    return {"type": "string", "enum": values}


_TIME = {"type": "string", "format": "date-time"}
_TIME_OR_NULL = {"type": ["string", "null"], "format": "date-time"}
_CONFIRMATION_EMAIL = {
    "type": "string",
    "enum": ["queued", "not_sent"],
    "description": "Whether this request queued a confirmation email to the candidate.",
}


def _object(properties: dict[str, Any], *, required: tuple[str, ...] | None = None) -> dict:
    """An answer's object: every property always present unless `required` says otherwise."""
    return {
        "type": "object",
        "required": list(properties if required is None else required),
        "properties": properties,
    }


def _candidate_schemas() -> dict[str, Any]:
    subscription = {
        "interest": {"type": "string", "description": "The interest's slug."},
        "status": _enum(SubscriptionStatus),
        "frequency": _enum(Frequency, nullable=True),
        "paused_until": _TIME_OR_NULL,
    }
    return {
        "CandidateInput": {
            "type": "object",
            "required": ["email"],
            "additionalProperties": False,
            "properties": {
                "email": {"type": "string", "format": "email", "maxLength": 320},
                "first_name": {"type": ["string", "null"], "maxLength": 100},
                "last_name": {"type": ["string", "null"], "maxLength": 100},
                "language": {
                    "type": ["string", "null"],
                    "description": "One of SUPPORTED_LOCALES (BCP 47, like es or pt-BR); "
                    "the site's default when not given. Emails to the candidate use it.",
                    "maxLength": 35,
                },
                "interests": {
                    "type": ["array", "null"],
                    "items": {"type": "string"},
                    "maxItems": 50,
                    "description": "Slugs of active interests to subscribe to (unconfirmed "
                    "until the person confirms).",
                },
                "mass_email": {
                    "type": "boolean",
                    "description": "Offer mass email in the confirmation (confirming opts in).",
                },
            },
            "example": {
                "email": "ana@example.com",
                "first_name": "Ana",
                "language": "es",
                "interests": [EXAMPLE_INTEREST],
                "mass_email": True,
            },
        },
        "Subscription": _object(subscription),
        "CandidateSignUp": _object(
            {
                "id": {"type": "string"},
                "email": {"type": "string"},
                "status": {
                    "type": "string",
                    "enum": ["confirmed", "unconfirmed"],
                    "description": "Whether the person has confirmed the address.",
                },
                "created": {"type": "boolean"},
                "confirmation_email": _CONFIRMATION_EMAIL,
                "subscriptions": {"type": "array", "items": _ref("Subscription")},
                "mass_email": _enum(MassEmail, "pending_confirmation"),
            }
        ),
        "Candidate": _object(
            {
                "id": {"type": "string"},
                "email": {"type": "string"},
                "language": {"type": "string"},
                "verified": {"type": "boolean"},
                "created_at": _TIME,
                "subscriptions": {"type": "array", "items": _ref("Subscription")},
                "saved_searches": {
                    "type": "array",
                    "items": _object(
                        {
                            "id": {"type": "integer"},
                            "status": _enum(SubscriptionStatus),
                            "frequency": _enum(Frequency),
                        }
                    ),
                },
                "mass_email": _enum(MassEmail),
                "consent_history": {
                    "type": "array",
                    "description": "Oldest first; no IP address.",
                    "items": _object(
                        {
                            "scope": {"type": "string"},
                            "interest": {"type": ["string", "null"]},
                            "saved_search_id": {"type": ["integer", "null"]},
                            "action": {"type": "string"},
                            "source": {"type": "string"},
                            "wording_version": {"type": "string"},
                            "occurred_at": _TIME,
                        }
                    ),
                },
            }
        ),
        "SubscriptionInput": {
            "type": "object",
            "required": ["subscribed"],
            "additionalProperties": False,
            "properties": {
                "subscribed": {"type": "boolean"},
                "frequency": _enum(Frequency, nullable=True),
                "paused_until": {
                    "type": ["string", "null"],
                    "format": "date-time",
                    "description": "Pause alerts until then (in the future; UTC if no "
                    "offset); null resumes them; left out, unchanged. Not with "
                    "`subscribed: false`.",
                },
            },
        },
        "SubscriptionChange": _object({**subscription, "confirmation_email": _CONFIRMATION_EMAIL}),
        "MassEmail": _object({"status": _enum(MassEmail)}),
        "MassEmailInput": {
            "type": "object",
            "required": ["opted_in"],
            "additionalProperties": False,
            "properties": {"opted_in": {"type": "boolean"}},
        },
        "MassEmailChange": _object(
            {"status": _enum(MassEmail), "confirmation_email": _CONFIRMATION_EMAIL}
        ),
        "PreferenceLink": _object({"id": {"type": "string"}, "message": {"type": "string"}}),
    }


def _webhook_schemas() -> dict[str, Any]:
    event_types = {
        "type": "array",
        "items": {"type": "string", "enum": list(EVENT_TYPE_NAMES)},
        "description": "The event types it receives; empty: every type.",
    }
    inputs = {
        "url": {"type": "string", "maxLength": MAX_ENDPOINT_URL, "format": "uri"},
        "description": {"type": "string", "maxLength": MAX_ENDPOINT_DESCRIPTION},
        "event_types": event_types,
        "enabled": {"type": "boolean"},
        "include_contact_data": {
            "type": "boolean",
            "description": "Whether payloads carry the candidate's email address.",
        },
    }
    shown = {
        "id": {"type": "string"},
        "url": {"type": "string"},
        "description": {"type": "string"},
        "event_types": {"type": "array", "items": {"type": "string"}},
        "enabled": {"type": "boolean"},
        "include_contact_data": {"type": "boolean"},
        "created_at": _TIME,
        "failing_since": _TIME_OR_NULL,
        "disabled_reason": {"type": ["string", "null"]},
    }
    secret = {
        "type": ["string", "null"],
        "description": "The signing secret (`whsec_<base64>`), shown only in this answer; "
        "null in a replay.",
    }
    return {
        "WebhookInput": {
            "type": "object",
            "required": ["url"],
            "additionalProperties": False,
            "properties": inputs,
            "example": {
                "url": "https://hooks.example.com/talent-connect",
                "event_types": ["candidate.created", "subscription.changed"],
            },
        },
        "WebhookPatch": {"type": "object", "additionalProperties": False, "properties": inputs},
        "Webhook": _object(shown),
        "WebhookWithSecret": _object({**shown, "secret": secret}),
        "WebhookList": _object({"webhooks": {"type": "array", "items": _ref("Webhook")}}),
        "RotatedSecret": _object(
            {
                "id": {"type": "string"},
                "secret": secret,
                "previous_secrets_expire_at": {
                    **_TIME_OR_NULL,
                    "description": "When the secrets that signed before stop signing.",
                },
            }
        ),
        "TestDelivery": _object(
            {
                "id": {"type": "string", "description": "The endpoint's id."},
                "delivery_id": {"type": "integer"},
                "event_id": {"type": "string", "description": "The `webhook-id` it is sent with."},
            }
        ),
    }


# --- the webhooks we send ----------------------------------------------------------------

_WEBHOOK_HEADERS = [
    {
        "name": "webhook-id",
        "in": "header",
        "required": True,
        "description": "The event's unique id (`msg_…`), the same on every retry: "
        "deduplicate by it.",
        "schema": {"type": "string"},
    },
    {
        "name": "webhook-timestamp",
        "in": "header",
        "required": True,
        "description": "When this attempt was signed, in seconds since the Unix epoch; "
        "refuse one far from your clock (replays).",
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    },
    {
        "name": "webhook-signature",
        "in": "header",
        "required": True,
        "description": "Space-separated `v1,<base64>` HMAC-SHA256 signatures of "
        "`{webhook-id}.{webhook-timestamp}.{body}`, one per active secret (two during a "
        "rotation's grace period). Verify with any Standard Webhooks library.",
        "schema": {"type": "string"},
    },
]

_CANDIDATE_ID = {"type": "string", "description": "The candidate's public id."}
_EMAIL = {
    "type": "string",
    "description": "Only for endpoints with include_contact_data.",
}
_SOURCE = {
    "type": "string",
    "description": "What made the change: connect_form, preference_center, one_click, "
    "dashboard, admin, bounce, complaint, import, repermission, api, ...",
}
_TARGET = {
    "kind": {"type": "string", "enum": ["interest", "saved_search"]},
    "interest_id": {"type": "integer"},
    "saved_search_id": {"type": "integer"},
}
# Each event's `data`: ids and the changed fields, never resume content. Receivers should
# ignore fields they don't know (new ones may be added). The examples are
# `portal.webhooks.examples.example_payloads()`, built the way real payloads are.
_EVENT_DATA: dict[str, tuple[str, dict[str, Any]]] = {
    EventType.CANDIDATE_CREATED: (
        "A candidate joined (unconfirmed until candidate.confirmed).",
        {
            "candidate_id": _CANDIDATE_ID,
            "language": {"type": "string"},
            "source": _SOURCE,
            "email": _EMAIL,
        },
    ),
    EventType.CANDIDATE_CONFIRMED: (
        "A candidate confirmed their address (double opt-in).",
        {"candidate_id": _CANDIDATE_ID, "source": _SOURCE, "email": _EMAIL},
    ),
    EventType.SUBSCRIPTION_CHANGED: (
        "An interest or saved-search subscription was granted, confirmed, changed "
        "(frequency, pause) or withdrawn.",
        {
            "candidate_id": _CANDIDATE_ID,
            **_TARGET,
            "action": {"type": "string", "enum": ["grant", "confirm", "change", "withdraw"]},
            "status": _enum(SubscriptionStatus),
            "frequency": _enum(Frequency),
            "previous_frequency": _enum(Frequency),
            "paused_until": _TIME_OR_NULL,
            "merged_from": {
                "type": "integer",
                "description": "On an interest merge: the interest merged into this one.",
            },
            "source": _SOURCE,
            "email": _EMAIL,
        },
    ),
    EventType.MASS_EMAIL_CHANGED: (
        "A candidate opted in to or out of mass email.",
        {
            "candidate_id": _CANDIDATE_ID,
            "action": {"type": "string"},
            "status": _enum(MassEmail),
            "source": _SOURCE,
            "email": _EMAIL,
        },
    ),
    EventType.CANDIDATE_UNSUBSCRIBED: (
        "A candidate withdrew from an interest, a saved search or mass email.",
        {
            "candidate_id": _CANDIDATE_ID,
            "scope": {"type": "string", "enum": ["interest", "saved_search", "mass_email"]},
            "interest_id": {"type": "integer"},
            "saved_search_id": {"type": "integer"},
            "channel": {
                "type": "string",
                "description": "one_click, email, preference_page, or the source's name.",
            },
            "source": _SOURCE,
            "email": _EMAIL,
        },
    ),
    EventType.CANDIDATE_ERASED: (
        "A candidate's data was erased (deleted or anonymized).",
        {
            "candidate_id": _CANDIDATE_ID,
            "mode": {"type": "string", "enum": ["deleted", "anonymized"]},
            "reason": {"type": "string"},
            "source": _SOURCE,
        },
    ),
    EventType.BOUNCE_HARD: (
        "Mail to a candidate's address failed for good; the address is suppressed.",
        {
            "candidate_id": _CANDIDATE_ID,
            "status": {
                "type": ["string", "null"],
                "description": "The RFC 3463 status, like 5.1.1, when the report gave one.",
            },
            "message_kind": {"type": ["string", "null"]},
            "source": _SOURCE,
            "email": _EMAIL,
        },
    ),
    EventType.BOUNCE_SOFT_LIMIT: (
        "Soft bounces (a full mailbox, a size limit, a temporary failure) reached the "
        "bounce score threshold; the address is suppressed.",
        {
            "candidate_id": _CANDIDATE_ID,
            "status": {
                "type": ["string", "null"],
                "description": "The last report's RFC 3463 status, like 4.2.2, if it had one.",
            },
            "score": {"type": "number", "description": "The address's soft-bounce score."},
            "threshold": {
                "type": "number",
                "description": "The score that suppresses (TALENTCONNECT_BOUNCE_SCORE_THRESHOLD).",
            },
            "bounces": {"type": "integer", "description": "Soft bounces counted in the score."},
            "message_kind": {"type": ["string", "null"]},
            "source": _SOURCE,
            "email": _EMAIL,
        },
    ),
    EventType.COMPLAINT_RECEIVED: (
        "A candidate marked a message as spam; the address is suppressed.",
        {
            "candidate_id": _CANDIDATE_ID,
            "feedback_type": {"type": ["string", "null"]},
            "message_kind": {"type": ["string", "null"]},
            "source": _SOURCE,
            "email": _EMAIL,
        },
    ),
    EventType.ALERT_RUN_FINISHED: (
        "A job-alert run finished.",
        {
            "alert_run_id": {"type": "integer"},
            "schedule_id": {"type": ["integer", "null"]},
            "status": {"type": "string", "enum": ["succeeded", "failed"]},
            "candidates_matched": {"type": "integer"},
            "recipients": {"type": "integer"},
            "jobs": {"type": "integer"},
        },
    ),
    EventType.CAMPAIGN_SENT: (
        "A mass campaign was sent.",
        {"campaign_id": {"type": "integer"}, "recipients": {"type": "integer"}},
    ),
    EventType.WEBHOOK_TEST: (
        "Sent to one endpoint by Send test event (console or API); never fanned out.",
        {"endpoint_id": {"type": "string"}, "message": {"type": "string"}, "source": _SOURCE},
    ),
}


def webhook_operations() -> dict[str, Any]:
    """The document's `webhooks` section: the POST we send for each event type."""
    operations: dict[str, Any] = {}
    examples = example_payloads()
    for kind in EventType:
        summary, properties = _EVENT_DATA[kind]
        operations[kind.value] = {
            "post": {
                "operationId": "event." + kind.value,
                "tags": ["Webhook events"],
                "summary": summary,
                "description": "Sent as JSON with the Standard Webhooks headers; answer 2xx "
                "within WEBHOOK_TIMEOUT_SECONDS. 5xx, 429 (Retry-After honoured) and network "
                "errors are retried with backoff; other 4xx fail the delivery.",
                "parameters": _WEBHOOK_HEADERS,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["type", "timestamp", "data"],
                                "properties": {
                                    "type": {"type": "string", "const": kind.value},
                                    "timestamp": {
                                        **_TIME,
                                        "description": "When the change happened (UTC).",
                                    },
                                    "data": {
                                        "type": "object",
                                        "properties": properties,
                                        "additionalProperties": True,
                                    },
                                },
                            },
                            "example": examples[kind.value],
                        }
                    },
                },
                "responses": {
                    "2XX": {"description": "Received; the delivery is done."},
                    "default": {"description": "Retried (5xx, 429) or failed (other 4xx)."},
                },
            }
        }
    return operations


def _job_schemas() -> dict[str, Any]:
    return {
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
                    "description": "Interest names or slugs: a list, or one ';'-separated string.",
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
    }


def openapi_document(server_url: str, rate_limit: str) -> dict[str, Any]:
    """The OpenAPI 3.1 description of this API; `rate_limit` is API_RATE_LIMIT."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Talent Connect API",
            "version": "1",
            "description": "Push, read and close job postings from an applicant-tracking "
            "system (keyed by your own reference); add candidates with double opt-in, read "
            "their subscriptions and consent history, and change subscriptions or mass "
            "email on their behalf (recorded with source `api` and the token's name); "
            "manage webhook endpoints. The `webhooks` section describes the signed "
            "requests (Standard Webhooks) Talent Connect sends to them.\n\n"
            "Every POST takes an optional `Idempotency-Key` header (1 to 255 printable "
            "ASCII characters): the answer is stored with the change, and a retry with the "
            "same key, method, path and body within 24 hours gets it again (with "
            "`Idempotent-Replayed: true`) and changes nothing; the same key with another "
            "request is a 422. Successes and refusals of the request (400, 415, 422) "
            "are stored; 404s, 413s, 429s and 5xx are not.\n\n"
            f"Requests that need a token are rate-limited to {rate_limit} per token, "
            "across all endpoints; requests without a valid token share one such budget "
            "per client address. Each answer carries X-RateLimit-Limit, "
            "X-RateLimit-Remaining, X-RateLimit-Reset and Retry-After; past the limit the "
            "answer is 429 with an Error body, and the request changed nothing.",
        },
        "servers": [{"url": server_url}],
        "security": [{"bearerToken": []}],
        "paths": {
            **_job_paths(),
            **_candidate_paths(),
            **_webhook_paths(),
            "/openapi.json": {
                "get": {
                    "operationId": "getOpenApi",
                    "summary": "This document.",
                    "security": [],
                    "responses": {"200": _answer("The OpenAPI document.", {"type": "object"})},
                }
            },
        },
        "webhooks": webhook_operations(),
        "components": {
            "securitySchemes": {
                "bearerToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A token from `talentconnect api-token create NAME`.",
                }
            },
            "parameters": {
                "IdempotencyKey": {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "description": "Makes retrying this POST safe for 24 hours: see the "
                    "API's description.",
                    "schema": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": MAX_KEY,
                        "pattern": "^[\\x20-\\x7e]+$",
                    },
                }
            },
            "schemas": {
                **_job_schemas(),
                **_candidate_schemas(),
                **_webhook_schemas(),
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
