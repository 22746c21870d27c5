"""The last check before a send: may this recipient still get this message?

Status is read at send time, so an unsubscribe, pause, complaint or erasure
takes effect even for mail queued before it. The worker checks a whole claimed
batch with `check_batch` (a fixed handful of queries, whatever the batch size);
`skip_reason` checks one message the same way.

The session that made a batch's check keeps it (`checked`), so the batch's send-time
context (a job digest's, `jobs.digests`) reads the candidates' languages and the
alert states the check read instead of querying them again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailer.models import MessageKind, OutboxMessage
from preferences.clock import now
from preferences.db import among
from preferences.models import (
    Candidate,
    CandidateStatus,
    MassEmail,
    MassEmailStatus,
    RecruiterUser,
    SavedSearch,
    Subscription,
    SubscriptionStatus,
    SuppressionReason,
)
from preferences.suppressions import suppressions_among
from preferences.tokens import LinkOwner


@dataclass
class BatchCheck:
    """The outcome of checking a batch: why some rows must not go, and who the rest are for."""

    skip: dict[int, str] = field(default_factory=dict)  # outbox id -> reason
    candidates: dict[int, LinkOwner] = field(default_factory=dict)
    # Only for confirmed addresses: a name typed into a form is never mailed to an
    # address nobody has confirmed (it could be anyone's, and the text anything).
    first_names: dict[int, str] = field(default_factory=dict)
    # What the check read of job alerts (`subscription_states`, `saved_search_states`).
    subscriptions: dict[tuple[int, int], tuple[SubscriptionStatus, datetime | None]] = field(
        default_factory=dict
    )
    searches: dict[int, tuple[int, SubscriptionStatus, datetime | None]] = field(
        default_factory=dict
    )
    # The outbox ids checked.
    ids: frozenset[int] = frozenset()


# Where a session keeps the last batch check it made (`Session.info`).
_CHECK_KEY = "mailer.batch_check"


def checked(session: Session, messages: Sequence[OutboxMessage]) -> BatchCheck | None:
    """The check `session` made of a batch holding every one of `messages`, if it made one."""
    check = session.info.get(_CHECK_KEY)
    if isinstance(check, BatchCheck) and all(m.id in check.ids for m in messages):
        return check
    return None


def _interest_ids(message: OutboxMessage) -> list[int]:
    """The interests a job alert covers: `interest_ids` (several), else `interest_id`."""
    listed = message.context.get("interest_ids")
    ids = [i for i in listed if isinstance(i, int)] if isinstance(listed, list) else []
    value = message.context.get("interest_id")
    return ids or ([value] if isinstance(value, int) else [])


def _search_ids(message: OutboxMessage) -> list[int]:
    """The saved searches a job alert covers: `search_ids`."""
    listed = message.context.get("search_ids")
    return [i for i in listed if isinstance(i, int)] if isinstance(listed, list) else []


def check_batch(session: Session, messages: Sequence[OutboxMessage]) -> BatchCheck:
    """Check every message of a batch against current status, in four queries."""
    result = BatchCheck(ids=frozenset(m.id for m in messages))
    for message, reason in zip(messages, _check(session, messages, result), strict=True):
        if reason is not None:
            result.skip[message.id] = reason
    session.info[_CHECK_KEY] = result
    return result


def _check(
    session: Session, messages: Sequence[OutboxMessage], result: BatchCheck
) -> list[str | None]:
    """The skip reason of each message, in order; fills in `result`'s candidates."""
    if not messages:
        return []
    suppressed = suppressions_among(session, (m.to_address for m in messages))
    candidate_ids = {m.candidate_id for m in messages if m.candidate_id is not None}
    for row in session.execute(
        select(
            Candidate.id,
            Candidate.public_id,
            Candidate.token_version,
            Candidate.status,
            Candidate.email,
            Candidate.locale,
            Candidate.first_name,
            Candidate.email_verified_at,
        ).where(among(session, Candidate.id, candidate_ids))
    ):
        result.candidates[row.id] = LinkOwner(
            row.id, row.public_id, row.token_version, row.status, row.email, row.locale
        )
        result.first_names[row.id] = row.first_name if row.email_verified_at else ""
    campaign_ids = {
        m.candidate_id
        for m in messages
        if m.kind is MessageKind.CAMPAIGN and m.candidate_id is not None
    }
    opted_in = set(
        session.scalars(
            select(MassEmailStatus.candidate_id).where(
                among(session, MassEmailStatus.candidate_id, campaign_ids),
                MassEmailStatus.status == MassEmail.OPTED_IN,
            )
        )
        if campaign_ids
        else ()
    )
    alert_pairs = {
        (m.candidate_id, interest_id)
        for m in messages
        if m.kind is MessageKind.JOB_ALERT and m.candidate_id is not None
        for interest_id in _interest_ids(m)
    }
    subscriptions = result.subscriptions = subscription_states(session, alert_pairs)
    searches = result.searches = saved_search_states(
        session,
        {
            search_id
            for m in messages
            if m.kind is MessageKind.JOB_ALERT and m.candidate_id is not None
            for search_id in _search_ids(m)
        },
    )
    at = now()
    recruiters = _recruiter_tests(session, messages)
    return [
        _reason(
            message,
            suppressed,
            result.candidates,
            opted_in,
            subscriptions,
            searches,
            at,
            recruiters,
        )
        for message in messages
    ]


def subscription_states(
    session: Session, pairs: set[tuple[int, int]]
) -> dict[tuple[int, int], tuple[SubscriptionStatus, datetime | None]]:
    """(status, paused until) of each (candidate, interest) subscription among `pairs`.

    One query over the batch's candidates and interests, narrowed to the exact
    pairs here: a fixed statement, where a list of pairs would change its text
    with every batch.
    """
    if not pairs:
        return {}
    rows = session.execute(
        select(
            Subscription.candidate_id,
            Subscription.interest_id,
            Subscription.status,
            Subscription.paused_until,
        ).where(
            among(session, Subscription.candidate_id, {c for c, _ in pairs}),
            among(session, Subscription.interest_id, {i for _, i in pairs}),
        )
    )
    return {
        (row.candidate_id, row.interest_id): (row.status, row.paused_until)
        for row in rows
        if (row.candidate_id, row.interest_id) in pairs
    }


def saved_search_states(
    session: Session, search_ids: set[int]
) -> dict[int, tuple[int, SubscriptionStatus, datetime | None]]:
    """(candidate, status, paused until) of each saved search among `search_ids`."""
    if not search_ids:
        return {}
    rows = session.execute(
        select(
            SavedSearch.id, SavedSearch.candidate_id, SavedSearch.status, SavedSearch.paused_until
        ).where(among(session, SavedSearch.id, search_ids))
    )
    return {row.id: (row.candidate_id, row.status, row.paused_until) for row in rows}


def _is_campaign_test(message: OutboxMessage) -> bool:
    """A recruiter's "Send a test to me" of a campaign or a job-alert digest."""
    return (
        message.kind.is_bulk
        and message.candidate_id is None
        and message.context.get("test") is True
    )


def _recruiter_tests(session: Session, messages: Sequence[OutboxMessage]) -> set[str]:
    """Addresses of campaign test rows that belong to an active recruiter."""
    addresses = {m.to_address for m in messages if _is_campaign_test(m)}
    if not addresses:
        return set()
    return set(
        session.scalars(
            select(RecruiterUser.email).where(
                RecruiterUser.email.in_(addresses), RecruiterUser.active.is_(True)
            )
        )
    )


# Why a message to a suppressed address was skipped (its outbox row's last_error).
SUPPRESSED = "address is suppressed"


def _reason(
    message: OutboxMessage,
    suppressed: dict[str, SuppressionReason],
    candidates: dict[int, LinkOwner],
    opted_in: set[int],
    subscriptions: dict[tuple[int, int], tuple[SubscriptionStatus, datetime | None]],
    searches: dict[int, tuple[int, SubscriptionStatus, datetime | None]],
    at: datetime,
    recruiter_tests: set[str],
) -> str | None:
    suppression = suppressed.get(message.to_address)
    # The one message an erased address still gets is the confirmation of its erasure.
    farewell = message.kind is MessageKind.ACCOUNT_DELETED
    # An address anonymized when its retention ended may join again by itself: the
    # confirmation link of a new sign-up goes (confirming lifts the suppression).
    rejoining = (
        message.kind is MessageKind.CONFIRMATION
        and suppression is SuppressionReason.RETENTION_EXPIRED
    )
    if (
        suppression is not None
        and not rejoining
        and not (farewell and suppression is SuppressionReason.ERASURE)
    ):
        return SUPPRESSED
    if farewell:
        return None
    candidate = candidates.get(message.candidate_id) if message.candidate_id is not None else None
    if message.candidate_id is not None and candidate is None:
        return "candidate no longer exists"
    if message.kind.is_bulk and candidate is None:
        # A recruiter's "Send a test to me": no consent to check, the address is theirs.
        if _is_campaign_test(message) and message.to_address in recruiter_tests:
            return None
        return "bulk mail needs a candidate whose consent can be checked"
    if candidate is not None and candidate.status is CandidateStatus.DELETED:
        return "candidate was deleted"
    if message.kind is MessageKind.CAMPAIGN and message.candidate_id not in opted_in:
        return "candidate is opted out of mass email"
    if message.kind is MessageKind.JOB_ALERT:
        # A digest covering several interests and saved searches goes if any one of them
        # may still be sent (a search counts only as its candidate's own).
        subs = [
            subscriptions.get((message.candidate_id, interest_id))
            for interest_id in _interest_ids(message)
            if message.candidate_id is not None
        ] + [
            (state[1], state[2])
            for search_id in _search_ids(message)
            if (state := searches.get(search_id)) is not None and state[0] == message.candidate_id
        ]
        subscribed = [s for s in subs if s is not None and s[0] is SubscriptionStatus.SUBSCRIBED]
        if not subscribed:
            return "candidate is not subscribed to this interest"
        if all(s[1] is not None and s[1] > at for s in subscribed):
            return "alerts are paused"
    return None


def skip_reason(session: Session, message: OutboxMessage) -> str | None:
    """Return why `message` must not be sent now, or None when it may go."""
    return _check(session, [message], BatchCheck())[0]
