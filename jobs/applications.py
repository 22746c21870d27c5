"""Applying through the portal: where a posting's Apply link leads, and what a click records.

The job page's Apply button goes through the portal (`/jobs/<id>/apply`) on its way
to the posting's apply URL, so that a signed-in member applying counts as their
activity (`preferences.retention.touch_activity`) and leaves an audit event. The
redirect goes only to the apply URL stored with an open posting, never to a URL
taken from the request.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from jobs.models import JobPosting
from jobs.postings import open_filter
from preferences.audit import ACTOR_CANDIDATE, record_audit
from preferences.models import Candidate
from preferences.retention import touch_activity

APPLIED = "candidate.applied"


@dataclass(frozen=True)
class ApplyTarget:
    """An open posting's reference and the URL its Apply link leads to."""

    reference: str
    url: str


def _redirectable(url: str) -> bool:
    """An absolute http(s) URL with a host and no whitespace or control characters.

    The console and the imports accept https:// only; this also lets an older http://
    one through, and refuses anything a browser would not treat as a web page's address.
    """
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        return False
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(host)


def apply_target(session: Session, job_id: int) -> ApplyTarget | None:
    """Where the Apply link of posting `job_id` leads; None unless it is open now.

    One SELECT of two columns. A posting not yet published, closed or unknown, or
    whose stored URL is not a web address, has no Apply link to follow.
    """
    row = session.execute(
        select(JobPosting.reference, JobPosting.apply_url).where(
            JobPosting.id == job_id, open_filter()
        )
    ).first()
    if row is None or not _redirectable(row.apply_url):
        return None
    return ApplyTarget(row.reference, row.apply_url)


def record_apply(session: Session, candidate: Candidate, target: ApplyTarget) -> None:
    """A signed-in member followed a posting's Apply link: their activity, and an audit event.

    One UPDATE (`touch_activity`) and one INSERT; flushes, never commits.
    """
    touch_activity(session, candidate.id)
    record_audit(
        session,
        actor=ACTOR_CANDIDATE,
        action=APPLIED,
        subject=candidate.public_id,
        detail={"job": target.reference},
    )


__all__ = ["APPLIED", "ApplyTarget", "apply_target", "record_apply"]
