"""Rows whose console-home figures are known: subscribers, open jobs, next run, queue.

Shared by the HTTP and browser tests of the console home, so both check one truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from jobs.models import AlertSchedule, JobPosting
from mailer.models import MessageKind, OutboxMessage, OutboxStatus
from preferences.clock import now
from preferences.models import (
    Candidate,
    CandidateStatus,
    Interest,
    MassEmail,
    MassEmailStatus,
    Subscription,
    SubscriptionStatus,
)


@dataclass(frozen=True)
class ConsoleFigures:
    subscribers: int
    open_jobs: int
    next_schedule: str
    queued: int


def seed_console_data(session: Session) -> ConsoleFigures:
    """Candidates, postings, schedules and outbox rows that count (and that must not)."""
    at = now()
    # Postings already there (the browser tests' portal has some) count too.
    already_open = sum(1 for posting in session.scalars(select(JobPosting)) if posting.is_open)
    data = Interest(name="Console data", slug="console-data")
    design = Interest(name="Console design", slug="console-design")
    session.add_all([data, design])
    session.flush()

    def candidate(email: str, *, verified: bool = True, deleted: bool = False) -> Candidate:
        person = Candidate(
            email=email,
            email_verified_at=at if verified else None,
            status=CandidateStatus.DELETED if deleted else CandidateStatus.ACTIVE,
            deleted_at=at if deleted else None,
        )
        session.add(person)
        session.flush()
        return person

    def subscribe(person: Candidate, interest: Interest, status: SubscriptionStatus) -> None:
        session.add(Subscription(candidate_id=person.id, interest_id=interest.id, status=status))

    def mass_email(person: Candidate, status: MassEmail) -> None:
        session.add(MassEmailStatus(candidate_id=person.id, status=status))

    # Counted: one active subscription; two (still one person); mass email only.
    subscribe(candidate("one@example.com"), data, SubscriptionStatus.SUBSCRIBED)
    both = candidate("both@example.com")
    subscribe(both, data, SubscriptionStatus.SUBSCRIBED)
    subscribe(both, design, SubscriptionStatus.SUBSCRIBED)
    mass_email(both, MassEmail.OPTED_IN)
    mass_email(candidate("news@example.com"), MassEmail.OPTED_IN)
    # Not counted: unconfirmed address, unsubscribed and opted out, erased.
    subscribe(candidate("new@example.com", verified=False), data, SubscriptionStatus.SUBSCRIBED)
    left = candidate("left@example.com")
    subscribe(left, data, SubscriptionStatus.UNSUBSCRIBED)
    subscribe(left, design, SubscriptionStatus.UNCONFIRMED)
    mass_email(left, MassEmail.OPTED_OUT)
    subscribe(candidate("gone@example.com", deleted=True), data, SubscriptionStatus.SUBSCRIBED)

    def job(reference: str, **when: object) -> None:
        session.add(
            JobPosting(
                reference=reference,
                title=f"Job {reference}",
                apply_url=f"https://jobs.example.com/{reference}",
                **when,
            )
        )

    job("OPEN-1", posted_at=at - timedelta(days=3))
    job("OPEN-2", posted_at=at - timedelta(days=1), closed_at=at + timedelta(days=9))
    job("OPEN-3", posted_at=at - timedelta(hours=1))
    job("CLOSED", posted_at=at - timedelta(days=9), closed_at=at - timedelta(days=1))
    job("LATER", posted_at=at + timedelta(days=2))

    # The disabled schedule would run sooner; only the enabled one is next.
    session.add(AlertSchedule(name="Weekly roundup", cron="0 8 * * 1", timezone="UTC"))
    session.add(AlertSchedule(name="Paused", cron="* * * * *", timezone="UTC", enabled=False))

    statuses = [OutboxStatus.PENDING] * 3 + [
        OutboxStatus.SENDING,
        OutboxStatus.SENT,
        OutboxStatus.FAILED,
        OutboxStatus.SKIPPED,
    ]
    for number, status in enumerate(statuses):
        session.add(
            OutboxMessage(
                dedupe_key=f"console-home:{number}",
                kind=MessageKind.WELCOME,
                template="welcome",
                to_address=f"queued{number}@example.com",
                status=status,
            )
        )
    session.flush()
    return ConsoleFigures(
        subscribers=3, open_jobs=already_open + 3, next_schedule="Weekly roundup", queued=4
    )
