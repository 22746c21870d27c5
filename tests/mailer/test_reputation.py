"""The sender-reputation alarm: policy rejections warn at 2 %, pause a campaign at 5 %, resume."""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from mailer.bounces import BounceOutcome, process_report
from mailer.campaign_admin import cancel_campaign, send_now
from mailer.config import MailSettings
from mailer.models import (
    BounceEvent,
    BounceScore,
    Campaign,
    CampaignStatus,
    MessageKind,
    OutboxMessage,
    OutboxStatus,
    SendAlarm,
)
from mailer.outbox import enqueue
from mailer.reputation import (
    ResumeError,
    pause_campaign,
    release_unpaused,
    resume_campaign,
    send_key,
)
from mailer.sender import SmtpSender
from mailer.verp import verp_address
from mailer.worker import BatchResult, OutboxWorker
from preferences.clock import FrozenClock, now
from preferences.db import session_scope
from preferences.models import Candidate, MassEmail, MassEmailStatus, Suppression

from .samples import sample
from .support import SETTINGS, Relay

KEYS = ("reputation-test-key-" + "r" * 32,)
MAIL = dataclasses.replace(SETTINGS, secret_keys=KEYS)
BLOCKED = (
    "554 5.7.1 Service unavailable; Client host [198.51.100.25] blocked using zen.spamhaus.org"
)
SPAMHAUS_DSN = "postfix_spamhaus_5_7_1.eml"
DOMAINS = ("example.com", "example.net", "example.org")


def settings(**changes: object) -> MailSettings:
    return dataclasses.replace(MAIL, **changes)  # type: ignore[arg-type]


def add_audience(sessions: sessionmaker[Session], count: int) -> list[int]:
    """`count` verified candidates opted in to mass email, spread over three domains."""
    with session_scope(sessions) as session:
        candidates = [
            Candidate(email=f"c{i}@{DOMAINS[i % 3]}", email_verified_at=now()) for i in range(count)
        ]
        session.add_all(candidates)
        session.flush()
        session.add_all(
            MassEmailStatus(candidate_id=c.id, status=MassEmail.OPTED_IN) for c in candidates
        )
        return [c.id for c in candidates]


def start_campaign(sessions: sessionmaker[Session], count: int) -> int:
    """A campaign queued with Send now for `count` recipients; returns its id."""
    add_audience(sessions, count)
    with session_scope(sessions) as session:
        campaign = Campaign(name="News", subject="News from Acme", body="Hello.")
        session.add(campaign)
        session.flush()
        assert send_now(session, campaign.id) == count
        return campaign.id


def rows(sessions: sessionmaker[Session], prefix: str) -> list[OutboxMessage]:
    with sessions() as session:
        found = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.dedupe_key.like(f"{prefix}%"))
            .order_by(OutboxMessage.id)
        ).all()
        session.expunge_all()
    return list(found)


def statuses(sessions: sessionmaker[Session], prefix: str) -> Counter[str]:
    return Counter(r.status.value for r in rows(sessions, prefix))


def campaign_status(sessions: sessionmaker[Session], campaign_id: int) -> CampaignStatus:
    with sessions() as session:
        return session.get_one(Campaign, campaign_id).status


def worker(
    sessions: sessionmaker[Session], relay: Relay, mail: MailSettings, *, batch_size: int
) -> OutboxWorker:
    return OutboxWorker(
        sessions,
        lambda: SmtpSender(relay.target),
        mail,
        worker_id="reputation-test",
        batch_size=batch_size,
        lease=timedelta(minutes=5),
        connections=2,
    )


def mark_sent(sessions: sessionmaker[Session], ids: list[int]) -> None:
    with session_scope(sessions) as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids))
            .values(status=OutboxStatus.SENT, sent_at=now())
        )


def bounce(sessions: sessionmaker[Session], row_id: int, mail: MailSettings) -> BounceOutcome:
    """A Spamhaus block list DSN about the row comes back to its return path."""
    verp = verp_address(mail, row_id)
    with session_scope(sessions) as session:
        return process_report(
            session, sample(SPAMHAUS_DSN, verp=verp), recipients=[verp], settings=mail
        )


def alarm_logs(caplog: pytest.LogCaptureFixture, message: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage() == message]


def test_send_keys_name_campaigns_and_alert_runs_only() -> None:
    """A campaign's and an alert run's rows belong to a send; tests and 1:1 mail do not."""
    assert send_key("campaign:12:345") == "campaign:12:"
    assert send_key("alert-run:7:9") == "alert-run:7:"
    assert send_key("campaign-test:12:3:1.5") is None
    assert send_key("welcome:9") is None


def test_one_early_block_does_not_pause_a_large_campaign(
    sessions: sessionmaker[Session], relay: Relay, clock: FrozenClock
) -> None:
    """The first recipient refused by a block list, then 149 delivered: no alarm, all sent."""
    campaign_id = start_campaign(sessions, 150)
    first = rows(sessions, f"campaign:{campaign_id}:")[0]
    relay.handler.rcpt_replies[first.to_address] = BLOCKED
    run = worker(sessions, relay, MAIL, batch_size=50)
    results = [run.run_once() for _ in range(4)]
    assert sum(r.sent for r in results) == 149 and sum(r.failed for r in results) == 1
    assert campaign_status(sessions, campaign_id) is CampaignStatus.SENT
    assert statuses(sessions, f"campaign:{campaign_id}:") == {"sent": 149, "failed": 1}
    with sessions() as session:
        assert session.scalars(select(SendAlarm)).all() == []


def test_a_campaign_pauses_itself_past_the_pause_rate_and_resumes_without_losing_mail(
    sessions: sessionmaker[Session],
    relay: Relay,
    clock: FrozenClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """3 of the first 20 refused by a block list (15 %): warned, paused, 40 held; resume sends."""
    caplog.set_level(logging.INFO)
    mail = settings(reputation_min_sample=20)
    campaign_id = start_campaign(sessions, 60)
    prefix = f"campaign:{campaign_id}:"
    blocked = [r.to_address for r in rows(sessions, prefix)[:3]]
    for address in blocked:
        relay.handler.rcpt_replies[address] = BLOCKED
    run = worker(sessions, relay, mail, batch_size=20)
    assert run.run_once() == BatchResult(claimed=20, sent=17, failed=3)
    assert campaign_status(sessions, campaign_id) is CampaignStatus.PAUSED
    assert statuses(sessions, prefix) == {"sent": 17, "failed": 3, "held": 40}
    (warning,) = alarm_logs(caplog, "sender reputation warning")
    assert warning.levelno == logging.WARNING
    assert (warning.__dict__["send"], warning.__dict__["rate_percent"]) == (
        f"campaign:{campaign_id}",
        "15.0",
    )
    assert (warning.__dict__["policy_rejections"], warning.__dict__["handed_to_relay"]) == (3, 20)
    assert warning.__dict__["domains"] == "example.com:1,example.net:1,example.org:1"
    (paused,) = alarm_logs(caplog, "campaign paused")
    assert (paused.__dict__["campaign_id"], paused.__dict__["held"]) == (campaign_id, 40)
    # The refused addresses are kept: the block is the sender's problem.
    with sessions() as session:
        assert session.scalars(select(Suppression)).all() == []
        assert session.scalars(select(BounceScore)).all() == []
    # Paused: nothing more goes out, and nothing expires while it waits.
    assert run.run_once() == BatchResult()
    clock.advance(timedelta(days=5))
    assert run.run_once() == BatchResult()
    relay.handler.rcpt_replies.clear()
    with session_scope(sessions) as session:
        assert resume_campaign(session, campaign_id) == 40
    assert campaign_status(sessions, campaign_id) is CampaignStatus.SENT
    assert run.run_once() == BatchResult(claimed=20, sent=20)
    assert run.run_once() == BatchResult(claimed=20, sent=20)
    assert statuses(sessions, prefix) == {"sent": 57, "failed": 3}
    assert len(relay.handler.deliveries) == 57
    with session_scope(sessions) as session, pytest.raises(ResumeError):
        resume_campaign(session, campaign_id)


def test_rows_claimed_while_the_campaign_is_paused_are_held_not_sent_or_lost(
    sessions: sessionmaker[Session], relay: Relay, clock: FrozenClock
) -> None:
    """A worker that finds the campaign paused records its rows as held; resume releases them."""
    campaign_id = start_campaign(sessions, 6)
    with session_scope(sessions) as session:
        session.get_one(Campaign, campaign_id).status = CampaignStatus.PAUSED
    run = worker(sessions, relay, MAIL, batch_size=10)
    assert run.run_once() == BatchResult(claimed=6, held=6)
    assert statuses(sessions, f"campaign:{campaign_id}:") == {"held": 6}
    assert {r.last_error for r in rows(sessions, f"campaign:{campaign_id}:")} == {
        "the campaign is paused"
    }
    assert relay.handler.deliveries == []
    with session_scope(sessions) as session:
        resume_campaign(session, campaign_id)
    assert run.run_once() == BatchResult(claimed=6, sent=6)


def test_held_rows_of_a_campaign_resumed_meanwhile_go_back_to_the_queue(
    sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    """A batch held after the resume ran would stay held behind a running campaign; not so."""
    campaign_id = start_campaign(sessions, 3)
    ids = [r.id for r in rows(sessions, f"campaign:{campaign_id}:")]
    with session_scope(sessions) as session:
        session.execute(
            update(OutboxMessage).where(OutboxMessage.id.in_(ids[:2])).values(status="held")
        )
        assert release_unpaused(session, ids) == 2
    assert statuses(sessions, f"campaign:{campaign_id}:") == {"pending": 3}
    with session_scope(sessions) as session:
        session.get_one(Campaign, campaign_id).status = CampaignStatus.PAUSED
        session.execute(
            update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(status="held")
        )
        assert release_unpaused(session, ids) == 0  # still paused: they stay held


def test_cancelling_a_paused_campaign_skips_its_held_rows(
    sessions: sessionmaker[Session], relay: Relay, clock: FrozenClock
) -> None:
    """Cancel settles held rows as skipped (the campaign was cancelled); nothing is sent."""
    campaign_id = start_campaign(sessions, 5)
    with session_scope(sessions) as session:
        assert pause_campaign(session, campaign_id) == 5
    with session_scope(sessions) as session:
        assert cancel_campaign(session, campaign_id) == 5
    assert campaign_status(sessions, campaign_id) is CampaignStatus.CANCELLED
    assert statuses(sessions, f"campaign:{campaign_id}:") == {"skipped": 5}
    assert {r.last_error for r in rows(sessions, f"campaign:{campaign_id}:")} == {
        "the campaign was cancelled"
    }
    assert worker(sessions, relay, MAIL, batch_size=10).run_once() == BatchResult()
    with session_scope(sessions) as session, pytest.raises(ResumeError):
        resume_campaign(session, campaign_id)


def test_bounce_messages_pause_a_campaign_and_a_resume_starts_a_fresh_sample(
    sessions: sessionmaker[Session], clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    """2 policy DSNs of 30 sent (6.7 %) pause it; after resume one more does not (new sample)."""
    caplog.set_level(logging.INFO)
    mail = settings(reputation_min_sample=20)
    campaign_id = start_campaign(sessions, 50)
    prefix = f"campaign:{campaign_id}:"
    queued = rows(sessions, prefix)
    mark_sent(sessions, [r.id for r in queued[:30]])
    assert bounce(sessions, queued[0].id, mail) is BounceOutcome.POLICY_RECORDED
    assert campaign_status(sessions, campaign_id) is CampaignStatus.SENT  # 3.3 %: a warning
    assert len(alarm_logs(caplog, "sender reputation warning")) == 1
    assert bounce(sessions, queued[1].id, mail) is BounceOutcome.POLICY_RECORDED
    assert campaign_status(sessions, campaign_id) is CampaignStatus.PAUSED
    assert statuses(sessions, prefix) == {"sent": 30, "held": 20}
    assert len(alarm_logs(caplog, "sender reputation warning")) == 1  # once per sample
    with session_scope(sessions) as session:
        resume_campaign(session, campaign_id)
        alarm = session.get_one(SendAlarm, prefix)
        assert (alarm.base_policy, alarm.base_handed, alarm.paused_at) == (2, 30, None)
    assert bounce(sessions, queued[2].id, mail) is BounceOutcome.POLICY_RECORDED
    assert campaign_status(sessions, campaign_id) is CampaignStatus.SENT
    assert statuses(sessions, prefix) == {"sent": 30, "pending": 20}
    with sessions() as session:
        assert session.scalars(select(Suppression)).all() == []


def test_an_alert_run_is_warned_about_once_and_never_paused(
    sessions: sessionmaker[Session], clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    """3 of 100 digests refused (3 %) logs one warning; 8 (8 %) still pauses nothing."""
    caplog.set_level(logging.INFO)
    ids = add_audience(sessions, 110)
    with session_scope(sessions) as session:
        for candidate_id in ids:
            enqueue(
                session,
                kind=MessageKind.JOB_ALERT,
                template="job_alert",
                to_address=session.get_one(Candidate, candidate_id).email,
                dedupe_key=f"alert-run:7:{candidate_id}",
                candidate_id=candidate_id,
            )
    run_rows = rows(sessions, "alert-run:7:")
    mark_sent(sessions, [r.id for r in run_rows[:100]])
    for row in run_rows[:2]:
        bounce(sessions, row.id, MAIL)
    assert alarm_logs(caplog, "sender reputation warning") == []  # 2 %: not above it
    for row in run_rows[2:8]:
        bounce(sessions, row.id, MAIL)
    (warning,) = alarm_logs(caplog, "sender reputation warning")
    assert (warning.__dict__["send"], warning.__dict__["policy_rejections"]) == ("alert-run:7", 3)
    assert warning.__dict__["threshold_percent"] == 2.0
    assert alarm_logs(caplog, "campaign paused") == []
    assert statuses(sessions, "alert-run:7:") == {"sent": 100, "pending": 10}
    with sessions() as session:
        assert len(session.scalars(select(BounceEvent)).all()) == 8


def test_zero_turns_the_pause_off(sessions: sessionmaker[Session], clock: FrozenClock) -> None:
    """REPUTATION_PAUSE_PERCENT=0: every message refused, and the campaign still goes on."""
    mail = settings(reputation_min_sample=5, reputation_pause_percent=0.0)
    campaign_id = start_campaign(sessions, 10)
    queued = rows(sessions, f"campaign:{campaign_id}:")
    mark_sent(sessions, [r.id for r in queued[:5]])
    for row in queued[:5]:
        bounce(sessions, row.id, mail)
    assert campaign_status(sessions, campaign_id) is CampaignStatus.SENT
    assert statuses(sessions, f"campaign:{campaign_id}:") == {"sent": 5, "pending": 5}
