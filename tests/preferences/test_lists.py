"""List references in one-click links, and unsubscribing from exactly one list."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy.orm import Session

from preferences.clock import FrozenClock
from preferences.errors import PreferencesError
from preferences.lists import (
    ListKind,
    ListRef,
    ListUnavailable,
    UnknownList,
    alert_list_ref,
    interests_list_ref,
    parse_list_ref,
    resolve_list,
    unsubscribe_from_list,
)
from preferences.models import (
    Candidate,
    ConsentAction,
    ConsentEvent,
    ConsentScope,
    ConsentSource,
    Interest,
    MassEmail,
    Subscription,
    SubscriptionStatus,
)
from preferences.subscriptions import (
    mass_email_status,
    opt_in_mass_email,
    subscribe,
)
from tests.webhook_events import stored_events, types_of

IP = "198.51.100.23"


@pytest.fixture
def design(db_session: Session) -> Interest:
    row = Interest(name="Design", slug="design")
    db_session.add(row)
    db_session.flush()
    return row


@pytest.fixture
def subscribed(
    db_session: Session, candidate: Candidate, interest: Interest, design: Interest
) -> Candidate:
    """Ana, subscribed to Engineering and Design alerts and opted in to mass email."""
    for row in (interest, design):
        subscribe(db_session, candidate, row, source=ConsentSource.CONNECT_FORM, confirmed=True)
    opt_in_mass_email(db_session, candidate, source=ConsentSource.CONNECT_FORM)
    return candidate


def events(session: Session) -> list[ConsentEvent]:
    return list(session.scalars(select(ConsentEvent).order_by(ConsentEvent.id)))


def status(session: Session, candidate: Candidate, interest: Interest) -> SubscriptionStatus:
    sub = session.scalars(
        select(Subscription).where(
            Subscription.candidate_id == candidate.id, Subscription.interest_id == interest.id
        )
    ).one()
    return sub.status


def test_parse_list_ref_reads_interest_and_mass_email_refs() -> None:
    """The two shapes the link builder writes parse, and print back the same."""
    assert parse_list_ref("interest:12") == ListRef(ListKind.INTEREST, 12)
    assert parse_list_ref("mass_email") == ListRef(ListKind.MASS_EMAIL)
    for ref in ("interest:12", "mass_email"):
        assert str(parse_list_ref(ref)) == ref


@pytest.mark.parametrize(
    "ref",
    [
        None,
        12,
        "",
        "interest",
        "interest:",
        "interest:0",
        "interest:-3",
        "interest:abc",
        "interest:12 ",
        "interest:1.5",
        "interest:" + "9" * 40,
        "Mass_Email",
        "mass_email:1",
        "campaign:3",
    ],
)
def test_parse_list_ref_rejects_anything_else(ref: object) -> None:
    """Malformed or unknown references raise UnknownList, a PreferencesError."""
    with pytest.raises(UnknownList) as info:
        parse_list_ref(ref)
    assert isinstance(info.value, PreferencesError)


def test_unsubscribing_from_an_interest_changes_only_that_interest(
    db_session: Session,
    subscribed: Candidate,
    interest: Interest,
    design: Interest,
    clock: FrozenClock,
) -> None:
    """An interest ref stops that interest's alerts, records one one-click event with the IP."""
    before = len(events(db_session))
    changed = unsubscribe_from_list(
        db_session,
        subscribed,
        f"interest:{interest.id}",
        source=ConsentSource.ONE_CLICK,
        ip_address=IP,
    )
    assert changed is True
    assert status(db_session, subscribed, interest) is SubscriptionStatus.UNSUBSCRIBED
    assert status(db_session, subscribed, design) is SubscriptionStatus.SUBSCRIBED
    assert mass_email_status(db_session, subscribed) is MassEmail.OPTED_IN
    new = events(db_session)[before:]
    assert [(e.scope, e.interest_id, e.action, e.source, e.ip_address) for e in new] == [
        (ConsentScope.INTEREST, interest.id, ConsentAction.WITHDRAW, ConsentSource.ONE_CLICK, IP)
    ]


def test_unsubscribing_twice_is_a_no_op(
    db_session: Session, subscribed: Candidate, interest: Interest
) -> None:
    """The second call returns False and writes no second consent event."""
    ref = ListRef(ListKind.INTEREST, interest.id)
    assert unsubscribe_from_list(db_session, subscribed, ref, source=ConsentSource.ONE_CLICK)
    count = len(events(db_session))
    assert not unsubscribe_from_list(db_session, subscribed, ref, source=ConsentSource.ONE_CLICK)
    assert len(events(db_session)) == count


def test_unsubscribing_from_mass_email_leaves_job_alerts_alone(
    db_session: Session, subscribed: Candidate, interest: Interest, design: Interest
) -> None:
    """The mass_email ref opts out of mass email only."""
    before = len(events(db_session))
    assert unsubscribe_from_list(
        db_session, subscribed, "mass_email", source=ConsentSource.ONE_CLICK, ip_address=IP
    )
    assert mass_email_status(db_session, subscribed) is MassEmail.OPTED_OUT
    assert status(db_session, subscribed, interest) is SubscriptionStatus.SUBSCRIBED
    assert status(db_session, subscribed, design) is SubscriptionStatus.SUBSCRIBED
    new = events(db_session)[before:]
    assert [(e.scope, e.action, e.source) for e in new] == [
        (ConsentScope.MASS_EMAIL, ConsentAction.WITHDRAW, ConsentSource.ONE_CLICK)
    ]
    assert not unsubscribe_from_list(
        db_session, subscribed, "mass_email", source=ConsentSource.ONE_CLICK
    )


@pytest.mark.parametrize("ref", ["interest", "mass_email"])
def test_a_one_click_write_is_one_statement_on_postgresql_and_writes_the_same_rows(
    db_session: Session, engine: Engine, subscribed: Candidate, interest: Interest, ref: str
) -> None:
    """The change, its consent event and its webhook events: one statement on PostgreSQL
    (three on SQLite), the same rows on both; a repeat writes none of them."""
    db_session.flush()
    list_ref = f"interest:{interest.id}" if ref == "interest" else "mass_email"
    target = resolve_list(db_session, list_ref, candidate_id=subscribed.id)
    consents, hooks = len(events(db_session)), len(stored_events(db_session))
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    sqlalchemy_event.listen(engine, "before_cursor_execute", record)
    try:
        changed = unsubscribe_from_list(
            db_session, subscribed, target, source=ConsentSource.ONE_CLICK, ip_address=IP
        )
        written = list(seen)
        seen.clear()
        repeated = unsubscribe_from_list(
            db_session, subscribed, target, source=ConsentSource.ONE_CLICK, ip_address=IP
        )
    finally:
        sqlalchemy_event.remove(engine, "before_cursor_execute", record)
    assert (changed, repeated) == (True, False)
    # A repeat: the change finds nothing (mass email then checks the row exists).
    again = ["UPDATE"] if ref == "interest" else ["UPDATE", "SELECT"]
    if engine.dialect.name == "postgresql":
        assert [s.split()[0] for s in written] == ["WITH"], written
        assert [s.split()[0] for s in seen] == ["WITH", *again[1:]], seen
    else:
        assert [s.split()[0] for s in written] == ["UPDATE", "INSERT", "INSERT"], written
        assert [s.split()[0] for s in seen] == again, seen
    scope = ConsentScope.INTEREST if ref == "interest" else ConsentScope.MASS_EMAIL
    new = events(db_session)[consents:]
    assert [(e.scope, e.action, e.source, e.ip_address) for e in new] == [
        (scope, ConsentAction.WITHDRAW, ConsentSource.ONE_CLICK, IP)
    ]
    assert new[0].wording_version  # the default wording's version, as before
    facts = stored_events(db_session)[hooks:]
    kind = "subscription.changed" if ref == "interest" else "mass_email.changed"
    assert types_of(facts) == [kind, "candidate.unsubscribed"]
    assert {fact[1] for fact in facts} == {subscribed.public_id}
    assert {fact[3] for fact in facts} == {ConsentSource.ONE_CLICK.value}
    if ref == "interest":
        assert facts[0][2] == {
            "kind": "interest",
            "interest_id": interest.id,
            "action": "withdraw",
            "status": "unsubscribed",
        }
        assert status(db_session, subscribed, interest) is SubscriptionStatus.UNSUBSCRIBED
    else:
        assert facts[0][2] == {"action": "withdraw", "status": "opted_out"}
        assert mass_email_status(db_session, subscribed) is MassEmail.OPTED_OUT


def test_an_explicit_opt_out_without_a_status_row_still_writes_the_row_and_its_event(
    db_session: Session, candidate: Candidate
) -> None:
    """A candidate with no mass-email row: the change finds nothing, so the row is made
    and the opt-out recorded (the path beside the one-statement change)."""
    consents, hooks = len(events(db_session)), len(stored_events(db_session))
    assert unsubscribe_from_list(
        db_session, candidate, "mass_email", source=ConsentSource.ONE_CLICK
    )
    assert mass_email_status(db_session, candidate) is MassEmail.OPTED_OUT
    assert [(e.scope, e.action) for e in events(db_session)[consents:]] == [
        (ConsentScope.MASS_EMAIL, ConsentAction.WITHDRAW)
    ]
    assert types_of(stored_events(db_session)[hooks:]) == [
        "mass_email.changed",
        "candidate.unsubscribed",
    ]
    assert not unsubscribe_from_list(
        db_session, candidate, "mass_email", source=ConsentSource.ONE_CLICK
    )


def test_an_interest_never_subscribed_to_is_a_no_op(
    db_session: Session, candidate: Candidate, interest: Interest
) -> None:
    """Unsubscribing from a list one was never on changes nothing and records nothing."""
    assert not unsubscribe_from_list(
        db_session, candidate, f"interest:{interest.id}", source=ConsentSource.ONE_CLICK
    )
    assert events(db_session) == []


def test_a_missing_interest_is_an_unknown_list(db_session: Session, candidate: Candidate) -> None:
    """A ref naming no interest raises UnknownList and changes nothing."""
    with pytest.raises(UnknownList):
        unsubscribe_from_list(
            db_session, candidate, "interest:987654", source=ConsentSource.ONE_CLICK
        )
    assert events(db_session) == []


def test_retired_and_merged_interests_are_unavailable(
    db_session: Session,
    candidate: Candidate,
    retired_interest: Interest,
    merged_interest: Interest,
) -> None:
    """Old links to a retired or merged interest raise ListUnavailable and change nothing."""
    for row in (retired_interest, merged_interest):
        with pytest.raises(ListUnavailable):
            unsubscribe_from_list(
                db_session, candidate, f"interest:{row.id}", source=ConsentSource.ONE_CLICK
            )
    assert events(db_session) == []


def test_resolve_list_names_the_list_for_the_page(db_session: Session, interest: Interest) -> None:
    """The confirm page can say which list it is about."""
    assert resolve_list(db_session, f"interest:{interest.id}").name == "job alerts for Engineering"
    assert resolve_list(db_session, "mass_email").name == "mass email communications"


def test_unsubscribe_from_list_flushes_but_does_not_commit(
    db_session: Session, subscribed: Candidate, interest: Interest
) -> None:
    """The caller's transaction decides: a rollback undoes the unsubscribe and its event."""
    db_session.commit()
    count = db_session.scalar(select(func.count()).select_from(ConsentEvent))
    unsubscribe_from_list(
        db_session, subscribed, f"interest:{interest.id}", source=ConsentSource.ONE_CLICK
    )
    assert db_session.scalar(select(func.count()).select_from(ConsentEvent)) == count + 1
    db_session.rollback()
    assert db_session.scalar(select(func.count()).select_from(ConsentEvent)) == count
    assert status(db_session, subscribed, interest) is SubscriptionStatus.SUBSCRIBED


def test_parse_list_ref_reads_a_list_of_several_interests() -> None:
    """`interests:3.7.12` parses to the ascending ids and prints back the same."""
    ref = parse_list_ref("interests:3.7.12")
    assert ref == ListRef(ListKind.INTERESTS, interest_ids=(3, 7, 12))
    assert str(ref) == "interests:3.7.12"


@pytest.mark.parametrize(
    "ref",
    [
        "interests:",
        "interests:5",
        "interests:7.3",
        "interests:3.3",
        "interests:3..7",
        "interests:0.4",
        "interests:3.7.",
        "interests:3,7",
        "interests:" + ".".join(str(n) for n in range(1, 52)),
    ],
)
def test_parse_list_ref_rejects_malformed_interest_lists(ref: str) -> None:
    """One id, unsorted, repeated, zero, empty parts or too many ids: UnknownList."""
    with pytest.raises(UnknownList):
        parse_list_ref(ref)


def test_interests_list_ref_and_alert_list_ref_spell_each_set_once() -> None:
    """One id gives `interest:<id>`; several give the sorted `interests:` form."""
    assert str(interests_list_ref([7])) == "interest:7"
    assert str(interests_list_ref([12, 3, 7, 3])) == "interests:3.7.12"
    assert alert_list_ref({"interest_id": 3, "interest_ids": [7, 3]}) == "interests:3.7"
    assert alert_list_ref({"interest_id": 3}) == "interest:3"
    with pytest.raises(ValueError, match="interest ids"):
        interests_list_ref([])


def test_a_list_of_several_interests_leaves_exactly_those(
    db_session: Session,
    subscribed: Candidate,
    interest: Interest,
    design: Interest,
    clock: FrozenClock,
) -> None:
    """Each named interest is withdrawn with its own consent event; the others stay."""
    sales = Interest(name="Sales", slug="sales")
    db_session.add(sales)
    db_session.flush()
    subscribe(db_session, subscribed, sales, source=ConsentSource.CONNECT_FORM, confirmed=True)
    ref = str(interests_list_ref([interest.id, design.id]))
    target = resolve_list(db_session, ref)
    # Named in the order the preference center lists them (position, then name).
    assert target.name == "job alerts for Design and Engineering"
    assert target.interest_ids == tuple(sorted([interest.id, design.id]))
    before = len(events(db_session))
    assert unsubscribe_from_list(
        db_session, subscribed, ref, source=ConsentSource.ONE_CLICK, ip_address=IP
    )
    assert status(db_session, subscribed, interest) is SubscriptionStatus.UNSUBSCRIBED
    assert status(db_session, subscribed, design) is SubscriptionStatus.UNSUBSCRIBED
    assert status(db_session, subscribed, sales) is SubscriptionStatus.SUBSCRIBED
    assert mass_email_status(db_session, subscribed) is MassEmail.OPTED_IN
    new = events(db_session)[before:]
    assert sorted((e.interest_id, e.action, e.source, e.ip_address) for e in new) == sorted(
        (i, ConsentAction.WITHDRAW, ConsentSource.ONE_CLICK, IP) for i in (interest.id, design.id)
    )
    count = len(events(db_session))
    assert not unsubscribe_from_list(db_session, subscribed, ref, source=ConsentSource.ONE_CLICK)
    assert len(events(db_session)) == count


def test_a_list_of_several_interests_skips_retired_ones(
    db_session: Session,
    subscribed: Candidate,
    interest: Interest,
    retired_interest: Interest,
    merged_interest: Interest,
) -> None:
    """Retired or merged interests in the list are passed over; only retired ones is unavailable."""
    ref = str(interests_list_ref([interest.id, retired_interest.id]))
    assert resolve_list(db_session, ref).interest_ids == (interest.id,)
    assert unsubscribe_from_list(db_session, subscribed, ref, source=ConsentSource.ONE_CLICK)
    assert status(db_session, subscribed, interest) is SubscriptionStatus.UNSUBSCRIBED
    gone = str(interests_list_ref([retired_interest.id, merged_interest.id]))
    before = len(events(db_session))
    with pytest.raises(ListUnavailable):
        unsubscribe_from_list(db_session, subscribed, gone, source=ConsentSource.ONE_CLICK)
    with pytest.raises(ListUnavailable):
        resolve_list(db_session, "interests:987654.987655")
    assert len(events(db_session)) == before
