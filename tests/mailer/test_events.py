"""Webhook events of the mailer: hard bounces, complaints, sent campaigns, retention expiry."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mailer.bounces import (
    BounceOutcome,
    Target,
    process_report,
    record_bounce,
    smtp_report,
)
from mailer.campaign_admin import CampaignDraft, save_draft, send_now
from mailer.config import MailSettings
from mailer.models import MessageKind
from mailer.verp import bounce_mailbox, verp_address
from preferences.clock import FrozenClock
from preferences.db import session_scope
from preferences.models import (
    Candidate,
    ConsentSource,
    Interest,
)
from preferences.retention import add_months
from preferences.subscriptions import get_or_create_candidate, opt_in_mass_email, subscribe
from tests.webhook_events import assert_no_personal_data, stored_events, types_of

from .samples import DELAYED_4_2_2, HARD_5_1_1, YAHOO_ARF, sample
from .support import SETTINGS, outbox, queue
from .test_retention_run import T0 as RETENTION_T0
from .test_retention_run import join, run

KEYS = ("events-test-key-" + "e" * 32,)
MAIL = dataclasses.replace(SETTINGS, secret_keys=KEYS)
ANA = "ana.perez@example.com"
REPORT_TYPES = ("bounce.hard", "bounce.soft_limit", "complaint.received", "mass_email.changed")


@dataclasses.dataclass(frozen=True)
class Ana:
    candidate_id: int
    public_id: str
    outbox_id: int

    @property
    def verp(self) -> str:
        return verp_address(MAIL, self.outbox_id)


@pytest.fixture
def ana(sessions: sessionmaker[Session], clock: FrozenClock) -> Ana:
    """Ana Perez, subscribed to two interests and opted in to mass email, with one alert queued."""
    with session_scope(sessions) as session:
        candidate, _ = get_or_create_candidate(session, ANA, first_name="Ana", last_name="Perez")
        interests = [Interest(name="Design", slug="design"), Interest(name="Data", slug="data")]
        session.add_all(interests)
        session.flush()
        for interest in interests:
            subscribe(
                session, candidate, interest, source=ConsentSource.CONNECT_FORM, confirmed=True
            )
        opt_in_mass_email(session, candidate, source=ConsentSource.CONNECT_FORM)
        candidate_id, public_id = candidate.id, candidate.public_id
    queue(sessions, ANA, "alert:ana", kind=MessageKind.JOB_ALERT, candidate_id=candidate_id)
    return Ana(candidate_id, public_id, outbox(sessions)["alert:ana"].id)


def process(
    sessions: sessionmaker[Session],
    raw: bytes,
    recipients: list[str],
    settings: MailSettings = MAIL,
) -> BounceOutcome:
    with session_scope(sessions) as session:
        return process_report(session, raw, recipients=recipients, settings=settings)


def test_a_hard_bounce_is_one_bounce_hard_event_and_no_mass_email_change(
    sessions: sessionmaker[Session], ana: Ana
) -> None:
    """A 5.1.1 DSN: bounce.hard with the code and the message kind; repeated, nothing more."""
    raw = sample(HARD_5_1_1, verp=ana.verp)
    assert process(sessions, raw, [ana.verp]) is BounceOutcome.HARD_BOUNCE_SUPPRESSED
    assert process(sessions, raw, [ana.verp]) is BounceOutcome.ALREADY_SUPPRESSED
    facts = stored_events(sessions, *REPORT_TYPES, "candidate.unsubscribed")
    assert facts[-1] == (
        "bounce.hard",
        ana.public_id,
        {"status": "5.1.1", "message_kind": "job_alert"},
        "dsn",
    )
    # The mass-email choice was opted in before and after: the stop record is no change.
    assert types_of(facts) == ["mass_email.changed", "bounce.hard"]
    assert facts[0][2]["status"] == "opted_in"
    assert_no_personal_data(facts, "ana", "perez", "example.com")


def test_the_relays_own_refusal_at_send_time_is_a_bounce_hard_via_smtp(
    sessions: sessionmaker[Session], ana: Ana
) -> None:
    """A 550 5.1.1 at RCPT goes through record_bounce: bounce.hard with source smtp."""
    with session_scope(sessions) as session:
        report = smtp_report(550, f"5.1.1 <{ANA}>: Recipient address rejected: no such user")
        target = Target(ANA, ana.candidate_id, ana.outbox_id)
        assert record_bounce(session, target, report, MAIL, via="smtp") is (
            BounceOutcome.HARD_BOUNCE_SUPPRESSED
        )
    facts = stored_events(sessions, "bounce.hard")
    assert facts == [
        ("bounce.hard", ana.public_id, {"status": "5.1.1", "message_kind": "job_alert"}, "smtp")
    ]
    assert_no_personal_data(facts, "ana", "perez")


def test_a_hard_bounce_of_mail_to_no_candidate_names_none(
    sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    """An outbox row without a candidate (a recruiter's mail) bounces with candidate None."""
    queue(sessions, "rita@acme.example.com", "welcome:rita")
    verp = verp_address(MAIL, outbox(sessions)["welcome:rita"].id)
    assert process(sessions, sample(HARD_5_1_1, verp=verp), [verp]) is (
        BounceOutcome.HARD_BOUNCE_SUPPRESSED
    )
    assert stored_events(sessions, "bounce.hard") == [
        ("bounce.hard", None, {"status": "5.1.1", "message_kind": "welcome"}, "dsn")
    ]


def test_soft_bounces_that_suppress_are_one_bounce_soft_limit_and_no_bounce_hard(
    sessions: sessionmaker[Session], ana: Ana, clock: FrozenClock
) -> None:
    """A full mailbox scored up to the threshold stops mail: bounce.soft_limit, once, with
    the score; no bounce.hard, as it is no address failure."""
    strict = dataclasses.replace(MAIL, bounce_score_threshold=1.0)
    raw = sample(DELAYED_4_2_2, verp=ana.verp)
    with sessions() as session:
        before = len(stored_events(session))
    assert process(sessions, raw, [ana.verp], strict) is BounceOutcome.SOFT_BOUNCE_SCORED
    assert stored_events(sessions)[before:] == []
    clock.advance(timedelta(days=1))
    assert process(sessions, raw, [ana.verp], strict) is BounceOutcome.SOFT_BOUNCE_SUPPRESSED
    clock.advance(timedelta(days=1))
    assert process(sessions, raw, [ana.verp], strict) is BounceOutcome.ALREADY_SUPPRESSED
    assert stored_events(sessions)[before:] == [
        (
            "bounce.soft_limit",
            ana.public_id,
            {
                "status": "4.2.2",
                "score": 1.0,
                "threshold": 1.0,
                "bounces": 2,
                "message_kind": "job_alert",
            },
            "dsn",
        )
    ]


def test_a_soft_bounce_at_send_time_that_suppresses_is_bounce_soft_limit_via_smtp(
    sessions: sessionmaker[Session], ana: Ana, clock: FrozenClock
) -> None:
    """The relay's own 552 5.2.2 at RCPT scores like a bounce message, and says so in `source`."""
    strict = dataclasses.replace(MAIL, bounce_score_threshold=0.5)
    with session_scope(sessions) as session:
        outcome = record_bounce(
            session,
            Target(ANA, ana.candidate_id, ana.outbox_id),
            smtp_report(552, "5.2.2 Mailbox full"),
            strict,
            via="smtp",
        )
    assert outcome is BounceOutcome.SOFT_BOUNCE_SUPPRESSED
    (fact,) = stored_events(sessions, "bounce.soft_limit")
    assert (fact[0], fact[1], fact[3]) == ("bounce.soft_limit", ana.public_id, "smtp")
    assert fact[2]["status"] == "5.2.2" and fact[2]["bounces"] == 1


def test_a_complaint_is_received_after_the_withdrawals_it_caused_and_once(
    sessions: sessionmaker[Session], ana: Ana
) -> None:
    """Yahoo's ARF: the opt-outs, then complaint.received; the same report again adds nothing."""
    raw = sample(YAHOO_ARF, verp=ana.verp)
    with sessions() as session:
        before = len(stored_events(session))
    assert process(sessions, raw, [bounce_mailbox(MAIL)]) is BounceOutcome.COMPLAINT_APPLIED
    assert process(sessions, raw, [bounce_mailbox(MAIL)]) is (
        BounceOutcome.COMPLAINT_ALREADY_APPLIED
    )
    facts = stored_events(sessions)[before:]
    assert types_of(facts) == [
        "mass_email.changed",
        "candidate.unsubscribed",
        "subscription.changed",
        "candidate.unsubscribed",
        "subscription.changed",
        "candidate.unsubscribed",
        "complaint.received",
    ]
    assert facts[-1] == (
        "complaint.received",
        ana.public_id,
        {"feedback_type": "abuse", "message_kind": "job_alert"},
        "feedback_loop",
    )
    assert {f[2].get("channel") for f in facts if f[0] == "candidate.unsubscribed"} == {"complaint"}
    assert {f[1] for f in facts} == {ana.public_id}
    assert_no_personal_data(facts, "ana", "perez", "example.com")


def test_a_campaign_sent_names_the_campaign_and_its_recipients(
    sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    """Send now queues the audience and writes campaign.sent (no candidate, no subject)."""
    with session_scope(sessions) as session:
        for name in ("bo", "cy"):
            person, _ = get_or_create_candidate(session, f"{name}@example.com")
            person.email_verified_at = clock.now()
            opt_in_mass_email(session, person, source=ConsentSource.CONNECT_FORM)
        campaign = save_draft(session, CampaignDraft("Autumn news", "Secret subject", "Hi."))
        assert send_now(session, campaign.id) == 2
        campaign_id = campaign.id
    facts = stored_events(sessions, "campaign.sent")
    assert facts == [("campaign.sent", None, {"campaign_id": campaign_id, "recipients": 2}, None)]
    assert_no_personal_data(facts, "autumn", "secret")


def test_a_rolled_back_dispatch_leaves_no_campaign_sent(
    sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    """The event goes with the dispatch's transaction: rolled back, neither is stored."""
    with session_scope(sessions) as session:
        campaign_id = save_draft(session, CampaignDraft("News", "News", "Hi.")).id
    with sessions() as session:
        send_now(session, campaign_id)
        assert stored_events(session, "campaign.sent")
        session.rollback()
    assert stored_events(sessions, "campaign.sent") == []


def test_anonymization_at_retention_expiry_is_candidate_erased(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    """The retention run's expiry: candidate.erased, anonymized, by the id the person had."""
    cid = join(sessions, "dan@example.com", RETENTION_T0)
    with sessions() as session:
        public_id = session.scalars(select(Candidate.public_id).where(Candidate.id == cid)).one()
    first = add_months(RETENTION_T0, 30)
    assert run(sessions, first, tmp_path)["repermission_queued"] == 1
    assert run(sessions, first + timedelta(days=30, hours=1), tmp_path)["anonymized"] == 1
    assert run(sessions, first + timedelta(days=31), tmp_path)["anonymized"] == 0
    assert stored_events(sessions, "candidate.erased") == [
        (
            "candidate.erased",
            public_id,
            {"mode": "anonymized", "reason": "retention_expired"},
            "retention",
        )
    ]
