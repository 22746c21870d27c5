"""Webhook events written by the preferences service functions, in the change's transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from preferences.clock import FrozenClock
from preferences.events import EventType, WebhookEvent, consent_events
from preferences.interest_admin import merge_subscriptions
from preferences.models import (
    Candidate,
    ConsentAction,
    ConsentScope,
    ConsentSource,
    Interest,
    SuppressionReason,
)
from preferences.privacy import erase_candidate, erase_candidates
from preferences.saved_searches import confirm_saved_search, save_search
from preferences.subscriptions import (
    add_candidate,
    confirm_subscription,
    get_or_create_candidate,
    mark_address_verified,
    subscribe,
    unsubscribe,
)
from tests.saved_search_seed import search_fields
from tests.webhook_events import assert_no_personal_data, stored_events, types_of

CENTER = ConsentSource.PREFERENCE_CENTER


@contextmanager
def inserts_into_events(engine: Engine) -> Iterator[list[str]]:
    """The INSERT statements into webhook_events executed meanwhile."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT") and "webhook_events" in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_a_new_candidate_is_created_once_with_source_and_language(
    db_session: Session, clock: FrozenClock
) -> None:
    """get_or_create_candidate writes candidate.created once (none for a known address)."""
    ana, created = get_or_create_candidate(
        db_session, "Ana.Perez@example.com", source="api", first_name="Ana", locale="es"
    )
    assert created
    again, created_again = get_or_create_candidate(db_session, "ana.perez@example.com")
    assert (again.id, created_again) == (ana.id, False)
    facts = stored_events(db_session)
    assert facts == [("candidate.created", ana.public_id, {"language": "es"}, "api")]
    assert_no_personal_data(facts, "ana", "perez")
    stored = db_session.scalars(select(WebhookEvent)).one()
    assert stored.occurred_at == clock.now() and stored.public_id.startswith("msg_")


def test_a_candidate_added_with_a_verified_address_is_created_then_confirmed(
    db_session: Session, clock: FrozenClock
) -> None:
    """A provider-verified sign-up writes candidate.created, then candidate.confirmed."""
    bea = Candidate(email="bea@example.com", locale="de", email_verified_at=clock.now())
    add_candidate(db_session, bea, source="social_sign_in")
    assert stored_events(db_session) == [
        ("candidate.created", bea.public_id, {"language": "de"}, "social_sign_in"),
        ("candidate.confirmed", bea.public_id, {}, "social_sign_in"),
    ]


def test_verifying_an_address_is_one_confirmed_event_and_again_none(
    db_session: Session, candidate: Candidate
) -> None:
    """mark_address_verified sets the time and writes candidate.confirmed only the first time."""
    assert mark_address_verified(db_session, candidate, source="login_link")
    assert candidate.email_verified_at is not None
    assert not mark_address_verified(db_session, candidate, source="login_link")
    assert stored_events(db_session, "candidate.confirmed") == [
        ("candidate.confirmed", candidate.public_id, {}, "login_link")
    ]


def test_confirming_a_subscription_confirms_the_address_before_the_subscription(
    db_session: Session, candidate: Candidate, interest: Interest
) -> None:
    """Double opt-in: candidate.confirmed, then subscription.changed (subscribed), same source."""
    subscribe(db_session, candidate, interest, source=ConsentSource.CONNECT_FORM)
    confirm_subscription(db_session, candidate, interest, source=ConsentSource.CONNECT_FORM)
    confirm_subscription(db_session, candidate, interest, source=ConsentSource.CONNECT_FORM)
    facts = stored_events(db_session)
    assert types_of(facts) == [
        "candidate.created",
        "subscription.changed",
        "candidate.confirmed",
        "subscription.changed",
    ]
    assert facts[2] == ("candidate.confirmed", candidate.public_id, {}, "connect_form")
    assert facts[3][2] == {
        "kind": "interest",
        "interest_id": interest.id,
        "action": "confirm",
        "status": "subscribed",
    }


def test_confirming_a_saved_search_confirms_the_address(
    db_session: Session, candidate: Candidate
) -> None:
    """A saved search's confirmation link verifies the address: one candidate.confirmed."""
    search, _ = save_search(db_session, candidate, search_fields(), source=CENTER)
    confirm_saved_search(db_session, candidate, search.id, source=CENTER)
    facts = stored_events(db_session, "candidate.confirmed", "subscription.changed")
    assert facts[-2:] == [
        ("candidate.confirmed", candidate.public_id, {}, "preference_center"),
        (
            "subscription.changed",
            candidate.public_id,
            {
                "kind": "saved_search",
                "saved_search_id": search.id,
                "action": "confirm",
                "status": "subscribed",
            },
            "preference_center",
        ),
    ]
    assert_no_personal_data(facts, "python", "ana")


def test_unsubscribing_twice_writes_one_unsubscribed_event(
    db_session: Session, candidate: Candidate, interest: Interest
) -> None:
    """The second unsubscribe changes nothing and so tells nobody anything."""
    subscribe(db_session, candidate, interest, source=CENTER, confirmed=True)
    assert unsubscribe(db_session, candidate, interest, source=ConsentSource.ONE_CLICK)
    assert not unsubscribe(db_session, candidate, interest, source=ConsentSource.ONE_CLICK)
    facts = stored_events(db_session, "candidate.unsubscribed")
    assert facts == [
        (
            "candidate.unsubscribed",
            candidate.public_id,
            {"scope": "interest", "interest_id": interest.id, "channel": "one_click"},
            "one_click",
        )
    ]


def test_a_mass_email_stop_record_is_no_mass_email_change() -> None:
    """A bounce's or complaint's stop record (mass email, change) leaves the choice as it was."""
    assert consent_events(ConsentScope.MASS_EMAIL, ConsentAction.CHANGE, ConsentSource.BOUNCE) == []
    assert consent_events(
        ConsentScope.MASS_EMAIL, ConsentAction.WITHDRAW, ConsentSource.COMPLAINT
    ) == [
        (EventType.MASS_EMAIL_CHANGED, {"action": "withdraw", "status": "opted_out"}),
        (EventType.CANDIDATE_UNSUBSCRIBED, {"scope": "mass_email", "channel": "complaint"}),
    ]


def test_erasure_is_one_erased_event_by_the_public_id_and_none_when_repeated(
    db_session: Session, candidate: Candidate, tmp_path: Path
) -> None:
    """erase_candidate: mode deleted, reason request; the tombstone erased again says nothing."""
    public_id = candidate.public_id
    erase_candidate(db_session, candidate, upload_dir=tmp_path)
    erase_candidate(db_session, candidate, upload_dir=tmp_path)
    facts = stored_events(db_session, "candidate.erased")
    assert facts == [
        ("candidate.erased", public_id, {"mode": "deleted", "reason": "request"}, "candidate")
    ]


def test_an_erasure_on_someone_elses_word_says_admin(
    db_session: Session, candidate: Candidate, tmp_path: Path
) -> None:
    """An actor other than the candidate makes the reason admin."""
    erase_candidate(db_session, candidate, upload_dir=tmp_path, actor="recruiter:7")
    assert stored_events(db_session, "candidate.erased")[0][2:] == (
        {"mode": "deleted", "reason": "admin"},
        "admin",
    )


def test_a_chunk_anonymized_at_retention_expiry_is_one_insert(
    db_session: Session, engine: Engine, clock: FrozenClock, tmp_path: Path
) -> None:
    """erase_candidates for many: one candidate.erased each, anonymized, in one statement."""
    people = [
        get_or_create_candidate(db_session, f"p{i}@example.com", first_name=f"Person{i}")[0]
        for i in range(5)
    ]
    keys = [p.public_id for p in people]
    db_session.commit()
    with inserts_into_events(engine) as inserts:
        erase_candidates(
            db_session,
            [p.id for p in people],
            upload_dir=tmp_path,
            reason=SuppressionReason.RETENTION_EXPIRED,
        )
    assert len(inserts) == 1
    facts = stored_events(db_session, "candidate.erased")
    assert sorted(f[1] or "" for f in facts) == sorted(keys)
    assert {(f[3], tuple(sorted(f[2].items()))) for f in facts} == {
        ("retention", (("mode", "anonymized"), ("reason", "retention_expired")))
    }
    assert_no_personal_data(facts, "person")


def test_a_rolled_back_change_leaves_no_event(db_session: Session, clock: FrozenClock) -> None:
    """Rolling back a sign-up takes its candidate.created with it."""
    get_or_create_candidate(db_session, "cleo@example.com", source="api")
    db_session.rollback()
    assert db_session.scalar(select(func.count()).select_from(WebhookEvent)) == 0
    assert db_session.scalar(select(func.count()).select_from(Candidate)) == 0


def test_a_change_that_fails_after_its_event_stores_neither(
    db_session: Session, clock: FrozenClock, interest: Interest
) -> None:
    """The event is inserted, then the transaction fails: no event without its change."""
    db_session.commit()
    ana, _ = get_or_create_candidate(db_session, "ana@example.com", source="api")
    subscribe(db_session, ana, interest, source=CENTER, confirmed=True)
    assert len(stored_events(db_session)) == 2  # written, not yet committed
    # The same transaction then breaks a constraint: a second candidate with Ana's address.
    db_session.add(Candidate(email="ana@example.com"))
    with pytest.raises(IntegrityError):
        db_session.commit()
    db_session.rollback()
    assert stored_events(db_session) == []
    assert db_session.scalar(select(func.count()).select_from(Candidate)) == 0


def test_an_interest_merge_says_which_interest_it_came_from_by_id_only(
    db_session: Session, candidate: Candidate, interest: Interest
) -> None:
    """A recruiter's merge: subscription.changed on the target with merged_from, no name."""
    old = Interest(name="Software Secret Name", slug="software")
    db_session.add(old)
    db_session.flush()
    subscribe(db_session, candidate, old, source=CENTER, confirmed=True)
    merge_subscriptions(db_session, old.id, interest.id)
    facts = stored_events(db_session, "subscription.changed")
    assert facts[-1] == (
        "subscription.changed",
        candidate.public_id,
        {"kind": "interest", "interest_id": interest.id, "action": "change", "merged_from": old.id},
        "admin",
    )
    assert_no_personal_data(facts, "secret name")
