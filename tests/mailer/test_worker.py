"""The sender worker end to end: outbox rows in, SMTP out, results recorded."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mailer.config import SmtpTarget
from mailer.models import BounceEvent, BounceScore, MessageKind, OutboxStatus
from mailer.outbox import claim_batch
from mailer.sender import SmtpSender
from mailer.sink import MailSink, MemoryStore
from mailer.worker import BatchResult, OutboxWorker, retry_delay
from preferences.clock import FrozenClock
from preferences.db import session_scope
from preferences.models import (
    Candidate,
    CandidateStatus,
    ConsentSource,
    MassEmail,
    SuppressionReason,
)
from preferences.subscriptions import opt_out_mass_email
from preferences.suppressions import is_suppressed, suppress

from .support import SETTINGS, T0, Delivery, Relay, add_candidate, closed_port_target, outbox, queue

WORKER_ID = "test-worker"
LEASE = timedelta(minutes=5)


def make_worker(
    sessions: sessionmaker[Session],
    target: SmtpTarget,
    *,
    batch_size: int = 50,
    connections: int = 4,
) -> OutboxWorker:
    return OutboxWorker(
        sessions,
        lambda: SmtpSender(target),
        SETTINGS,
        worker_id=WORKER_ID,
        batch_size=batch_size,
        lease=LEASE,
        connections=connections,
    )


def sink_target(sink: MailSink) -> SmtpTarget:
    return SmtpTarget.from_url(f"{sink.url}?timeout=5")


def store(sink: MailSink) -> MemoryStore:
    assert isinstance(sink.store, MemoryStore)
    return sink.store


def test_welcome_message_is_delivered_and_marked_sent(
    sessions: sessionmaker[Session], smtp_server: MailSink, clock: FrozenClock
) -> None:
    """A queued welcome reaches the relay with the right envelope and headers and is marked sent."""
    ana = add_candidate(sessions, "ana@example.com", first_name="Ana", verified=True)
    queue(sessions, "Ana@Example.com", "welcome:ana", candidate_id=ana)
    result = make_worker(sessions, sink_target(smtp_server)).run_once()
    assert result == BatchResult(claimed=1, sent=1)
    (received,) = store(smtp_server).wait_for(1)
    # SETTINGS has no secret key to sign a VERP token with (see test_bounces for those).
    assert received.envelope_from == "bounces@acme.example.com"
    assert received.envelope_to == ("ana@example.com",)
    email = received.parsed()
    assert email["From"] == "Acme Careers <careers@acme.example.com>"
    assert email["To"] == "ana@example.com"
    assert email["Subject"] == "Welcome to the Acme talent community"
    assert email["Date"] == "Mon, 02 Nov 2026 09:30:00 +0000"
    assert str(email["Message-ID"]).endswith("@acme.example.com>")
    for header in ("From", "To", "Subject", "Date", "Message-ID"):
        assert len(email.get_all(header) or []) == 1, header
    assert email.get_content_type() == "multipart/alternative"
    text_part, html_part = email.iter_parts()
    assert text_part.get_content().startswith("Hi Ana,")
    assert "https://careers.acme.example.com/jobs" in text_part.get_content()
    assert "1 Test Street, Testville" in text_part.get_content()
    assert html_part.get_content_type() == "text/html"
    row = outbox(sessions)["welcome:ana"]
    assert (row.status, row.attempts, row.last_error, row.sent_at) == (
        OutboxStatus.SENT,
        1,
        "",
        T0,
    )
    assert row.message_id == email["Message-ID"]
    assert (row.lease_owner, row.lease_expires_at) == (None, None)


def test_context_from_the_row_reaches_the_template(
    sessions: sessionmaker[Session], smtp_server: MailSink, clock: FrozenClock
) -> None:
    """Values stored in the row's context override the defaults when rendering."""
    queue(sessions, "bob@example.com", "welcome:bob", context={"first_name": "Robert"})
    make_worker(sessions, sink_target(smtp_server)).run_once()
    (received,) = store(smtp_server).wait_for(1)
    assert next(received.parsed().iter_parts()).get_content().startswith("Hi Robert,")


def test_nothing_due_means_an_empty_batch(
    sessions: sessionmaker[Session], smtp_server: MailSink, clock: FrozenClock
) -> None:
    """With nothing queued the worker claims nothing and opens no connection."""
    assert make_worker(sessions, sink_target(smtp_server)).run_once() == BatchResult()
    assert store(smtp_server).messages == []


def test_suppressed_address_is_skipped(
    sessions: sessionmaker[Session], smtp_server: MailSink, clock: FrozenClock
) -> None:
    """A message to a suppressed address is not sent and records why."""
    ana = add_candidate(sessions, "ana@example.com")
    queue(sessions, "ana@example.com", "welcome:ana", candidate_id=ana)
    queue(sessions, "bob@example.com", "welcome:bob")
    with session_scope(sessions) as session:
        suppress(session, "ANA@example.com", SuppressionReason.HARD_BOUNCE)
    result = make_worker(sessions, sink_target(smtp_server)).run_once()
    assert result == BatchResult(claimed=2, sent=1, skipped=1)
    assert [m.envelope_to for m in store(smtp_server).messages] == [("bob@example.com",)]
    row = outbox(sessions)["welcome:ana"]
    assert (row.status, row.last_error, row.sent_at, row.lease_owner) == (
        OutboxStatus.SKIPPED,
        "address is suppressed",
        None,
        None,
    )


def test_deleted_candidate_is_skipped(
    sessions: sessionmaker[Session], smtp_server: MailSink, clock: FrozenClock
) -> None:
    """A message to a candidate deleted after queueing is not sent."""
    ana = add_candidate(sessions, "ana@example.com", status=CandidateStatus.DELETED)
    queue(sessions, "ana@example.com", "welcome:ana", candidate_id=ana)
    assert make_worker(sessions, sink_target(smtp_server)).run_once() == BatchResult(
        claimed=1, skipped=1
    )
    assert store(smtp_server).messages == []
    row = outbox(sessions)["welcome:ana"]
    assert (row.status, row.last_error) == (OutboxStatus.SKIPPED, "candidate was deleted")


def test_campaign_goes_only_to_opted_in_candidates(
    sessions: sessionmaker[Session], smtp_server: MailSink, clock: FrozenClock
) -> None:
    """A campaign is skipped for an opted-out candidate and sent to an opted-in one."""
    opted_in = add_candidate(sessions, "in@example.com", mass_email=MassEmail.OPTED_IN)
    opted_out = add_candidate(sessions, "out@example.com", mass_email=MassEmail.OPTED_OUT)
    never_asked = add_candidate(sessions, "never@example.com")
    for address, candidate_id in (
        ("in@example.com", opted_in),
        ("out@example.com", opted_out),
        ("never@example.com", never_asked),
    ):
        queue(
            sessions,
            address,
            f"campaign:1:{candidate_id}",
            kind=MessageKind.CAMPAIGN,
            candidate_id=candidate_id,
        )
    result = make_worker(sessions, sink_target(smtp_server)).run_once()
    assert result == BatchResult(claimed=3, sent=1, skipped=2)
    assert [m.envelope_to for m in store(smtp_server).messages] == [("in@example.com",)]
    rows = outbox(sessions)
    for candidate_id in (opted_out, never_asked):
        row = rows[f"campaign:1:{candidate_id}"]
        assert (row.status, row.last_error) == (
            OutboxStatus.SKIPPED,
            "candidate is opted out of mass email",
        )


def test_opt_out_after_queueing_is_honoured(
    sessions: sessionmaker[Session], smtp_server: MailSink, clock: FrozenClock
) -> None:
    """An opt-out that lands after the campaign was queued still stops the send."""
    ana = add_candidate(sessions, "ana@example.com", mass_email=MassEmail.OPTED_IN)
    queue(sessions, "ana@example.com", "campaign:1", kind=MessageKind.CAMPAIGN, candidate_id=ana)
    with session_scope(sessions) as session:
        candidate = session.get(Candidate, ana)
        assert candidate is not None
        opt_out_mass_email(session, candidate, source=ConsentSource.ONE_CLICK)
    make_worker(sessions, sink_target(smtp_server)).run_once()
    assert store(smtp_server).messages == []
    assert outbox(sessions)["campaign:1"].status is OutboxStatus.SKIPPED


def test_permanent_refusal_marks_the_message_failed(
    sessions: sessionmaker[Session], relay: Relay, clock: FrozenClock
) -> None:
    """A 550 answer fails the message for good with the relay's text; the batch goes on."""
    relay.handler.rcpt_replies["gone@example.com"] = "550 5.1.1 no such user"
    queue(sessions, "gone@example.com", "a")
    queue(sessions, "ana@example.com", "b")
    result = make_worker(sessions, relay.target).run_once()
    assert result == BatchResult(claimed=2, sent=1, failed=1)
    rows = outbox(sessions)
    assert (rows["a"].status, rows["a"].last_error, rows["a"].attempts) == (
        OutboxStatus.FAILED,
        "550 5.1.1 no such user",
        1,
    )
    assert (rows["a"].lease_owner, rows["a"].sent_at) == (None, None)
    assert rows["b"].status is OutboxStatus.SENT
    clock.advance(timedelta(days=1))
    assert make_worker(sessions, relay.target).run_once() == BatchResult()
    # A refused recipient is a hard bounce: the address is suppressed for good.
    with session_scope(sessions) as session:
        assert is_suppressed(session, "gone@example.com")
        assert not is_suppressed(session, "ana@example.com")
    queue(sessions, "gone@example.com", "c")
    assert make_worker(sessions, relay.target).run_once() == BatchResult(claimed=1, skipped=1)


def test_refused_message_fails_without_suppressing_the_address(
    sessions: sessionmaker[Session], relay: Relay, clock: FrozenClock
) -> None:
    """A 554 to the message itself (not the recipient) fails it but is no hard bounce."""
    relay.handler.data_replies["ana@example.com"] = "554 5.7.1 message refused"
    queue(sessions, "ana@example.com", "a")
    assert make_worker(sessions, relay.target).run_once() == BatchResult(claimed=1, failed=1)
    assert outbox(sessions)["a"].status is OutboxStatus.FAILED
    with session_scope(sessions) as session:
        assert not is_suppressed(session, "ana@example.com")


SYNC_BOUNCES = {
    # stage, reply -> suppressed, soft score, bounce event category
    "gmail unsolicited at RCPT": (
        "rcpt",
        # A multi-line reply, as Gmail sends it.
        "550-5.7.1 [198.51.100.25 12] Our system has detected that this message is\r\n"
        "550-5.7.1 likely unsolicited mail. To reduce the amount of spam sent to Gmail,\r\n"
        "550 5.7.1 this message has been blocked.",
        False,
        None,
        "policy",
    ),
    "block list at RCPT": (
        "rcpt",
        "554 5.7.1 Service unavailable; Client host [198.51.100.25] blocked using zen.spamhaus.org",
        False,
        None,
        "policy",
    ),
    "mailbox full at DATA": ("data", "552 5.2.2 mailbox full", False, 0.5, "mailbox_full"),
    "too large at DATA": (
        "data",
        "552 5.3.4 Message size exceeds fixed maximum message size",
        False,
        0.5,
        "too_large",
    ),
    "quota without an enhanced code at RCPT": (
        "rcpt",
        "550 Mailbox quota exceeded",
        False,
        0.5,
        "mailbox_full",
    ),
    "no such user at RCPT": ("rcpt", "550 5.1.1 no such user", True, None, "address"),
    "no such user at DATA": (
        "data",
        "550 5.1.1 <gone@example.com>: no such user",
        True,
        None,
        "address",
    ),
}


@pytest.mark.parametrize("name", sorted(SYNC_BOUNCES))
def test_a_refusal_at_send_time_goes_through_the_bounce_classifier(
    sessions: sessionmaker[Session], relay: Relay, clock: FrozenClock, name: str
) -> None:
    """Only an address failure suppresses; a policy block is recorded, a full mailbox scored."""
    stage, reply, suppressed, score, category = SYNC_BOUNCES[name]
    replies = relay.handler.rcpt_replies if stage == "rcpt" else relay.handler.data_replies
    replies["gone@example.com"] = reply
    queue(sessions, "gone@example.com", "a")
    assert make_worker(sessions, relay.target).run_once() == BatchResult(claimed=1, failed=1)
    row = outbox(sessions)["a"]
    assert row.status is OutboxStatus.FAILED
    assert row.last_error.startswith(reply[:3])
    with session_scope(sessions) as session:
        assert is_suppressed(session, "gone@example.com") is suppressed
        scores = [s.score for s in session.scalars(select(BounceScore))]
        assert scores == ([score] if score is not None else [])
        events = [
            (e.outbox_id, e.category.value, e.via, e.domain)
            for e in session.scalars(select(BounceEvent))
        ]
    assert events == [(row.id, category, "smtp", "example.com")]
    # The next message to a kept address goes out once the relay takes it again.
    replies.clear()
    queue(sessions, "gone@example.com", "b")
    expected = BatchResult(claimed=1, skipped=1) if suppressed else BatchResult(claimed=1, sent=1)
    assert make_worker(sessions, relay.target).run_once() == expected


def test_temporary_refusal_schedules_a_retry(
    sessions: sessionmaker[Session], relay: Relay, clock: FrozenClock
) -> None:
    """A 451 answer puts the message back as pending, about a minute later, with the error."""
    relay.handler.data_replies["ana@example.com"] = "451 4.3.0 try later"
    queue(sessions, "ana@example.com", "a")
    worker = make_worker(sessions, relay.target)
    assert worker.run_once() == BatchResult(claimed=1, retried=1)
    row = outbox(sessions)["a"]
    assert (row.status, row.attempts, row.last_error) == (
        OutboxStatus.PENDING,
        1,
        "451 4.3.0 try later",
    )
    assert T0 + timedelta(seconds=30) <= row.next_attempt_at <= T0 + timedelta(seconds=90)
    assert (row.lease_owner, row.lease_expires_at) == (None, None)
    # Not due yet: nothing is claimed before next_attempt_at.
    assert worker.run_once() == BatchResult()
    # Second failure: attempts counts up and the back-off doubles.
    clock.advance(timedelta(minutes=2))
    second_try = T0 + timedelta(minutes=2)
    assert worker.run_once() == BatchResult(claimed=1, retried=1)
    row = outbox(sessions)["a"]
    assert row.attempts == 2
    assert (
        second_try + timedelta(minutes=1)
        <= row.next_attempt_at
        <= second_try + timedelta(minutes=3)
    )
    # The relay recovers: the retry is delivered and the error cleared.
    del relay.handler.data_replies["ana@example.com"]
    clock.advance(timedelta(minutes=5))
    assert worker.run_once() == BatchResult(claimed=1, sent=1)
    row = outbox(sessions)["a"]
    assert (row.status, row.attempts, row.last_error) == (OutboxStatus.SENT, 3, "")
    assert [d.rcpt_tos for d in relay.handler.deliveries] == [("ana@example.com",)]


def test_relay_down_schedules_retries(sessions: sessionmaker[Session], clock: FrozenClock) -> None:
    """When the relay cannot be reached every message is retried later with the reason."""
    target = closed_port_target()
    queue(sessions, "ana@example.com", "a")
    queue(sessions, "bob@example.com", "b")
    assert make_worker(sessions, target).run_once() == BatchResult(claimed=2, retried=2)
    for row in outbox(sessions).values():
        assert row.status is OutboxStatus.PENDING
        assert row.attempts == 1
        assert row.next_attempt_at > T0
        assert row.last_error.startswith(f"cannot reach the relay 127.0.0.1:{target.port}: ")


def test_dropped_connection_retries_that_message_and_sends_the_next(
    sessions: sessionmaker[Session], relay: Relay, clock: FrozenClock
) -> None:
    """A connection cut mid-message retries that message; the worker reconnects for the rest."""
    relay.handler.drop_on_data.add("ana@example.com")
    queue(sessions, "ana@example.com", "a")
    queue(sessions, "bob@example.com", "b")
    assert make_worker(sessions, relay.target).run_once() == BatchResult(
        claimed=2, sent=1, retried=1
    )
    rows = outbox(sessions)
    assert rows["a"].status is OutboxStatus.PENDING
    assert rows["a"].last_error.startswith("connection to the relay failed: ")
    assert rows["b"].status is OutboxStatus.SENT


def test_message_past_deliver_until_is_not_sent(
    sessions: sessionmaker[Session], smtp_server: MailSink, clock: FrozenClock
) -> None:
    """A message claimed after its deliver_until fails as expired and never reaches the relay."""
    queue(sessions, "ana@example.com", "a", deliver_within=timedelta(hours=1))
    clock.advance(timedelta(hours=1, minutes=1))
    target = SmtpTarget(host=smtp_server.host, port=smtp_server.port)
    assert make_worker(sessions, target).run_once() == BatchResult(claimed=1, failed=1)
    row = outbox(sessions)["a"]
    assert (row.status, row.last_error) == (OutboxStatus.FAILED, "expired before it could be sent")
    assert isinstance(smtp_server.store, MemoryStore)
    assert smtp_server.store.messages == []


def test_gives_up_when_the_next_retry_would_be_too_late(
    sessions: sessionmaker[Session], relay: Relay, clock: FrozenClock
) -> None:
    """A retry that would land after deliver_until is not scheduled; the message fails."""
    relay.handler.rcpt_replies["ana@example.com"] = "451 4.3.0 try later"
    queue(sessions, "ana@example.com", "a", deliver_within=timedelta(seconds=20))
    assert make_worker(sessions, relay.target).run_once() == BatchResult(claimed=1, failed=1)
    row = outbox(sessions)["a"]
    assert (row.status, row.last_error) == (
        OutboxStatus.FAILED,
        "gave up after 1 attempts: 451 4.3.0 try later",
    )


def test_internationalized_recipient_is_delivered_with_smtputf8(
    sessions: sessionmaker[Session], smtp_server: MailSink, clock: FrozenClock
) -> None:
    """An internationalized address is delivered through a relay that offers SMTPUTF8."""
    jose = add_candidate(sessions, "josé@exämple.test", first_name="José", verified=True)
    queue(sessions, "JOSÉ@EXÄMPLE.TEST", "welcome:jose", candidate_id=jose)
    assert make_worker(sessions, sink_target(smtp_server)).run_once() == BatchResult(
        claimed=1, sent=1
    )
    (received,) = store(smtp_server).wait_for(1)
    assert received.envelope_to == ("josé@exämple.test",)
    email = received.parsed()
    assert email["To"] == "josé@exämple.test"
    assert next(email.iter_parts()).get_content().startswith("Hi José,")
    assert outbox(sessions)["welcome:jose"].status is OutboxStatus.SENT


def test_internationalized_recipient_uses_the_smtputf8_parameter(
    sessions: sessionmaker[Session], relay: Relay, clock: FrozenClock
) -> None:
    """The worker's MAIL FROM carries SMTPUTF8 for an internationalized recipient."""
    queue(sessions, "josé@exämple.test", "a")
    make_worker(sessions, relay.target).run_once()
    (delivery,) = relay.handler.deliveries
    assert "SMTPUTF8" in delivery.mail_options


def test_internationalized_recipient_fails_without_smtputf8(
    sessions: sessionmaker[Session], relay_factory: Callable[..., Relay], clock: FrozenClock
) -> None:
    """Without SMTPUTF8 the internationalized message fails with a clear reason; others go out."""
    relay = relay_factory(smtputf8=False)
    queue(sessions, "ana@example.com", "a")
    queue(sessions, "josé@exämple.test", "b")
    queue(sessions, "bob@example.com", "c")
    result = make_worker(sessions, relay.target).run_once()
    assert result == BatchResult(claimed=3, sent=2, failed=1)
    rows = outbox(sessions)
    assert (rows["b"].status, rows["b"].last_error) == (
        OutboxStatus.FAILED,
        "the relay does not offer SMTPUTF8, needed for josé@exämple.test",
    )
    assert rows["a"].status is OutboxStatus.SENT
    assert rows["c"].status is OutboxStatus.SENT
    # Four connections send at once, so the relay may see them in either order.
    assert sorted(d.rcpt_tos for d in relay.handler.deliveries) == [
        ("ana@example.com",),
        ("bob@example.com",),
    ]


def test_unknown_template_fails_that_message_only(
    sessions: sessionmaker[Session], smtp_server: MailSink, clock: FrozenClock
) -> None:
    """A message naming a missing template fails with the reason; the batch carries on."""
    queue(sessions, "ana@example.com", "a", template="no_such_template")
    queue(sessions, "bob@example.com", "b")
    result = make_worker(sessions, sink_target(smtp_server)).run_once()
    assert result == BatchResult(claimed=2, sent=1, failed=1)
    row = outbox(sessions)["a"]
    assert (row.status, row.last_error) == (
        OutboxStatus.FAILED,
        "render failed: no email template named 'no_such_template.mjml'",
    )
    assert [m.envelope_to for m in store(smtp_server).messages] == [("bob@example.com",)]


def test_stop_mid_batch_releases_unsent_rows(
    sessions: sessionmaker[Session], relay: Relay, clock: FrozenClock
) -> None:
    """After stop() the message in flight finishes and the rest go straight back to pending."""
    for key in ("a", "b", "c"):
        queue(sessions, f"{key}@example.com", key)
    # One connection: exactly one message is in flight when stop() comes.
    worker = make_worker(sessions, relay.target, connections=1)

    def stop_after_first(_delivery: Delivery) -> None:
        worker.stop()

    relay.handler.on_delivery = stop_after_first
    result = worker.run_once()
    assert result == BatchResult(claimed=3, sent=1, released=2)
    assert worker.stopping is True
    rows = outbox(sessions)
    assert rows["a"].status is OutboxStatus.SENT
    for key in ("b", "c"):
        assert rows[key].status is OutboxStatus.PENDING
        assert (rows[key].lease_owner, rows[key].lease_expires_at) == (None, None)
        assert rows[key].next_attempt_at == T0
    assert len(relay.handler.deliveries) == 1
    # Released rows are claimable at once by another worker, without waiting out the lease.
    relay.handler.on_delivery = None
    assert make_worker(sessions, relay.target).run_once() == BatchResult(claimed=2, sent=2)


def test_run_until_empty_drains_every_batch(
    sessions: sessionmaker[Session], relay: Relay, clock: FrozenClock
) -> None:
    """run(until_empty=True) keeps claiming batches until nothing is due, then returns."""
    for n in range(5):
        queue(sessions, f"user{n}@example.com", f"k{n}")
    relay.handler.rcpt_replies["user2@example.com"] = "451 4.3.0 try later"
    make_worker(sessions, relay.target, batch_size=2).run(until_empty=True)
    statuses = {key: row.status for key, row in outbox(sessions).items()}
    assert statuses == {
        "k0": OutboxStatus.SENT,
        "k1": OutboxStatus.SENT,
        "k2": OutboxStatus.PENDING,
        "k3": OutboxStatus.SENT,
        "k4": OutboxStatus.SENT,
    }
    assert len(relay.handler.deliveries) == 4


def test_lost_lease_does_not_overwrite_the_new_owner(
    sessions: sessionmaker[Session], relay: Relay, clock: FrozenClock
) -> None:
    """If the lease expired and another worker took the row mid-send, its result stands."""
    queue(sessions, "ana@example.com", "a")

    def steal(_delivery: Delivery) -> None:
        clock.advance(LEASE + timedelta(seconds=1))
        with session_scope(sessions) as session:
            assert len(claim_batch(session, "other-worker", limit=10, lease=LEASE)) == 1

    relay.handler.on_delivery = steal
    assert make_worker(sessions, relay.target).run_once() == BatchResult(claimed=1, sent=1)
    row = outbox(sessions)["a"]
    assert (row.status, row.lease_owner, row.attempts) == (
        OutboxStatus.SENDING,
        "other-worker",
        2,
    )


@pytest.mark.parametrize(
    ("attempts", "base"),
    [
        (0, timedelta(minutes=1)),
        (1, timedelta(minutes=1)),
        (2, timedelta(minutes=2)),
        (3, timedelta(minutes=4)),
        (7, timedelta(minutes=64)),
        (20, timedelta(hours=1)),
    ],
)
def test_retry_delay_backs_off_exponentially_with_jitter(attempts: int, base: timedelta) -> None:
    """The delay doubles per attempt up to an hour, jittered to between half and one and a half."""
    cap = min(base, timedelta(hours=1))
    for _ in range(50):
        delay = retry_delay(attempts)
        assert cap * 0.5 <= delay <= cap * 1.5


def test_send_rate_limits_messages_per_second(
    sessions: sessionmaker[Session], smtp_server: MailSink, clock: FrozenClock
) -> None:
    """At SEND_RATE 20/s, 30 messages take at least half a second (one second of burst)."""
    for n in range(30):
        queue(sessions, f"r{n}@example.com", f"r{n}")
    worker = OutboxWorker(
        sessions,
        lambda: SmtpSender(sink_target(smtp_server)),
        SETTINGS,
        worker_id=WORKER_ID,
        batch_size=50,
        lease=LEASE,
        rate=20.0,
    )
    started = time.monotonic()
    assert worker.run_once() == BatchResult(claimed=30, sent=30)
    assert time.monotonic() - started >= 0.45
    assert len(store(smtp_server).wait_for(30)) == 30


def test_a_relay_reply_with_control_characters_is_recorded_without_them(
    sessions: sessionmaker[Session], relay: Relay, clock: FrozenClock
) -> None:
    """A relay's error text holding NUL and other control characters is stored without them
    (PostgreSQL refuses NUL), so the batch is recorded and the message retried as usual."""
    relay.handler.data_replies["ana@example.com"] = "451 4.3.0 try\x00 later\x01\x1b[31m"
    queue(sessions, "ana@example.com", "a")
    assert make_worker(sessions, relay.target).run_once() == BatchResult(claimed=1, retried=1)
    row = outbox(sessions)["a"]
    assert (row.status, row.last_error) == (OutboxStatus.PENDING, "451 4.3.0 try later[31m")
