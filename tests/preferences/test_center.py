"""The preference center's model: reading the page, every change a Save makes, and Undo."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from preferences.center import (
    MASS_EMAIL_OFF,
    MASS_EMAIL_ON,
    STALE_FORM,
    CenterForm,
    CenterPage,
    InterestChoice,
    InterestOption,
    PreferenceState,
    apply_state,
    center_page,
    current_state,
    read_form,
    restore_center,
    save_center,
)
from preferences.clock import FrozenClock
from preferences.errors import CandidateDeleted, InterestUnavailable, NotFound
from preferences.events import WebhookEvent
from preferences.models import (
    Candidate,
    CandidateStatus,
    ConsentAction,
    ConsentEvent,
    ConsentScope,
    ConsentSource,
    Frequency,
    Interest,
    InterestStatus,
    MassEmail,
    MassEmailStatus,
    Subscription,
    SubscriptionStatus,
)
from preferences.subscriptions import (
    mass_email_status,
    opt_in_mass_email,
    opt_out_mass_email,
    pause_subscription,
    subscribe,
    unsubscribe,
)
from preferences.wordings import NO_WORDING_VERSION

from .support import T0, consent_events, event_facts

IP = "203.0.113.7"
CENTER = ConsentSource.PREFERENCE_CENTER
SETUP = ConsentSource.IMPORT  # the source of events written to arrange a test
NOV_20 = datetime(2026, 11, 20, tzinfo=UTC)
DEC_1 = datetime(2026, 12, 1, tzinfo=UTC)


def add_interests(session: Session, *names: str) -> list[Interest]:
    """Active interests shown in the order given."""
    rows = [Interest(name=name, slug=name.lower(), position=n) for n, name in enumerate(names, 1)]
    session.add_all(rows)
    session.flush()
    return rows


@pytest.fixture
def design(db_session: Session) -> Interest:
    (row,) = add_interests(db_session, "Design")
    return row


def subscribed(
    session: Session,
    candidate: Candidate,
    interest: Interest,
    frequency: Frequency = Frequency.DAILY,
    *,
    confirmed: bool = True,
) -> None:
    subscribe(session, candidate, interest, source=SETUP, frequency=frequency, confirmed=confirmed)


def row(session: Session, candidate: Candidate, interest: Interest) -> Subscription | None:
    return session.scalar(
        select(Subscription).where(
            Subscription.candidate_id == candidate.id, Subscription.interest_id == interest.id
        )
    )


def stored(session: Session, candidate: Candidate, interest: Interest) -> tuple[object, ...]:
    """(status, frequency, paused_until) of the subscription row, read from the database."""
    session.expire_all()
    sub = row(session, candidate, interest)
    assert sub is not None
    return sub.status, sub.frequency, sub.paused_until


def wanting(state: PreferenceState, interest: Interest, **changes: Any) -> PreferenceState:
    """`state` with one interest's choice changed (the other choices as they are)."""
    choices = dict(state.interests)
    choices[interest.id] = dataclasses.replace(choices[interest.id], **changes)
    return PreferenceState(interests=choices, mass_email=state.mass_email)


def save(
    session: Session,
    candidate: Candidate,
    interests: list[Interest],
    desired: PreferenceState,
    **kwargs: Any,
) -> tuple[list[str], list[ConsentEvent]]:
    """Apply `desired` from the preference center; the sentences and the events it wrote."""
    already = len(consent_events(session, candidate.id))
    options: dict[str, Any] = {"source": CENTER, "ip_address": IP, **kwargs}
    changes = apply_state(session, candidate, interests, desired, **options)
    return changes, consent_events(session, candidate.id)[already:]


def interest_event(
    interest: Interest, action: ConsentAction, detail: dict[str, object], **overrides: object
) -> dict[str, object]:
    """The facts of an interest event written by a Save from the preference center."""
    return {
        "scope": ConsentScope.INTEREST,
        "interest_id": interest.id,
        "action": action,
        "source": CENTER,
        "wording_version": NO_WORDING_VERSION,
        "detail": detail,
        "ip_address": IP,
        "occurred_at": T0,
        **overrides,
    }


# --- reading the state -----------------------------------------------------------------


def test_current_state_reads_each_kind_of_subscription_row(
    db_session: Session, candidate: Candidate
) -> None:
    """No row or an unsubscribed one reads unsubscribed (frequency kept); unconfirmed: pending."""
    none, gone, pending, paused = add_interests(db_session, "None", "Gone", "Pending", "Paused")
    subscribed(db_session, candidate, gone, Frequency.WEEKLY)
    unsubscribe(db_session, candidate, gone, source=SETUP)
    subscribed(db_session, candidate, pending, Frequency.INSTANT, confirmed=False)
    subscribed(db_session, candidate, paused)
    pause_subscription(db_session, candidate, paused, NOV_20, source=SETUP)
    opt_in_mass_email(db_session, candidate, source=SETUP)

    state = current_state(db_session, candidate, [none, gone, pending, paused])

    assert state == PreferenceState(
        interests={
            none.id: InterestChoice(subscribed=False, frequency=Frequency.DAILY),
            gone.id: InterestChoice(subscribed=False, frequency=Frequency.WEEKLY),
            pending.id: InterestChoice(subscribed=True, frequency=Frequency.INSTANT, pending=True),
            paused.id: InterestChoice(subscribed=True, paused_until=NOV_20),
        },
        mass_email=True,
    )


def test_center_page_shows_the_active_interests_in_order_with_the_stored_state(
    db_session: Session, candidate: Candidate
) -> None:
    """The page lists active interests by position then name (not retired or merged ones)."""
    old, sales, design, art = add_interests(db_session, "Old", "Sales", "Design", "Art")
    art.position = design.position
    subscribed(db_session, candidate, design, Frequency.WEEKLY)
    subscribed(db_session, candidate, old)
    old.status = InterestStatus.RETIRED
    db_session.add(Interest(name="Drawing", slug="drawing", position=0, merged_into_id=art.id))
    db_session.flush()

    page = center_page(db_session, candidate)

    assert page.interests == [
        InterestOption(sales.id, "Sales"),
        InterestOption(art.id, "Art"),
        InterestOption(design.id, "Design"),
    ]
    assert page.state == current_state(db_session, candidate, [sales, art, design])
    assert page.state.interests[design.id].frequency is Frequency.WEEKLY
    assert page.state.mass_email is False


def test_center_page_with_no_active_interest_still_shows_the_mass_email_choice(
    db_session: Session, candidate: Candidate
) -> None:
    """With every interest retired, the page has no rows but still reads the opt-in."""
    opt_in_mass_email(db_session, candidate, source=SETUP)
    db_session.add(Interest(name="Old", slug="old", status=InterestStatus.RETIRED))
    db_session.flush()
    assert center_page(db_session, candidate) == CenterPage([], PreferenceState(mass_email=True))


def test_state_survives_the_round_trip_through_an_undo_link() -> None:
    """as_dict/from_dict keep every choice and the opt-in; "pending" is not carried."""
    state = PreferenceState(
        interests={
            3: InterestChoice(subscribed=True, frequency=Frequency.WEEKLY, paused_until=NOV_20),
            7: InterestChoice(subscribed=False, frequency=Frequency.INSTANT),
            9: InterestChoice(subscribed=True, pending=True),
        },
        mass_email=True,
    )
    back = PreferenceState.from_dict(state.as_dict())
    assert back.mass_email is True
    assert back.interests[3] == state.interests[3]
    assert back.interests[7] == state.interests[7]
    assert back.interests[9] == InterestChoice(subscribed=True)


def test_state_from_a_damaged_dict_keeps_what_it_can_or_refuses() -> None:
    """Junk interest maps and non-numeric keys are dropped; an unknown frequency is a ValueError."""
    assert PreferenceState.from_dict({"i": "x", "m": 1}) == PreferenceState(mass_email=True)
    kept = PreferenceState.from_dict({"i": {"x": {"s": True}, "4": {"s": True}}})
    assert kept.interests == {4: InterestChoice(subscribed=True)}
    with pytest.raises(ValueError, match="hourly"):
        PreferenceState.from_dict({"i": {"4": {"s": True, "f": "hourly"}}})


# --- apply_state: each interest transition -----------------------------------------------


@pytest.mark.parametrize(
    ("frequency", "words"),
    [
        (Frequency.INSTANT, "as jobs are posted"),
        (Frequency.DAILY, "in a daily digest"),
        (Frequency.WEEKLY, "in a weekly digest"),
    ],
)
def test_ticking_an_interest_subscribes_confirmed_at_once_and_records_a_grant(
    db_session: Session,
    candidate: Candidate,
    design: Interest,
    frequency: Frequency,
    words: str,
) -> None:
    """A new choice is subscribed (the link proved the mailbox) with one grant, no wording text."""
    before = current_state(db_session, candidate, [design])
    desired = wanting(before, design, subscribed=True, frequency=frequency)

    changes, events = save(db_session, candidate, [design], desired)

    assert changes == [f"Started job alerts for Design, {words}."]
    assert stored(db_session, candidate, design) == (
        SubscriptionStatus.SUBSCRIBED,
        frequency,
        None,
    )
    assert [event_facts(e) for e in events] == [
        interest_event(
            design, ConsentAction.GRANT, {"status": "subscribed", "frequency": frequency.value}
        )
    ]


def test_ticking_an_interest_unsubscribed_before_grants_it_again(
    db_session: Session, candidate: Candidate, design: Interest
) -> None:
    """An unsubscribed row comes back subscribed, at the frequency chosen now."""
    subscribed(db_session, candidate, design, Frequency.INSTANT)
    unsubscribe(db_session, candidate, design, source=SETUP)
    desired = wanting(
        current_state(db_session, candidate, [design]),
        design,
        subscribed=True,
        frequency=Frequency.WEEKLY,
    )

    changes, events = save(db_session, candidate, [design], desired)

    assert changes == ["Started job alerts for Design, in a weekly digest."]
    assert stored(db_session, candidate, design)[:2] == (
        SubscriptionStatus.SUBSCRIBED,
        Frequency.WEEKLY,
    )
    assert [(e.action, e.detail) for e in events] == [
        (ConsentAction.GRANT, {"status": "subscribed", "frequency": "weekly"})
    ]


def test_ticking_an_interest_with_a_pause_subscribes_then_pauses(
    db_session: Session, candidate: Candidate, design: Interest
) -> None:
    """Subscribe and pause in one Save: a grant, then a change naming the pause end."""
    desired = wanting(
        current_state(db_session, candidate, [design]),
        design,
        subscribed=True,
        paused_until=NOV_20,
    )

    changes, events = save(db_session, candidate, [design], desired)

    assert changes == [
        "Started job alerts for Design, in a daily digest.",
        "Paused Design alerts until November 20, 2026.",
    ]
    assert stored(db_session, candidate, design)[2] == NOV_20
    assert [(e.action, e.detail) for e in events] == [
        (ConsentAction.GRANT, {"status": "subscribed", "frequency": "daily"}),
        (ConsentAction.CHANGE, {"paused_until": "2026-11-20T00:00:00+00:00"}),
    ]


@pytest.mark.parametrize("confirmed", [True, False], ids=["subscribed", "pending"])
def test_unticking_an_interest_unsubscribes_and_records_a_withdrawal(
    db_session: Session, candidate: Candidate, design: Interest, confirmed: bool
) -> None:
    """A subscribed or pending interest left unticked is withdrawn; the frequency is kept."""
    subscribed(db_session, candidate, design, Frequency.WEEKLY, confirmed=confirmed)
    desired = wanting(current_state(db_session, candidate, [design]), design, subscribed=False)

    changes, events = save(db_session, candidate, [design], desired)

    assert changes == ["Stopped job alerts for Design."]
    assert stored(db_session, candidate, design) == (
        SubscriptionStatus.UNSUBSCRIBED,
        Frequency.WEEKLY,
        None,
    )
    assert [event_facts(e) for e in events] == [interest_event(design, ConsentAction.WITHDRAW, {})]


def test_unticking_a_paused_interest_writes_only_the_withdrawal(
    db_session: Session, candidate: Candidate, design: Interest
) -> None:
    """Unsubscribing is the one change: no "resumed" event or sentence comes with it."""
    subscribed(db_session, candidate, design)
    pause_subscription(db_session, candidate, design, NOV_20, source=SETUP)
    desired = wanting(
        current_state(db_session, candidate, [design]),
        design,
        subscribed=False,
        paused_until=None,
    )

    changes, events = save(db_session, candidate, [design], desired)

    assert changes == ["Stopped job alerts for Design."]
    assert [e.action for e in events] == [ConsentAction.WITHDRAW]


def test_saving_a_pending_interest_ticked_confirms_it(
    db_session: Session, candidate: Candidate, design: Interest
) -> None:
    """Keeping an unconfirmed interest ticked confirms it and verifies the address."""
    subscribed(db_session, candidate, design, confirmed=False)
    assert candidate.email_verified_at is None
    before = current_state(db_session, candidate, [design])

    changes, events = save(db_session, candidate, [design], before)

    assert changes == ["Confirmed job alerts for Design."]
    assert stored(db_session, candidate, design)[0] is SubscriptionStatus.SUBSCRIBED
    assert candidate.email_verified_at == T0
    assert [event_facts(e) for e in events] == [interest_event(design, ConsentAction.CONFIRM, {})]


def test_confirming_with_another_frequency_records_both(
    db_session: Session, candidate: Candidate, design: Interest
) -> None:
    """A pending interest saved with a new frequency: a confirmation, then a change."""
    subscribed(db_session, candidate, design, confirmed=False)
    desired = wanting(
        current_state(db_session, candidate, [design]), design, frequency=Frequency.INSTANT
    )

    changes, events = save(db_session, candidate, [design], desired)

    assert changes == [
        "Confirmed job alerts for Design.",
        "Design alerts now arrive as jobs are posted.",
    ]
    assert [(e.action, e.detail) for e in events] == [
        (ConsentAction.CONFIRM, {}),
        (ConsentAction.CHANGE, {"frequency": "instant", "previous_frequency": "daily"}),
    ]


def test_a_new_frequency_records_a_change_with_the_previous_one(
    db_session: Session, candidate: Candidate, design: Interest
) -> None:
    """Changing the frequency of a subscribed interest writes one change event."""
    subscribed(db_session, candidate, design, Frequency.WEEKLY)
    desired = wanting(
        current_state(db_session, candidate, [design]), design, frequency=Frequency.DAILY
    )

    changes, events = save(db_session, candidate, [design], desired)

    assert changes == ["Design alerts now arrive in a daily digest."]
    assert stored(db_session, candidate, design)[1] is Frequency.DAILY
    assert [event_facts(e) for e in events] == [
        interest_event(
            design, ConsentAction.CHANGE, {"frequency": "daily", "previous_frequency": "weekly"}
        )
    ]


def count_rows(session: Session, model: type[Any]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_a_save_of_several_frequencies_and_pauses_sends_one_update_per_field(
    db_session: Session, candidate: Candidate
) -> None:
    """Each field's updates go out together (one executemany), and every one is stored;
    then the events: on PostgreSQL the consent and webhook events in one statement."""
    interests = add_interests(db_session, "Design", "Sales", "Data")
    for interest in interests:
        subscribed(db_session, candidate, interest, Frequency.WEEKLY)
    desired = current_state(db_session, candidate, interests)
    for interest in interests:
        desired = wanting(desired, interest, frequency=Frequency.DAILY)
    desired = wanting(desired, interests[1], paused_until=NOV_20)
    bind = db_session.get_bind()
    consents, hooks = count_rows(db_session, ConsentEvent), count_rows(db_session, WebhookEvent)
    writes: list[tuple[str, bool]] = []

    def record(_conn: Any, _cursor: Any, statement: str, _p: Any, _c: Any, many: bool) -> None:
        if not statement.lstrip().upper().startswith("SELECT"):
            writes.append((" ".join(statement.split()), many))

    event.listen(bind, "before_cursor_execute", record)
    try:
        changes, events = save(db_session, candidate, interests, desired)
    finally:
        event.remove(bind, "before_cursor_execute", record)

    updates = [
        (statement.split("SET")[1].split("=")[0].strip(), many)
        for statement, many in writes
        if statement.startswith("UPDATE subscriptions")
    ]
    assert updates == [("frequency", True), ("paused_until", False)]
    inserts = [statement for statement, _many in writes[2:]]
    if bind.dialect.name == "postgresql":
        assert len(inserts) == 1, inserts
        assert inserts[0].startswith("WITH consents AS (INSERT INTO consent_events")
        assert ") INSERT INTO webhook_events" in inserts[0]
    else:
        assert [statement.split()[:3] for statement in inserts] == [
            ["INSERT", "INTO", "consent_events"],
            ["INSERT", "INTO", "webhook_events"],
        ]
    assert len(changes) == len(events) == 4
    assert [stored(db_session, candidate, i) for i in interests] == [
        (SubscriptionStatus.SUBSCRIBED, Frequency.DAILY, None),
        (SubscriptionStatus.SUBSCRIBED, Frequency.DAILY, NOV_20),
        (SubscriptionStatus.SUBSCRIBED, Frequency.DAILY, None),
    ]
    assert count_rows(db_session, ConsentEvent) == consents + 4
    assert count_rows(db_session, WebhookEvent) == hooks + 4


@pytest.mark.parametrize("opted_in", [True, False], ids=["mass-email-on", "mass-email-off"])
@pytest.mark.parametrize("lock", [True, False], ids=["locked", "read"])
def test_the_state_comes_in_one_statement_with_the_mass_email_status(
    db_session: Session, candidate: Candidate, opted_in: bool, lock: bool
) -> None:
    """A candidate's subscriptions and mass-email status are one SELECT (a Save's read)."""
    interests = add_interests(db_session, "Design", "Sales")
    subscribed(db_session, candidate, interests[0], Frequency.WEEKLY)
    (opt_in_mass_email if opted_in else opt_out_mass_email)(db_session, candidate, source=SETUP)
    db_session.flush()
    bind = db_session.get_bind()
    selects: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append(statement)

    event.listen(bind, "before_cursor_execute", record)
    try:
        state = current_state(db_session, candidate, interests, lock=lock)
    finally:
        event.remove(bind, "before_cursor_execute", record)

    assert len(selects) == 1
    assert state.mass_email is opted_in
    assert state.interests[interests[0].id].frequency is Frequency.WEEKLY
    assert state.interests[interests[0].id].subscribed
    assert not state.interests[interests[1].id].subscribed


@pytest.mark.parametrize("opted_in", [True, False], ids=["mass-email-on", "mass-email-off"])
def test_the_state_of_a_candidate_with_no_subscription_still_reads_mass_email(
    db_session: Session, candidate: Candidate, design: Interest, opted_in: bool
) -> None:
    """With no subscription row to carry it, the mass-email status is read on its own."""
    (opt_in_mass_email if opted_in else opt_out_mass_email)(db_session, candidate, source=SETUP)

    state = current_state(db_session, candidate, [design], lock=True)

    assert state.mass_email is opted_in
    assert not state.interests[design.id].subscribed


@pytest.mark.parametrize(
    ("was", "wanted", "sentence", "detail"),
    [
        (
            None,
            NOV_20,
            "Paused Design alerts until November 20, 2026.",
            "2026-11-20T00:00:00+00:00",
        ),
        (
            NOV_20,
            DEC_1,
            "Paused Design alerts until December 1, 2026.",
            "2026-12-01T00:00:00+00:00",
        ),
        (NOV_20, None, "Resumed Design alerts.", None),
    ],
    ids=["pause", "move-the-pause", "resume"],
)
def test_pausing_moving_and_resuming_each_record_a_change(
    db_session: Session,
    candidate: Candidate,
    design: Interest,
    was: datetime | None,
    wanted: datetime | None,
    sentence: str,
    detail: str | None,
) -> None:
    """Each change of the pause end is one sentence and one change event naming the new end."""
    subscribed(db_session, candidate, design)
    if was is not None:
        pause_subscription(db_session, candidate, design, was, source=SETUP)
    desired = wanting(current_state(db_session, candidate, [design]), design, paused_until=wanted)

    changes, events = save(db_session, candidate, [design], desired)

    assert changes == [sentence]
    assert stored(db_session, candidate, design) == (
        SubscriptionStatus.SUBSCRIBED,
        Frequency.DAILY,
        wanted,
    )
    assert [event_facts(e) for e in events] == [
        interest_event(design, ConsentAction.CHANGE, {"paused_until": detail})
    ]


def test_a_new_frequency_and_a_pause_are_two_changes_in_that_order(
    db_session: Session, candidate: Candidate, design: Interest
) -> None:
    """Frequency first, then the pause: two sentences, two change events."""
    subscribed(db_session, candidate, design)
    desired = wanting(
        current_state(db_session, candidate, [design]),
        design,
        frequency=Frequency.WEEKLY,
        paused_until=NOV_20,
    )

    changes, events = save(db_session, candidate, [design], desired)

    assert changes == [
        "Design alerts now arrive in a weekly digest.",
        "Paused Design alerts until November 20, 2026.",
    ]
    assert [e.detail for e in events] == [
        {"frequency": "weekly", "previous_frequency": "daily"},
        {"paused_until": "2026-11-20T00:00:00+00:00"},
    ]


# --- apply_state: mass email ------------------------------------------------------------


@pytest.mark.parametrize("had_row", [False, True], ids=["no-status-row", "opted-out-before"])
def test_opting_in_to_mass_email_records_a_grant(
    db_session: Session, candidate: Candidate, had_row: bool
) -> None:
    """Opting in (from no record or from an opt-out) is one mass-email grant and a sentence."""
    if had_row:
        opt_out_mass_email(db_session, candidate, source=SETUP)
    desired = PreferenceState(mass_email=True)

    changes, events = save(db_session, candidate, [], desired)

    assert changes == [MASS_EMAIL_ON]
    assert mass_email_status(db_session, candidate) is MassEmail.OPTED_IN
    assert [event_facts(e) for e in events] == [
        {
            "scope": ConsentScope.MASS_EMAIL,
            "interest_id": None,
            "action": ConsentAction.GRANT,
            "source": CENTER,
            "wording_version": NO_WORDING_VERSION,
            "detail": {},
            "ip_address": IP,
            "occurred_at": T0,
        }
    ]


def test_opting_out_of_mass_email_records_a_withdrawal(
    db_session: Session, candidate: Candidate
) -> None:
    """Opting out is one mass-email withdrawal and a sentence."""
    opt_in_mass_email(db_session, candidate, source=SETUP)

    changes, events = save(db_session, candidate, [], PreferenceState(mass_email=False))

    assert changes == [MASS_EMAIL_OFF]
    assert mass_email_status(db_session, candidate) is MassEmail.OPTED_OUT
    assert [(e.scope, e.action, e.source, e.detail) for e in events] == [
        (ConsentScope.MASS_EMAIL, ConsentAction.WITHDRAW, CENTER, {})
    ]


def test_leaving_mass_email_off_with_no_record_writes_no_record(
    db_session: Session, candidate: Candidate
) -> None:
    """No status row means opted out; saving "off" again neither adds a row nor an event."""
    changes, events = save(db_session, candidate, [], PreferenceState(mass_email=False))
    assert (changes, events) == ([], [])
    assert db_session.get(MassEmailStatus, candidate.id) is None


# --- apply_state: a whole Save ----------------------------------------------------------


def test_saving_the_page_unchanged_writes_nothing(
    db_session: Session, candidate: Candidate
) -> None:
    """Saving the state as stored (subscribed, paused, unsubscribed, none, opted in) is a no-op."""
    plain, paused, gone, none = add_interests(db_session, "Plain", "Paused", "Gone", "None")
    subscribed(db_session, candidate, plain, Frequency.INSTANT)
    subscribed(db_session, candidate, paused, Frequency.WEEKLY)
    pause_subscription(db_session, candidate, paused, NOV_20, source=SETUP)
    subscribed(db_session, candidate, gone)
    unsubscribe(db_session, candidate, gone, source=SETUP)
    opt_in_mass_email(db_session, candidate, source=SETUP)
    interests = [plain, paused, gone, none]
    before = current_state(db_session, candidate, interests)

    changes, events = save(db_session, candidate, interests, before)

    assert (changes, events) == ([], [])
    assert current_state(db_session, candidate, interests) == before
    assert row(db_session, candidate, none) is None


def test_a_save_lists_changes_in_page_order_then_mass_email(
    db_session: Session, candidate: Candidate
) -> None:
    """Sentences in the interests' order, mass email last; events carry the source and IP."""
    first, second = add_interests(db_session, "First", "Second")
    subscribed(db_session, candidate, second)
    before = current_state(db_session, candidate, [first, second])
    desired = wanting(wanting(before, second, subscribed=False), first, subscribed=True)
    desired.mass_email = True

    changes, events = save(
        db_session,
        candidate,
        [first, second],
        desired,
        source=ConsentSource.DASHBOARD,
        ip_address=None,
        before=before,
    )

    assert changes == [
        "Started job alerts for First, in a daily digest.",
        "Stopped job alerts for Second.",
        MASS_EMAIL_ON,
    ]
    assert [(e.scope, e.interest_id, e.action) for e in events] == [
        (ConsentScope.INTEREST, first.id, ConsentAction.GRANT),
        (ConsentScope.INTEREST, second.id, ConsentAction.WITHDRAW),
        (ConsentScope.MASS_EMAIL, None, ConsentAction.GRANT),
    ]
    assert {(e.source, e.ip_address) for e in events} == {(ConsentSource.DASHBOARD, None)}


def test_an_interest_the_desired_state_does_not_name_is_left_alone(
    db_session: Session, candidate: Candidate
) -> None:
    """Only interests in both `interests` and the desired state are touched; unknown ids ignored."""
    kept, other = add_interests(db_session, "Kept", "Other")
    subscribed(db_session, candidate, kept, Frequency.WEEKLY)
    desired = PreferenceState(
        interests={
            other.id: InterestChoice(subscribed=True),
            other.id + kept.id + 1000: InterestChoice(subscribed=True),
        }
    )

    changes, events = save(db_session, candidate, [kept, other], desired)

    assert changes == ["Started job alerts for Other, in a daily digest."]
    assert [e.interest_id for e in events] == [other.id]
    assert stored(db_session, candidate, kept)[:2] == (
        SubscriptionStatus.SUBSCRIBED,
        Frequency.WEEKLY,
    )


def test_a_retired_interest_not_on_the_page_keeps_its_subscription(
    db_session: Session, candidate: Candidate, design: Interest
) -> None:
    """An interest retired after subscribing is not among the page's interests: a Save leaves it."""
    subscribed(db_session, candidate, design)
    design.status = InterestStatus.RETIRED
    db_session.flush()
    desired = PreferenceState(interests={design.id: InterestChoice(subscribed=False)})

    changes, events = save(db_session, candidate, [], desired)

    assert (changes, events) == ([], [])
    assert stored(db_session, candidate, design)[0] is SubscriptionStatus.SUBSCRIBED


@pytest.mark.parametrize("how", ["retired", "merged"])
def test_subscribing_to_a_retired_or_merged_interest_is_refused(
    db_session: Session, candidate: Candidate, how: str
) -> None:
    """A caller passing an unavailable interest gets InterestUnavailable, and no row is made."""
    target, chosen = add_interests(db_session, "Target", "Chosen")
    if how == "retired":
        chosen.status = InterestStatus.RETIRED
    else:
        chosen.merged_into_id = target.id
    db_session.flush()
    desired = wanting(current_state(db_session, candidate, [chosen]), chosen, subscribed=True)

    with pytest.raises(InterestUnavailable) as refused:
        apply_state(db_session, candidate, [chosen], desired, source=CENTER)

    assert (refused.value.slug, refused.value.status) == ("chosen", how)
    assert row(db_session, candidate, chosen) is None
    assert consent_events(db_session, candidate.id) == []


@pytest.mark.parametrize("what", ["interest", "mass_email", "frequency"])
def test_a_deleted_candidate_cannot_be_given_consent(
    db_session: Session, candidate: Candidate, design: Interest, what: str
) -> None:
    """Subscribing, opting in or a new frequency for an erased candidate raises CandidateDeleted."""
    if what == "frequency":
        subscribed(db_session, candidate, design)
    before = current_state(db_session, candidate, [design])
    desired = {
        "interest": wanting(before, design, subscribed=True),
        "mass_email": dataclasses.replace(before, mass_email=True),
        "frequency": wanting(before, design, frequency=Frequency.WEEKLY),
    }[what]
    already = len(consent_events(db_session, candidate.id))
    candidate.status = CandidateStatus.DELETED
    db_session.flush()

    with pytest.raises(CandidateDeleted) as refused:
        apply_state(db_session, candidate, [design], desired, source=CENTER)

    assert refused.value.public_id == candidate.public_id
    assert len(consent_events(db_session, candidate.id)) == already


@pytest.mark.parametrize(
    "wanted",
    [
        {"frequency": Frequency.WEEKLY},
        {"paused_until": NOV_20},
    ],
    ids=["frequency", "pause"],
)
def test_a_change_to_a_subscription_withdrawn_since_the_read_is_skipped(
    db_session: Session, candidate: Candidate, design: Interest, wanted: dict[str, object]
) -> None:
    """`before` says subscribed, the row was unsubscribed meanwhile: no error, change or event."""
    subscribed(db_session, candidate, design)
    before = current_state(db_session, candidate, [design])
    unsubscribe(db_session, candidate, design, source=ConsentSource.ONE_CLICK)

    changes, events = save(
        db_session, candidate, [design], wanting(before, design, **wanted), before=before
    )

    assert (changes, events) == ([], [])
    assert stored(db_session, candidate, design)[0] is SubscriptionStatus.UNSUBSCRIBED


def test_a_pending_subscription_withdrawn_since_the_read_is_not_confirmed(
    db_session: Session, candidate: Candidate, design: Interest
) -> None:
    """Confirming what was unsubscribed meanwhile is an invalid transition, skipped."""
    subscribed(db_session, candidate, design, confirmed=False)
    before = current_state(db_session, candidate, [design])
    unsubscribe(db_session, candidate, design, source=ConsentSource.ONE_CLICK)

    changes, events = save(db_session, candidate, [design], before, before=before)

    assert (changes, events) == ([], [])
    assert stored(db_session, candidate, design)[0] is SubscriptionStatus.UNSUBSCRIBED


def test_a_before_state_naming_a_missing_subscription_raises_not_found(
    db_session: Session, candidate: Candidate, design: Interest
) -> None:
    """A `before` that claims a subscription the database lacks is a caller error, not skipped."""
    before = PreferenceState(interests={design.id: InterestChoice(subscribed=True)})
    desired = wanting(before, design, frequency=Frequency.WEEKLY)

    with pytest.raises(NotFound) as missing:
        apply_state(db_session, candidate, [design], desired, source=CENTER, before=before)

    assert missing.value.kind == "subscription"
    assert consent_events(db_session, candidate.id) == []


def test_a_pause_ending_in_the_past_is_refused(
    db_session: Session, candidate: Candidate, design: Interest
) -> None:
    """apply_state does not check dates itself: pause_subscription's ValueError comes through."""
    subscribed(db_session, candidate, design)
    desired = wanting(
        current_state(db_session, candidate, [design]), design, paused_until=T0 - timedelta(days=1)
    )
    already = len(consent_events(db_session, candidate.id))

    with pytest.raises(ValueError, match="future"):
        apply_state(db_session, candidate, [design], desired, source=CENTER)

    assert stored(db_session, candidate, design)[2] is None
    assert len(consent_events(db_session, candidate.id)) == already


# --- the form ---------------------------------------------------------------------------


def form(chosen: list[int] | None = None, *, mass_email: bool = True, **fields: str) -> CenterForm:
    """A posted form: `fields` by input name with "-" written as "_" (frequency_3=…).

    Mass email off comes with the confirmation the page asks for.
    """
    return CenterForm(
        fields={k.replace("_", "-"): v for k, v in fields.items()},
        chosen=[str(i) for i in chosen or []],
        mass_email="yes" if mass_email else None,
        confirmed_off=not mass_email,
    )


def test_read_form_turns_the_posted_fields_into_a_desired_state(
    db_session: Session, candidate: Candidate
) -> None:
    """Ticked boxes subscribe, menus set the frequency (unknown: daily), pauses end at 00:00 UTC."""
    first, second, third = add_interests(db_session, "First", "Second", "Third")
    posted = CenterForm(
        fields={
            f"frequency-{first.id}": "weekly",
            f"pause-{first.id}": " 2026-11-20 ",
            f"frequency-{second.id}": "hourly",
            f"pause-{third.id}": "2026-11-20",  # not ticked: its pause is not read
        },
        chosen=[str(first.id), str(second.id)],
        mass_email=None,
    )

    state, errors = read_form(posted, [first, second, third], today=date(2026, 11, 2))

    assert errors == {}
    assert state == PreferenceState(
        interests={
            first.id: InterestChoice(True, Frequency.WEEKLY, NOV_20),
            second.id: InterestChoice(True, Frequency.DAILY),
            third.id: InterestChoice(False, Frequency.DAILY),
        },
        mass_email=False,
    )


@pytest.mark.parametrize(
    ("pause", "message"),
    [
        ("20/11/2026", "Enter the pause end for Design as a date."),
        ("2026-11-02", "The pause for Design must end after today."),
        ("2026-11-01", "The pause for Design must end after today."),
        ("2027-11-04", "Alerts can be paused for up to a year."),
        ("2027-11-03", None),
    ],
)
def test_read_form_checks_each_pause_end(
    db_session: Session, design: Interest, pause: str, message: str | None
) -> None:
    """A pause end must be a date after today and at most 366 days ahead."""
    posted = form([design.id], **{f"pause_{design.id}": pause})
    state, errors = read_form(posted, [design], today=date(2026, 11, 2))
    if message is None:
        assert errors == {}
        assert state.interests[design.id].paused_until == datetime(2027, 11, 3, tzinfo=UTC)
    else:
        assert errors == {f"pause-{design.id}": message}
        assert state.interests[design.id].paused_until is None


# --- save_center and restore_center -----------------------------------------------------


def test_save_center_applies_the_form_and_returns_the_page_after_with_an_undo(
    db_session: Session, candidate: Candidate, clock: FrozenClock
) -> None:
    """One call: the sentences, the state before (for Undo), and the page as now stored."""
    first, second = add_interests(db_session, "First", "Second")
    subscribed(db_session, candidate, second)
    before = current_state(db_session, candidate, [first, second])

    outcome = save_center(
        db_session,
        candidate,
        form([first.id], **{f"frequency_{first.id}": "instant"}),
        source=ConsentSource.DASHBOARD,
        ip_address=IP,
    )

    assert outcome.errors == {}
    assert outcome.changes == [
        "Started job alerts for First, as jobs are posted.",
        "Stopped job alerts for Second.",
        MASS_EMAIL_ON,
    ]
    assert outcome.undo == before
    assert outcome.page == center_page(db_session, candidate)
    assert outcome.page.state.interests[first.id].frequency is Frequency.INSTANT
    assert {(e.source, e.ip_address) for e in consent_events(db_session, candidate.id)[1:]} == {
        (ConsentSource.DASHBOARD, IP)
    }


def test_save_center_with_nothing_changed_offers_no_undo(
    db_session: Session, candidate: Candidate, design: Interest
) -> None:
    """Saving the page as stored: no sentence, no Undo, no event."""
    subscribed(db_session, candidate, design)
    already = len(consent_events(db_session, candidate.id))

    outcome = save_center(db_session, candidate, form([design.id], mass_email=False), source=CENTER)

    assert (outcome.changes, outcome.undo) == ([], None)
    assert len(consent_events(db_session, candidate.id)) == already


def test_save_center_with_a_bad_field_applies_nothing_and_shows_the_form_as_posted(
    db_session: Session, candidate: Candidate
) -> None:
    """A refused pause: the errors, the posted choices to show again, and nothing written."""
    first, second = add_interests(db_session, "First", "Second")
    subscribed(db_session, candidate, first)
    already = len(consent_events(db_session, candidate.id))

    outcome = save_center(
        db_session,
        candidate,
        form([second.id], **{f"pause_{second.id}": "soon", f"frequency_{second.id}": "weekly"}),
        source=CENTER,
    )

    assert outcome.errors == {f"pause-{second.id}": "Enter the pause end for Second as a date."}
    assert (outcome.changes, outcome.undo) == ([], None)
    assert outcome.page.interests == [
        InterestOption(first.id, "First"),
        InterestOption(second.id, "Second"),
    ]
    assert outcome.page.state.interests[first.id].subscribed is False
    assert outcome.page.state.interests[second.id] == InterestChoice(True, Frequency.WEEKLY)
    assert outcome.page.state.mass_email is True
    assert len(consent_events(db_session, candidate.id)) == already
    assert row(db_session, candidate, second) is None
    assert stored(db_session, candidate, first)[0] is SubscriptionStatus.SUBSCRIBED


def test_save_center_leaves_a_retired_interest_alone(
    db_session: Session, candidate: Candidate
) -> None:
    """The Save covers the active interests only: a subscription to a retired one stays."""
    active, old = add_interests(db_session, "Active", "Old")
    subscribed(db_session, candidate, old)
    old.status = InterestStatus.RETIRED
    db_session.flush()

    outcome = save_center(db_session, candidate, form([active.id]), source=CENTER)

    assert outcome.changes == [
        "Started job alerts for Active, in a daily digest.",
        MASS_EMAIL_ON,
    ]
    assert stored(db_session, candidate, old)[0] is SubscriptionStatus.SUBSCRIBED


def test_restore_center_puts_back_the_state_before_a_save(
    db_session: Session, candidate: Candidate
) -> None:
    """Undo re-applies the saved state with its own source; its Undo is the state it replaced."""
    first, second = add_interests(db_session, "First", "Second")
    subscribed(db_session, candidate, second, Frequency.WEEKLY)
    pause_subscription(db_session, candidate, second, DEC_1, source=SETUP)
    saved = save_center(db_session, candidate, form([first.id], mass_email=False), source=CENTER)
    assert saved.undo is not None
    after_save = current_state(db_session, candidate, [first, second])
    already = len(consent_events(db_session, candidate.id))
    undo = PreferenceState.from_dict(saved.undo.as_dict())

    outcome = restore_center(
        db_session, candidate, undo, source=ConsentSource.DASHBOARD, ip_address=IP
    )

    assert outcome.changes == [
        "Stopped job alerts for First.",
        "Started job alerts for Second, in a weekly digest.",
        "Paused Second alerts until December 1, 2026.",
    ]
    assert outcome.undo == after_save
    assert outcome.page.state == current_state(db_session, candidate, [first, second])
    assert outcome.page.state.interests[second.id] == InterestChoice(True, Frequency.WEEKLY, DEC_1)
    assert {e.source for e in consent_events(db_session, candidate.id)[already:]} == {
        ConsentSource.DASHBOARD
    }


def test_restore_center_does_not_bring_back_a_pause_that_has_ended(
    db_session: Session, candidate: Candidate, design: Interest, clock: FrozenClock
) -> None:
    """An Undo used after the old pause's end leaves the alerts running."""
    subscribed(db_session, candidate, design)
    pause_subscription(db_session, candidate, design, NOV_20, source=SETUP)
    saved = save_center(db_session, candidate, form([design.id], mass_email=False), source=CENTER)
    assert saved.changes == ["Resumed Design alerts."]
    assert saved.undo is not None
    clock.advance(NOV_20 - T0)

    outcome = restore_center(db_session, candidate, saved.undo, source=CENTER)

    assert (outcome.changes, outcome.undo) == ([], None)
    assert stored(db_session, candidate, design)[2] is None


def test_restore_center_skips_interests_retired_since(
    db_session: Session, candidate: Candidate
) -> None:
    """An Undo naming an interest that is no longer active does not touch it."""
    kept, old = add_interests(db_session, "Kept", "Old")
    subscribed(db_session, candidate, kept)
    subscribed(db_session, candidate, old)
    saved = save_center(db_session, candidate, form([], mass_email=False), source=CENTER)
    assert saved.undo is not None
    old.status = InterestStatus.RETIRED
    db_session.flush()

    outcome = restore_center(db_session, candidate, saved.undo, source=CENTER)

    assert outcome.changes == ["Started job alerts for Kept, in a daily digest."]
    assert stored(db_session, candidate, old)[0] is SubscriptionStatus.UNSUBSCRIBED


# --- the mass-email box: a positive choice ----------------------------------------------

WORDING = "Yes, send me occasional emails about Acme. I can unsubscribe at any time."


def test_ticking_the_mass_email_box_opts_in_with_the_wording_shown(
    db_session: Session, candidate: Candidate
) -> None:
    """Ticked by someone never opted in: one grant quoting the wording beside the box."""
    outcome = save_center(
        db_session, candidate, form([]), source=CENTER, mass_email_wording=WORDING
    )

    assert outcome.changes == [MASS_EMAIL_ON]
    assert mass_email_status(db_session, candidate) is MassEmail.OPTED_IN
    (event,) = consent_events(db_session, candidate.id)
    assert (event.scope, event.action, event.source) == (
        ConsentScope.MASS_EMAIL,
        ConsentAction.GRANT,
        CENTER,
    )
    assert event.detail == {"wording": WORDING}


def test_an_unticked_box_from_someone_never_opted_in_changes_nothing(
    db_session: Session, candidate: Candidate
) -> None:
    """Left unticked (not sent) by someone who never opted in: no event, nothing to confirm."""
    outcome = save_center(db_session, candidate, CenterForm(fields={}, chosen=[]), source=CENTER)

    assert (outcome.changes, outcome.errors, outcome.confirm_off) == ([], {}, False)
    assert outcome.page.state.mass_email is False
    assert consent_events(db_session, candidate.id) == []


def test_unticking_asks_first_and_applies_nothing_until_confirmed(
    db_session: Session, candidate: Candidate, design: Interest
) -> None:
    """Unticked by an opted-in person: the page asks (nothing written); confirmed, it opts out."""
    opt_in_mass_email(db_session, candidate, source=SETUP)
    already = len(consent_events(db_session, candidate.id))
    unticked = CenterForm(fields={}, chosen=[str(design.id)])

    asked = save_center(db_session, candidate, unticked, source=CENTER)

    assert asked.confirm_off is True and (asked.changes, asked.errors) == ([], {})
    assert asked.page.state.mass_email is False  # the form as posted, shown again
    assert asked.page.state.interests[design.id].subscribed is True
    assert mass_email_status(db_session, candidate) is MassEmail.OPTED_IN
    assert row(db_session, candidate, design) is None
    assert len(consent_events(db_session, candidate.id)) == already

    confirmed = dataclasses.replace(unticked, confirmed_off=True)
    saved = save_center(db_session, candidate, confirmed, source=CENTER)

    assert saved.confirm_off is False
    assert saved.changes == ["Started job alerts for Design, in a daily digest.", MASS_EMAIL_OFF]
    assert mass_email_status(db_session, candidate) is MassEmail.OPTED_OUT
    assert [(e.scope, e.action) for e in consent_events(db_session, candidate.id)[already:]] == [
        (ConsentScope.INTEREST, ConsentAction.GRANT),
        (ConsentScope.MASS_EMAIL, ConsentAction.WITHDRAW),
    ]


def test_a_stale_form_saves_nothing_and_shows_the_stored_page(
    db_session: Session, candidate: Candidate, design: Interest
) -> None:
    """A page from before the box was positive ("mass_email_optout"): nothing is saved."""
    opt_in_mass_email(db_session, candidate, source=SETUP)
    subscribed(db_session, candidate, design)
    already = len(consent_events(db_session, candidate.id))
    stale = CenterForm(fields={"mass_email_optout": "yes"}, chosen=[])

    outcome = save_center(db_session, candidate, stale, source=CENTER)

    assert outcome.errors == {"mass_email": STALE_FORM}
    assert outcome.changes == [] and outcome.undo is None
    assert outcome.page == center_page(db_session, candidate)
    assert mass_email_status(db_session, candidate) is MassEmail.OPTED_IN
    assert stored(db_session, candidate, design)[0] is SubscriptionStatus.SUBSCRIBED
    assert len(consent_events(db_session, candidate.id)) == already


@pytest.mark.parametrize("value", ["no", "", "true", "YES"])
def test_a_malformed_mass_email_value_is_a_field_error_and_saves_nothing(
    db_session: Session, candidate: Candidate, design: Interest, value: str
) -> None:
    """The box sends "yes" or nothing; anything else is refused with a message, nothing written."""
    subscribed(db_session, candidate, design)
    already = len(consent_events(db_session, candidate.id))

    outcome = save_center(
        db_session, candidate, CenterForm(fields={}, chosen=[], mass_email=value), source=CENTER
    )

    assert list(outcome.errors) == ["mass_email"]
    assert "nothing was saved" in outcome.errors["mass_email"]
    assert stored(db_session, candidate, design)[0] is SubscriptionStatus.SUBSCRIBED
    assert len(consent_events(db_session, candidate.id)) == already
