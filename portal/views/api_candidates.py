"""/api/v1/candidates: opt-in and preferences on a candidate's behalf (`portal.connect.on_behalf`
holds the rules: double opt-in for sign-ups and grants to unconfirmed addresses, withdrawals
at once).

Candidates are named by their public id. An unknown, erased or malformed id is a 404.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from flask import Response, jsonify, request
from sqlalchemy import select

from portal.auth.api_tokens import mark_used
from portal.connect.on_behalf import (
    UNSET,
    OnBehalfError,
    SignUp,
    SubscriptionChange,
    candidate_record,
    change_mass_email,
    change_subscription,
    sign_up,
    subscription_of,
    subscriptions_of,
)
from portal.connect.submit import MAX_LISTED_INTERESTS, LinkContext
from portal.i18n import supported_tag, ui_default
from portal.views.api_common import (
    answer_about,
    current_token,
    error,
    idempotent,
    json_body,
    log,
    route,
    token_required,
    wrong_method,
)
from portal.web.links import send_preference_link
from portal.web.runtime import db, settings
from preferences.addresses import normalize_email
from preferences.clock import TimeOutOfRange, now, utc_in_range
from preferences.errors import InvalidEmail
from preferences.interests import interest_by_slug
from preferences.models import Candidate, CandidateStatus, Frequency, Interest, InterestStatus
from preferences.subscriptions import mass_email_status
from preferences.text import TextKind, UnstorableText, clean_text

MAX_EMAIL = 320
MAX_NAME = 100
# Public ids are URL-safe base64 (`preferences.models.new_public_id`).
PUBLIC_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,32}")
SIGN_UP_FIELDS = ("email", "first_name", "last_name", "language", "interests", "mass_email")
SUBSCRIPTION_FIELDS = ("subscribed", "frequency", "paused_until")
FREQUENCIES = tuple(f.value for f in Frequency)
INVALID = "the request has errors"


def _links() -> LinkContext:
    s = settings()
    return LinkContext(s.secret_keys, s.base_url, s.upload_dir, s.address_mail_caps)


def _unknown_fields(body: dict[str, Any], allowed: tuple[str, ...]) -> dict[str, str]:
    return {str(k)[:60]: "is not a field of this request" for k in body if k not in allowed}


def _find(public_id: str) -> Candidate | None:
    """The active candidate with this public id; None for an unknown, erased or odd id."""
    if not PUBLIC_ID_RE.fullmatch(public_id):
        return None
    candidate = db().scalar(select(Candidate).where(Candidate.public_id == public_id))
    if candidate is None or candidate.status is not CandidateStatus.ACTIVE:
        return None
    return candidate


def _no_candidate(public_id: str) -> Response:
    return error(404, f"no candidate with id {public_id[:40]!r}")


def _name(body: dict[str, Any], field: str, problems: dict[str, str]) -> str:
    raw = body.get(field, "")
    if raw is None:
        return ""
    if not isinstance(raw, str):
        problems[field] = "must be a string"
        return ""
    try:
        value = clean_text(raw, TextKind.LINE).strip()
    except UnstorableText as exc:
        problems[field] = str(exc)
        return ""
    if len(value) > MAX_NAME:
        problems[field] = f"must be at most {MAX_NAME} characters"
    return value


def _interests(raw: object, problems: dict[str, str]) -> list[Interest]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(s, str) for s in raw):
        problems["interests"] = "must be a list of interest slugs"
        return []
    if len(raw) > MAX_LISTED_INTERESTS:
        problems["interests"] = f"name at most {MAX_LISTED_INTERESTS} interests"
        return []
    found: list[Interest] = []
    for slug in raw:
        interest = interest_by_slug(db(), slug) if len(slug) <= 120 else None
        if interest is None:
            problems["interests"] = f"unknown interest {slug[:60]!r}"
            return []
        if interest.status is not InterestStatus.ACTIVE or interest.merged_into_id is not None:
            problems["interests"] = f"interest {slug!r} is retired and takes no subscribers"
            return []
        if interest not in found:
            found.append(interest)
    return found


def _check_sign_up(body: dict[str, Any]) -> SignUp | dict[str, str]:
    problems = _unknown_fields(body, SIGN_UP_FIELDS)
    email = body.get("email")
    address = ""
    if not isinstance(email, str) or not email.strip():
        problems["email"] = "is required: the candidate's email address"
    elif len(email) > MAX_EMAIL:
        problems["email"] = f"must be at most {MAX_EMAIL} characters"
    else:
        try:
            address = normalize_email(email)
        except InvalidEmail as exc:
            problems["email"] = f"is not a valid email address: {exc.reason}"
    first_name = _name(body, "first_name", problems)
    last_name = _name(body, "last_name", problems)
    supported = settings().supported_locales
    language = ui_default(settings())
    raw_language = body.get("language")
    if raw_language is not None:
        tag = supported_tag(raw_language, supported) if isinstance(raw_language, str) else None
        if tag is None or len(raw_language) > 35:
            problems["language"] = f"must be one of {', '.join(supported)}"
        else:
            language = tag
    interests = _interests(body.get("interests"), problems)
    mass_email = body.get("mass_email", False)
    if not isinstance(mass_email, bool):
        problems["mass_email"] = "must be true or false"
    if problems:
        return problems
    return SignUp(
        email=address,
        language=language,
        interests=tuple(interests),
        mass_email=bool(mass_email),
        first_name=first_name,
        last_name=last_name,
    )


def _queued(flag: bool) -> str:
    return "queued" if flag else "not_sent"


@route("/candidates")
@token_required
@idempotent
def candidates() -> Any:
    if request.method != "POST":
        return wrong_method(["POST"])
    body, problem = json_body("candidate's fields")
    if body is None:
        return problem
    checked = _check_sign_up(body)
    if not isinstance(checked, SignUp):
        return error(422, INVALID, checked)
    session = db()
    token = current_token()
    try:
        result = sign_up(session, checked, _links(), token_name=token.name)
    except OnBehalfError as exc:
        return error(422, INVALID, exc.fields)
    mark_used(session, token)
    candidate = result.candidate
    answer_about(candidate.id)
    log.info(
        "api candidate signed up",
        extra={"candidate": candidate.public_id, "new": result.created, "token": token.name},
    )
    status = mass_email_status(session, candidate).value
    response = jsonify(
        {
            "id": candidate.public_id,
            "email": candidate.email,
            "status": "confirmed" if candidate.email_verified_at is not None else "unconfirmed",
            "created": result.created,
            "confirmation_email": _queued(result.confirmation_queued),
            "subscriptions": subscriptions_of(session, candidate),
            "mass_email": "pending_confirmation" if result.mass_email_offered else status,
        }
    )
    response.headers["Location"] = f"{request.path}/{candidate.public_id}"
    response.status_code = 201 if result.created else 200
    return response


@route("/candidates/<public_id>")
@token_required
def candidate(public_id: str) -> Any:
    if request.method not in ("GET", "HEAD"):
        return wrong_method(["GET"])
    found = _find(public_id)
    if found is None:
        return _no_candidate(public_id)
    return jsonify(candidate_record(db(), found))


def _paused_until(raw: object) -> datetime | str | None:
    """The pause's end, or a problem (a str)."""
    if raw is None:
        return None
    if not isinstance(raw, str) or len(raw) > 40:
        return "must be an ISO 8601 date-time (UTC if it has no offset), or null to resume"
    try:
        at = datetime.fromisoformat(raw)
    except ValueError:
        return "must be an ISO 8601 date-time (UTC if it has no offset), or null to resume"
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    try:
        at = utc_in_range(at)
    except TimeOutOfRange as exc:
        return str(exc)
    if at <= now():
        return "must be in the future (null resumes the alerts)"
    return at


def _check_subscription_change(body: dict[str, Any]) -> SubscriptionChange | dict[str, str]:
    problems = _unknown_fields(body, SUBSCRIPTION_FIELDS)
    subscribed = body.get("subscribed")
    if not isinstance(subscribed, bool):
        problems["subscribed"] = "is required: true or false"
    frequency = body.get("frequency")
    if frequency is not None and frequency not in FREQUENCIES:
        problems["frequency"] = f"must be one of {', '.join(FREQUENCIES)}"
    paused: Any = UNSET
    if "paused_until" in body:
        paused = _paused_until(body["paused_until"])
        if isinstance(paused, str):
            problems["paused_until"] = paused
    if subscribed is False:
        for field in ("frequency", "paused_until"):
            if body.get(field) is not None or (field == "paused_until" and field in body):
                problems[field] = "can't be set when unsubscribing"
    if problems:
        return problems
    return SubscriptionChange(
        subscribed=bool(subscribed),
        frequency=Frequency(frequency) if frequency is not None else None,
        paused_until=paused,
    )


@route("/candidates/<public_id>/subscriptions/<slug>")
@token_required
def candidate_subscription(public_id: str, slug: str) -> Any:
    if request.method not in ("GET", "HEAD", "PUT"):
        return wrong_method(["GET", "PUT"])
    found = _find(public_id)
    if found is None:
        return _no_candidate(public_id)
    session = db()
    interest = interest_by_slug(session, slug) if len(slug) <= 120 else None
    if interest is None:
        return error(404, f"no interest {slug[:60]!r}")
    if request.method != "PUT":
        return jsonify(subscription_of(session, found, interest))
    body, problem = json_body("subscription's fields")
    if body is None:
        return problem
    change = _check_subscription_change(body)
    if not isinstance(change, SubscriptionChange):
        return error(422, INVALID, change)
    token = current_token()
    try:
        queued = change_subscription(
            session, found, interest, change, _links(), token_name=token.name
        )
    except OnBehalfError as exc:
        return error(422, INVALID, exc.fields)
    mark_used(session, token)
    log.info(
        "api subscription changed",
        extra={"candidate": found.public_id, "interest": interest.slug, "token": token.name},
    )
    return jsonify(
        {**subscription_of(session, found, interest), "confirmation_email": _queued(queued)}
    )


@route("/candidates/<public_id>/mass-email")
@token_required
def candidate_mass_email(public_id: str) -> Any:
    if request.method not in ("GET", "HEAD", "PUT"):
        return wrong_method(["GET", "PUT"])
    found = _find(public_id)
    if found is None:
        return _no_candidate(public_id)
    session = db()
    if request.method != "PUT":
        return jsonify({"status": mass_email_status(session, found).value})
    body, problem = json_body("mass-email choice")
    if body is None:
        return problem
    problems = _unknown_fields(body, ("opted_in",))
    opted_in = body.get("opted_in")
    if not isinstance(opted_in, bool):
        problems["opted_in"] = "is required: true or false"
    if problems:
        return error(422, INVALID, problems)
    token = current_token()
    queued = change_mass_email(session, found, bool(opted_in), _links(), token_name=token.name)
    mark_used(session, token)
    log.info("api mass email changed", extra={"candidate": found.public_id, "token": token.name})
    return jsonify(
        {
            "status": mass_email_status(session, found).value,
            "confirmation_email": _queued(queued),
        }
    )


@route("/candidates/<public_id>/preference-link")
@token_required
@idempotent
def candidate_preference_link(public_id: str) -> Any:
    if request.method != "POST":
        return wrong_method(["POST"])
    found = _find(public_id)
    if found is None:
        return _no_candidate(public_id)
    session = db()
    answer_about(found.id)
    # The preference center's "email me a link": one per ten minutes, within the
    # address's ADDRESS_MAIL_LIMIT; the answer is the same either way.
    send_preference_link(session, found.email, settings())
    mark_used(session, current_token())
    response = jsonify(
        {
            "id": found.public_id,
            "message": "a preference link is emailed to the candidate (at most one every "
            "ten minutes, within the address's mail limit)",
        }
    )
    response.status_code = 202
    return response
