"""What an integration does through the REST API on a candidate's behalf: sign-ups and
preference changes, each recorded with source `api` and the token's name.

Consent is only what the person did, and the system asking is not the person. The rules:

- **Sign-up** (`sign_up`) is double opt-in, exactly as the connect form's: a new address
  gets unconfirmed subscriptions and the confirmation email; mass email waits in the
  link, and nothing is sent to the address until the person clicks. A known address is
  never changed: like a connect-form sign-up with a member's address, it can only be
  emailed a list of what would be new to her and hers to decide (`connect_existing`),
  and nothing when nothing is. Suppressed addresses (bounces, complaints, erasure, an
  expired retention period) are refused: an integration, like an import, never adds
  them back.
- **Withdrawing** (an unsubscribe, a mass-email opt-out) applies at once, whoever asks.
- **Granting** for a candidate whose address is confirmed applies at once: the
  integration acts for a person it knows. For an unconfirmed address it waits for the
  person: the subscription stays unconfirmed and the confirmation email lists it (mass
  email rides in the link). What an unconfirmed candidate turned off herself is not
  offered back (`portal.connect.submit.pending_confirmation`).
- Frequency and pause changes apply to subscriptions that are not withdrawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mailer.models import MessageKind, OutboxMessage
from portal.connect.submit import (
    Changes,
    LinkContext,
    PendingConfirmation,
    pending_confirmation,
    queue_confirmation,
)
from portal.errors import PortalError
from preferences.models import (
    Candidate,
    CandidateStatus,
    ConsentEvent,
    ConsentSource,
    Frequency,
    Interest,
    InterestStatus,
    SavedSearch,
    Subscription,
    SubscriptionStatus,
)
from preferences.subscriptions import (
    find_candidate,
    get_or_create_candidate,
    mass_email_status,
    opt_in_mass_email,
    opt_out_mass_email,
    pause_subscription,
    subscribe,
    unsubscribe,
)
from preferences.suppressions import suppression_reason

SOURCE = ConsentSource.API


class OnBehalfError(PortalError):
    """A change an integration asked for that can't be made; `fields` names the inputs."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


@dataclass(frozen=True)
class SignUp:
    """A checked `POST /api/v1/candidates`: a normalized address, active interests."""

    email: str
    language: str
    interests: Sequence[Interest] = ()
    mass_email: bool = False
    first_name: str = ""
    last_name: str = ""


@dataclass(frozen=True)
class SignUpResult:
    candidate: Candidate
    created: bool
    # Whether this request queued a confirmation email (caps and a resend window apply).
    confirmation_queued: bool
    # Whether that email offers mass email (confirming opts in).
    mass_email_offered: bool


def token_detail(token_name: str) -> dict[str, Any]:
    """What each consent event made through the API keeps about who asked."""
    return {"token": token_name}


def _confirmations(session: Session, candidate: Candidate) -> int:
    return (
        session.scalar(
            select(func.count(OutboxMessage.id)).where(
                OutboxMessage.candidate_id == candidate.id,
                OutboxMessage.kind == MessageKind.CONFIRMATION,
            )
        )
        or 0
    )


def _queue(
    session: Session,
    candidate: Candidate,
    links: LinkContext,
    pending: PendingConfirmation,
    template: str,
) -> bool:
    """Queue the connect flow's confirmation listing `pending`; whether a row was queued."""
    before = _confirmations(session, candidate)
    queue_confirmation(session, candidate, links, pending.changes(), pending, template=template)
    return _confirmations(session, candidate) > before


def sign_up(session: Session, data: SignUp, links: LinkContext, *, token_name: str) -> SignUpResult:
    """Create the candidate unconfirmed and queue the confirmation, or offer a member the changes.

    Raises `OnBehalfError` for a suppressed address.
    """
    if suppression_reason(session, data.email) is not None:
        raise OnBehalfError(
            {
                "email": "this address can't be added: it is suppressed (a hard bounce, a "
                "complaint, an erasure or an expired retention period)"
            }
        )
    interest_ids = [i.id for i in data.interests]
    known = find_candidate(session, data.email)
    created = False
    if known is None:
        # A savepoint: a request racing with this one for the same new address may insert
        # it first; then this one treats it as the known address it has become.
        try:
            with session.begin_nested():
                known, created = get_or_create_candidate(
                    session,
                    data.email,
                    source=SOURCE.value,
                    locale=data.language,
                    first_name=data.first_name,
                    last_name=data.last_name,
                )
        except IntegrityError:
            known = find_candidate(session, data.email)
            if known is None:
                raise
    if known.status is CandidateStatus.DELETED:
        raise OnBehalfError({"email": "this address can't be added"})
    if created:
        for interest in data.interests:
            subscribe(
                session,
                known,
                interest,
                confirmed=False,
                source=SOURCE,
                detail=token_detail(token_name),
            )
        pending = PendingConfirmation(list(data.interests), data.mass_email, confirms_address=True)
        queued = _queue(session, known, links, pending, "confirmation")
        return SignUpResult(known, True, queued, data.mass_email and queued)
    offer = pending_confirmation(session, known, Changes.of(interest_ids, data.mass_email))
    if not offer:
        return SignUpResult(known, False, False, False)
    queued = _queue(session, known, links, offer, "connect_existing")
    return SignUpResult(known, False, queued, offer.mass_email and queued)


# --- changes to a known candidate -------------------------------------------------------


class _Unset:
    """A field the request left out (distinct from an explicit null)."""


UNSET: Any = _Unset()


@dataclass(frozen=True)
class SubscriptionChange:
    """A checked `PUT …/subscriptions/{slug}`; UNSET fields stay as they are."""

    subscribed: bool
    frequency: Frequency | None = None
    paused_until: datetime | _Unset | None = UNSET


def _status(
    session: Session, candidate: Candidate, interest: Interest
) -> SubscriptionStatus | None:
    return session.scalar(
        select(Subscription.status).where(
            Subscription.candidate_id == candidate.id, Subscription.interest_id == interest.id
        )
    )


def change_subscription(
    session: Session,
    candidate: Candidate,
    interest: Interest,
    change: SubscriptionChange,
    links: LinkContext,
    *,
    token_name: str,
) -> bool:
    """Apply `change` by the module's rules; return whether a confirmation email was queued.

    Raises `OnBehalfError` for a retired or merged interest (when subscribing).
    """
    detail = token_detail(token_name)
    if not change.subscribed:
        unsubscribe(session, candidate, interest, source=SOURCE, detail=detail)
        return False
    if interest.status is not InterestStatus.ACTIVE or interest.merged_into_id is not None:
        raise OnBehalfError({"interest": f"{interest.slug!r} is retired and takes no subscribers"})
    confirmed = candidate.email_verified_at is not None
    if not confirmed and _status(session, candidate, interest) is SubscriptionStatus.UNSUBSCRIBED:
        # Her own "no" is not offered back to an unconfirmed address by someone else.
        return False
    subscribe(
        session,
        candidate,
        interest,
        confirmed=confirmed,
        frequency=change.frequency,
        source=SOURCE,
        detail=detail,
    )
    if not isinstance(change.paused_until, _Unset):
        pause_subscription(session, candidate, interest, change.paused_until, source=SOURCE)
    if confirmed:
        return False
    offer = pending_confirmation(session, candidate, Changes.of([interest.id], False))
    return bool(offer) and _queue(session, candidate, links, offer, "confirmation")


def change_mass_email(
    session: Session,
    candidate: Candidate,
    opted_in: bool,
    links: LinkContext,
    *,
    token_name: str,
) -> bool:
    """Opt in or out by the module's rules; return whether a confirmation email was queued."""
    detail = token_detail(token_name)
    if not opted_in:
        opt_out_mass_email(session, candidate, source=SOURCE, detail=detail)
        return False
    if candidate.email_verified_at is not None:
        opt_in_mass_email(session, candidate, source=SOURCE, detail=detail)
        return False
    offer = pending_confirmation(session, candidate, Changes.of([], True))
    return bool(offer) and _queue(session, candidate, links, offer, "confirmation")


# --- reading ----------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def subscriptions_of(session: Session, candidate: Candidate) -> list[dict[str, Any]]:
    """The candidate's interest subscriptions as the API shows them, in display order."""
    rows = session.execute(
        select(Subscription, Interest.slug)
        .join(Interest, Interest.id == Subscription.interest_id)
        .where(Subscription.candidate_id == candidate.id)
        .order_by(Interest.position, Interest.name)
    )
    return [
        {
            "interest": slug,
            "status": sub.status.value,
            "frequency": sub.frequency.value,
            "paused_until": _iso(sub.paused_until),
        }
        for sub, slug in rows
    ]


def subscription_of(session: Session, candidate: Candidate, interest: Interest) -> dict[str, Any]:
    """One subscription as the API shows it; one never made reads as unsubscribed."""
    sub = session.scalar(
        select(Subscription).where(
            Subscription.candidate_id == candidate.id, Subscription.interest_id == interest.id
        )
    )
    return {
        "interest": interest.slug,
        "status": sub.status.value if sub else SubscriptionStatus.UNSUBSCRIBED.value,
        "frequency": sub.frequency.value if sub else None,
        "paused_until": _iso(sub.paused_until) if sub else None,
    }


def candidate_record(session: Session, candidate: Candidate) -> dict[str, Any]:
    """`GET /api/v1/candidates/{id}`: profile basics, subscriptions, saved searches, mass
    email and consent history (never an IP address, a resume or free text)."""
    searches = session.execute(
        select(SavedSearch.id, SavedSearch.status, SavedSearch.frequency)
        .where(SavedSearch.candidate_id == candidate.id)
        .order_by(SavedSearch.id)
    )
    events = session.execute(
        select(ConsentEvent, Interest.slug)
        .outerjoin(Interest, Interest.id == ConsentEvent.interest_id)
        .where(ConsentEvent.candidate_id == candidate.id)
        .order_by(ConsentEvent.occurred_at, ConsentEvent.id)
    )
    return {
        "id": candidate.public_id,
        "email": candidate.email,
        "language": candidate.locale,
        "verified": candidate.email_verified_at is not None,
        "created_at": _iso(candidate.created_at),
        "subscriptions": subscriptions_of(session, candidate),
        "saved_searches": [
            {"id": sid, "status": status.value, "frequency": frequency.value}
            for sid, status, frequency in searches
        ],
        "mass_email": mass_email_status(session, candidate).value,
        "consent_history": [
            {
                "scope": event.scope.value,
                "interest": slug,
                "saved_search_id": event.saved_search_id,
                "action": event.action.value,
                "source": event.source.value,
                "wording_version": event.wording_version,
                "occurred_at": _iso(event.occurred_at),
            }
            for event, slug in events
        ],
    }
