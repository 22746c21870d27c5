"""Managing job postings from the recruiter console, and merging interests everywhere.

The field rules here (the stored-text rule of `preferences.text`, lengths, https apply
URLs, posted-at times from 1970 to 2099) are every posting's: `portal.console.job_records`
applies the same ones to import rows and API bodies, in its own wording.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import Table, delete, insert, select
from sqlalchemy.orm import Session, selectinload

from jobs.errors import JobsError
from jobs.models import JobPosting, job_interests, schedule_interests
from jobs.posting_fields import DetailsRejected, PostingDetails, parse_time, read_details
from mailer.models import MessageKind
from mailer.outbox import enqueue
from preferences.audit import record_audit, recruiter_actor
from preferences.clock import TimeOutOfRange, now
from preferences.interest_admin import SubscriptionMerge, merge_subscriptions
from preferences.interest_texts import interest_texts_by_locale
from preferences.models import Candidate, Interest, InterestStatus
from preferences.text import TextKind, UnstorableText, clean_text, scrub_text

MAX_REFERENCE = 100
MAX_TITLE = 200
MAX_LOCATION = 200
MAX_URL = 1000
MAX_DESCRIPTION = 50_000

LISTS = ("open", "closed", "all")

# What `check_text` reports; each caller words it for its readers.
REQUIRED = "required"
TOO_LONG = "too_long"
UNSTORABLE = "unstorable"


class PostingRejected(JobsError):
    """Posting input that breaks a rule; `errors` maps each bad field to the reason."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class PostingDraft:
    """A posting as typed into the console form (text fields and chosen interest ids)."""

    reference: str
    title: str
    description: str
    location: str
    apply_url: str
    posted_at: str
    interest_ids: Sequence[int]
    # The optional facts (jobs.posting_fields.DETAIL_FIELDS) as typed; missing ones are blank.
    details: Mapping[str, object] = field(default_factory=dict)


def parse_posted_at(value: str) -> datetime | None:
    """An ISO date or date-time (a form's datetime-local) as aware UTC; None when blank."""
    return parse_time(value) if value.strip() else None


@dataclass(frozen=True)
class TextCheck:
    """A text field after the stored-text rule: the value to store and the rule it breaks.

    `problem` is None, REQUIRED, TOO_LONG or UNSTORABLE (then `unstorable` says which
    character); `value` is the cleaned text, or what is left of it to show again.
    """

    value: str
    problem: str | None = None
    unstorable: UnstorableText | None = None


def check_text(
    value: str, limit: int, *, required: bool, kind: TextKind = TextKind.LINE
) -> TextCheck:
    """Clean a text field by `preferences.text`'s rule, then check it is given and short enough."""
    try:
        value = clean_text(value, kind)
    except UnstorableText as exc:
        return TextCheck(scrub_text(value, kind), UNSTORABLE, exc)
    if required and not value:
        return TextCheck(value, REQUIRED)
    if len(value) > limit:
        return TextCheck(value, TOO_LONG)
    return TextCheck(value)


def is_apply_url(value: str) -> bool:
    """Whether `value` is an https:// URL with a host, a valid port if any, and no whitespace."""
    try:
        parts = urlsplit(value)
        host, _port = parts.hostname, parts.port
    except ValueError:  # an unbalanced "[" (a broken IPv6 literal), a port out of range
        return False
    return parts.scheme.lower() == "https" and bool(host) and not any(c.isspace() for c in value)


_CONSOLE_WORDING = {
    REQUIRED: "This field is required.",
    TOO_LONG: "Use at most {limit} characters.",
}


def _console_text(
    value: str,
    name: str,
    limit: int,
    errors: dict[str, str],
    required: bool,
    kind: TextKind = TextKind.LINE,
) -> str:
    checked = check_text(value, limit, required=required, kind=kind)
    if checked.unstorable is not None:
        errors[name] = checked.unstorable.message
    elif checked.problem is not None:
        errors[name] = _CONSOLE_WORDING[checked.problem].format(limit=limit)
    return checked.value


def _check(
    session: Session, draft: PostingDraft, job: JobPosting | None
) -> tuple[dict[str, object], list[Interest], PostingDetails]:
    job_id = job.id if job is not None else None
    errors: dict[str, str] = {}
    values: dict[str, object] = {
        "reference": _console_text(draft.reference, "reference", MAX_REFERENCE, errors, True),
        "title": _console_text(draft.title, "title", MAX_TITLE, errors, True),
        "location": _console_text(draft.location, "location", MAX_LOCATION, errors, False),
        "apply_url": _console_text(draft.apply_url, "apply_url", MAX_URL, errors, True),
        "description": _console_text(
            draft.description, "description", MAX_DESCRIPTION, errors, False, TextKind.TEXT
        ),
    }
    if "apply_url" not in errors and not is_apply_url(str(values["apply_url"])):
        errors["apply_url"] = "Enter an https:// address, like https://jobs.example.com/apply/1."
    if "reference" not in errors:
        clash = session.scalar(
            select(JobPosting.id).where(JobPosting.reference == values["reference"])
        )
        if clash is not None and clash != job_id:
            errors["reference"] = f"Reference {values['reference']} is already used by a posting."
    try:
        posted = parse_posted_at(draft.posted_at)
        if posted is not None:
            values["posted_at"] = posted
    except TimeOutOfRange:
        errors["posted_at"] = "Enter a date and time from 1970 to 2099."
    except ValueError:
        errors["posted_at"] = "Enter a date and time, like 2026-11-30T09:00."
    posted_at = values.get("posted_at")
    if not isinstance(posted_at, datetime):
        posted_at = job.posted_at if job is not None else now()
    details = PostingDetails()
    try:
        details = read_details(draft.details, posted_at)
    except DetailsRejected as exc:
        errors.update((name, problem.message) for name, problem in exc.problems.items())
    ids = sorted(set(draft.interest_ids))
    chosen = list(session.scalars(select(Interest).where(Interest.id.in_(ids)))) if ids else []
    # New tags must be active interests; a posting may keep one retired since.
    kept = {i.id for i in job.interests} if job is not None else set()
    usable = [
        i
        for i in chosen
        if i.id in kept or (i.status is InterestStatus.ACTIVE and i.merged_into_id is None)
    ]
    if len(usable) != len(ids):
        errors["interests"] = "Choose only active interests."
    if errors:
        raise PostingRejected(errors)
    return values, usable, details


def list_postings(session: Session, which: str = "open") -> list[JobPosting]:
    """Postings newest first: "open" (not closed, including scheduled), "closed" or "all"."""
    stmt = select(JobPosting).options(selectinload(JobPosting.interests))
    at = now()
    if which == "open":
        stmt = stmt.where((JobPosting.closed_at.is_(None)) | (JobPosting.closed_at > at))
    elif which == "closed":
        stmt = stmt.where(JobPosting.closed_at <= at)
    return list(session.scalars(stmt.order_by(JobPosting.posted_at.desc(), JobPosting.id.desc())))


def get_posting(session: Session, job_id: int) -> JobPosting:
    job = session.get(JobPosting, job_id, options=[selectinload(JobPosting.interests)])
    if job is None:
        raise PostingRejected({"posting": "That posting no longer exists."})
    return job


def save_posting(session: Session, draft: PostingDraft, job_id: int | None = None) -> JobPosting:
    """Create a posting (`job_id` None) or update one; raises `PostingRejected` with every problem.

    A blank posted-at means now for a new posting and "unchanged" for an existing one.
    """
    job = get_posting(session, job_id) if job_id is not None else None
    values, interests, details = _check(session, draft, job)
    if job is None:
        job = JobPosting(posted_at=now())
        session.add(job)
    for name, value in values.items():
        setattr(job, name, value)
    apply_details(job, details)
    job.interests = interests
    session.flush()
    return job


def apply_details(job: JobPosting, details: PostingDetails) -> bool:
    """Set a posting's optional facts; return whether any changed.

    `valid_through` is when the posting closes itself: it sets `closed_at` unless a
    recruiter closed the posting (then their close stands), and moving or removing
    it moves or removes the close it set.
    """
    changed = False
    set_by_date = job.closed_at is None or (
        job.valid_through is not None and job.closed_at == job.valid_through
    )
    for name, value in details.values().items():
        if getattr(job, name) != value:
            setattr(job, name, value)
            changed = True
    if set_by_date and job.closed_at != details.valid_through:
        job.closed_at = details.valid_through
        changed = True
    return changed


def close_posting_now(session: Session, job_id: int) -> JobPosting:
    """Close a posting at once (a second close changes nothing)."""
    job = get_posting(session, job_id)
    if job.closed_at is None or job.closed_at > now():
        job.closed_at = now()
        session.flush()
    return job


def _retag(session: Session, table: Table, owner: str, source_id: int, target_id: int) -> None:
    owner_col = table.c[owner]
    has_target = select(owner_col).where(table.c.interest_id == target_id)
    session.execute(
        insert(table).from_select(
            [owner, "interest_id"],
            select(owner_col, target_id).where(  # type: ignore[call-overload]
                table.c.interest_id == source_id, owner_col.not_in(has_target)
            ),
        )
    )
    session.execute(delete(table).where(table.c.interest_id == source_id))


def merge_interest(
    session: Session, source_id: int, target_id: int, *, recruiter_id: int | None = None
) -> SubscriptionMerge:
    """Merge interest `source` into `target` everywhere.

    Subscribers and consent history move (`merge_subscriptions`), postings and
    alert schedules tagged with the source get the target instead, and each
    candidate who was subscribed to the source is sent one email about it.
    """
    result = merge_subscriptions(session, source_id, target_id)
    _retag(session, job_interests, "job_id", source_id, target_id)
    _retag(session, schedule_interests, "schedule_id", source_id, target_id)
    for job in session.identity_map.values():
        if isinstance(job, JobPosting):
            session.expire(job, ["interests"])
    readers: dict[int, tuple[str, str]] = {
        candidate_id: (email, locale)
        for candidate_id, email, locale in session.execute(
            select(Candidate.id, Candidate.email, Candidate.locale).where(
                Candidate.id.in_(result.to_notify)
            )
        )
    }
    # Both names in each reader's language: one query for all of their languages.
    names_in = interest_texts_by_locale(
        session,
        {locale for _email, locale in readers.values()},
        interest_ids=[result.source.id, result.target.id],
    )
    for candidate_id in result.to_notify:
        email, locale = readers[candidate_id]
        names = names_in[locale]
        enqueue(
            session,
            kind=MessageKind.INTEREST_MERGED,
            template="interest_merged",
            to_address=email,
            dedupe_key=f"interest-merged:{source_id}:{candidate_id}",
            candidate_id=candidate_id,
            context={
                "from_interest": names.name(result.source),
                "to_interest": names.name(result.target),
            },
        )
    if recruiter_id is not None:
        record_audit(
            session,
            actor=recruiter_actor(recruiter_id),
            action="interest.merged",
            subject=f"interest:{source_id}",
            detail={"into": target_id, "notified": len(result.to_notify)},
        )
    session.flush()
    return result
