"""Retention: how long a candidate is kept after their last activity, holds, and staying.

A candidate expires `RetentionPolicy.months_for(country)` months after
`Candidate.last_active_at`. Before that, the retention run (`mailer.retention`)
queues one re-permission email per expiry (a `RetentionNotice` of kind
REPERMISSION) and a reminder; a candidate who answers "Keep me" (`keep_candidate`)
records a consent event and starts a new period. Nobody is anonymized without
having been asked first: the notice's `expires_at` is the later of the policy's
expiry and REPERMISSION_DAYS after the email was queued, so someone already past
expiry when retention starts is asked and then given the full period to answer.

A legal hold (`place_hold`) stops expiry while it stands; placing and releasing one
is audited. Every time here comes from `preferences.clock.now()`.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    bindparam,
    case,
    exists,
    literal,
    select,
    update,
)
from sqlalchemy.orm import Session

from preferences.audit import record_audit, recruiter_actor
from preferences.clock import now
from preferences.errors import CandidateDeleted, PreferencesError
from preferences.models import (
    Candidate,
    CandidateStatus,
    ConsentAction,
    ConsentScope,
    ConsentSource,
    LegalHold,
    NoticeKind,
    RetentionNotice,
)
from preferences.subscriptions import append_consent

_CANDIDATES = cast(Table, Candidate.__table__)
_HOLDS = cast(Table, LegalHold.__table__)
_NOTICES = cast(Table, RetentionNotice.__table__)

# Longest hold reason kept; a reason is required.
MAX_HOLD_REASON = 500


class HoldReasonMissing(PreferencesError, ValueError):
    """A legal hold needs a reason, for the audit log and the next person who reads it."""


def add_months(at: datetime, months: int) -> datetime:
    """`at` moved by whole calendar months, the day clamped to the month's length."""
    index = at.year * 12 + (at.month - 1) + months
    year, month = divmod(index, 12)
    day = min(at.day, calendar.monthrange(year, month + 1)[1])
    return at.replace(year=year, month=month + 1, day=day)


@dataclass(frozen=True)
class RetentionPolicy:
    """RETENTION_MONTHS, RETENTION_MONTHS_BY_COUNTRY and REPERMISSION_DAYS as one value."""

    months: int = 24
    by_country: Mapping[str, int] = field(default_factory=dict)
    repermission_days: int = 30
    reminder_days: int = 7

    def months_for(self, country: str | None) -> int:
        """The retention period in months for a candidate of `country` (None: unknown)."""
        if country is not None:
            return self.by_country.get(country.upper(), self.months)
        return self.months

    def expiry(self, last_active_at: datetime, country: str | None) -> datetime:
        """When a candidate last active at `last_active_at` expires under this policy."""
        return add_months(last_active_at, self.months_for(country))

    def expired_by(self, at: datetime) -> ColumnElement[bool]:
        """SQL: the candidate's policy expiry is at or before `at` (one comparison per row,
        against a cutoff picked by country: `last_active_at <= at - months(country)`)."""
        default = add_months(at, -self.months)
        cutoffs = {
            country: add_months(at, -months)
            for country, months in sorted(self.by_country.items())
            if months != self.months
        }
        if not cutoffs:
            return _CANDIDATES.c.last_active_at <= default
        cutoff = case(
            *(
                (
                    _CANDIDATES.c.country == country,
                    literal(value, _CANDIDATES.c.last_active_at.type),
                )
                for country, value in cutoffs.items()
            ),
            else_=literal(default, _CANDIDATES.c.last_active_at.type),
        )
        return _CANDIDATES.c.last_active_at <= cutoff


def on_hold() -> ColumnElement[bool]:
    """SQL: the candidate (of the enclosing query) has a legal hold in force."""
    return exists().where(_HOLDS.c.candidate_id == _CANDIDATES.c.id, _HOLDS.c.released_at.is_(None))


def current_open_notice() -> ColumnElement[bool]:
    """SQL: the notice (`retention_notices`) is the candidate's (`candidates`) unanswered,
    unexpired re-permission notice for their current `last_active_at`: the one whose
    `expires_at` is their deadline. Activity since the notice was queued makes it stale."""
    return and_(
        _NOTICES.c.candidate_id == _CANDIDATES.c.id,
        _NOTICES.c.kind == NoticeKind.REPERMISSION,
        _NOTICES.c.based_on == _CANDIDATES.c.last_active_at,
        _NOTICES.c.answered_at.is_(None),
        _NOTICES.c.expired_at.is_(None),
    )


_TOUCH = (
    update(_CANDIDATES)
    .where(_CANDIDATES.c.id == bindparam("candidate_id"))
    # `updated_at` kept: activity is not a profile change (and sign-in links are
    # stamped with `updated_at`, so a Save must not cancel one).
    .values(last_active_at=bindparam("when"), updated_at=_CANDIDATES.c.updated_at)
)


def touch_activity(session: Session, candidate_id: int, *, at: datetime | None = None) -> None:
    """Record that the person acted now: joining, confirming, signing in, saving
    preferences, answering a re-permission email, applying, a recruiter's contact.

    One UPDATE; never for opening mail, a link scanner's GET or a one-click unsubscribe.
    """
    session.connection().execute(_TOUCH, {"candidate_id": candidate_id, "when": at or now()})
    loaded = session.identity_map.get(session.identity_key(Candidate, candidate_id))
    if loaded is not None:
        session.expire(loaded, ["last_active_at"])


def active_hold(session: Session, candidate_id: int) -> LegalHold | None:
    """The candidate's legal hold in force, if any."""
    return session.scalar(
        select(LegalHold)
        .where(LegalHold.candidate_id == candidate_id, LegalHold.released_at.is_(None))
        .order_by(LegalHold.placed_at.desc())
        .limit(1)
    )


def place_hold(
    session: Session, candidate: Candidate, *, reason: str, recruiter_id: int
) -> LegalHold:
    """Put a legal hold on `candidate` (or return the one in force); audited."""
    reason = " ".join(reason.split())
    if not reason:
        raise HoldReasonMissing("a legal hold needs a reason")
    if candidate.status is CandidateStatus.DELETED:
        raise CandidateDeleted(candidate.public_id)
    held = active_hold(session, candidate.id)
    if held is not None:
        return held
    hold = LegalHold(
        candidate_id=candidate.id,
        reason=reason[:MAX_HOLD_REASON],
        placed_by=recruiter_id,
        placed_at=now(),
    )
    session.add(hold)
    session.flush()
    record_audit(
        session,
        actor=recruiter_actor(recruiter_id),
        action="candidate.hold_placed",
        subject=candidate.public_id,
        detail={"hold": hold.id},
    )
    return hold


def release_hold(session: Session, candidate: Candidate, *, recruiter_id: int) -> bool:
    """Release the candidate's legal hold; returns False when none was in force. Audited."""
    hold = active_hold(session, candidate.id)
    if hold is None:
        return False
    hold.released_at = now()
    hold.released_by = recruiter_id
    session.flush()
    record_audit(
        session,
        actor=recruiter_actor(recruiter_id),
        action="candidate.hold_released",
        subject=candidate.public_id,
        detail={"hold": hold.id},
    )
    return True


def open_notice(session: Session, candidate_id: int) -> RetentionNotice | None:
    """The candidate's unanswered re-permission notice for their current expiry, if any."""
    return session.scalar(
        select(RetentionNotice)
        .join(Candidate, current_open_notice())
        .where(RetentionNotice.candidate_id == candidate_id)
        .limit(1)
    )


def keep_candidate(
    session: Session,
    candidate: Candidate,
    *,
    wording_version: str,
    ip_address: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """The person asked to stay: a consent event, a new retention period, notices answered.

    Raises CandidateDeleted for an erased or anonymized candidate.
    """
    if candidate.status is CandidateStatus.DELETED:
        raise CandidateDeleted(candidate.public_id)
    at = now()
    append_consent(
        session,
        candidate.id,
        scope=ConsentScope.RETENTION,
        action=ConsentAction.GRANT,
        source=ConsentSource.REPERMISSION,
        wording_version=wording_version,
        detail=detail,
        ip_address=ip_address,
    )
    session.execute(
        update(_NOTICES)
        .where(
            and_(
                _NOTICES.c.candidate_id == candidate.id,
                _NOTICES.c.answered_at.is_(None),
                _NOTICES.c.expired_at.is_(None),
            )
        )
        .values(answered_at=at)
        .execution_options(synchronize_session=False)
    )
    touch_activity(session, candidate.id, at=at)


def retention_deadline(session: Session, candidate: Candidate, policy: RetentionPolicy) -> datetime:
    """When `candidate` will be anonymized unless they act (holds aside)."""
    notice = open_notice(session, candidate.id)
    if notice is not None:
        return notice.expires_at
    last = candidate.last_active_at or candidate.created_at
    return policy.expiry(last, candidate.country)


__all__ = [
    "HoldReasonMissing",
    "RetentionPolicy",
    "active_hold",
    "add_months",
    "current_open_notice",
    "keep_candidate",
    "on_hold",
    "open_notice",
    "place_hold",
    "release_hold",
    "retention_deadline",
    "touch_activity",
]
