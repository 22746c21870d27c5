"""One job posting as an import row or an API body: validation, then create or update.

Shared by the file imports (`portal.console.imports`) and the REST API (`portal.views.api`).
The field rules themselves are `jobs.posting_admin`'s, which the console uses too,
so a posting is checked by the same rules whichever way it arrives; this module
adds what only rows and bodies need (types, unknown fields, interests by name) and
words problems as `field: reason`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from jobs.models import JobPosting
from jobs.posting_admin import (
    MAX_DESCRIPTION,
    MAX_LOCATION,
    MAX_REFERENCE,
    MAX_TITLE,
    MAX_URL,
    REQUIRED,
    TOO_LONG,
    apply_details,
    check_text,
    is_apply_url,
    parse_time,
)
from jobs.posting_fields import (
    DETAIL_FIELDS,
    DetailsRejected,
    PostingDetails,
    amount_number,
    read_details,
)
from portal.errors import PortalError
from preferences.clock import TimeOutOfRange, now
from preferences.models import Interest, InterestStatus
from preferences.text import TextKind, UnstorableText, clean_text, is_clean_line

JOB_FIELDS = (
    "reference",
    "title",
    "description",
    "location",
    "apply_url",
    "interests",
    "posted_at",
    *DETAIL_FIELDS,
)
REQUIRED_JOB_FIELDS = ("reference", "title", "apply_url")


class JsonNumberTooLong(PortalError, ValueError):
    """A JSON integer with more digits than Python converts (`sys.get_int_max_str_digits`)."""


def _json_int(digits: str) -> int:
    try:
        return int(digits)
    except ValueError:
        raise JsonNumberTooLong(
            f"a number has {len(digits.lstrip('-'))} digits, more than any field takes"
        ) from None


# Decodes JSON import files element by element: a 5,000-digit integer is a JsonNumberTooLong,
# a ValueError like every other decoding problem, never an unexpected one.
JSON_DECODER = json.JSONDecoder(parse_int=_json_int)


def load_json(data: str | bytes) -> Any:
    """`json.loads` (UTF-8, -16 or -32), raising JsonNumberTooLong for an integer too long."""
    return json.loads(data, parse_int=_json_int)


class InvalidJob(PortalError):
    """A posting that breaks a rule; `fields` maps each bad field to the reason."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


class InterestIndex:
    """Every interest, looked up by name or slug (case-insensitive); loaded once per import."""

    def __init__(self, session: Session) -> None:
        self._by_key: dict[str, Interest] = {}
        for interest in session.scalars(select(Interest)):
            self._by_key.setdefault(interest.slug.casefold(), interest)
            self._by_key.setdefault(interest.name.casefold(), interest)

    def resolve(self, names: list[str]) -> tuple[list[Interest], list[str]]:
        """Return the interests `names` denote, and one reason for each that can't be used."""
        found: list[Interest] = []
        problems: list[str] = []
        for name in names:
            interest = self._by_key.get(name.casefold())
            if interest is None:
                problems.append(f"unknown interest {name!r}")
            elif interest.merged_into_id is not None:
                target = interest.merged_into
                into = f" into {target.name!r}" if target is not None else ""
                problems.append(f"interest {name!r} was merged{into}; use that one")
            elif interest.status is not InterestStatus.ACTIVE:
                problems.append(f"interest {name!r} is retired")
            elif interest not in found:
                found.append(interest)
        return found, problems


@dataclass(frozen=True)
class JobFields:
    """A valid posting, ready to store. `posted_at` None keeps the stored time (or now)."""

    reference: str
    title: str
    description: str
    location: str
    apply_url: str
    interests: list[Interest]
    posted_at: datetime | None
    details: PostingDetails


def split_list(value: object) -> list[str] | None:
    """A `;`-separated string or a list of strings as a list of non-empty names; None if neither.

    Names are cleaned by the stored-text rule (one line); raises `UnstorableText` for a name
    holding a control character or a lone surrogate.
    """
    if value is None:
        return []
    if isinstance(value, str):
        parts = value.split(";")
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        parts = value
    else:
        return None
    names = (clean_text(part, TextKind.LINE) for part in parts)
    return [name for name in names if name]


def interest_names(value: object, errors: dict[str, str], field: str = "interests") -> list[str]:
    """`split_list` of a row's or a body's interests, with a reason in `errors` if unusable."""
    try:
        names = split_list(value)
    except UnstorableText as exc:
        errors[field] = exc.reason
        return []
    if names is None:
        errors[field] = "must be a list of interest names or a ';'-separated string"
        return []
    return names


def field_label(name: object) -> str:
    """An unknown field's name as it may be shown back: quoted and escaped unless plain text."""
    text = str(name)
    return text if is_clean_line(text) and text.isprintable() else ascii(text)


_WORDING = {
    REQUIRED: "is required",
    TOO_LONG: "is longer than {limit} characters",
}


def _text(
    raw: Mapping[str, object], name: str, limit: int, errors: dict[str, str], *, required: bool
) -> str:
    value = raw.get(name)
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors[name] = "must be text"
        return ""
    kind = TextKind.TEXT if name == "description" else TextKind.LINE
    checked = check_text(value, limit, required=required, kind=kind)
    if checked.unstorable is not None:
        errors[name] = checked.unstorable.reason
    elif checked.problem is not None:
        errors[name] = _WORDING[checked.problem].format(limit=limit)
    return checked.value


def time_problem(raw: str, error: ValueError, example: str) -> str:
    """Why `parse_time` refused `raw` (with `error`), worded for an API body or an import row."""
    if isinstance(error, TimeOutOfRange):
        return f"{raw!r} is not between 1970 and 2099"
    return f"{raw!r} is not an ISO 8601 date or date-time (like {example})"


def _apply_url(value: str, errors: dict[str, str]) -> None:
    if "apply_url" not in errors and value and not is_apply_url(value):
        errors["apply_url"] = f"{value!r} is not an https:// URL"


def validate_job(raw: Mapping[str, object], interests: InterestIndex) -> JobFields:
    """Check one posting's fields; raise `InvalidJob` naming every bad one."""
    errors: dict[str, str] = {}
    unknown = sorted(set(raw) - set(JOB_FIELDS))
    for name in unknown:
        errors[field_label(name)] = "is not a known field"
    reference = _text(raw, "reference", MAX_REFERENCE, errors, required=True)
    title = _text(raw, "title", MAX_TITLE, errors, required=True)
    description = _text(raw, "description", MAX_DESCRIPTION, errors, required=False)
    location = _text(raw, "location", MAX_LOCATION, errors, required=False)
    apply_url = _text(raw, "apply_url", MAX_URL, errors, required=True)
    _apply_url(apply_url, errors)
    chosen, problems = interests.resolve(interest_names(raw.get("interests"), errors))
    if problems:
        errors["interests"] = "; ".join(problems)
    posted_at: datetime | None = None
    raw_posted = raw.get("posted_at")
    if raw_posted not in (None, ""):
        if not isinstance(raw_posted, str):
            errors["posted_at"] = "must be an ISO 8601 date or date-time string"
        else:
            try:
                posted_at = parse_time(raw_posted)
            except ValueError as exc:
                errors["posted_at"] = time_problem(raw_posted, exc, "2026-11-30T09:00Z")
    details = PostingDetails()
    try:
        details = read_details(raw, posted_at)
    except DetailsRejected as exc:
        errors.update((name, problem.reason) for name, problem in exc.problems.items())
    if errors:
        raise InvalidJob(errors)
    return JobFields(reference, title, description, location, apply_url, chosen, posted_at, details)


def find_posting(session: Session, reference: str) -> JobPosting | None:
    """The posting with this reference, open or closed, with its interests."""
    return session.scalar(
        select(JobPosting)
        .where(JobPosting.reference == reference)
        .options(selectinload(JobPosting.interests))
    )


def save_job(session: Session, fields: JobFields) -> tuple[JobPosting, str]:
    """Create the posting, or update the one with the same reference.

    Returns the posting and "created", "updated" or "unchanged". A closed posting
    stays closed; closing is its own action.
    """
    job = find_posting(session, fields.reference)
    if job is None:
        job = JobPosting(
            reference=fields.reference,
            title=fields.title,
            description=fields.description,
            location=fields.location,
            apply_url=fields.apply_url,
            posted_at=fields.posted_at or now(),
            interests=list(fields.interests),
        )
        apply_details(job, fields.details)
        session.add(job)
        session.flush()
        return job, "created"
    wanted: dict[str, object] = {
        "title": fields.title,
        "description": fields.description,
        "location": fields.location,
        "apply_url": fields.apply_url,
    }
    if fields.posted_at is not None:
        wanted["posted_at"] = fields.posted_at
    changed = False
    for name, value in wanted.items():
        if getattr(job, name) != value:
            setattr(job, name, value)
            changed = True
    if {i.id for i in job.interests} != {i.id for i in fields.interests}:
        job.interests = list(fields.interests)
        changed = True
    changed = apply_details(job, fields.details) or changed
    session.flush()
    return job, "updated" if changed else "unchanged"


def close_posting(session: Session, reference: str) -> JobPosting | None:
    """Close the posting now (idempotent); None if no posting has this reference."""
    job = find_posting(session, reference)
    if job is None:
        return None
    if job.closed_at is None or job.closed_at > now():
        job.closed_at = now()
        session.flush()
    return job


def posting_as_dict(job: JobPosting, default_language: str) -> dict[str, object]:
    """The posting as JSON-safe data, in the API's shape; `language` is filled in from the
    company's (`default_language`) when the posting names none."""
    return {
        "reference": job.reference,
        "title": job.title,
        "description": job.description,
        "location": job.location,
        "apply_url": job.apply_url,
        "interests": [i.slug for i in job.interests],
        "posted_at": job.posted_at.isoformat(),
        "closed_at": job.closed_at.isoformat() if job.closed_at else None,
        "open": job.is_open,
        "employment_type": job.employment_type,
        "workplace": job.workplace,
        "department": job.department,
        "salary_min": None if job.salary_min is None else amount_number(job.salary_min),
        "salary_max": None if job.salary_max is None else amount_number(job.salary_max),
        "salary_currency": job.salary_currency,
        "salary_period": job.salary_period,
        "valid_through": job.valid_through.isoformat() if job.valid_through else None,
        "language": job.language or default_language,
    }
