"""The Privacy page's figures: expiries per week, re-permission per month, holds, runs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from preferences.clock import FrozenClock, frozen, now
from preferences.models import (
    Candidate,
    CandidateStatus,
    NoticeKind,
    RecruiterUser,
    RetentionNotice,
    RetentionRun,
)
from preferences.retention import RetentionPolicy, place_hold, release_hold
from preferences.retention_report import (
    count_holds,
    list_holds,
    notices_per_month,
    recent_runs,
    retention_report,
    upcoming_expiries,
)

# A Monday: the weeks run from 2 Nov, 9 Nov, 16 Nov, 23 Nov, 30 Nov...
T0 = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
POLICY = RetentionPolicy(months=24, by_country={"FR": 23, "DE": 24})


def at(year: int, month: int, day: int, hour: int = 12) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


@pytest.fixture
def clock() -> Iterator[FrozenClock]:
    with frozen(T0) as fixed:
        yield fixed


def _person(
    session: Session,
    name: str,
    last_active: datetime,
    *,
    location: str | None = None,
    status: CandidateStatus = CandidateStatus.ACTIVE,
) -> Candidate:
    row = Candidate(
        email=f"{name.lower()}@example.com",
        first_name=name,
        last_name="Test",
        last_active_at=last_active,
        location=location,  # the country follows from it (preferences.countries)
        status=status,
    )
    session.add(row)
    session.flush()
    return row


def _notice(
    session: Session,
    candidate: Candidate,
    kind: NoticeKind,
    *,
    based_on: datetime,
    queued_at: datetime,
    expires_at: datetime | None = None,
    answered_at: datetime | None = None,
    expired_at: datetime | None = None,
) -> None:
    session.add(
        RetentionNotice(
            candidate_id=candidate.id,
            kind=kind,
            based_on=based_on,
            queued_at=queued_at,
            expires_at=expires_at or queued_at + timedelta(days=30),
            answered_at=answered_at,
            expired_at=expired_at,
        )
    )
    session.flush()


@pytest.fixture
def admin(db_session: Session, clock: FrozenClock) -> RecruiterUser:
    user = RecruiterUser(email="ada@acme.example.com", name="Ada")
    db_session.add(user)
    db_session.flush()
    return user


@pytest.fixture
def seeded(db_session: Session, admin: RecruiterUser) -> Session:
    s = db_session
    _person(s, "Overdue", at(2024, 9, 1))
    _person(s, "Alma", at(2024, 11, 5))  # week 0
    _person(s, "Franck", at(2024, 12, 5), location="Lyon, France")  # FR=23: week 0 (24: week 4)
    released = _person(s, "Rosa", at(2024, 11, 6))  # week 0: her hold was released
    place_hold(s, released, reason="Old claim", recruiter_id=admin.id)
    release_hold(s, released, recruiter_id=admin.id)
    held = _person(s, "Hal", at(2024, 11, 5))  # would be week 0, but held
    place_hold(s, held, reason="Litigation 42", recruiter_id=admin.id)
    _person(s, "Edge", datetime(2024, 11, 9, tzinfo=UTC))  # exactly 9 Nov 00:00: week 1
    stale = _person(s, "Stella", at(2024, 11, 10))  # week 1: her notice is of an older expiry
    _notice(
        s,
        stale,
        NoticeKind.REPERMISSION,
        based_on=at(2022, 1, 1),
        queued_at=at(2023, 12, 1),
        expires_at=at(2026, 12, 20),
    )
    _person(s, "Bea", at(2024, 11, 20))  # week 2
    asked = _person(s, "Nina", at(2024, 10, 1))  # policy: overdue; open notice: 25 Nov, week 3
    _notice(
        s,
        asked,
        NoticeKind.REPERMISSION,
        based_on=at(2024, 10, 1),
        queued_at=at(2026, 10, 26),
        expires_at=at(2026, 11, 25),
    )
    _person(s, "Gone", at(2024, 11, 5), status=CandidateStatus.DELETED)
    far = _person(s, "Far", at(2026, 1, 1))
    # Notices of earlier expiries (based_on differs): only the monthly figures see them.
    _notice(
        s,
        far,
        NoticeKind.REPERMISSION,
        based_on=at(2020, 1, 1),
        queued_at=at(2026, 10, 5),
        answered_at=at(2026, 10, 20),
    )
    _notice(
        s,
        far,
        NoticeKind.REPERMISSION,
        based_on=at(2020, 2, 1),
        queued_at=at(2026, 10, 6),
        expired_at=at(2026, 11, 1),
    )
    _notice(s, far, NoticeKind.REMINDER, based_on=at(2020, 2, 1), queued_at=at(2026, 10, 28))
    _notice(
        s,
        far,
        NoticeKind.REPERMISSION,
        based_on=at(2020, 3, 1),
        queued_at=at(2025, 11, 15),
        answered_at=at(2025, 12, 1),
    )
    for n in range(12):
        s.add(
            RetentionRun(
                started_at=T0 - timedelta(days=12 - n),
                finished_at=T0 - timedelta(days=12 - n) + timedelta(seconds=30),
                dry_run=n == 11,
                trigger="scheduler",
                counts={"repermission": n, "anonymized": 0},
                error="boom" if n == 10 else None,
            )
        )
    s.flush()
    return s


def test_expiries_per_week_from_the_deadline_in_force(seeded: Session) -> None:
    """Active, unheld candidates count in the week of their open notice's or policy deadline."""
    report = upcoming_expiries(seeded, POLICY, now())
    assert [w.start for w in report.weeks[:2]] == [
        datetime(2026, 11, 2, tzinfo=UTC),
        datetime(2026, 11, 9, tzinfo=UTC),
    ]
    assert len(report.weeks) == 12
    assert report.weeks[-1].end == datetime(2027, 1, 25, tzinfo=UTC)
    assert report.overdue == 1
    assert [w.count for w in report.weeks[:6]] == [3, 2, 1, 1, 0, 0]
    assert report.total == 7


def test_a_country_period_moves_a_candidate_to_another_week(seeded: Session) -> None:
    """Without FR=23 the French candidate expires a month later, in week 4 instead of week 0."""
    plain = upcoming_expiries(seeded, RetentionPolicy(months=24), now())
    assert [w.count for w in plain.weeks[:6]] == [2, 2, 1, 1, 1, 0]


def test_a_hold_keeps_a_candidate_out_until_released(seeded: Session, admin: RecruiterUser) -> None:
    """The held candidate is not counted; released, they join week 0."""
    held = seeded.query(Candidate).filter_by(first_name="Hal").one()
    assert upcoming_expiries(seeded, POLICY, now()).weeks[0].count == 3
    release_hold(seeded, held, recruiter_id=admin.id)
    assert upcoming_expiries(seeded, POLICY, now()).weeks[0].count == 4


def test_expiries_run_as_one_statement(seeded: Session) -> None:
    """However many candidates, the weekly figures cost one SELECT."""
    statements: list[str] = []
    bind = seeded.connection()

    def count(_conn: Connection, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(bind, "before_cursor_execute", count)
    try:
        upcoming_expiries(seeded, POLICY, now())
    finally:
        event.remove(bind, "before_cursor_execute", count)
    assert len(statements) == 1


def test_notices_per_month(seeded: Session) -> None:
    """Sent, reminders, answered and expired land in their own month; older ones drop out."""
    months = notices_per_month(seeded, now())
    assert len(months) == 12
    assert months[0].month == datetime(2025, 12, 1, tzinfo=UTC)
    assert months[-1].month == datetime(2026, 11, 1, tzinfo=UTC)
    figures = {f"{m.month:%Y-%m}": (m.sent, m.reminders, m.answered, m.expired) for m in months}
    assert figures["2025-12"] == (0, 0, 1, 0)
    assert figures["2026-10"] == (3, 1, 1, 0)
    assert figures["2026-11"] == (0, 0, 0, 1)
    assert sum(m.sent for m in months) == 3


def test_holds_counted_and_listed_with_names(seeded: Session) -> None:
    """One hold in force (the released one is not); the admins' list names person and placer."""
    assert count_holds(seeded) == 1
    [hold] = list_holds(seeded)
    assert (hold.name, hold.email, hold.reason, hold.placed_by) == (
        "Hal Test",
        "hal@example.com",
        "Litigation 42",
        "Ada",
    )
    assert hold.placed_at == T0


def test_last_ten_runs_newest_first(seeded: Session) -> None:
    """The ten latest runs, newest first, with their counts, trigger and error."""
    runs = recent_runs(seeded)
    assert len(runs) == 10
    assert runs[0].dry_run and runs[0].counts["repermission"] == 11
    assert runs[1].error == "boom"
    assert runs[-1].counts["repermission"] == 2


def test_report_hides_names_unless_asked(seeded: Session) -> None:
    """The whole report carries the holds' names only for admins."""
    counts_only = retention_report(seeded, POLICY, now())
    assert counts_only.holds is None and counts_only.holds_in_force == 1
    named = retention_report(seeded, POLICY, now(), with_names=True)
    assert named.holds is not None and [h.email for h in named.holds] == ["hal@example.com"]
