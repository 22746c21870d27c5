"""Subscription service functions and the consent events each one writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from preferences.clock import FrozenClock
from preferences.errors import CandidateDeleted, InterestUnavailable, InvalidTransition, NotFound
from preferences.models import (
    Candidate,
    CandidateStatus,
    ConsentAction,
    ConsentEvent,
    ConsentScope,
    ConsentSource,
    Frequency,
    Interest,
    MassEmail,
    MassEmailStatus,
    Subscription,
    SubscriptionStatus,
)
from preferences.subscriptions import (
    confirm_subscription,
    mass_email_status,
    opt_in_mass_email,
    opt_out_mass_email,
    pause_subscription,
    record_consent,
    set_frequency,
    subscribe,
    unsubscribe,
)
from preferences.wordings import NO_WORDING_VERSION

from .support import T0


def events(session: Session, candidate: Candidate) -> list[ConsentEvent]:
    return list(
        session.scalars(
            select(ConsentEvent)
            .where(ConsentEvent.candidate_id == candidate.id)
            .order_by(ConsentEvent.id)
        )
    )


def event_facts(event: ConsentEvent) -> dict[str, Any]:
    return {
        "scope": event.scope,
        "interest_id": event.interest_id,
        "action": event.action,
        "source": event.source,
        "wording_version": event.wording_version,
        "detail": event.detail,
        "ip_address": event.ip_address,
        "occurred_at": event.occurred_at,
    }


def subscription_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Subscription)) or 0


def delete(candidate: Candidate, session: Session) -> None:
    candidate.status = CandidateStatus.DELETED
    session.flush()


# --- subscribe -------------------------------------------------------------------------


def test_subscribe_starts_unconfirmed_and_records_a_grant(
    db_session: Session, candidate: Candidate, interest: Interest
) -> None:
    """A new subscription is unconfirmed, daily, and writes one grant with its wording and IP."""
    sub = subscribe(
        db_session,
        candidate,
        interest,
        source=ConsentSource.CONNECT_FORM,
        ip_address="203.0.113.9",
    )
    assert (sub.status, sub.frequency, sub.paused_until) == (
        SubscriptionStatus.UNCONFIRMED,
        Frequency.DAILY,
        None,
    )
    assert (sub.candidate_id, sub.interest_id) == (candidate.id, interest.id)
    (event,) = events(db_session, candidate)
    assert event_facts(event) == {
        "scope": ConsentScope.INTEREST,
        "interest_id": interest.id,
        "action": ConsentAction.GRANT,
        "source": ConsentSource.CONNECT_FORM,
        "wording_version": NO_WORDING_VERSION,
        "detail": {"status": "unconfirmed", "frequency": "daily"},
        "ip_address": "203.0.113.9",
        "occurred_at": T0,
    }


def test_subscribe_confirmed_with_frequency_and_wording(
    db_session: Session, candidate: Candidate, interest: Interest
) -> None:
    """A confirmed subscribe is subscribed at once and records the wording version it was given."""
    sub = subscribe(
        db_session,
        candidate,
        interest,
        source=ConsentSource.DASHBOARD,
        frequency=Frequency.WEEKLY,
        confirmed=True,
        wording_version="2025-01-v0",
    )
    assert (sub.status, sub.frequency) == (SubscriptionStatus.SUBSCRIBED, Frequency.WEEKLY)
    (event,) = events(db_session, candidate)
    assert event_facts(event) == {
        "scope": ConsentScope.INTEREST,
        "interest_id": interest.id,
        "action": ConsentAction.GRANT,
        "source": ConsentSource.DASHBOARD,
        "wording_version": "2025-01-v0",
        "detail": {"status": "subscribed", "frequency": "weekly"},
        "ip_address": None,
        "occurred_at": T0,
    }


@pytest.mark.parametrize("confirmed", [False, True])
def test_subscribe_again_in_the_same_state_writes_nothing(
    db_session: Session, candidate: Candidate, interest: Interest, confirmed: bool
) -> None:
    """Repeating a subscribe in the same state returns the same row and writes no event."""
    first = subscribe(
        db_session, candidate, interest, source=ConsentSource.CONNECT_FORM, confirmed=confirmed
    )
    again = subscribe(
        db_session, candidate, interest, source=ConsentSource.CONNECT_FORM, confirmed=confirmed
    )
    assert again is first
    assert len(events(db_session, candidate)) == 1
    assert subscription_count(db_session) == 1


def test_unconfirmed_subscribe_never_downgrades_a_subscribed_row(
    db_session: Session, candidate: Candidate, interest: Interest
) -> None:
    """Subscribing unconfirmed while subscribed keeps it subscribed, with no event."""
    subscribe(db_session, candidate, interest, source=ConsentSource.DASHBOARD, confirmed=True)
    sub = subscribe(db_session, candidate, interest, source=ConsentSource.CONNECT_FORM)
    assert sub.status is SubscriptionStatus.SUBSCRIBED
    assert len(events(db_session, candidate)) == 1


def test_confirmed_subscribe_upgrades_an_unconfirmed_row(
    db_session: Session, candidate: Candidate, interest: Interest
) -> None:
    """A confirmed subscribe on an unconfirmed row subscribes it and records a second grant."""
    subscribe(db_session, candidate, interest, source=ConsentSource.CONNECT_FORM)
    sub = subscribe(db_session, candidate, interest, source=ConsentSource.DASHBOARD, confirmed=True)
    assert sub.status is SubscriptionStatus.SUBSCRIBED
    first, second = events(db_session, candidate)
    assert first.detail == {"status": "unconfirmed", "frequency": "daily"}
    assert (second.action, second.source, second.detail) == (
        ConsentAction.GRANT,
        ConsentSource.DASHBOARD,
        {"status": "subscribed", "frequency": "daily"},
    )


def test_subscribe_again_with_another_frequency_records_a_change(
    db_session: Session, candidate: Candidate, interest: Interest
) -> None:
    """Subscribing again with a new frequency changes it and records a change, not a grant."""
    subscribe(db_session, candidate, interest, source=ConsentSource.DASHBOARD, confirmed=True)
    sub = subscribe(
        db_session,
        candidate,
        interest,
        source=ConsentSource.PREFERENCE_CENTER,
        frequency=Frequency.INSTANT,
        confirmed=True,
    )
    assert (sub.status, sub.frequency) == (SubscriptionStatus.SUBSCRIBED, Frequency.INSTANT)
    _grant, change = events(db_session, candidate)
    assert (change.action, change.source, change.detail) == (
        ConsentAction.CHANGE,
        ConsentSource.PREFERENCE_CENTER,
        {"frequency": "instant", "previous_frequency": "daily"},
    )


def test_resubscribe_after_unsubscribe_grants_again(
    db_session: Session, candidate: Candidate, interest: Interest, clock: FrozenClock
) -> None:
    """Subscribing after an unsubscribe reuses the row, keeps the frequency and records a grant."""
    subscribe(
        db_session,
        candidate,
        interest,
        source=ConsentSource.DASHBOARD,
        frequency=Frequency.WEEKLY,
        confirmed=True,
    )
    unsubscribe(db_session, candidate, interest, source=ConsentSource.ONE_CLICK)
    clock.advance(timedelta(days=1))
    sub = subscribe(db_session, candidate, interest, source=ConsentSource.PREFERENCE_CENTER)
    assert (sub.status, sub.frequency) == (SubscriptionStatus.UNCONFIRMED, Frequency.WEEKLY)
    assert subscription_count(db_session) == 1
    actions = [(e.action, e.occurred_at) for e in events(db_session, candidate)]
    assert actions == [
        (ConsentAction.GRANT, T0),
        (ConsentAction.WITHDRAW, T0),
        (ConsentAction.GRANT, T0 + timedelta(days=1)),
    ]
    assert events(db_session, candidate)[-1].detail == {
        "status": "unconfirmed",
        "frequency": "weekly",
    }


def test_subscribe_to_retired_interest_is_refused(
    db_session: Session, candidate: Candidate, retired_interest: Interest
) -> None:
    """A retired interest takes no subscribers; nothing is written."""
    with pytest.raises(InterestUnavailable) as caught:
        subscribe(db_session, candidate, retired_interest, source=ConsentSource.CONNECT_FORM)
    assert (caught.value.slug, caught.value.status) == ("old-stuff", "retired")
    assert subscription_count(db_session) == 0
    assert events(db_session, candidate) == []


def test_subscribe_to_merged_interest_is_refused(
    db_session: Session, candidate: Candidate, merged_interest: Interest
) -> None:
    """A merged interest takes no subscribers; the error says it was merged."""
    with pytest.raises(InterestUnavailable) as caught:
        subscribe(db_session, candidate, merged_interest, source=ConsentSource.CONNECT_FORM)
    assert (caught.value.slug, caught.value.status) == ("software", "merged")
    assert str(caught.value) == "interest 'software' is merged and takes no new subscribers"
    assert subscription_count(db_session) == 0
    assert events(db_session, candidate) == []


def test_subscribe_for_deleted_candidate_is_refused(
    db_session: Session, candidate: Candidate, interest: Interest
) -> None:
    """A deleted candidate cannot be subscribed; nothing is written."""
    delete(candidate, db_session)
    with pytest.raises(CandidateDeleted) as caught:
        subscribe(db_session, candidate, interest, source=ConsentSource.ADMIN, confirmed=True)
    assert caught.value.public_id == candidate.public_id
    assert subscription_count(db_session) == 0
    assert events(db_session, candidate) == []


# --- confirm ---------------------------------------------------------------------------


def test_confirm_subscribes_verifies_and_records_a_confirm(
    db_session: Session, candidate: Candidate, interest: Interest, clock: FrozenClock
) -> None:
    """Confirming an unconfirmed subscription subscribes it, verifies the address and records it."""
    subscribe(db_session, candidate, interest, source=ConsentSource.CONNECT_FORM)
    clock.advance(timedelta(minutes=7))
    sub = confirm_subscription(
        db_session, candidate, interest, source=ConsentSource.CONNECT_FORM, ip_address="::1"
    )
    assert sub.status is SubscriptionStatus.SUBSCRIBED
    assert candidate.email_verified_at == T0 + timedelta(minutes=7)
    confirm = events(db_session, candidate)[-1]
    assert event_facts(confirm) == {
        "scope": ConsentScope.INTEREST,
        "interest_id": interest.id,
        "action": ConsentAction.CONFIRM,
        "source": ConsentSource.CONNECT_FORM,
        "wording_version": NO_WORDING_VERSION,
        "detail": {},
        "ip_address": "::1",
        "occurred_at": T0 + timedelta(minutes=7),
    }


def test_confirm_is_idempotent(
    db_session: Session, candidate: Candidate, interest: Interest
) -> None:
    """Confirming twice changes nothing the second time and writes no second event."""
    subscribe(db_session, candidate, interest, source=ConsentSource.CONNECT_FORM)
    confirm_subscription(db_session, candidate, interest, source=ConsentSource.CONNECT_FORM)
    sub = confirm_subscription(db_session, candidate, interest, source=ConsentSource.CONNECT_FORM)
    assert sub.status is SubscriptionStatus.SUBSCRIBED
    assert [e.action for e in events(db_session, candidate)] == [
        ConsentAction.GRANT,
        ConsentAction.CONFIRM,
    ]


def test_confirm_keeps_an_earlier_verification_time(
    db_session: Session, candidate: Candidate, interest: Interest, clock: FrozenClock
) -> None:
    """An address verified earlier keeps its original verification time."""
    earlier = T0 - timedelta(days=30)
    candidate.email_verified_at = earlier
    subscribe(db_session, candidate, interest, source=ConsentSource.CONNECT_FORM)
    clock.advance(timedelta(hours=1))
    confirm_subscription(db_session, candidate, interest, source=ConsentSource.CONNECT_FORM)
    assert candidate.email_verified_at == earlier


def test_confirm_after_unsubscribe_is_refused(
    db_session: Session, candidate: Candidate, interest: Interest
) -> None:
    """An old confirmation link cannot resubscribe someone who unsubscribed."""
    subscribe(db_session, candidate, interest, source=ConsentSource.CONNECT_FORM)
    unsubscribe(db_session, candidate, interest, source=ConsentSource.ONE_CLICK)
    with pytest.raises(InvalidTransition) as caught:
        confirm_subscription(db_session, candidate, interest, source=ConsentSource.CONNECT_FORM)
    assert (caught.value.current, caught.value.wanted) == ("unsubscribed", "subscribed")
    sub = db_session.scalar(select(Subscription))
    assert sub is not None
    assert sub.status is SubscriptionStatus.UNSUBSCRIBED
    assert candidate.email_verified_at is None
    assert [e.action for e in events(db_session, candidate)] == [
        ConsentAction.GRANT,
        ConsentAction.WITHDRAW,
    ]


def test_confirm_without_subscription_is_not_found(
    db_session: Session, candidate: Candidate, interest: Interest
) -> None:
    """Confirming a subscription that does not exist raises NotFound."""
    with pytest.raises(NotFound) as caught:
        confirm_subscription(db_session, candidate, interest, source=ConsentSource.CONNECT_FORM)
    assert caught.value.kind == "subscription"
    assert caught.value.key == (candidate.public_id, "engineering")
    assert events(db_session, candidate) == []


def test_confirm_for_deleted_candidate_is_refused(
    db_session: Session, candidate: Candidate, interest: Interest
) -> None:
    """A deleted candidate's subscription cannot be confirmed."""
    subscribe(db_session, candidate, interest, source=ConsentSource.CONNECT_FORM)
    delete(candidate, db_session)
    with pytest.raises(CandidateDeleted):
        confirm_subscription(db_session, candidate, interest, source=ConsentSource.CONNECT_FORM)
    assert len(events(db_session, candidate)) == 1


# --- unsubscribe -----------------------------------------------------------------------


def test_unsubscribe_records_a_withdrawal(
    db_session: Session, candidate: Candidate, interest: Interest
) -> None:
    """Unsubscribing returns True and writes one withdrawal with its source and IP."""
    subscribe(db_session, candidate, interest, source=ConsentSource.DASHBOARD, confirmed=True)
    changed = unsubscribe(
        db_session, candidate, interest, source=ConsentSource.ONE_CLICK, ip_address="198.51.100.4"
    )
    assert changed is True
    sub = db_session.scalar(select(Subscription))
    assert sub is not None
    assert sub.status is SubscriptionStatus.UNSUBSCRIBED
    withdraw = events(db_session, candidate)[-1]
    assert event_facts(withdraw) == {
        "scope": ConsentScope.INTEREST,
        "interest_id": interest.id,
        "action": ConsentAction.WITHDRAW,
        "source": ConsentSource.ONE_CLICK,
        "wording_version": NO_WORDING_VERSION,
        "detail": {},
        "ip_address": "198.51.100.4",
        "occurred_at": T0,
    }


def test_unsubscribe_twice_returns_false_and_writes_nothing(
    db_session: Session, candidate: Candidate, interest: Interest
) -> None:
    """A repeated unsubscribe (one-click replays) is a no-op without a second event."""
    subscribe(db_session, candidate, interest, source=ConsentSource.DASHBOARD, confirmed=True)
    assert unsubscribe(db_session, candidate, interest, source=ConsentSource.ONE_CLICK) is True
    assert unsubscribe(db_session, candidate, interest, source=ConsentSource.ONE_CLICK) is False
    assert [e.action for e in events(db_session, candidate)] == [
        ConsentAction.GRANT,
        ConsentAction.WITHDRAW,
    ]


def test_unsubscribe_unconfirmed_subscription(
    db_session: Session, candidate: Candidate, interest: Interest
) -> None:
    """An unconfirmed subscription can be withdrawn too."""
    subscribe(db_session, candidate, interest, source=ConsentSource.CONNECT_FORM)
    assert unsubscribe(db_session, candidate, interest, source=ConsentSource.ONE_CLICK) is True
    assert events(db_session, candidate)[-1].action is ConsentAction.WITHDRAW


def test_unsubscribe_from_never_subscribed_interest_is_a_noop(
    db_session: Session, candidate: Candidate, interest: Interest
) -> None:
    """Unsubscribing from an interest never subscribed to returns False and creates nothing."""
    assert unsubscribe(db_session, candidate, interest, source=ConsentSource.ONE_CLICK) is False
    assert subscription_count(db_session) == 0
    assert events(db_session, candidate) == []


def test_deleted_candidate_can_still_withdraw(
    db_session: Session, candidate: Candidate, interest: Interest
) -> None:
    """Withdrawing consent is never refused, even for a deleted candidate."""
    subscribe(db_session, candidate, interest, source=ConsentSource.DASHBOARD, confirmed=True)
    delete(candidate, db_session)
    assert unsubscribe(db_session, candidate, interest, source=ConsentSource.ONE_CLICK) is True
    assert events(db_session, candidate)[-1].action is ConsentAction.WITHDRAW


# --- frequency -------------------------------------------------------------------------


def test_set_frequency_records_old_and_new(
    db_session: Session, candidate: Candidate, interest: Interest
) -> None:
    """Changing the frequency writes a change event naming the new and the previous value."""
    subscribe(db_session, candidate, interest, source=ConsentSource.DASHBOARD, confirmed=True)
    sub = set_frequency(
        db_session,
        candidate,
        interest,
        Frequency.WEEKLY,
        source=ConsentSource.PREFERENCE_CENTER,
        ip_address="203.0.113.1",
    )
    assert sub.frequency is Frequency.WEEKLY
    change = events(db_session, candidate)[-1]
    assert event_facts(change) == {
        "scope": ConsentScope.INTEREST,
        "interest_id": interest.id,
        "action": ConsentAction.CHANGE,
        "source": ConsentSource.PREFERENCE_CENTER,
        "wording_version": NO_WORDING_VERSION,
        "detail": {"frequency": "weekly", "previous_frequency": "daily"},
        "ip_address": "203.0.113.1",
        "occurred_at": T0,
    }


def test_set_same_frequency_writes_nothing(
    db_session: Session, candidate: Candidate, interest: Interest
) -> None:
    """Setting the frequency it already has records no event."""
    subscribe(db_session, candidate, interest, source=ConsentSource.DASHBOARD, confirmed=True)
    set_frequency(db_session, candidate, interest, Frequency.DAILY, source=ConsentSource.DASHBOARD)
    assert len(events(db_session, candidate)) == 1


def test_set_frequency_on_unsubscribed_is_refused(
    db_session: Session, candidate: Candidate, interest: Interest
) -> None:
    """An unsubscribed subscription has no frequency to change."""
    subscribe(db_session, candidate, interest, source=ConsentSource.DASHBOARD, confirmed=True)
    unsubscribe(db_session, candidate, interest, source=ConsentSource.ONE_CLICK)
    with pytest.raises(InvalidTransition) as caught:
        set_frequency(
            db_session, candidate, interest, Frequency.WEEKLY, source=ConsentSource.DASHBOARD
        )
    assert (caught.value.current, caught.value.wanted) == ("unsubscribed", "frequency weekly")
    assert len(events(db_session, candidate)) == 2


def test_set_frequency_without_subscription_is_not_found(
    db_session: Session, candidate: Candidate, interest: Interest
) -> None:
    """Changing the frequency of a missing subscription raises NotFound."""
    with pytest.raises(NotFound):
        set_frequency(
            db_session, candidate, interest, Frequency.WEEKLY, source=ConsentSource.DASHBOARD
        )


def test_set_frequency_for_deleted_candidate_is_refused(
    db_session: Session, candidate: Candidate, interest: Interest
) -> None:
    """A deleted candidate's frequency cannot be changed."""
    subscribe(db_session, candidate, interest, source=ConsentSource.DASHBOARD, confirmed=True)
    delete(candidate, db_session)
    with pytest.raises(CandidateDeleted):
        set_frequency(
            db_session, candidate, interest, Frequency.WEEKLY, source=ConsentSource.DASHBOARD
        )


# --- pause -----------------------------------------------------------------------------


def test_pause_until_a_future_time(
    db_session: Session, candidate: Candidate, interest: Interest
) -> None:
    """Pausing stores the end time and records a change with it in ISO form."""
    subscribe(db_session, candidate, interest, source=ConsentSource.DASHBOARD, confirmed=True)
    until = T0 + timedelta(days=14)
    sub = pause_subscription(
        db_session, candidate, interest, until, source=ConsentSource.PREFERENCE_CENTER
    )
    assert sub.paused_until == until
    change = events(db_session, candidate)[-1]
    assert event_facts(change) == {
        "scope": ConsentScope.INTEREST,
        "interest_id": interest.id,
        "action": ConsentAction.CHANGE,
        "source": ConsentSource.PREFERENCE_CENTER,
        "wording_version": NO_WORDING_VERSION,
        "detail": {"paused_until": "2026-11-16T09:30:00+00:00"},
        "ip_address": None,
        "occurred_at": T0,
    }
    db_session.expire_all()
    stored = db_session.scalar(select(Subscription.paused_until))
    assert stored == until


@pytest.mark.parametrize("offset", [timedelta(0), timedelta(seconds=-1), timedelta(days=-3)])
def test_pause_that_does_not_end_in_the_future_is_refused(
    db_session: Session, candidate: Candidate, interest: Interest, offset: timedelta
) -> None:
    """A pause ending now or in the past is refused and writes nothing."""
    subscribe(db_session, candidate, interest, source=ConsentSource.DASHBOARD, confirmed=True)
    with pytest.raises(ValueError, match="must end in the future"):
        pause_subscription(
            db_session, candidate, interest, T0 + offset, source=ConsentSource.DASHBOARD
        )
    sub = db_session.scalar(select(Subscription))
    assert sub is not None
    assert sub.paused_until is None
    assert len(events(db_session, candidate)) == 1


def test_pause_none_resumes(
    db_session: Session, candidate: Candidate, interest: Interest, clock: FrozenClock
) -> None:
    """Pausing with None resumes alerts and records a change with a null end."""
    subscribe(db_session, candidate, interest, source=ConsentSource.DASHBOARD, confirmed=True)
    pause_subscription(
        db_session, candidate, interest, T0 + timedelta(days=7), source=ConsentSource.DASHBOARD
    )
    clock.advance(timedelta(days=1))
    sub = pause_subscription(db_session, candidate, interest, None, source=ConsentSource.DASHBOARD)
    assert sub.paused_until is None
    resume = events(db_session, candidate)[-1]
    assert (resume.action, resume.detail, resume.occurred_at) == (
        ConsentAction.CHANGE,
        {"paused_until": None},
        T0 + timedelta(days=1),
    )


def test_repeating_a_pause_or_resume_writes_nothing(
    db_session: Session, candidate: Candidate, interest: Interest
) -> None:
    """Resuming an unpaused subscription, or pausing to the same time again, records no event."""
    subscribe(db_session, candidate, interest, source=ConsentSource.DASHBOARD, confirmed=True)
    pause_subscription(db_session, candidate, interest, None, source=ConsentSource.DASHBOARD)
    until = T0 + timedelta(days=2)
    pause_subscription(db_session, candidate, interest, until, source=ConsentSource.DASHBOARD)
    pause_subscription(db_session, candidate, interest, until, source=ConsentSource.DASHBOARD)
    assert [e.action for e in events(db_session, candidate)] == [
        ConsentAction.GRANT,
        ConsentAction.CHANGE,
    ]


def test_pause_unsubscribed_is_refused(
    db_session: Session, candidate: Candidate, interest: Interest
) -> None:
    """An unsubscribed subscription cannot be paused."""
    subscribe(db_session, candidate, interest, source=ConsentSource.DASHBOARD, confirmed=True)
    unsubscribe(db_session, candidate, interest, source=ConsentSource.ONE_CLICK)
    with pytest.raises(InvalidTransition) as caught:
        pause_subscription(
            db_session, candidate, interest, T0 + timedelta(days=1), source=ConsentSource.DASHBOARD
        )
    assert caught.value.wanted == "paused"


def test_pause_for_deleted_candidate_is_refused(
    db_session: Session, candidate: Candidate, interest: Interest
) -> None:
    """A deleted candidate's subscription cannot be paused."""
    subscribe(db_session, candidate, interest, source=ConsentSource.DASHBOARD, confirmed=True)
    delete(candidate, db_session)
    with pytest.raises(CandidateDeleted):
        pause_subscription(
            db_session, candidate, interest, T0 + timedelta(days=1), source=ConsentSource.DASHBOARD
        )


# --- mass email ------------------------------------------------------------------------


def test_mass_email_defaults_to_opted_out(db_session: Session, candidate: Candidate) -> None:
    """A candidate with no mass-email record is treated as opted out."""
    assert mass_email_status(db_session, candidate) is MassEmail.OPTED_OUT
    assert db_session.get(MassEmailStatus, candidate.id) is None


def test_opt_in_mass_email_records_a_grant_once(db_session: Session, candidate: Candidate) -> None:
    """Opting in writes one mass-email grant with the wording; repeating it is a no-op."""
    assert (
        opt_in_mass_email(
            db_session,
            candidate,
            source=ConsentSource.CONNECT_FORM,
            wording_version="2026-10-v3",
            ip_address="203.0.113.7",
        )
        is True
    )
    assert mass_email_status(db_session, candidate) is MassEmail.OPTED_IN
    assert opt_in_mass_email(db_session, candidate, source=ConsentSource.CONNECT_FORM) is False
    (event,) = events(db_session, candidate)
    assert event_facts(event) == {
        "scope": ConsentScope.MASS_EMAIL,
        "interest_id": None,
        "action": ConsentAction.GRANT,
        "source": ConsentSource.CONNECT_FORM,
        "wording_version": "2026-10-v3",
        "detail": {},
        "ip_address": "203.0.113.7",
        "occurred_at": T0,
    }


def test_opt_out_mass_email_records_a_withdrawal_once(
    db_session: Session, candidate: Candidate, clock: FrozenClock
) -> None:
    """Opting out after opting in writes one withdrawal; repeating it returns False."""
    opt_in_mass_email(db_session, candidate, source=ConsentSource.CONNECT_FORM)
    clock.advance(timedelta(hours=3))
    assert opt_out_mass_email(db_session, candidate, source=ConsentSource.ONE_CLICK) is True
    assert mass_email_status(db_session, candidate) is MassEmail.OPTED_OUT
    assert opt_out_mass_email(db_session, candidate, source=ConsentSource.ONE_CLICK) is False
    grant, withdraw = events(db_session, candidate)
    assert grant.action is ConsentAction.GRANT
    assert event_facts(withdraw) == {
        "scope": ConsentScope.MASS_EMAIL,
        "interest_id": None,
        "action": ConsentAction.WITHDRAW,
        "source": ConsentSource.ONE_CLICK,
        "wording_version": NO_WORDING_VERSION,
        "detail": {},
        "ip_address": None,
        "occurred_at": T0 + timedelta(hours=3),
    }


def test_mass_email_is_separate_from_interest_subscriptions(
    db_session: Session, candidate: Candidate, interest: Interest
) -> None:
    """Opting out of mass email leaves interest subscriptions untouched."""
    subscribe(db_session, candidate, interest, source=ConsentSource.DASHBOARD, confirmed=True)
    opt_in_mass_email(db_session, candidate, source=ConsentSource.DASHBOARD)
    opt_out_mass_email(db_session, candidate, source=ConsentSource.DASHBOARD)
    sub = db_session.scalar(select(Subscription))
    assert sub is not None
    assert sub.status is SubscriptionStatus.SUBSCRIBED


def test_opt_in_for_deleted_candidate_is_refused(db_session: Session, candidate: Candidate) -> None:
    """A deleted candidate cannot be opted in to mass email."""
    delete(candidate, db_session)
    with pytest.raises(CandidateDeleted):
        opt_in_mass_email(db_session, candidate, source=ConsentSource.ADMIN)
    assert mass_email_status(db_session, candidate) is MassEmail.OPTED_OUT
    assert events(db_session, candidate) == []


def test_deleted_candidate_can_still_opt_out(db_session: Session, candidate: Candidate) -> None:
    """Opting out of mass email is never refused, even for a deleted candidate."""
    opt_in_mass_email(db_session, candidate, source=ConsentSource.CONNECT_FORM)
    delete(candidate, db_session)
    assert opt_out_mass_email(db_session, candidate, source=ConsentSource.ONE_CLICK) is True
    assert mass_email_status(db_session, candidate) is MassEmail.OPTED_OUT


# --- record_consent --------------------------------------------------------------------


def test_record_consent_interest_scope_needs_an_interest(
    db_session: Session, candidate: Candidate
) -> None:
    """An interest-scoped event without an interest is refused."""
    with pytest.raises(ValueError, match="exactly one interest"):
        record_consent(
            db_session,
            candidate,
            scope=ConsentScope.INTEREST,
            action=ConsentAction.GRANT,
            source=ConsentSource.IMPORT,
        )
    assert events(db_session, candidate) == []


def test_record_consent_mass_scope_refuses_an_interest(
    db_session: Session, candidate: Candidate, interest: Interest
) -> None:
    """A mass-email event naming an interest is refused."""
    with pytest.raises(ValueError, match="exactly one interest"):
        record_consent(
            db_session,
            candidate,
            scope=ConsentScope.MASS_EMAIL,
            interest=interest,
            action=ConsentAction.GRANT,
            source=ConsentSource.IMPORT,
        )
    assert events(db_session, candidate) == []


def test_record_consent_stores_every_field(
    db_session: Session, candidate: Candidate, clock: FrozenClock
) -> None:
    """record_consent writes who, what, which source, wording, detail, IP and when."""
    clock.advance(timedelta(seconds=42))
    event = record_consent(
        db_session,
        candidate,
        scope=ConsentScope.MASS_EMAIL,
        action=ConsentAction.WITHDRAW,
        source=ConsentSource.COMPLAINT,
        wording_version="n/a",
        detail={"feedback_type": "abuse"},
        ip_address="192.0.2.1",
    )
    db_session.expire_all()
    stored = db_session.get(ConsentEvent, event)
    assert stored is not None
    assert stored.candidate_id == candidate.id
    assert event_facts(stored) == {
        "scope": ConsentScope.MASS_EMAIL,
        "interest_id": None,
        "action": ConsentAction.WITHDRAW,
        "source": ConsentSource.COMPLAINT,
        "wording_version": "n/a",
        "detail": {"feedback_type": "abuse"},
        "ip_address": "192.0.2.1",
        "occurred_at": datetime(2026, 11, 2, 9, 30, 42, tzinfo=UTC),
    }
