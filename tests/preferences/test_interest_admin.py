"""Managing interests: create, edit, reorder, retire and merge, and each refusal."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from preferences.clock import FrozenClock
from preferences.interest_admin import (
    InterestRejected,
    console_interests,
    create_interest,
    get_interest,
    merge_subscriptions,
    move_interest,
    parse_keywords,
    retire_interest,
    slugify,
    update_interest,
)
from preferences.interests import active_interests
from preferences.models import (
    Candidate,
    CandidateStatus,
    ConsentAction,
    ConsentScope,
    ConsentSource,
    Frequency,
    Interest,
    InterestStatus,
    Subscription,
    SubscriptionStatus,
)
from preferences.subscriptions import (
    get_or_create_candidate,
    subscribe,
    unsubscribe,
)
from preferences.wordings import NO_WORDING_VERSION

from .support import T0, consent_events, event_facts

SETUP = ConsentSource.IMPORT


def add(session: Session, name: str, **fields: Any) -> Interest:
    fields.setdefault("slug", slugify(name))
    row = Interest(name=name, **fields)
    session.add(row)
    session.flush()
    return row


def interests_table(session: Session) -> list[tuple[Any, ...]]:
    """Every stored interest's columns, read afresh from the database."""
    session.expire_all()
    return [
        (i.id, i.name, i.slug, i.details, i.keywords, i.position, i.status, i.merged_into_id)
        for i in session.scalars(select(Interest).order_by(Interest.id))
    ]


def subscriptions_table(session: Session) -> list[tuple[Any, ...]]:
    session.expire_all()
    return [
        (s.id, s.candidate_id, s.interest_id, s.status, s.frequency)
        for s in session.scalars(select(Subscription).order_by(Subscription.id))
    ]


def events_table(session: Session) -> list[tuple[Any, ...]]:
    return [(e.id, e.interest_id, e.action, e.source, e.detail) for e in consent_events(session)]


def person(session: Session, email: str) -> Candidate:
    created, _ = get_or_create_candidate(session, email)
    return created


def subscribed_as(
    session: Session, candidate: Candidate, interest: Interest, status: SubscriptionStatus
) -> None:
    """Give `candidate` a subscription to `interest` in `status` (with its consent events)."""
    confirmed = status is not SubscriptionStatus.UNCONFIRMED
    subscribe(session, candidate, interest, source=SETUP, confirmed=confirmed)
    if status is SubscriptionStatus.UNSUBSCRIBED:
        unsubscribe(session, candidate, interest, source=SETUP)


def refusal(exc: pytest.ExceptionInfo[InterestRejected]) -> dict[str, str]:
    return exc.value.errors


# --- names, slugs and keywords ----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Data Science", "data-science"),
        ("Sales & Marketing", "sales-and-marketing"),
        ("  C++ / .NET  ", "c-net"),
        ("Café", "caf"),
        ("!!!", ""),
    ],
)
def test_slugify_keeps_ascii_letters_and_digits_joined_by_dashes(name: str, slug: str) -> None:
    """A slug is lower-case ASCII letters and digits, "&" read as "and", runs of others one dash."""
    assert slugify(name) == slug


def test_parse_keywords_splits_trims_and_drops_repeats() -> None:
    """Commas and line breaks separate keywords; spaces collapse; a repeat in any case goes."""
    text = "Python, python ,\n  machine   learning,,\nSQL\n"
    assert parse_keywords(text) == ["Python", "machine learning", "SQL"]


# --- create -----------------------------------------------------------------------------


def test_create_adds_an_active_interest_at_the_end_with_cleaned_fields(
    db_session: Session,
) -> None:
    """The name's spaces collapse, the slug comes from it, keywords are parsed; it goes last."""
    add(db_session, "Sales", position=7)

    interest = create_interest(
        db_session,
        name="  Data \t  Science ",
        details="Models and\r\ndashboards.\n",
        keywords="python, Python\nSQL",
    )

    assert interests_table(db_session)[-1] == (
        interest.id,
        "Data Science",
        "data-science",
        "Models and\ndashboards.",
        ["python", "SQL"],
        8,
        InterestStatus.ACTIVE,
        None,
    )
    assert [i.name for i in active_interests(db_session)] == ["Sales", "Data Science"]


def test_create_on_an_empty_list_starts_at_position_one(db_session: Session) -> None:
    """The first interest gets position 1."""
    assert create_interest(db_session, name="First", details="", keywords="").position == 1


def test_create_finds_a_free_slug_when_another_name_makes_the_same_one(
    db_session: Session,
) -> None:
    """Names that differ only in punctuation get numbered slugs."""
    slugs = [create_interest(db_session, name=n, details="", keywords="").slug for n in "CDE"]
    assert slugs == ["c", "d", "e"]
    more = [create_interest(db_session, name=n, details="", keywords="") for n in ("C++", "C#")]
    assert [i.slug for i in more] == ["c-2", "c-3"]


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"name": ""}, {"name": "Enter a name."}),
        ({"name": " \t "}, {"name": "Enter a name."}),
        ({"name": "x" * 121}, {"name": "Use at most 120 characters."}),
        ({"name": "!!!"}, {"name": "Use at least one letter or digit."}),
        (
            {"name": "Bad\x00name"},
            {"name": "Remove the control character U+0000; it cannot be stored or sent."},
        ),
        (
            {"name": "Bad\u202ename"},
            {"name": "Remove the bidirectional control character U+202E."},
        ),
        ({"details": "x" * 5001}, {"details": "Use at most 5000 characters."}),
        (
            {"details": "ring\x07"},
            {"details": "Remove the control character U+0007; it cannot be stored or sent."},
        ),
        (
            {"keywords": ",".join(f"k{n}" for n in range(51))},
            {"keywords": "Use at most 50 keywords."},
        ),
        ({"keywords": "y" * 61}, {"keywords": "Each keyword can be at most 60 characters."}),
        (
            {"keywords": "a\x01b"},
            {"keywords": "Remove the control character U+0001; it cannot be stored or sent."},
        ),
    ],
)
def test_create_refuses_bad_fields_and_stores_nothing(
    db_session: Session, fields: dict[str, str], errors: dict[str, str]
) -> None:
    """Each broken rule is named at its field; the list of interests is as it was."""
    add(db_session, "Sales")
    before = interests_table(db_session)
    values = {"name": "Design", "details": "", "keywords": "", **fields}

    with pytest.raises(InterestRejected) as refused:
        create_interest(db_session, **values)

    assert refusal(refused) == errors
    assert interests_table(db_session) == before


def test_create_accepts_fields_at_their_limits(db_session: Session) -> None:
    """120 characters of name, 5000 of details, 50 keywords of 60 characters are allowed."""
    words = [f"{n:02d}" + "k" * 58 for n in range(50)]
    interest = create_interest(
        db_session, name="n" * 120, details="d" * 5000, keywords="\n".join(words)
    )
    assert (len(interest.name), len(interest.details), interest.keywords) == (120, 5000, words)


@pytest.mark.parametrize(
    ("existing", "name"),
    [
        ("Engineering", "engineering"),
        ("Engineering", "  ENGINEERING "),
        ("École", "ÉCOLE"),
        ("Straße", "STRASSE"),
    ],
)
def test_create_refuses_a_name_already_taken_in_any_case(
    db_session: Session, existing: str, name: str
) -> None:
    """Names compare case-folded on both databases (non-ASCII too), whitespace collapsed."""
    add(db_session, existing)
    before = interests_table(db_session)

    with pytest.raises(InterestRejected) as refused:
        create_interest(db_session, name=name, details="", keywords="")

    assert refusal(refused) == {"name": f"An interest called {name.strip()!r} already exists."}
    assert interests_table(db_session) == before


def test_a_retired_or_merged_interest_still_holds_its_name(db_session: Session) -> None:
    """A name stays taken after its interest is retired or merged (the slug must stay unique)."""
    target = add(db_session, "Engineering")
    add(db_session, "Old", status=InterestStatus.RETIRED)
    add(db_session, "Software", merged_into_id=target.id, status=InterestStatus.RETIRED)
    for name in ("old", "SOFTWARE"):
        with pytest.raises(InterestRejected, match="already exists"):
            create_interest(db_session, name=name, details="", keywords="")


def test_every_problem_is_reported_at_once_and_in_the_message(db_session: Session) -> None:
    """InterestRejected carries one message per field, and its text lists them in form order."""
    with pytest.raises(InterestRejected) as refused:
        create_interest(
            db_session, name="", details="x" * 5001, keywords=",".join(map(str, range(51)))
        )
    assert refusal(refused) == {
        "name": "Enter a name.",
        "details": "Use at most 5000 characters.",
        "keywords": "Use at most 50 keywords.",
    }
    assert str(refused.value) == (
        "name: Enter a name.; details: Use at most 5000 characters.; "
        "keywords: Use at most 50 keywords."
    )
    assert interests_table(db_session) == []


# --- edit -------------------------------------------------------------------------------


def test_update_changes_the_fields_but_keeps_the_slug_and_position(db_session: Session) -> None:
    """Links keep working after a rename: the slug stays as it was."""
    add(db_session, "Sales", position=1)
    interest = add(db_session, "Design", position=2, keywords=["ux"])

    update_interest(
        db_session, interest.id, name=" Product  Design", details="Screens.", keywords="ui, UX"
    )

    assert interests_table(db_session)[-1] == (
        interest.id,
        "Product Design",
        "design",
        "Screens.",
        ["ui", "UX"],
        2,
        InterestStatus.ACTIVE,
        None,
    )


@pytest.mark.parametrize("name", ["Design", "DESIGN"])
def test_update_may_keep_its_own_name_or_change_its_case(db_session: Session, name: str) -> None:
    """The interest being edited does not clash with itself."""
    interest = add(db_session, "Design")
    assert update_interest(db_session, interest.id, name=name, details="", keywords="").name == name


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"name": "sales"}, {"name": "An interest called 'sales' already exists."}),
        ({"name": ""}, {"name": "Enter a name."}),
        ({"details": "x" * 5001}, {"details": "Use at most 5000 characters."}),
        ({"keywords": "z" * 61}, {"keywords": "Each keyword can be at most 60 characters."}),
    ],
)
def test_update_refuses_bad_fields_and_leaves_the_interest_as_it_was(
    db_session: Session, fields: dict[str, str], errors: dict[str, str]
) -> None:
    """A refused edit changes no column of the interest (or any other)."""
    add(db_session, "Sales")
    interest = add(db_session, "Design", details="Screens.", keywords=["ux"])
    before = interests_table(db_session)
    values = {"name": "Design 2", "details": "New.", "keywords": "ui", **fields}

    with pytest.raises(InterestRejected) as refused:
        update_interest(db_session, interest.id, **values)

    assert refusal(refused) == errors
    assert interests_table(db_session) == before


def test_update_and_get_of_an_unknown_interest_are_refused(db_session: Session) -> None:
    """An id that names no interest is an InterestRejected, not a crash."""
    gone = {"interest": "That interest no longer exists."}
    with pytest.raises(InterestRejected) as refused:
        update_interest(db_session, 404, name="X", details="", keywords="")
    assert refusal(refused) == gone
    with pytest.raises(InterestRejected) as refused:
        get_interest(db_session, 404)
    assert refusal(refused) == gone


# --- reorder ----------------------------------------------------------------------------


def order(session: Session) -> list[tuple[str, int]]:
    session.expire_all()
    return [(i.name, i.position) for i in active_interests(session)]


@pytest.fixture
def three(db_session: Session) -> list[Interest]:
    """Three active interests with uneven positions (a gap and a tie, broken by name)."""
    return [
        add(db_session, "A", position=5),
        add(db_session, "B", position=5),
        add(db_session, "C", position=9),
    ]


def test_move_swaps_with_the_neighbour_and_renumbers_from_one(
    db_session: Session, three: list[Interest]
) -> None:
    """Up and down swap an interest with the next one shown; positions become 1, 2, 3."""
    a, _b, c = three
    move_interest(db_session, a.id, "down")
    assert order(db_session) == [("B", 1), ("A", 2), ("C", 3)]
    move_interest(db_session, c.id, "up")
    assert order(db_session) == [("B", 1), ("C", 2), ("A", 3)]


def test_moving_past_either_end_keeps_the_order(db_session: Session, three: list[Interest]) -> None:
    """The first cannot go up nor the last down; positions are still renumbered."""
    a, _b, c = three
    move_interest(db_session, a.id, "up")
    move_interest(db_session, c.id, "down")
    assert order(db_session) == [("A", 1), ("B", 2), ("C", 3)]


def test_move_ignores_retired_interests_when_finding_the_neighbour(db_session: Session) -> None:
    """A retired interest between two active ones is skipped and keeps its position."""
    first = add(db_session, "First", position=1)
    old = add(db_session, "Old", position=2, status=InterestStatus.RETIRED)
    add(db_session, "Last", position=3)
    move_interest(db_session, first.id, "down")
    assert order(db_session) == [("Last", 1), ("First", 2)]
    assert get_interest(db_session, old.id).position == 2


def test_move_refuses_a_bad_direction_and_an_interest_not_shown(
    db_session: Session, three: list[Interest]
) -> None:
    """Only "up" and "down", and only active interests; a refusal renumbers nothing."""
    old = add(db_session, "Old", status=InterestStatus.RETIRED)
    merged = add(db_session, "Merged", merged_into_id=three[0].id)
    before = interests_table(db_session)
    cases = [
        (three[0].id, "left", {"direction": "Move an interest up or down."}),
        (old.id, "up", {"interest": "Only active interests can be moved."}),
        (merged.id, "up", {"interest": "Only active interests can be moved."}),
        (404, "down", {"interest": "Only active interests can be moved."}),
    ]
    for interest_id, direction, errors in cases:
        with pytest.raises(InterestRejected) as refused:
            move_interest(db_session, interest_id, direction)
        assert refusal(refused) == errors
    assert interests_table(db_session) == before


# --- retire -----------------------------------------------------------------------------


def test_retire_stops_offering_it_but_keeps_subscriptions_and_history(
    db_session: Session, clock: FrozenClock
) -> None:
    """Retiring changes the status only: no subscription or consent event is touched."""
    design, sales = add(db_session, "Design"), add(db_session, "Sales")
    subscribed_as(
        db_session, person(db_session, "a@example.com"), design, SubscriptionStatus.SUBSCRIBED
    )
    subs, events = subscriptions_table(db_session), events_table(db_session)

    retire_interest(db_session, design.id)

    assert [i.name for i in active_interests(db_session)] == ["Sales"]
    assert [i.name for i in console_interests(db_session)] == ["Sales", "Design"]
    assert get_interest(db_session, design.id).status is InterestStatus.RETIRED
    assert (subscriptions_table(db_session), events_table(db_session)) == (subs, events)
    retire_interest(db_session, design.id)  # again: still retired, no error
    assert get_interest(db_session, sales.id).status is InterestStatus.ACTIVE


def test_retire_refuses_a_merged_or_unknown_interest(db_session: Session) -> None:
    """A merged interest is already gone; an unknown id no longer exists."""
    target = add(db_session, "Engineering")
    merged = add(db_session, "Software", merged_into_id=target.id)
    before = interests_table(db_session)
    with pytest.raises(InterestRejected) as refused:
        retire_interest(db_session, merged.id)
    assert refusal(refused) == {"interest": "Software was already merged."}
    with pytest.raises(InterestRejected) as refused:
        retire_interest(db_session, 404)
    assert refusal(refused) == {"interest": "That interest no longer exists."}
    assert interests_table(db_session) == before


def test_console_lists_active_interests_in_order_then_the_others_by_name(
    db_session: Session,
) -> None:
    """Active ones by position, then retired and merged ones alphabetically."""
    b = add(db_session, "B", position=2)
    add(db_session, "A", position=3)
    add(db_session, "Zed", status=InterestStatus.RETIRED)
    add(db_session, "Old", merged_into_id=b.id)
    assert [i.name for i in console_interests(db_session)] == ["B", "A", "Old", "Zed"]


# --- merge ------------------------------------------------------------------------------


def test_merge_moves_subscribers_and_history_then_retires_the_source(
    db_session: Session, clock: FrozenClock
) -> None:
    """Every subscriber moves as they were; events about the source now name the target."""
    target = add(db_session, "Engineering", keywords=["python", "Go"])
    source = add(db_session, "Software", keywords=["go", "Rust"])
    ana, ben, cy = (person(db_session, f"{n}@example.com") for n in ("ana", "ben", "cy"))
    subscribed_as(db_session, ana, source, SubscriptionStatus.SUBSCRIBED)
    subscribed_as(db_session, ben, source, SubscriptionStatus.UNCONFIRMED)
    subscribed_as(db_session, cy, source, SubscriptionStatus.UNSUBSCRIBED)
    history = [e.id for e in consent_events(db_session)]

    result = merge_subscriptions(db_session, source.id, target.id)

    assert (result.source, result.target, result.moved, result.combined) == (source, target, 3, 0)
    assert result.to_notify == [ana.id]
    assert [(s[1], s[2], s[3]) for s in subscriptions_table(db_session)] == [
        (ana.id, target.id, SubscriptionStatus.SUBSCRIBED),
        (ben.id, target.id, SubscriptionStatus.UNCONFIRMED),
        (cy.id, target.id, SubscriptionStatus.UNSUBSCRIBED),
    ]
    merged = get_interest(db_session, source.id)
    assert (merged.status, merged.merged_into_id) == (InterestStatus.RETIRED, target.id)
    assert get_interest(db_session, target.id).keywords == ["python", "Go", "Rust"]
    events = consent_events(db_session)
    assert [e.interest_id for e in events] == [target.id] * len(events)
    assert [e.id for e in events[: len(history)]] == history
    added = events[len(history) :]
    assert sorted(e.candidate_id for e in added) == [ana.id, ben.id, cy.id]
    assert event_facts(next(e for e in added if e.candidate_id == ana.id)) == {
        "scope": ConsentScope.INTEREST,
        "interest_id": target.id,
        "action": ConsentAction.CHANGE,
        "source": ConsentSource.ADMIN,
        "wording_version": NO_WORDING_VERSION,
        "detail": {"merged_from": source.id, "merged_from_name": "Software"},
        "ip_address": None,
        "occurred_at": T0,
    }


@pytest.mark.parametrize(
    ("kept", "other", "result"),
    [
        (
            SubscriptionStatus.UNSUBSCRIBED,
            SubscriptionStatus.SUBSCRIBED,
            SubscriptionStatus.UNSUBSCRIBED,
        ),
        (
            SubscriptionStatus.UNSUBSCRIBED,
            SubscriptionStatus.UNCONFIRMED,
            SubscriptionStatus.UNSUBSCRIBED,
        ),
        (
            SubscriptionStatus.SUBSCRIBED,
            SubscriptionStatus.UNSUBSCRIBED,
            SubscriptionStatus.SUBSCRIBED,
        ),
        (
            SubscriptionStatus.SUBSCRIBED,
            SubscriptionStatus.UNCONFIRMED,
            SubscriptionStatus.SUBSCRIBED,
        ),
        (
            SubscriptionStatus.UNCONFIRMED,
            SubscriptionStatus.SUBSCRIBED,
            SubscriptionStatus.SUBSCRIBED,
        ),
        (
            SubscriptionStatus.UNCONFIRMED,
            SubscriptionStatus.UNCONFIRMED,
            SubscriptionStatus.UNCONFIRMED,
        ),
        (
            SubscriptionStatus.UNCONFIRMED,
            SubscriptionStatus.UNSUBSCRIBED,
            SubscriptionStatus.UNCONFIRMED,
        ),
    ],
)
def test_a_candidate_on_both_keeps_one_subscription_with_the_stronger_consent(
    db_session: Session,
    candidate: Candidate,
    kept: SubscriptionStatus,
    other: SubscriptionStatus,
    result: SubscriptionStatus,
) -> None:
    """An unsubscribe from the target stands; else a confirmed subscription beats an unconfirmed."""
    target, source = add(db_session, "Engineering"), add(db_session, "Software")
    subscribed_as(db_session, candidate, target, kept)
    subscribed_as(db_session, candidate, source, other)

    merged = merge_subscriptions(db_session, source.id, target.id)

    assert (merged.moved, merged.combined) == (0, 1)
    assert [(s[2], s[3]) for s in subscriptions_table(db_session)] == [(target.id, result)]
    assert merged.to_notify == ([candidate.id] if other is SubscriptionStatus.SUBSCRIBED else [])


def test_merge_keeps_the_targets_frequency_for_a_candidate_on_both(
    db_session: Session, candidate: Candidate
) -> None:
    """Combining keeps the target's row as it was but for its status."""
    target, source = add(db_session, "Engineering"), add(db_session, "Software")
    subscribe(db_session, candidate, target, source=SETUP, frequency=Frequency.WEEKLY)
    subscribe(
        db_session, candidate, source, source=SETUP, frequency=Frequency.INSTANT, confirmed=True
    )
    merge_subscriptions(db_session, source.id, target.id)
    assert [s[3:] for s in subscriptions_table(db_session)] == [
        (SubscriptionStatus.SUBSCRIBED, Frequency.WEEKLY)
    ]


def test_merge_tells_only_active_confirmed_subscribers(db_session: Session) -> None:
    """An erased candidate is moved but not notified; the list is sorted by id."""
    target, source = add(db_session, "Engineering"), add(db_session, "Software")
    people = [person(db_session, f"p{n}@example.com") for n in range(3)]
    for who in reversed(people):
        subscribed_as(db_session, who, source, SubscriptionStatus.SUBSCRIBED)
    people[1].status = CandidateStatus.DELETED
    db_session.flush()

    merged = merge_subscriptions(db_session, source.id, target.id)

    assert merged.moved == 3
    assert merged.to_notify == [people[0].id, people[2].id]


def test_merging_a_retired_source_is_allowed(db_session: Session) -> None:
    """A retired (not merged) interest can still be merged into an active one."""
    target = add(db_session, "Engineering")
    source = add(db_session, "Old", status=InterestStatus.RETIRED)
    merge_subscriptions(db_session, source.id, target.id)
    assert get_interest(db_session, source.id).merged_into_id == target.id


def test_merge_refusals_change_nothing(db_session: Session, clock: FrozenClock) -> None:
    """Into itself, from a merged interest, into a retired or merged one, unknown ids: refused."""
    target = add(db_session, "Engineering")
    source = add(db_session, "Software")
    old = add(db_session, "Old", status=InterestStatus.RETIRED)
    gone = add(db_session, "Gone", status=InterestStatus.RETIRED, merged_into_id=target.id)
    subscribed_as(
        db_session, person(db_session, "a@example.com"), source, SubscriptionStatus.SUBSCRIBED
    )
    tables = (
        interests_table(db_session),
        subscriptions_table(db_session),
        events_table(db_session),
    )
    cases = [
        (source.id, source.id, {"target": "Choose a different interest to merge into."}),
        (gone.id, source.id, {"source": "Gone was already merged."}),
        (source.id, old.id, {"target": "Old is not active; merge into another."}),
        (source.id, gone.id, {"target": "Gone is not active; merge into another."}),
        (404, target.id, {"interest": "That interest no longer exists."}),
        (source.id, 404, {"interest": "That interest no longer exists."}),
    ]
    for source_id, target_id, errors in cases:
        with pytest.raises(InterestRejected) as refused:
            merge_subscriptions(db_session, source_id, target_id)
        assert refusal(refused) == errors
    after = (interests_table(db_session), subscriptions_table(db_session), events_table(db_session))
    assert after == tables
