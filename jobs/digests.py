"""Send-time context of job-alert digests: the jobs a queued digest names, once per batch.

A digest row in the outbox stays small: its context holds `interest_id` (the
list its one-click link leaves), `interest_ids` (every interest the digest
covers; default: that one), `job_ids` (at most 10, newest first) and
`more_count`. Titles, locations and interest names are read when it is sent, so
a job closed meanwhile is left out, and a digest whose jobs have all closed is
skipped. So are the interests the candidate has since left or paused: a job
that matched only those is dropped, and the "matched" line and the footer name
only the interests still subscribed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any, NamedTuple
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session

from jobs.models import JobPosting, job_interests
from mailer.campaigns import TEST_SUBJECT_PREFIX
from mailer.config import MailSettings
from mailer.eligibility import subscription_states
from mailer.models import OutboxMessage
from preferences.clock import now
from preferences.db import among
from preferences.models import Interest, SubscriptionStatus


def _ids(value: object) -> list[int]:
    return [v for v in value if isinstance(v, int)] if isinstance(value, list) else []


def _interest_ids(message: OutboxMessage) -> list[int]:
    listed = _ids(message.context.get("interest_ids"))
    primary = message.context.get("interest_id")
    return listed or ([primary] if isinstance(primary, int) else [])


class DigestJob(NamedTuple):
    """One job of a digest as the templates read it.

    Attributes, not dict keys: Jinja tries `getattr` first, and on a dict each
    `job.title` would raise and catch an AttributeError before finding the key.
    """

    title: str
    location: str | None
    url: str
    matched: list[str]


def digest_context(
    session: Session, messages: Sequence[OutboxMessage], settings: MailSettings
) -> dict[int, dict[str, Any] | str]:
    """Per outbox id: the digest's open jobs with what they matched, and the footer reason."""
    job_ids = {j for m in messages for j in _ids(m.context.get("job_ids"))}
    interest_ids = {i for m in messages for i in _interest_ids(m)}
    at = now()
    jobs = {
        row.id: row
        for row in session.execute(
            select(JobPosting.id, JobPosting.title, JobPosting.location).where(
                among(session, JobPosting.id, job_ids),
                JobPosting.posted_at <= at,
                (JobPosting.closed_at.is_(None)) | (JobPosting.closed_at > at),
            )
        )
    }
    tags: dict[int, set[int]] = defaultdict(set)
    for job_id, interest_id in session.execute(
        select(job_interests.c.job_id, job_interests.c.interest_id).where(
            among(session, job_interests.c.job_id, jobs)
        )
    ):
        tags[job_id].add(interest_id)
    interests = {
        row.id: row
        for row in session.execute(
            select(Interest.id, Interest.name, Interest.slug, Interest.position).where(
                among(session, Interest.id, interest_ids)
            )
        )
    }
    pairs = {
        (m.candidate_id, i)
        for m in messages
        if m.candidate_id is not None
        for i in _interest_ids(m)
    }
    still_subscribed = {
        pair
        for pair, (status, paused_until) in subscription_states(session, pairs).items()
        if status is SubscriptionStatus.SUBSCRIBED and (paused_until is None or paused_until <= at)
    }
    base = settings.base_url
    contexts: dict[int, dict[str, Any] | str] = {}
    for message in messages:
        # A recruiter's test digest (no candidate; the worker lets it through only to an
        # active recruiter's address) covers every interest it names.
        test = message.candidate_id is None and message.context.get("test") is True
        covered = [
            interests[i]
            for i in _interest_ids(message)
            if i in interests and (test or (message.candidate_id, i) in still_subscribed)
        ]
        covered.sort(key=lambda row: (row.position, row.name))
        listed = []
        for job_id in _ids(message.context.get("job_ids")):
            job = jobs.get(job_id)
            if job is None:
                continue
            matched = [row.name for row in covered if row.id in tags[job.id]]
            if not matched:
                continue  # it matched only interests the candidate has left since
            listed.append(DigestJob(job.title, job.location, f"{base}/jobs/{job.id}", matched))
        if not covered:
            contexts[message.id] = "every interest of this digest was left or paused"
            continue
        if not listed:
            contexts[message.id] = "every job in this digest has closed"
            continue
        names = ", ".join(row.name for row in covered)
        more = message.context.get("more_count")
        context: dict[str, Any] = {
            "jobs": listed,
            "more_count": more if isinstance(more, int) and more > 0 else 0,
            "more_url": f"{base}/jobs?interest={quote(covered[0].slug)}",
            "reason": f"You subscribed to job alerts for {names} at {settings.company_name}.",
        }
        if test:
            # Nobody subscribed to it: say so, as a campaign test does.
            context["subject_prefix"] = TEST_SUBJECT_PREFIX
            context["reason"] = (
                "This is a test of a job alert, sent to you from the recruiter console; "
                "each subscriber's footer names the interests they subscribed to and has "
                "their own Manage preferences and Unsubscribe links."
            )
        contexts[message.id] = context
    return contexts
