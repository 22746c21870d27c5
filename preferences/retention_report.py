"""The retention figures the console's Privacy page shows, counted in SQL.

Upcoming expiries per week, re-permission emails per month (sent, answered,
expired, reminders), the legal holds in force and the latest retention runs.
No query loads candidates one by one: each figure is a grouped or summed
statement whose result is bounded by the number of weeks, months or rows shown.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, and_, case, func, not_, or_, select
from sqlalchemy.orm import Session, aliased

from preferences.models import (
    Candidate,
    CandidateStatus,
    LegalHold,
    NoticeKind,
    RecruiterUser,
    RetentionNotice,
    RetentionRun,
)
from preferences.retention import RetentionPolicy, add_months, current_open_notice, on_hold

_CANDIDATES = cast(Table, Candidate.__table__)
_NOTICES = cast(Table, RetentionNotice.__table__)
_HOLDS = cast(Table, LegalHold.__table__)

EXPIRY_WEEKS = 12
REPORT_MONTHS = 12
RECENT_RUNS = 10
# The most holds the admins' list shows; the count above it is always the full one.
HOLD_LIST_LIMIT = 200
# One microsecond before a boundary: `expired_by` counts "at or before", weeks are half-open.
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class ExpiryWeek:
    """Active candidates without a hold whose retention deadline falls in [start, end)."""

    start: datetime
    end: datetime
    count: int

    @property
    def last_day(self) -> date:
        """The week's last day (`end` is the next week's first instant)."""
        return (self.end - timedelta(days=1)).date()


@dataclass(frozen=True)
class UpcomingExpiries:
    """The next weeks' expiries, and those already due (deadline before the first week)."""

    overdue: int
    weeks: list[ExpiryWeek]

    @property
    def total(self) -> int:
        return sum(week.count for week in self.weeks)


@dataclass(frozen=True)
class NoticeMonth:
    """Re-permission figures of one calendar month (UTC)."""

    month: datetime
    sent: int
    reminders: int
    answered: int
    expired: int


@dataclass(frozen=True)
class HoldEntry:
    """A legal hold in force, with whom it is on and who placed it (admins only)."""

    public_id: str
    name: str
    email: str
    reason: str
    placed_by: str | None
    placed_at: datetime


@dataclass(frozen=True)
class RunEntry:
    """One retention run as the console lists it."""

    id: int
    started_at: datetime
    finished_at: datetime | None
    dry_run: bool
    trigger: str
    counts: dict[str, Any]
    error: str | None


@dataclass(frozen=True)
class RetentionReport:
    """Everything the Privacy page shows; `holds` is None unless names were asked for."""

    at: datetime
    policy: RetentionPolicy
    expiries: UpcomingExpiries
    months: list[NoticeMonth]
    holds_in_force: int
    holds: list[HoldEntry] | None
    runs: list[RunEntry]


def _day_start(at: datetime) -> datetime:
    return at.replace(hour=0, minute=0, second=0, microsecond=0)


def _due_before(policy: RetentionPolicy, boundary: datetime) -> ColumnElement[bool]:
    """SQL: the candidate's deadline (open notice's, else the policy's) is before `boundary`.

    Needs the open notice outer-joined as `_NOTICES`.
    """
    return or_(
        and_(_NOTICES.c.id.is_not(None), _NOTICES.c.expires_at < boundary),
        and_(_NOTICES.c.id.is_(None), policy.expired_by(boundary - _TICK)),
    )


def upcoming_expiries(
    session: Session, policy: RetentionPolicy, at: datetime, *, weeks: int = EXPIRY_WEEKS
) -> UpcomingExpiries:
    """Active candidates without a hold in force, by the week their deadline falls in.

    Weeks are seven days from the start of `at`'s day (UTC). The deadline is the open
    re-permission notice's `expires_at` (unanswered, unexpired, asked for the current
    `last_active_at`), otherwise the policy's expiry. One statement: a sum per week
    boundary over one scan, so a million candidates are never loaded.
    """
    first = _day_start(at)
    boundaries = [first + timedelta(weeks=i) for i in range(weeks + 1)]
    sums = [
        func.coalesce(func.sum(case((_due_before(policy, boundary), 1), else_=0)), 0)
        for boundary in boundaries
    ]
    row = session.execute(
        select(*sums)
        .select_from(_CANDIDATES.outerjoin(_NOTICES, current_open_notice()))
        .where(_CANDIDATES.c.status == CandidateStatus.ACTIVE, not_(on_hold()))
    ).one()
    before = [int(value) for value in row]
    return UpcomingExpiries(
        overdue=before[0],
        weeks=[
            ExpiryWeek(boundaries[i], boundaries[i + 1], before[i + 1] - before[i])
            for i in range(weeks)
        ],
    )


def _month_key(session: Session, column: Any) -> ColumnElement[str]:
    """SQL: "YYYY-MM" of a stored UTC time, in the dialect at hand."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM")
    return func.strftime("%Y-%m", column)  # SQLite keeps naive UTC text


def _per_month(session: Session, column: Any, kind: NoticeKind, start: datetime) -> Counter[str]:
    key = _month_key(session, column).label("month")
    rows = session.execute(
        select(key, func.count())
        .select_from(_NOTICES)
        .where(_NOTICES.c.kind == kind, column >= start)
        .group_by(key)
    )
    return Counter({str(month): int(count) for month, count in rows})


def notices_per_month(
    session: Session, at: datetime, *, months: int = REPORT_MONTHS
) -> list[NoticeMonth]:
    """Re-permission emails queued, answered and expired, and reminders queued, per month.

    The last `months` calendar months (UTC) up to and including `at`'s, oldest first.
    "Answered" and "expired" count re-permission notices by when the person answered
    or the notice's deadline passed unanswered; a person counts once per expiry.
    """
    this_month = _day_start(at).replace(day=1)
    start = add_months(this_month, -(months - 1))
    sent = _per_month(session, _NOTICES.c.queued_at, NoticeKind.REPERMISSION, start)
    reminders = _per_month(session, _NOTICES.c.queued_at, NoticeKind.REMINDER, start)
    answered = _per_month(session, _NOTICES.c.answered_at, NoticeKind.REPERMISSION, start)
    expired = _per_month(session, _NOTICES.c.expired_at, NoticeKind.REPERMISSION, start)
    out = []
    for i in range(months):
        month = add_months(start, i)
        key = f"{month:%Y-%m}"
        out.append(NoticeMonth(month, sent[key], reminders[key], answered[key], expired[key]))
    return out


def _holds_in_force() -> ColumnElement[bool]:
    return and_(
        _HOLDS.c.released_at.is_(None),
        _CANDIDATES.c.status == CandidateStatus.ACTIVE,
    )


def count_holds(session: Session) -> int:
    """Active candidates with a legal hold in force."""
    return int(
        session.scalar(
            select(func.count(func.distinct(_HOLDS.c.candidate_id)))
            .select_from(_HOLDS.join(_CANDIDATES, _CANDIDATES.c.id == _HOLDS.c.candidate_id))
            .where(_holds_in_force())
        )
        or 0
    )


def list_holds(session: Session, *, limit: int = HOLD_LIST_LIMIT) -> list[HoldEntry]:
    """The legal holds in force, newest first, with names: for admins only."""
    placer = aliased(RecruiterUser)
    rows = session.execute(
        select(
            Candidate.public_id,
            Candidate.first_name,
            Candidate.last_name,
            Candidate.email,
            LegalHold.reason,
            placer.name,
            placer.email,
            LegalHold.placed_at,
        )
        .select_from(LegalHold)
        .join(Candidate, Candidate.id == LegalHold.candidate_id)
        .outerjoin(placer, placer.id == LegalHold.placed_by)
        .where(LegalHold.released_at.is_(None), Candidate.status == CandidateStatus.ACTIVE)
        .order_by(LegalHold.placed_at.desc(), LegalHold.id.desc())
        .limit(limit)
    )
    return [
        HoldEntry(
            public_id=public_id,
            name=f"{first} {last}".strip(),
            email=email,
            reason=reason,
            placed_by=(placer_name or placer_email) if placer_email else None,
            placed_at=placed_at,
        )
        for public_id, first, last, email, reason, placer_name, placer_email, placed_at in rows
    ]


def recent_runs(session: Session, *, limit: int = RECENT_RUNS) -> list[RunEntry]:
    """The latest retention runs, newest first."""
    runs: Sequence[RetentionRun] = session.scalars(
        select(RetentionRun)
        .order_by(RetentionRun.started_at.desc(), RetentionRun.id.desc())
        .limit(limit)
    ).all()
    return [
        RunEntry(
            id=run.id,
            started_at=run.started_at,
            finished_at=run.finished_at,
            dry_run=run.dry_run,
            trigger=run.trigger,
            counts=dict(run.counts or {}),
            error=run.error,
        )
        for run in runs
    ]


def retention_report(
    session: Session, policy: RetentionPolicy, at: datetime, *, with_names: bool = False
) -> RetentionReport:
    """The Privacy page's figures at `at`; the holds' names only `with_names` (admins)."""
    return RetentionReport(
        at=at,
        policy=policy,
        expiries=upcoming_expiries(session, policy, at),
        months=notices_per_month(session, at),
        holds_in_force=count_holds(session),
        holds=list_holds(session) if with_names else None,
        runs=recent_runs(session),
    )


__all__ = [
    "ExpiryWeek",
    "HoldEntry",
    "NoticeMonth",
    "RetentionReport",
    "RunEntry",
    "UpcomingExpiries",
    "count_holds",
    "list_holds",
    "notices_per_month",
    "recent_runs",
    "retention_report",
    "upcoming_expiries",
]
