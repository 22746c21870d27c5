"""The connect flow's one write: Submit Profile, and confirming it by email.

The outcome a visitor sees never depends on whether the address was already
known, so the form cannot be used to find out who is in the talent community.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailer.links import signed_link
from mailer.models import MessageKind
from mailer.outbox import enqueue
from portal.resumes import StoredResume, delete_resume
from preferences.clock import now
from preferences.interests import active_interests
from preferences.models import (
    Candidate,
    CandidateStatus,
    ConsentSource,
    Interest,
    Resume,
    ResumeSource,
    Subscription,
    SubscriptionStatus,
)
from preferences.subscriptions import (
    CURRENT_WORDING_VERSION,
    confirm_subscription,
    find_active_candidate,
    find_candidate,
    opt_in_mass_email,
    subscribe,
)
from preferences.tokens import LinkPurpose

log = logging.getLogger("portal.connect")

# The consent wording shown on the review page. Each grant records its version and
# the exact text; change CURRENT_WORDING_VERSION whenever these change.
MASS_EMAIL_WORDING = (
    "Yes, send me occasional emails about {company}, events and career opportunities. "
    "I can unsubscribe at any time."
)
ALERTS_WORDING = (
    "Email me job alerts for the areas I selected. I can change how often, pause or "
    "unsubscribe from any alert email."
)

# Resend throttling: at most one confirmation email per address per window.
RESEND_WINDOW_SECONDS = 600


@dataclass
class Submission:
    """A validated Submit Profile."""

    email: str
    profile: dict[str, str | None]
    interest_ids: list[int]
    mass_email: bool
    email_verified: bool = False
    resume: StoredResume | None = None
    resume_source: str = "upload"
    parsed_fields: dict[str, Any] = field(default_factory=dict)
    ip_address: str | None = None
    wording_version: str = CURRENT_WORDING_VERSION
    company_name: str = ""


@dataclass(frozen=True)
class Outcome:
    """What the thank-you page may say: the same for new and known addresses."""

    needs_confirmation: bool
    interest_ids: list[int]


@dataclass(frozen=True)
class LinkContext:
    """What building links into emails needs."""

    secret_keys: Sequence[str]
    base_url: str
    upload_dir: Path


def _confirm_url(
    links: LinkContext, candidate: Candidate, *, mass_email: bool, wording: str
) -> dict[str, Any]:
    # The outbox row keeps how to sign the link, not the link (mailer.links).
    return signed_link(
        LinkPurpose.CONFIRM_EMAIL,
        "/connect/confirm/",
        candidate,
        **({"m": True, "w": wording} if mass_email else {}),
    )


# Form field name -> Candidate attribute, for the profile fields a candidate row keeps.
_CANDIDATE_ATTRIBUTES = {
    "first_name": "first_name",
    "last_name": "last_name",
    "phone": "phone_e164",
    "location": "location",
    "linkedin_url": "linkedin_url",
    "github_url": "github_url",
    "portfolio_url": "portfolio_url",
}


def _candidate_fields(profile: dict[str, str | None]) -> dict[str, str]:
    return {
        attribute: value
        for key, attribute in _CANDIDATE_ATTRIBUTES.items()
        if (value := profile.get(key))
    }


def _window() -> int:
    return int(now().timestamp()) // RESEND_WINDOW_SECONDS


def _attach_resume(session: Session, candidate: Candidate, sub: Submission) -> None:
    if sub.resume is None:
        return
    known = {s.value for s in ResumeSource}
    source = ResumeSource(sub.resume_source) if sub.resume_source in known else None
    session.add(
        Resume(
            candidate_id=candidate.id,
            storage_name=sub.resume.storage_name,
            original_filename=sub.resume.original_filename,
            content_type=sub.resume.content_type,
            size_bytes=sub.resume.size_bytes,
            sha256=sub.resume.sha256,
            parsed_fields=sub.parsed_fields,
            source=source or ResumeSource.UPLOAD,
        )
    )


def submit_profile(
    session: Session, sub: Submission, links: LinkContext, *, double_opt_in: bool
) -> Outcome:
    """Create or merge the candidate, subscriptions, consent and resume; queue the email."""
    interests = active_interests(session, sub.interest_ids)
    if not interests:
        raise ValueError("at least one active interest is required")
    chosen_ids = [i.id for i in interests]
    confirmed_now = sub.email_verified or not double_opt_in
    outcome = Outcome(needs_confirmation=not confirmed_now, interest_ids=chosen_ids)
    source, ip = ConsentSource.CONNECT_FORM, sub.ip_address

    candidate = find_candidate(session, sub.email)
    if candidate is not None and candidate.status is CandidateStatus.DELETED:
        # An erased record keeps its row only as a tombstone; nothing is mailed or changed.
        if sub.resume is not None:
            delete_resume(links.upload_dir, sub.resume.storage_name)
        log.info("connect from an erased address ignored")
        return outcome

    if candidate is None:
        candidate = Candidate(email=sub.email, **_candidate_fields(sub.profile))
        if sub.email_verified:
            candidate.email_verified_at = now()
        session.add(candidate)
        session.flush()
        for interest in interests:
            subscribe(
                session,
                candidate,
                interest,
                confirmed=confirmed_now,
                wording_version=sub.wording_version,
                wording=ALERTS_WORDING,
                source=source,
                ip_address=ip,
            )
        if sub.mass_email and confirmed_now:
            opt_in_mass_email(
                session,
                candidate,
                wording_version=sub.wording_version,
                wording=MASS_EMAIL_WORDING.format(company=sub.company_name),
                source=source,
                ip_address=ip,
            )
        _attach_resume(session, candidate, sub)
        if confirmed_now:
            _queue_welcome(session, candidate)
        else:
            _queue_confirmation(session, candidate, links, sub, kind="confirmation")
        log.info("candidate connected", extra={"candidate": candidate.public_id, "new": True})
        return outcome

    # A known address. Only a provider-verified submission may change things at once;
    # otherwise new interests wait, unconfirmed, for the owner to confirm by email.
    for interest in interests:
        subscribe(
            session,
            candidate,
            interest,
            confirmed=sub.email_verified,
            wording_version=sub.wording_version,
            wording=ALERTS_WORDING,
            source=source,
            ip_address=ip,
        )
    if sub.email_verified:
        if sub.mass_email:
            opt_in_mass_email(
                session,
                candidate,
                wording_version=sub.wording_version,
                wording=MASS_EMAIL_WORDING.format(company=sub.company_name),
                source=source,
                ip_address=ip,
            )
        _attach_resume(session, candidate, sub)
    elif sub.resume is not None:
        # Never attach a file to someone's profile on an unverified claim to their address.
        delete_resume(links.upload_dir, sub.resume.storage_name)
    _queue_confirmation(session, candidate, links, sub, kind="connect_existing")
    log.info("candidate connected", extra={"candidate": candidate.public_id, "new": False})
    return outcome


def _queue_welcome(session: Session, candidate: Candidate) -> None:
    enqueue(
        session,
        kind=MessageKind.WELCOME,
        template="welcome",
        to_address=candidate.email,
        dedupe_key=f"welcome:{candidate.id}",
        candidate_id=candidate.id,
    )


def _queue_confirmation(
    session: Session, candidate: Candidate, links: LinkContext, sub: Submission, *, kind: str
) -> None:
    pending = [
        name
        for name in session.scalars(
            select(Interest.name)
            .join(Subscription, Subscription.interest_id == Interest.id)
            .where(
                Subscription.candidate_id == candidate.id,
                Subscription.status == SubscriptionStatus.UNCONFIRMED,
            )
            .order_by(Interest.position, Interest.name)
        )
    ]
    context: dict[str, Any] = {
        "confirm_url": _confirm_url(
            links, candidate, mass_email=sub.mass_email, wording=sub.wording_version
        )
        if pending or sub.mass_email
        else "",
        "interests": pending,
        "verified": sub.email_verified,
    }
    enqueue(
        session,
        kind=MessageKind.CONFIRMATION,
        template=kind,
        to_address=candidate.email,
        dedupe_key=f"{kind}:{candidate.id}:{_window()}",
        candidate_id=candidate.id,
        context=context,
    )


def resend_confirmation(session: Session, email: str, links: LinkContext) -> None:
    """Send a fresh confirmation link if the address has something to confirm.

    Says nothing either way; the caller shows the same page whatever happened.
    """
    candidate = find_active_candidate(session, email)
    if candidate is None:
        return
    has_pending = session.scalar(
        select(Subscription.id).where(
            Subscription.candidate_id == candidate.id,
            Subscription.status == SubscriptionStatus.UNCONFIRMED,
        )
    )
    if has_pending is None:
        return
    sub = Submission(email=candidate.email, profile={}, interest_ids=[], mass_email=False)
    _queue_confirmation(session, candidate, links, sub, kind="confirmation")


def confirm_email(
    session: Session,
    candidate: Candidate,
    *,
    mass_email: bool,
    wording_version: str,
    ip_address: str | None,
    company_name: str = "",
) -> list[Interest]:
    """Confirm every pending subscription (and a pending mass-email opt-in)."""
    pending = session.scalars(
        select(Subscription).where(
            Subscription.candidate_id == candidate.id,
            Subscription.status == SubscriptionStatus.UNCONFIRMED,
        )
    ).all()
    first_time = candidate.email_verified_at is None
    confirmed: list[Interest] = []
    for subscription in pending:
        interest = subscription.interest
        confirm_subscription(
            session,
            candidate,
            interest,
            source=ConsentSource.CONNECT_FORM,
            ip_address=ip_address,
        )
        confirmed.append(interest)
    if candidate.email_verified_at is None:
        candidate.email_verified_at = now()
    if mass_email:
        opt_in_mass_email(
            session,
            candidate,
            source=ConsentSource.CONNECT_FORM,
            wording_version=wording_version,
            wording=MASS_EMAIL_WORDING.format(company=company_name),
            ip_address=ip_address,
        )
    if first_time:
        _queue_welcome(session, candidate)
    session.flush()
    return confirmed
