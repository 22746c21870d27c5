"""Saved searches as subscriptions: save, confirm, re-time, pause, withdraw, and their list refs."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jobs.posting_fields import Workplace
from preferences.clock import FrozenClock
from preferences.errors import CandidateDeleted, InvalidTransition, NotFound, TooManySavedSearches
from preferences.lists import (
    ListKind,
    ListRef,
    ListUnavailable,
    UnknownList,
    alerts_list_ref,
    parse_list_ref,
    resolve_list,
    unsubscribe_from_list,
)
from preferences.models import (
    AuditEvent,
    Candidate,
    CandidateStatus,
    ConsentAction,
    ConsentEvent,
    ConsentScope,
    ConsentSource,
    Frequency,
    Interest,
    InterestStatus,
    SavedSearch,
    Subscription,
    SubscriptionStatus,
)
from preferences.privacy import ERASED_SEARCH, erase_candidate, export_candidate_data
from preferences.saved_searches import (
    confirm_saved_search,
    count_saved_searches,
    list_saved_searches,
    pause_saved_search,
    save_search,
    saved_search_of,
    set_search_frequency,
    withdraw_saved_search,
)
from preferences.subscriptions import get_or_create_candidate, subscribe
from tests.saved_search_seed import search_fields

from .support import T0

CENTER = ConsentSource.PREFERENCE_CENTER


fields = search_fields


def events(session: Session, candidate: Candidate) -> list[ConsentEvent]:
    return list(
        session.scalars(
            select(ConsentEvent)
            .where(
                ConsentEvent.candidate_id == candidate.id,
                ConsentEvent.scope == ConsentScope.SAVED_SEARCH,
            )
            .order_by(ConsentEvent.id)
        )
    )


@pytest.fixture
def bea(db_session: Session, clock: FrozenClock) -> Candidate:
    created, _ = get_or_create_candidate(db_session, "bea@example.com", first_name="Bea")
    return created


def test_save_starts_unconfirmed_with_a_grant_in_words(
    db_session: Session, candidate: Candidate
) -> None:
    """A visitor's saved search waits for confirmation; its grant keeps the search in words."""
    search, changed = save_search(
        db_session,
        candidate,
        fields(workplace=Workplace.REMOTE),
        source=ConsentSource.CONNECT_FORM,
        wording="Email me jobs like this",
    )
    assert changed and search.status is SubscriptionStatus.UNCONFIRMED
    assert search.frequency is Frequency.DAILY
    (grant,) = events(db_session, candidate)
    assert grant.action is ConsentAction.GRANT and grant.saved_search_id == search.id
    assert grant.detail["search"] == "“python” in Berlin · Remote"
    assert grant.detail["wording"] == "Email me jobs like this"


def test_confirm_is_idempotent_and_verifies_the_address(
    db_session: Session, candidate: Candidate, clock: FrozenClock
) -> None:
    """Confirming starts alerts from now and verifies the address; again, nothing is written."""
    candidate.email_verified_at = None
    search, _ = save_search(db_session, candidate, fields(), source=ConsentSource.CONNECT_FORM)
    clock.advance(timedelta(hours=1))
    confirm_saved_search(db_session, candidate, search.id, source=ConsentSource.CONNECT_FORM)
    assert search.status is SubscriptionStatus.SUBSCRIBED
    assert search.last_alerted_at == T0 + timedelta(hours=1)
    assert candidate.email_verified_at == T0 + timedelta(hours=1)
    confirm_saved_search(db_session, candidate, search.id, source=ConsentSource.CONNECT_FORM)
    assert [e.action for e in events(db_session, candidate)] == [
        ConsentAction.GRANT,
        ConsentAction.CONFIRM,
    ]
    assert events(db_session, candidate)[1].detail["search"] == "“python” in Berlin"


def test_frequency_and_pause_write_one_change_each_and_no_op_writes_none(
    db_session: Session, candidate: Candidate
) -> None:
    """Each real change is one CHANGE event with its detail; repeating it writes nothing."""
    search, _ = save_search(db_session, candidate, fields(), source=CENTER, confirmed=True)
    set_search_frequency(db_session, candidate, search.id, Frequency.WEEKLY, source=CENTER)
    set_search_frequency(db_session, candidate, search.id, Frequency.WEEKLY, source=CENTER)
    until = T0 + timedelta(days=7)
    pause_saved_search(db_session, candidate, search.id, until, source=CENTER)
    pause_saved_search(db_session, candidate, search.id, until, source=CENTER)
    pause_saved_search(db_session, candidate, search.id, None, source=ConsentSource.DASHBOARD)
    pause_saved_search(db_session, candidate, search.id, None, source=ConsentSource.DASHBOARD)
    got = [(e.action, e.source, e.detail) for e in events(db_session, candidate)]
    assert got[1:] == [
        (
            ConsentAction.CHANGE,
            CENTER,
            {"search": "“python” in Berlin", "frequency": "weekly", "previous_frequency": "daily"},
        ),
        (
            ConsentAction.CHANGE,
            CENTER,
            {"search": "“python” in Berlin", "paused_until": until.isoformat()},
        ),
        (
            ConsentAction.CHANGE,
            ConsentSource.DASHBOARD,
            {"search": "“python” in Berlin", "paused_until": None},
        ),
    ]
    assert search.frequency is Frequency.WEEKLY and search.paused_until is None


def test_a_pause_must_end_in_the_future(db_session: Session, candidate: Candidate) -> None:
    """A pause ending now or earlier is refused and writes nothing."""
    search, _ = save_search(db_session, candidate, fields(), source=CENTER, confirmed=True)
    with pytest.raises(ValueError, match="future"):
        pause_saved_search(db_session, candidate, search.id, T0, source=CENTER)
    assert search.paused_until is None and len(events(db_session, candidate)) == 1


def test_withdraw_once_then_no_op_and_changes_are_refused_after(
    db_session: Session, candidate: Candidate
) -> None:
    """Withdrawing writes one WITHDRAW; again is False with no event; later changes raise."""
    search, _ = save_search(db_session, candidate, fields(), source=CENTER, confirmed=True)
    assert withdraw_saved_search(db_session, candidate.id, search.id, source=CENTER)
    assert not withdraw_saved_search(db_session, candidate.id, search.id, source=CENTER)
    assert [e.action for e in events(db_session, candidate)][-1] is ConsentAction.WITHDRAW
    assert len(events(db_session, candidate)) == 2
    db_session.refresh(search)
    assert search.status is SubscriptionStatus.UNSUBSCRIBED
    assert list_saved_searches(db_session, candidate) == []
    with pytest.raises(InvalidTransition):
        set_search_frequency(db_session, candidate, search.id, Frequency.WEEKLY, source=CENTER)
    with pytest.raises(InvalidTransition):
        pause_saved_search(db_session, candidate, search.id, T0 + timedelta(days=1), source=CENTER)
    with pytest.raises(InvalidTransition):
        confirm_saved_search(db_session, candidate, search.id, source=CENTER)


def test_another_candidates_search_is_not_found_and_not_withdrawn(
    db_session: Session, candidate: Candidate, bea: Candidate
) -> None:
    """Ids of another candidate's search, or no search at all, change nothing."""
    theirs, _ = save_search(db_session, bea, fields(), source=CENTER, confirmed=True)
    for search_id in (theirs.id, 0, -1, 2**31, 10**17):
        with pytest.raises(NotFound):
            saved_search_of(db_session, candidate, search_id)
        with pytest.raises(NotFound):
            set_search_frequency(db_session, candidate, search_id, Frequency.WEEKLY, source=CENTER)
        assert not withdraw_saved_search(db_session, candidate.id, search_id, source=CENTER)
    assert theirs.status is SubscriptionStatus.SUBSCRIBED
    assert events(db_session, candidate) == []


def test_same_search_saved_again_is_one_row_whatever_its_spelling(
    db_session: Session, candidate: Candidate
) -> None:
    """The criteria key makes "Python  / berlin" the same saved search: nothing changes."""
    first, _ = save_search(db_session, candidate, fields(), source=CENTER, confirmed=True)
    again, changed = save_search(
        db_session, candidate, fields("Python ", "berlin"), source=CENTER, confirmed=True
    )
    assert again.id == first.id and not changed
    weekly, changed = save_search(
        db_session, candidate, fields(), source=CENTER, confirmed=True, frequency=Frequency.WEEKLY
    )
    assert changed and weekly.frequency is Frequency.WEEKLY
    assert db_session.scalar(select(func.count()).select_from(SavedSearch)) == 1
    assert [e.action for e in events(db_session, candidate)] == [
        ConsentAction.GRANT,
        ConsentAction.CHANGE,
    ]


def test_saving_a_pending_search_confirmed_with_a_frequency_applies_both(
    db_session: Session, candidate: Candidate
) -> None:
    """A pending search saved again by a member is confirmed and takes the frequency asked."""
    search, _ = save_search(db_session, candidate, fields(), source=ConsentSource.CONNECT_FORM)
    again, changed = save_search(
        db_session,
        candidate,
        fields(),
        source=ConsentSource.DASHBOARD,
        confirmed=True,
        frequency=Frequency.INSTANT,
    )
    assert changed and again.id == search.id
    assert (again.status, again.frequency) == (SubscriptionStatus.SUBSCRIBED, Frequency.INSTANT)
    assert [e.action for e in events(db_session, candidate)] == [
        ConsentAction.GRANT,
        ConsentAction.CONFIRM,
        ConsentAction.CHANGE,
    ]


def test_the_limit_counts_kept_searches_and_a_left_one_can_be_taken_up_again(
    db_session: Session, candidate: Candidate, clock: FrozenClock
) -> None:
    """At the limit a new search is refused; withdrawing one makes room; re-saving reuses it."""
    kept = [
        save_search(db_session, candidate, fields(f"q{i}"), source=CENTER, limit=3)[0]
        for i in range(3)
    ]
    with pytest.raises(TooManySavedSearches):
        save_search(db_session, candidate, fields("q3"), source=CENTER, limit=3)
    assert count_saved_searches(db_session, candidate) == 3
    withdraw_saved_search(db_session, candidate.id, kept[0].id, source=CENTER)
    clock.advance(timedelta(days=2))
    back, changed = save_search(
        db_session, candidate, fields("q0"), source=CENTER, confirmed=True, limit=3
    )
    assert changed and back.id == kept[0].id
    assert back.status is SubscriptionStatus.SUBSCRIBED
    assert back.last_alerted_at == T0 + timedelta(days=2)
    with pytest.raises(TooManySavedSearches):
        save_search(db_session, candidate, fields("q3"), source=CENTER, limit=3)


def test_a_deleted_candidate_changes_nothing(db_session: Session, candidate: Candidate) -> None:
    """Every change to an erased candidate's saved search raises `CandidateDeleted`."""
    search, _ = save_search(db_session, candidate, fields(), source=CENTER, confirmed=True)
    candidate.status = CandidateStatus.DELETED
    with pytest.raises(CandidateDeleted):
        save_search(db_session, candidate, fields("go"), source=CENTER)
    with pytest.raises(CandidateDeleted):
        set_search_frequency(db_session, candidate, search.id, Frequency.WEEKLY, source=CENTER)
    with pytest.raises(CandidateDeleted):
        pause_saved_search(db_session, candidate, search.id, None, source=CENTER)
    with pytest.raises(CandidateDeleted):
        confirm_saved_search(db_session, candidate, search.id, source=CENTER)


@pytest.mark.parametrize(
    ("text", "ref"),
    [
        ("search:7", ListRef(ListKind.SEARCH, search_ids=(7,))),
        ("alerts:3:5", ListRef(ListKind.ALERTS, interest_ids=(3,), search_ids=(5,))),
        ("alerts:2.3:5.9", ListRef(ListKind.ALERTS, interest_ids=(2, 3), search_ids=(5, 9))),
        ("alerts::5.9", ListRef(ListKind.ALERTS, search_ids=(5, 9))),
    ],
)
def test_search_list_refs_round_trip(text: str, ref: ListRef) -> None:
    """Each spelling parses to its ref, and the ref spells itself the same way."""
    assert parse_list_ref(text) == ref
    assert str(ref) == text


@pytest.mark.parametrize(
    "text",
    [
        "alerts:3.2:1",
        "alerts:1:2.2",
        "search:0",
        "search:",
        "search:01",
        "search:1.2",
        "alerts::",
        "alerts:1:",
        "alerts:",
        "alerts:1",
        "alerts:a:1",
        "search:-1",
        "alerts:"
        + ".".join(str(i) for i in range(1, 30))
        + ":"
        + "."
        + ".".join(str(i) for i in range(1, 30)),
        "alerts:"
        + ".".join(str(i) for i in range(1, 30))
        + ":"
        + ".".join(str(i) for i in range(1, 30)),
    ],
)
def test_malformed_search_refs_are_unknown(text: str) -> None:
    """Out-of-order, zero, empty, repeated or too many ids are refused, never guessed at."""
    with pytest.raises(UnknownList):
        parse_list_ref(text)


def test_alerts_list_ref_picks_the_shortest_spelling() -> None:
    """One search alone is `search:`; with interests it is `alerts:`; none is the interests'."""
    assert str(alerts_list_ref([], [4])) == "search:4"
    assert str(alerts_list_ref([2, 1], [9, 4, 4])) == "alerts:1.2:4.9"
    assert str(alerts_list_ref([1], [])) == "interest:1"


def test_unsubscribe_leaves_only_the_candidates_own_searches(
    db_session: Session, candidate: Candidate, bea: Candidate, interest: Interest
) -> None:
    """An `alerts:` list naming another's search leaves the candidate's interest and search only."""
    subscribe(db_session, candidate, interest, source=CENTER, confirmed=True)
    mine, _ = save_search(db_session, candidate, fields(), source=CENTER, confirmed=True)
    theirs, _ = save_search(db_session, bea, fields(), source=CENTER, confirmed=True)
    ref = alerts_list_ref([interest.id], [mine.id, theirs.id])
    resolved = resolve_list(db_session, ref, candidate_id=candidate.id)
    assert resolved.search_ids == (mine.id,) and resolved.interest_ids == (interest.id,)
    assert "“python”" in resolved.name and "Engineering" in resolved.name
    assert unsubscribe_from_list(db_session, candidate, str(ref), source=ConsentSource.ONE_CLICK)
    db_session.refresh(mine)
    db_session.refresh(theirs)
    assert mine.status is SubscriptionStatus.UNSUBSCRIBED
    assert theirs.status is SubscriptionStatus.SUBSCRIBED
    sub = db_session.scalars(select(Subscription)).one()
    assert sub.status is SubscriptionStatus.UNSUBSCRIBED
    assert events(db_session, bea)[-1].action is ConsentAction.GRANT
    # Again: nothing left to leave, no event written.
    before = len(events(db_session, candidate))
    assert not unsubscribe_from_list(
        db_session, candidate, str(ref), source=ConsentSource.ONE_CLICK
    )
    assert len(events(db_session, candidate)) == before


def test_a_search_list_of_someone_elses_search_is_unknown_to_the_candidate(
    db_session: Session, candidate: Candidate, bea: Candidate
) -> None:
    """`search:<their id>` from the candidate's link names nothing: no words leak, nothing left."""
    theirs, _ = save_search(db_session, bea, fields(), source=CENTER, confirmed=True)
    with pytest.raises(UnknownList):
        resolve_list(db_session, f"search:{theirs.id}", candidate_id=candidate.id)
    with pytest.raises(UnknownList):
        unsubscribe_from_list(
            db_session, candidate, f"search:{theirs.id}", source=ConsentSource.ONE_CLICK
        )
    assert theirs.status is SubscriptionStatus.SUBSCRIBED


def test_a_digest_link_still_leaves_its_search_when_its_interest_was_retired(
    db_session: Session, candidate: Candidate, interest: Interest
) -> None:
    """A retired interest drops out of an `alerts:` list; the search in it is still left."""
    mine, _ = save_search(db_session, candidate, fields(), source=CENTER, confirmed=True)
    ref = f"alerts:{interest.id}:{mine.id}"
    interest.status = InterestStatus.RETIRED
    db_session.flush()
    resolved = resolve_list(db_session, ref, candidate_id=candidate.id)
    assert resolved.interest_ids == () and resolved.search_ids == (mine.id,)
    assert unsubscribe_from_list(db_session, candidate, resolved, source=ConsentSource.ONE_CLICK)
    withdraw_saved_search(db_session, candidate.id, mine.id, source=CENTER)
    # With only retired interests and no search of theirs, the list is closed.
    with pytest.raises(ListUnavailable):
        resolve_list(db_session, f"alerts:{interest.id}:999", candidate_id=candidate.id)


def test_export_lists_saved_searches_and_their_consent_events(
    db_session: Session, candidate: Candidate, bea: Candidate
) -> None:
    """The data export has each saved search (left ones too) and every event naming it."""
    search, _ = save_search(
        db_session, candidate, fields(workplace=Workplace.REMOTE), source=CENTER, confirmed=True
    )
    set_search_frequency(db_session, candidate, search.id, Frequency.WEEKLY, source=CENTER)
    withdraw_saved_search(db_session, candidate.id, search.id, source=ConsentSource.ONE_CLICK)
    save_search(db_session, bea, fields("rust"), source=CENTER)
    data = export_candidate_data(db_session, candidate)
    assert data["saved_searches"] == [
        {
            "id": search.id,
            "query": "python",
            "location": "Berlin",
            "workplace": "remote",
            "employment_type": None,
            "interest": None,
            "status": "unsubscribed",
            "frequency": "weekly",
            "paused_until": None,
            # Alerts count from `created_at` until the first one is sent.
            "last_alerted_at": None,
            "created_at": T0.isoformat(),
            "updated_at": T0.isoformat(),
        }
    ]
    mine = [e for e in data["consent_history"] if e["scope"] == "saved_search"]
    assert [(e["action"], e["saved_search_id"]) for e in mine] == [
        ("grant", search.id),
        ("change", search.id),
        ("withdraw", search.id),
    ]
    assert {e["detail"]["search"] for e in mine} == {"“python” in Berlin · Remote"}


def test_erasure_deletes_saved_searches_and_blanks_their_words(
    db_session: Session, candidate: Candidate, bea: Candidate, tmp_path: Path
) -> None:
    """Erasure removes the rows; the consent events stay, without the words the person typed."""
    save_search(db_session, candidate, fields(), source=CENTER, confirmed=True)
    save_search(db_session, candidate, fields("rust"), source=CENTER)
    kept, _ = save_search(db_session, bea, fields(), source=CENTER, confirmed=True)
    erase_candidate(db_session, candidate, upload_dir=tmp_path)
    db_session.expire_all()
    assert db_session.scalars(select(SavedSearch.id)).all() == [kept.id]
    left = events(db_session, candidate)
    assert len(left) == 2
    assert {e.detail["search"] for e in left} == {ERASED_SEARCH}
    assert {e.saved_search_id for e in left} == {None}
    assert events(db_session, bea)[0].detail["search"] == "“python” in Berlin"
    audit = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "candidate.erased"))
    assert audit.one().detail["deleted"]["saved_searches"] == 2
    assert export_candidate_data(db_session, candidate)["saved_searches"] == []
