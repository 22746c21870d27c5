"""The last check before a send: may this recipient still get this message?"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from mailer.eligibility import skip_reason
from mailer.models import MessageKind, OutboxMessage
from preferences.clock import FrozenClock
from preferences.models import (
    Candidate,
    CandidateStatus,
    ConsentSource,
    Interest,
    SuppressionReason,
)
from preferences.subscriptions import (
    get_or_create_candidate,
    opt_in_mass_email,
    opt_out_mass_email,
    pause_subscription,
    subscribe,
    unsubscribe,
)
from preferences.suppressions import suppress

from .support import T0


@pytest.fixture
def ana(db_session: Session, clock: FrozenClock) -> Candidate:
    candidate, _ = get_or_create_candidate(db_session, "ana@example.com", first_name="Ana")
    return candidate


@pytest.fixture
def interest(db_session: Session) -> Interest:
    row = Interest(name="Engineering", slug="engineering")
    db_session.add(row)
    db_session.flush()
    return row


def message(
    kind: MessageKind,
    candidate: Candidate | None,
    *,
    to: str = "ana@example.com",
    context: dict[str, Any] | None = None,
) -> OutboxMessage:
    """An outbox row as the worker sees it; skip_reason only reads it."""
    return OutboxMessage(
        dedupe_key="k",
        kind=kind,
        template="welcome",
        candidate_id=candidate.id if candidate is not None else None,
        to_address=to,
        context=context or {},
    )


def test_transactional_mail_to_an_active_candidate_may_go(
    db_session: Session, ana: Candidate
) -> None:
    """Transactional mail is delivered whatever the mass-email or alert settings."""
    for kind in (MessageKind.WELCOME, MessageKind.LOGIN_LINK, MessageKind.CONFIRMATION):
        assert skip_reason(db_session, message(kind, ana)) is None


def test_mail_without_a_candidate_may_go(db_session: Session) -> None:
    """A message to an address with no candidate (e.g. a recruiter) is not blocked."""
    assert skip_reason(db_session, message(MessageKind.LOGIN_LINK, None)) is None


def test_suppressed_address_is_skipped_for_every_kind(db_session: Session, ana: Candidate) -> None:
    """A suppressed address gets nothing, not even transactional mail."""
    suppress(db_session, "ANA@example.com", SuppressionReason.HARD_BOUNCE)
    for kind in MessageKind:
        assert skip_reason(db_session, message(kind, ana)) == "address is suppressed"


def test_deleted_candidate_is_skipped(db_session: Session, ana: Candidate) -> None:
    """A deleted candidate gets nothing."""
    ana.status = CandidateStatus.DELETED
    db_session.flush()
    assert skip_reason(db_session, message(MessageKind.WELCOME, ana)) == "candidate was deleted"


def test_campaign_needs_a_mass_email_opt_in(db_session: Session, ana: Candidate) -> None:
    """A campaign goes only to a candidate opted in at send time."""
    campaign = message(MessageKind.CAMPAIGN, ana)
    assert skip_reason(db_session, campaign) == "candidate is opted out of mass email"
    opt_in_mass_email(db_session, ana, source=ConsentSource.CONNECT_FORM)
    assert skip_reason(db_session, campaign) is None
    opt_out_mass_email(db_session, ana, source=ConsentSource.ONE_CLICK)
    assert skip_reason(db_session, campaign) == "candidate is opted out of mass email"


def test_campaign_without_a_candidate_is_skipped(db_session: Session) -> None:
    """A campaign row with no candidate has no consent to check and is not sent."""
    assert (
        skip_reason(db_session, message(MessageKind.CAMPAIGN, None))
        == "bulk mail needs a candidate whose consent can be checked"
    )


def test_job_alert_needs_a_confirmed_subscription(
    db_session: Session, ana: Candidate, interest: Interest
) -> None:
    """A job alert goes only while the interest subscription is confirmed."""
    alert = message(MessageKind.JOB_ALERT, ana, context={"interest_id": interest.id})
    not_subscribed = "candidate is not subscribed to this interest"
    assert skip_reason(db_session, alert) == not_subscribed
    subscribe(db_session, ana, interest, source=ConsentSource.CONNECT_FORM)
    assert skip_reason(db_session, alert) == not_subscribed
    subscribe(db_session, ana, interest, source=ConsentSource.CONNECT_FORM, confirmed=True)
    assert skip_reason(db_session, alert) is None
    unsubscribe(db_session, ana, interest, source=ConsentSource.ONE_CLICK)
    assert skip_reason(db_session, alert) == not_subscribed


def test_job_alert_for_another_interest_is_skipped(
    db_session: Session, ana: Candidate, interest: Interest
) -> None:
    """A subscription to one interest does not let alerts for another through."""
    other = Interest(name="Design", slug="design")
    db_session.add(other)
    db_session.flush()
    subscribe(db_session, ana, interest, source=ConsentSource.DASHBOARD, confirmed=True)
    alert = message(MessageKind.JOB_ALERT, ana, context={"interest_id": other.id})
    assert skip_reason(db_session, alert) == "candidate is not subscribed to this interest"


def test_paused_job_alert_is_skipped_until_the_pause_ends(
    db_session: Session, ana: Candidate, interest: Interest, clock: FrozenClock
) -> None:
    """While paused alerts are skipped; once the pause ends they go again."""
    subscribe(db_session, ana, interest, source=ConsentSource.DASHBOARD, confirmed=True)
    pause_subscription(
        db_session, ana, interest, T0 + timedelta(days=1), source=ConsentSource.DASHBOARD
    )
    alert = message(MessageKind.JOB_ALERT, ana, context={"interest_id": interest.id})
    assert skip_reason(db_session, alert) == "alerts are paused"
    clock.advance(timedelta(days=1))
    assert skip_reason(db_session, alert) is None


def test_mass_email_opt_out_does_not_block_job_alerts(
    db_session: Session, ana: Candidate, interest: Interest
) -> None:
    """Mass-email status and interest alerts are independent."""
    subscribe(db_session, ana, interest, source=ConsentSource.DASHBOARD, confirmed=True)
    alert = message(MessageKind.JOB_ALERT, ana, context={"interest_id": interest.id})
    assert skip_reason(db_session, alert) is None


def test_a_digest_of_several_interests_goes_while_any_one_is_subscribed(
    db_session: Session, ana: Candidate, interest: Interest
) -> None:
    """interest_ids wins over interest_id; one subscribed interest lets the digest through."""
    design = Interest(name="Design", slug="design")
    db_session.add(design)
    db_session.flush()
    subscribe(db_session, ana, interest, source=ConsentSource.DASHBOARD, confirmed=True)
    subscribe(db_session, ana, design, source=ConsentSource.DASHBOARD, confirmed=True)
    context = {"interest_id": interest.id, "interest_ids": [interest.id, design.id]}
    alert = message(MessageKind.JOB_ALERT, ana, context=context)
    unsubscribe(db_session, ana, interest, source=ConsentSource.ONE_CLICK)
    assert skip_reason(db_session, alert) is None
    unsubscribe(db_session, ana, design, source=ConsentSource.ONE_CLICK)
    assert skip_reason(db_session, alert) == "candidate is not subscribed to this interest"


def test_a_digest_of_several_interests_is_paused_only_when_all_are(
    db_session: Session, ana: Candidate, interest: Interest, clock: FrozenClock
) -> None:
    """One paused interest of two does not hold the digest back; both paused does."""
    design = Interest(name="Design", slug="design")
    db_session.add(design)
    db_session.flush()
    for row in (interest, design):
        subscribe(db_session, ana, row, source=ConsentSource.DASHBOARD, confirmed=True)
    alert = message(MessageKind.JOB_ALERT, ana, context={"interest_ids": [interest.id, design.id]})
    until = T0 + timedelta(days=1)
    pause_subscription(db_session, ana, interest, until, source=ConsentSource.DASHBOARD)
    assert skip_reason(db_session, alert) is None
    pause_subscription(db_session, ana, design, until, source=ConsentSource.DASHBOARD)
    assert skip_reason(db_session, alert) == "alerts are paused"


def test_the_batch_names_only_readers_whose_address_is_confirmed(
    db_session: Session, ana: Candidate
) -> None:
    """A name typed into a form is given to templates only once its address is confirmed."""
    from mailer.eligibility import check_batch
    from preferences.clock import now

    stranger, _ = get_or_create_candidate(
        db_session, "victim@example.com", first_name="URGENT: verify at https://evil.example"
    )
    ana.email_verified_at = now()
    db_session.flush()
    rows = [message(MessageKind.WELCOME, ana), message(MessageKind.WELCOME, stranger)]
    rows[0].id, rows[1].id = 1, 2
    check = check_batch(db_session, rows)
    assert check.skip == {}
    assert check.first_names == {ana.id: "Ana", stranger.id: ""}
