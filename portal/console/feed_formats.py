"""Reading a feed's payload into posting rows of our import format, one per external id.

Greenhouse Job Board API (`GET /v1/boards/{board}/jobs?content=true`): `{"jobs": [...]}`;
each job's `id`, `title`, `location.name`, `absolute_url`, `content` (HTML whose tags
arrive entity-escaped), `departments[].name`, `offices[].name`, `first_published` or else
`updated_at`, and `language` when present.

Lever Postings API (`GET /v0/postings/{site}?mode=json`): a list of postings; each one's
`id`, `text`, `categories.location/team/department/commitment`, `hostedUrl`,
`applyUrl`, `createdAt` (milliseconds since 1970), `descriptionPlain` with its `lists`
and `additionalPlain`, and `workplaceType`.

JSON and CSV: the job import format (`portal.console.imports`), `reference` being the
external id.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from jobs.feed_models import FeedKind
from jobs.html_markdown import html_to_markdown
from jobs.posting_fields import EmploymentType, Workplace
from portal.console.feed_fetch import FeedError
from portal.console.imports import EMPTY_LIST, NO_ROWS, ImportRejected, read_rows
from portal.console.job_records import (
    JOB_FIELDS,
    REQUIRED_JOB_FIELDS,
    JsonNumberTooLong,
    load_json,
)


class FeedFormatError(FeedError):
    """The payload as a whole is not what the feed's kind sends."""


@dataclass(frozen=True)
class FeedItem:
    """One posting of a feed, as import-format `values`; `problem` if it can't be read.

    `where` names it in reports ("id 123", "line 4"); `team` and `department` are what
    the feed's rules match; `posted_at_on_create` says the feed's time is only a first
    sighting (Greenhouse's `updated_at`), not kept up to date on later syncs.
    """

    where: str
    external_id: str | None
    values: dict[str, object]
    department: str = ""
    team: str = ""
    problem: str | None = None
    posted_at_on_create: bool = False


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _name_of(value: object) -> str:
    return _text(value.get("name")) if isinstance(value, Mapping) else ""


def _external_id(value: object) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _json_payload(body: bytes) -> Any:
    try:
        return load_json(body)
    except (ValueError, JsonNumberTooLong, RecursionError) as exc:
        # json.JSONDecodeError and UnicodeDecodeError are ValueErrors.
        raise FeedFormatError(f"the feed is not valid JSON ({type(exc).__name__})") from None


def _unreadable(where: str, external_id: str | None, problem: str) -> FeedItem:
    return FeedItem(where=where, external_id=external_id, values={}, problem=problem)


# --- Greenhouse ---------------------------------------------------------------------


def _greenhouse(body: bytes) -> list[FeedItem]:
    payload = _json_payload(body)
    jobs = payload.get("jobs") if isinstance(payload, dict) else None
    if not isinstance(jobs, list):
        raise FeedFormatError('a Greenhouse feed is an object with a "jobs" list')
    items: list[FeedItem] = []
    for number, job in enumerate(jobs, start=1):
        if not isinstance(job, dict):
            items.append(_unreadable(f"job {number}", None, "is not an object"))
            continue
        external_id = _external_id(job.get("id"))
        where = f"id {external_id}" if external_id else f"job {number}"
        if external_id is None:
            items.append(_unreadable(where, None, "id: is missing or not a number"))
            continue
        departments = [_name_of(d) for d in job.get("departments") or [] if _name_of(d)]
        offices = [_name_of(o) for o in job.get("offices") or [] if _name_of(o)]
        location = _name_of(job.get("location")) or (offices[0] if offices else "")
        content = job.get("content")
        # The API escapes the HTML once more ("&lt;p&gt;"): unescape, then read the tags.
        description = html_to_markdown(html.unescape(content)) if isinstance(content, str) else ""
        values: dict[str, object] = {
            "reference": external_id,
            "title": job.get("title"),
            "description": description,
            "location": location,
            "apply_url": job.get("absolute_url"),
            "department": departments[0] if departments else "",
        }
        published = job.get("first_published") or job.get("updated_at")
        if isinstance(published, str) and published:
            values["posted_at"] = published
        if _looks_remote(location):
            values["workplace"] = Workplace.REMOTE.value
        language = job.get("language")
        if isinstance(language, str) and language.strip():
            values["language"] = language.strip()
        items.append(
            FeedItem(
                where=where,
                external_id=external_id,
                values=values,
                department=departments[0] if departments else "",
                team="; ".join(departments),
                posted_at_on_create=not job.get("first_published"),
            )
        )
    return items


def _looks_remote(location: str) -> bool:
    return bool(re.search(r"\bremote\b", location, re.IGNORECASE))


# --- Lever --------------------------------------------------------------------------

_COMMITMENTS = {
    "fulltime": EmploymentType.FULL_TIME,
    "permanent": EmploymentType.FULL_TIME,
    "parttime": EmploymentType.PART_TIME,
    "contract": EmploymentType.CONTRACT,
    "contractor": EmploymentType.CONTRACT,
    "freelance": EmploymentType.CONTRACT,
    "temporary": EmploymentType.TEMPORARY,
    "temp": EmploymentType.TEMPORARY,
    "fixedterm": EmploymentType.TEMPORARY,
    "seasonal": EmploymentType.TEMPORARY,
    "intern": EmploymentType.INTERNSHIP,
    "internship": EmploymentType.INTERNSHIP,
}
_WORKPLACES = {
    "onsite": Workplace.ON_SITE,
    "remote": Workplace.REMOTE,
    "hybrid": Workplace.HYBRID,
}


def employment_type_of(commitment: str) -> EmploymentType | None:
    """Lever's free-text commitment ("Full-time", "Part time", "Intern") as our type."""
    return _COMMITMENTS.get(re.sub(r"[^a-z]", "", commitment.casefold()))


def _lever_time(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value / 1000, UTC).isoformat()
    except (OverflowError, OSError, ValueError):
        return None


def _lever_description(posting: Mapping[str, Any]) -> str:
    parts = [_text(posting.get("descriptionPlain"))]
    for entry in posting.get("lists") or []:
        if not isinstance(entry, dict):
            continue
        heading = _text(entry.get("text"))
        content = entry.get("content")
        items = html_to_markdown(f"<ul>{content}</ul>") if isinstance(content, str) else ""
        if heading:
            parts.append(html_to_markdown(f"<p><strong>{html.escape(heading)}</strong></p>"))
        if items:
            parts.append(items)
    parts.append(_text(posting.get("additionalPlain")))
    return "\n\n".join(part for part in parts if part)


def _lever(body: bytes) -> list[FeedItem]:
    payload = _json_payload(body)
    if not isinstance(payload, list):
        raise FeedFormatError("a Lever feed is a list of postings")
    items: list[FeedItem] = []
    for number, posting in enumerate(payload, start=1):
        if not isinstance(posting, dict):
            items.append(_unreadable(f"posting {number}", None, "is not an object"))
            continue
        external_id = _external_id(posting.get("id"))
        where = f"id {external_id}" if external_id else f"posting {number}"
        if external_id is None:
            items.append(_unreadable(where, None, "id: is missing"))
            continue
        categories = posting.get("categories")
        categories = categories if isinstance(categories, dict) else {}
        team = _text(categories.get("team"))
        department = _text(categories.get("department")) or team
        values: dict[str, object] = {
            "reference": external_id,
            "title": posting.get("text"),
            "description": _lever_description(posting),
            "location": _text(categories.get("location")),
            "apply_url": posting.get("applyUrl") or posting.get("hostedUrl"),
            "department": department,
        }
        posted_at = _lever_time(posting.get("createdAt"))
        if posted_at is not None:
            values["posted_at"] = posted_at
        employment = employment_type_of(_text(categories.get("commitment")))
        if employment is not None:
            values["employment_type"] = employment.value
        workplace = _WORKPLACES.get(
            re.sub(r"[^a-z]", "", _text(posting.get("workplaceType")).casefold())
        )
        if workplace is not None:
            values["workplace"] = workplace.value
        items.append(
            FeedItem(
                where=where,
                external_id=external_id,
                values=values,
                department=department,
                team=team,
            )
        )
    return items


# --- our JSON and CSV import formats --------------------------------------------------


def _import_format(body: bytes, kind: FeedKind) -> list[FeedItem]:
    try:
        rows, errors = read_rows(body, f"feed.{kind.value}", JOB_FIELDS, REQUIRED_JOB_FIELDS)
    except ImportRejected as exc:
        if exc.errors in ([(1, EMPTY_LIST)], [(1, NO_ROWS)]):
            return []  # every posting left the feed
        line, reason = exc.errors[0]
        raise FeedFormatError(f"line {line}: {reason}") from None
    items = [_unreadable(f"line {line}", None, reason) for line, reason in errors]
    for row in rows:
        external_id = _external_id(row.values.get("reference"))
        if external_id is None:
            items.append(_unreadable(f"line {row.line}", None, "reference: is required"))
            continue
        # A JSON file may hold every row on one line: the reference tells them apart.
        where = f"line {row.line}, reference {external_id}"
        department = _text(row.values.get("department"))
        items.append(
            FeedItem(
                where=where,
                external_id=external_id,
                values=dict(row.values),
                department=department,
                team=department,
            )
        )
    return items


def parse_feed(kind: FeedKind, body: bytes) -> list[FeedItem]:
    """The postings in a payload of `kind`; raise FeedFormatError if it is not of that kind."""
    if kind is FeedKind.GREENHOUSE:
        return _greenhouse(body)
    if kind is FeedKind.LEVER:
        return _lever(body)
    return _import_format(body, kind)
