"""A preference Save racing a one-click unsubscribe ends cleanly, with the unsubscribe kept."""

from __future__ import annotations

import dataclasses

from sqlalchemy import Engine, select

from preferences.center import apply_state, current_state
from preferences.db import make_session_factory, session_scope
from preferences.models import (
    ConsentSource,
    Frequency,
    Interest,
    Subscription,
    SubscriptionStatus,
)
from preferences.subscriptions import get_or_create_candidate, subscribe, unsubscribe


def test_a_save_read_before_a_one_click_unsubscribe_does_not_fail_or_undo_it(
    engine: Engine,
) -> None:
    """The Save read "subscribed", a one-click unsubscribed meanwhile: no error, still off."""
    factory = make_session_factory(engine)
    with session_scope(factory) as session:
        interest = Interest(name="Design", slug="design")
        session.add(interest)
        candidate, _ = get_or_create_candidate(session, "ana@example.com")
        session.flush()
        subscribe(session, candidate, interest, source=ConsentSource.IMPORT, confirmed=True)
        candidate_id, interest_id = candidate.id, interest.id
    with factory() as saving:
        candidate = saving.get_one(type(candidate), candidate_id)
        interests = [saving.get_one(Interest, interest_id)]
        before = current_state(saving, candidate, interests)
        saving.commit()  # the Save's reads are done (as before slow work, or at the upgrade)
        with session_scope(factory) as clicking:
            unsubscribe(
                clicking,
                clicking.get_one(type(candidate), candidate_id),
                clicking.get_one(Interest, interest_id),
                source=ConsentSource.ONE_CLICK,
            )
        desired = dataclasses.replace(before, interests=dict(before.interests))
        choice = desired.interests[interest_id]
        desired.interests[interest_id] = dataclasses.replace(choice, frequency=Frequency.WEEKLY)
        changes = apply_state(
            saving,
            candidate,
            interests,
            desired,
            source=ConsentSource.PREFERENCE_CENTER,
            before=before,
        )
        saving.commit()
    assert changes == []
    with session_scope(factory) as session:
        status = session.scalar(select(Subscription.status))
    assert status is SubscriptionStatus.UNSUBSCRIBED
