"""The outbox: enqueueing, claiming under a lease and recording results."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from mailer.models import MessageKind, OutboxMessage, OutboxStatus
from mailer.outbox import (
    claim_batch,
    enqueue,
    mark_failed,
    mark_retry,
    mark_sent,
    mark_skipped,
    outbox_report,
)
from preferences.clock import FrozenClock
from preferences.db import session_scope
from preferences.errors import InvalidEmail
from preferences.models import Candidate
from preferences.subscriptions import get_or_create_candidate

from .support import T0, outbox, queue

LEASE = timedelta(minutes=5)


def claim(
    sessions: sessionmaker[Session], owner: str, limit: int = 10, lease: timedelta = LEASE
) -> list[str]:
    """Claim in its own committed transaction; return the claimed dedupe keys."""
    with session_scope(sessions) as session:
        return [row.dedupe_key for row in claim_batch(session, owner, limit=limit, lease=lease)]


def row_id(sessions: sessionmaker[Session], key: str) -> int:
    return outbox(sessions)[key].id


# --- enqueue ---------------------------------------------------------------------------


def test_enqueue_writes_a_pending_row(db_session: Session, clock: FrozenClock) -> None:
    """enqueue writes one pending row with the normalized address and its deadlines."""
    assert (
        enqueue(
            db_session,
            kind=MessageKind.WELCOME,
            template="welcome",
            to_address=" Ana@Example.COM ",
            dedupe_key="welcome:1",
            context={"interest_id": 3},
            deliver_within=timedelta(hours=6),
        )
        is True
    )
    row = db_session.scalars(select(OutboxMessage)).one()
    assert (row.dedupe_key, row.kind, row.template, row.to_address) == (
        "welcome:1",
        MessageKind.WELCOME,
        "welcome",
        "ana@example.com",
    )
    assert (row.status, row.attempts, row.last_error, row.context) == (
        OutboxStatus.PENDING,
        0,
        "",
        {"interest_id": 3},
    )
    assert (row.next_attempt_at, row.created_at, row.deliver_until) == (
        T0,
        T0,
        T0 + timedelta(hours=6),
    )
    assert (row.lease_owner, row.lease_expires_at, row.sent_at, row.message_id) == (
        None,
        None,
        None,
        None,
    )


def test_enqueue_defaults_to_three_days_to_deliver(db_session: Session, clock: FrozenClock) -> None:
    """Without deliver_within a message may be retried for three days."""
    enqueue(
        db_session,
        kind=MessageKind.LOGIN_LINK,
        template="welcome",
        to_address="ana@example.com",
        dedupe_key="k",
    )
    row = db_session.scalars(select(OutboxMessage)).one()
    assert row.deliver_until == T0 + timedelta(days=3)


def test_enqueue_dedupes_by_key(db_session: Session, clock: FrozenClock) -> None:
    """A second enqueue with the same key returns False and leaves the first row alone."""
    first = enqueue(
        db_session,
        kind=MessageKind.WELCOME,
        template="welcome",
        to_address="ana@example.com",
        dedupe_key="welcome:ana",
    )
    second = enqueue(
        db_session,
        kind=MessageKind.CAMPAIGN,
        template="other",
        to_address="bob@example.com",
        dedupe_key="welcome:ana",
    )
    assert (first, second) == (True, False)
    row = db_session.scalars(select(OutboxMessage)).one()
    assert (row.kind, row.to_address) == (MessageKind.WELCOME, "ana@example.com")


def test_enqueue_dedupes_across_transactions(
    sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    """The dedupe holds across committed transactions, not just within one."""
    assert queue(sessions, "ana@example.com", "digest:ana:2026-11-02") is True
    assert queue(sessions, "ana@example.com", "digest:ana:2026-11-02") is False
    assert queue(sessions, "ana@example.com", "digest:ana:2026-11-03") is True
    assert list(outbox(sessions)) == ["digest:ana:2026-11-02", "digest:ana:2026-11-03"]


def test_enqueue_refuses_invalid_address(db_session: Session, clock: FrozenClock) -> None:
    """An invalid recipient is refused before anything is queued."""
    with pytest.raises(InvalidEmail):
        enqueue(
            db_session,
            kind=MessageKind.WELCOME,
            template="welcome",
            to_address="not-an-address",
            dedupe_key="k",
        )
    assert db_session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


# --- claim -----------------------------------------------------------------------------


def test_claim_leases_due_rows_to_one_owner(
    sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    """claim_batch marks rows sending under the owner's lease and counts the attempt."""
    for key in ("a", "b", "c"):
        queue(sessions, f"{key}@example.com", key)
    with session_scope(sessions) as session:
        batch = claim_batch(session, "worker-1", limit=2, lease=LEASE)
        assert [(r.dedupe_key, r.status, r.lease_owner) for r in batch] == [
            ("a", OutboxStatus.SENDING, "worker-1"),
            ("b", OutboxStatus.SENDING, "worker-1"),
        ]
        assert [r.attempts for r in batch] == [1, 1]
        assert [r.lease_expires_at for r in batch] == [T0 + LEASE, T0 + LEASE]
    rows = outbox(sessions)
    assert rows["c"].status is OutboxStatus.PENDING
    assert rows["c"].lease_owner is None
    assert rows["a"].lease_owner == "worker-1"


def test_claim_does_not_hand_leased_rows_to_another_owner(
    sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    """While a lease is live a second claimer gets nothing, even at the exact expiry instant."""
    queue(sessions, "a@example.com", "a")
    queue(sessions, "b@example.com", "b")
    assert claim(sessions, "worker-1") == ["a", "b"]
    assert claim(sessions, "worker-2") == []
    assert claim(sessions, "worker-1") == []
    clock.advance(LEASE)
    assert claim(sessions, "worker-2") == []


def test_claim_hands_out_rows_again_after_the_lease_expires(
    sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    """A row whose worker died is claimable once its lease is over, with the attempt counted."""
    queue(sessions, "a@example.com", "a")
    assert claim(sessions, "dead-worker") == ["a"]
    clock.advance(LEASE + timedelta(microseconds=1))
    assert claim(sessions, "worker-2") == ["a"]
    row = outbox(sessions)["a"]
    assert (row.lease_owner, row.attempts, row.status) == ("worker-2", 2, OutboxStatus.SENDING)
    assert row.lease_expires_at == T0 + LEASE + timedelta(microseconds=1) + LEASE


def test_claim_respects_next_attempt_at(
    sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    """A row scheduled for later is not claimed until its time comes."""
    queue(sessions, "a@example.com", "a")
    assert claim(sessions, "w") == ["a"]
    message_id = row_id(sessions, "a")
    with session_scope(sessions) as session:
        mark_retry(session, message_id, "w", "451 later", retry_at=T0 + timedelta(minutes=2))
    assert claim(sessions, "w") == []
    clock.advance(timedelta(minutes=2) - timedelta(microseconds=1))
    assert claim(sessions, "w") == []
    clock.advance(timedelta(microseconds=1))
    assert claim(sessions, "w") == ["a"]


def test_claim_orders_by_due_time_then_id(
    sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    """With more due rows than the limit, the earliest due (then lowest id) are claimed first."""
    queue(sessions, "a@example.com", "a")
    queue(sessions, "b@example.com", "b")
    queue(sessions, "c@example.com", "c")
    assert claim(sessions, "w", limit=1) == ["a"]
    message_id = row_id(sessions, "a")
    with session_scope(sessions) as session:
        # "a" failed and is due one second after "b" and "c" were queued.
        mark_retry(session, message_id, "w", "x", retry_at=T0 + timedelta(seconds=1))
    clock.advance(timedelta(seconds=5))
    assert claim(sessions, "w", limit=2) == ["b", "c"]
    assert claim(sessions, "w", limit=2) == ["a"]


def test_claim_skips_finished_rows(sessions: sessionmaker[Session], clock: FrozenClock) -> None:
    """Sent, skipped and failed rows are never claimed again."""
    for key in ("sent", "skipped", "failed"):
        queue(sessions, f"{key}@example.com", key)
    assert claim(sessions, "w") == ["sent", "skipped", "failed"]
    ids = {key: row.id for key, row in outbox(sessions).items()}
    with session_scope(sessions) as session:
        mark_sent(session, ids["sent"], "w", "<m@acme.example.com>")
        mark_skipped(session, ids["skipped"], "w", "address is suppressed")
        mark_failed(session, ids["failed"], "w", "550 no such user")
    clock.advance(timedelta(days=30))
    assert claim(sessions, "w") == []


def test_claim_returns_nothing_on_an_empty_outbox(
    sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    """An empty outbox yields an empty batch."""
    assert claim(sessions, "w") == []


@pytest.mark.parametrize("backend", ["postgresql"])
def test_concurrent_claims_on_postgresql_get_disjoint_rows(
    sessions: sessionmaker[Session], clock: FrozenClock, backend: str
) -> None:
    """Two open transactions claiming at once get disjoint rows: SKIP LOCKED skips, never waits."""
    for n in range(6):
        queue(sessions, f"user{n}@example.com", f"k{n}")
    first = sessions()
    second = sessions()
    try:
        first_batch = claim_batch(first, "worker-1", limit=4, lease=LEASE)
        # If the claim waited on worker-1's row locks instead of skipping them, fail fast.
        second.execute(text("SET LOCAL lock_timeout = '2s'"))
        second_batch = claim_batch(second, "worker-2", limit=10, lease=LEASE)
        first_keys = {r.dedupe_key for r in first_batch}
        second_keys = {r.dedupe_key for r in second_batch}
        assert first_keys == {"k0", "k1", "k2", "k3"}
        assert second_keys == {"k4", "k5"}
        first.commit()
        second.commit()
    finally:
        first.close()
        second.close()
    rows = outbox(sessions)
    assert {k: r.lease_owner for k, r in rows.items()} == {
        "k0": "worker-1",
        "k1": "worker-1",
        "k2": "worker-1",
        "k3": "worker-1",
        "k4": "worker-2",
        "k5": "worker-2",
    }
    assert all(r.attempts == 1 for r in rows.values())


@pytest.mark.parametrize("backend", ["postgresql"])
def test_rolled_back_claim_on_postgresql_leaves_rows_claimable(
    sessions: sessionmaker[Session], clock: FrozenClock, backend: str
) -> None:
    """A claim whose transaction rolls back releases its rows at once."""
    queue(sessions, "a@example.com", "a")
    crashed = sessions()
    try:
        assert len(claim_batch(crashed, "crashed", limit=10, lease=LEASE)) == 1
        crashed.rollback()
    finally:
        crashed.close()
    assert claim(sessions, "worker-2") == ["a"]


# --- results ---------------------------------------------------------------------------


def test_mark_sent_records_the_send(sessions: sessionmaker[Session], clock: FrozenClock) -> None:
    """mark_sent sets sent, the time and Message-ID, clears the error and the lease."""
    queue(sessions, "a@example.com", "a")
    claim(sessions, "w")
    clock.advance(timedelta(seconds=3))
    message_id = row_id(sessions, "a")
    with session_scope(sessions) as session:
        assert mark_sent(session, message_id, "w", "<id@acme.example.com>") is True
    row = outbox(sessions)["a"]
    assert (row.status, row.sent_at, row.message_id, row.last_error) == (
        OutboxStatus.SENT,
        T0 + timedelta(seconds=3),
        "<id@acme.example.com>",
        "",
    )
    assert (row.lease_owner, row.lease_expires_at) == (None, None)


def test_mark_failed_and_skipped_record_the_reason(
    sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    """mark_failed and mark_skipped store their status and reason and clear the lease."""
    queue(sessions, "a@example.com", "a")
    queue(sessions, "b@example.com", "b")
    claim(sessions, "w")
    ids = {key: row.id for key, row in outbox(sessions).items()}
    with session_scope(sessions) as session:
        assert mark_failed(session, ids["a"], "w", "550 5.1.1 no such user")
        assert mark_skipped(session, ids["b"], "w", "address is suppressed")
    rows = outbox(sessions)
    assert (rows["a"].status, rows["a"].last_error, rows["a"].lease_owner) == (
        OutboxStatus.FAILED,
        "550 5.1.1 no such user",
        None,
    )
    assert (rows["b"].status, rows["b"].last_error, rows["b"].lease_owner) == (
        OutboxStatus.SKIPPED,
        "address is suppressed",
        None,
    )
    assert rows["a"].sent_at is None


def test_mark_retry_puts_the_row_back(sessions: sessionmaker[Session], clock: FrozenClock) -> None:
    """mark_retry makes the row pending again at the given time with the error kept."""
    queue(sessions, "a@example.com", "a")
    claim(sessions, "w")
    retry_at = T0 + timedelta(minutes=1)
    message_id = row_id(sessions, "a")
    with session_scope(sessions) as session:
        assert mark_retry(session, message_id, "w", "451 try later", retry_at=retry_at)
    row = outbox(sessions)["a"]
    assert (row.status, row.next_attempt_at, row.last_error, row.attempts) == (
        OutboxStatus.PENDING,
        retry_at,
        "451 try later",
        1,
    )
    assert (row.lease_owner, row.lease_expires_at) == (None, None)


@pytest.mark.parametrize("mark", ["sent", "failed", "skipped", "retry"])
def test_results_apply_only_for_the_lease_owner(
    sessions: sessionmaker[Session], clock: FrozenClock, mark: str
) -> None:
    """A worker that lost its lease cannot overwrite the new owner's row."""
    queue(sessions, "a@example.com", "a")
    claim(sessions, "old-owner")
    clock.advance(LEASE + timedelta(seconds=1))
    claim(sessions, "new-owner")
    message_id = row_id(sessions, "a")
    with session_scope(sessions) as session:
        applied = {
            "sent": lambda: mark_sent(session, message_id, "old-owner", "<x@y>"),
            "failed": lambda: mark_failed(session, message_id, "old-owner", "late"),
            "skipped": lambda: mark_skipped(session, message_id, "old-owner", "late"),
            "retry": lambda: mark_retry(session, message_id, "old-owner", "late", retry_at=T0),
        }[mark]()
    assert applied is False
    row = outbox(sessions)["a"]
    assert (row.status, row.lease_owner, row.last_error, row.message_id) == (
        OutboxStatus.SENDING,
        "new-owner",
        "",
        None,
    )
    with session_scope(sessions) as session:
        assert mark_sent(session, message_id, "new-owner", "<x@y>") is True


def test_results_do_not_apply_twice(sessions: sessionmaker[Session], clock: FrozenClock) -> None:
    """Once a row is finished, a second result from the same owner is refused."""
    queue(sessions, "a@example.com", "a")
    claim(sessions, "w")
    message_id = row_id(sessions, "a")
    with session_scope(sessions) as session:
        assert mark_sent(session, message_id, "w", "<x@y>") is True
        assert mark_failed(session, message_id, "w", "late") is False
    assert outbox(sessions)["a"].status is OutboxStatus.SENT


def test_results_for_unclaimed_rows_are_refused(
    sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    """A pending row that nobody claimed cannot be marked."""
    queue(sessions, "a@example.com", "a")
    message_id = row_id(sessions, "a")
    with session_scope(sessions) as session:
        assert mark_sent(session, message_id, "w", "<x@y>") is False
    assert outbox(sessions)["a"].status is OutboxStatus.PENDING


# --- report ----------------------------------------------------------------------------


def test_outbox_report_counts_every_status(
    sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    """The report counts rows per status (zeros included), the oldest pending and recent errors."""
    for key in ("sent", "failed", "skipped", "sending", "retry"):
        queue(sessions, f"{key}@example.com", key)
    claim(sessions, "w")
    clock.advance(timedelta(minutes=1))
    queue(sessions, "late@example.com", "late")
    ids = {key: row.id for key, row in outbox(sessions).items()}
    with session_scope(sessions) as session:
        mark_sent(session, ids["sent"], "w", "<x@y>")
        mark_failed(session, ids["failed"], "w", "550 no such user")
        mark_skipped(session, ids["skipped"], "w", "address is suppressed")
        mark_retry(session, ids["retry"], "w", "451 later", retry_at=T0 + timedelta(hours=1))
    with sessions() as session:
        report = outbox_report(session)
    assert report.counts == {
        "pending": 2,
        "sending": 1,
        "sent": 1,
        "skipped": 1,
        "failed": 1,
        "held": 0,
    }
    assert report.oldest_pending_at == T0
    assert report.recent_errors == [
        (ids["retry"], "pending", "451 later"),
        (ids["skipped"], "skipped", "address is suppressed"),
        (ids["failed"], "failed", "550 no such user"),
    ]
    with sessions() as session:
        assert outbox_report(session, errors=1).recent_errors == [
            (ids["retry"], "pending", "451 later")
        ]


def test_outbox_report_on_empty_outbox(db_session: Session) -> None:
    """An empty outbox reports zero everywhere and no oldest pending row."""
    report = outbox_report(db_session)
    assert report.counts == {s.value: 0 for s in OutboxStatus}
    assert (report.oldest_pending_at, report.recent_errors) == (None, [])


def test_deleting_a_candidate_row_deletes_their_queued_mail(db_session: Session) -> None:
    """Queued mail goes with a hard-deleted candidate, so an erased person is never mailed."""
    gone, _ = get_or_create_candidate(db_session, "gone@example.com")
    kept, _ = get_or_create_candidate(db_session, "kept@example.com")
    for person in (gone, kept):
        enqueue(
            db_session,
            kind=MessageKind.WELCOME,
            template="welcome",
            to_address=person.email,
            dedupe_key=f"welcome:{person.id}",
            candidate_id=person.id,
        )
    db_session.execute(delete(Candidate).where(Candidate.id == gone.id))
    remaining = db_session.scalars(select(OutboxMessage.to_address)).all()
    assert remaining == ["kept@example.com"]
    assert db_session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


# --- rows of one send, by dedupe-key prefix -------------------------------------------


def test_a_sends_rows_are_found_through_the_dedupe_key_index(
    db_session: Session, backend: str, clock: FrozenClock
) -> None:
    """A campaign's and an alert run's rows are picked by key prefix through the unique
    index (binary collation), case-sensitively, and never match a longer id."""
    from jobs.run_reports import alert_run_rows
    from mailer.campaign_admin import campaign_rows

    for key in ("campaign:7:1", "campaign:7:2", "campaign:70:1", "CAMPAIGN:7:3", "alert-run:7:1"):
        enqueue(
            db_session,
            kind=MessageKind.CAMPAIGN,
            template="campaign",
            to_address="ana@example.com",
            dedupe_key=key,
        )
    db_session.flush()

    def keys(condition: object) -> list[str]:
        return sorted(db_session.scalars(select(OutboxMessage.dedupe_key).where(condition)))

    assert keys(campaign_rows(7)) == ["campaign:7:1", "campaign:7:2"]
    assert keys(alert_run_rows(7)) == ["alert-run:7:1"]
    query = select(func.count()).select_from(OutboxMessage).where(campaign_rows(7))
    compiled = query.compile(db_session.get_bind(), compile_kwargs={"literal_binds": True})
    if backend == "postgresql":
        # Tiny tables favour a scan; forbid it to see whether the index can serve.
        db_session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(db_session.scalars(text(f"EXPLAIN {compiled}")))
        assert "uq_outbox_messages_dedupe_key" in plan, plan
    else:
        plan = "\n".join(
            str(row[-1]) for row in db_session.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))
        )
        assert "INDEX" in plan and "dedupe_key>" in plan, plan
