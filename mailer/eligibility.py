"""The last check before a send: may this recipient still get this message?"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailer.models import MessageKind, OutboxMessage
from preferences.clock import now
from preferences.models import (
    Candidate,
    CandidateStatus,
    MassEmail,
    MassEmailStatus,
    Subscription,
    SubscriptionStatus,
)
from preferences.suppressions import is_suppressed


def skip_reason(session: Session, message: OutboxMessage) -> str | None:
    """Return why `message` must not be sent now, or None when it may go.

    Status is read at send time, so an unsubscribe takes effect even for mail
    queued before it.
    """
    if is_suppressed(session, message.to_address):
        return "address is suppressed"
    candidate = (
        session.get(Candidate, message.candidate_id) if message.candidate_id is not None else None
    )
    if message.candidate_id is not None and candidate is None:
        return "candidate no longer exists"
    if message.kind.is_bulk and candidate is None:
        return "bulk mail needs a candidate whose consent can be checked"
    if candidate is not None and candidate.status is CandidateStatus.DELETED:
        return "candidate was deleted"
    if message.kind is MessageKind.CAMPAIGN:
        row = session.get(MassEmailStatus, message.candidate_id) if candidate else None
        if row is None or row.status is not MassEmail.OPTED_IN:
            return "candidate is opted out of mass email"
    if message.kind is MessageKind.JOB_ALERT:
        interest_id = message.context.get("interest_id")
        sub = session.scalar(
            select(Subscription).where(
                Subscription.candidate_id == message.candidate_id,
                Subscription.interest_id == interest_id,
            )
        )
        if sub is None or sub.status is not SubscriptionStatus.SUBSCRIBED:
            return "candidate is not subscribed to this interest"
        if sub.paused_until is not None and sub.paused_until > now():
            return "alerts are paused"
    return None
