"""candidate.created / confirmed / erased from every web path: connect form, social sign-up,
saved search, CSV import, login link, account deletion; and the guard that keeps it so."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mailer.models import OutboxMessage
from portal.auth.accounts import set_password
from portal.connect.saved_search import _new_candidate
from portal.console.imports import import_candidates
from preferences.db import session_scope
from preferences.models import Candidate, ConsentSource, Interest
from preferences.subscriptions import get_or_create_candidate, subscribe
from tests.webhook_events import assert_no_personal_data, stored_events, types_of

from .helpers import add_interest, add_job, csrf_token, emailed_link

ROOT = Path(__file__).resolve().parents[2]
CANDIDATE_TYPES = ("candidate.created", "candidate.confirmed", "candidate.erased")
PASSWORD = "a long enough passphrase"
# What the people in these tests typed: none of it may reach an event.
TYPED = ("ana", "silva", "lisbon", "912", "linkedin", "emily", "carter", "zoe", "python")


@pytest.fixture
def world(sessions: sessionmaker[Session]) -> Iterator[dict[str, int]]:
    with session_scope(sessions) as session:
        design = add_interest(session, "Design", position=1)
        add_job(session, "Product Designer", interests=[design], location="Berlin, Germany")
        ids = {"design": design.id}
    yield ids


def public_id(sessions: sessionmaker[Session], email: str) -> str:
    with sessions() as session:
        return session.scalars(select(Candidate.public_id).where(Candidate.email == email)).one()


def post(client: FlaskClient, path: str, data: dict[str, Any]) -> Any:
    page = client.get(path)
    assert page.status_code == 200, page.text
    return client.post(path, data={"csrf_token": csrf_token(page.text), **data})


def connect_by_hand(client: FlaskClient, world: dict[str, int], email: str) -> None:
    """Details, interests, review and Submit Profile, as a visitor types them."""
    person = {"first_name": "Ana", "last_name": "Silva", "email": email}
    assert post(client, "/connect/details", person).status_code == 302
    assert post(client, "/connect/interests", {"interest": [str(world["design"])]}).status_code
    review = client.get("/connect/review")
    r = client.post(
        "/connect/review",
        data={
            "csrf_token": csrf_token(review.text),
            **person,
            "phone": "+351 912 345 678",
            "location": "Lisbon, Portugal",
            "linkedin_url": "linkedin.com/in/ana-silva",
            "interest": [str(world["design"])],
            "alerts": "yes",
            "mass_email": "yes",
            "action": "submit",
        },
    )
    assert r.status_code == 302, r.text


def test_the_connect_form_creates_then_its_confirmation_link_confirms(
    client: FlaskClient, sessions: sessionmaker[Session], world: dict[str, int]
) -> None:
    """Submit Profile: candidate.created (connect_form, page language); the link's POST:
    candidate.confirmed, once, however often the link is used."""
    connect_by_hand(client, world, "ana@example.com")
    ana = public_id(sessions, "ana@example.com")
    assert stored_events(sessions, *CANDIDATE_TYPES) == [
        ("candidate.created", ana, {"language": "en"}, "connect_form")
    ]
    with session_scope(sessions) as session:
        url = emailed_link(session, session.scalars(select(OutboxMessage)).one(), "confirm_url")
    path = url.removeprefix("http://127.0.0.1:8000")
    page = client.get(path)
    assert stored_events(sessions, "candidate.confirmed") == []  # a GET changes nothing
    form = dict(
        re.findall(r'<input type="hidden" name="(interest|mass_email)" value="([^"]*)"', page.text)
    )
    for _ in range(2):
        done = client.post(path, data={"csrf_token": csrf_token(page.text), **form})
        assert done.status_code == 200
    facts = stored_events(sessions)
    assert [f for f in facts if f[0] == "candidate.confirmed"] == [
        ("candidate.confirmed", ana, {}, "connect_form")
    ]
    assert types_of(facts) == [
        "candidate.created",
        "subscription.changed",  # unconfirmed, as ticked
        "candidate.confirmed",
        "subscription.changed",  # confirmed
        "mass_email.changed",
    ]
    assert_no_personal_data(facts, *TYPED)


def test_a_provider_verified_sign_up_is_created_and_confirmed_at_once(
    client: FlaskClient, sessions: sessionmaker[Session], world: dict[str, int]
) -> None:
    """Social sign-in's prefilled form: created and confirmed, both with source social_sign_in."""
    with client.session_transaction() as cookie:
        cookie["connect"] = {
            "source": "social",
            "provider": "test",
            "email_verified": True,
            "profile": {"first_name": "Emily", "last_name": "Carter", "email": "emily@example.com"},
            "interests": [world["design"]],
            "suggested": [],
            "resume": None,
            "resume_skipped": False,
        }
    review = client.get("/connect/review?lang=de")
    r = client.post(
        "/connect/review",
        data={
            "csrf_token": csrf_token(review.text),
            "first_name": "Emily",
            "last_name": "Carter",
            "email": "emily@example.com",
            "interest": [str(world["design"])],
            "alerts": "yes",
            "action": "submit",
        },
    )
    assert r.status_code == 302
    emily = public_id(sessions, "emily@example.com")
    facts = stored_events(sessions, *CANDIDATE_TYPES)
    assert [(f[0], f[1], f[3]) for f in facts] == [
        ("candidate.created", emily, "social_sign_in"),
        ("candidate.confirmed", emily, "social_sign_in"),
    ]
    assert facts[0][2] == {"language": "de"}  # the language of the pages she signed up on
    assert_no_personal_data(stored_events(sessions), *TYPED)


def test_a_visitor_saving_a_search_is_created_with_source_saved_search(
    client: FlaskClient, sessions: sessionmaker[Session], world: dict[str, int]
) -> None:
    """A new address in the jobs page's save box: candidate.created (saved_search), unconfirmed."""
    page = client.get("/jobs", query_string={"q": "python", "location": "Berlin"})
    form = re.search(r'<form[^>]*action="/jobs/save".*?</form>', page.text, re.S)
    assert form is not None
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form[0]))
    selected = re.search(r'<option value="([^"]+)" selected>', form[0])
    assert selected is not None
    r = client.post(
        "/jobs/save",
        data={
            **fields,
            "frequency": selected[1],
            "email": "Zoe@Example.com",
            "consent": "yes",
        },
    )
    assert r.status_code == 200
    zoe = public_id(sessions, "zoe@example.com")
    assert stored_events(sessions, *CANDIDATE_TYPES) == [
        ("candidate.created", zoe, {"language": "en"}, "saved_search")
    ]
    assert_no_personal_data(stored_events(sessions), *TYPED)


def test_the_twin_request_that_lost_the_race_takes_its_event_back(
    sessions: sessionmaker[Session],
) -> None:
    """Two requests create one address: the loser's savepoint rolls back its event too."""
    with session_scope(sessions) as session:
        assert _new_candidate(session, "twin@example.com")[1]
    with session_scope(sessions) as session:
        assert not _new_candidate(session, "twin@example.com")[1]
    assert types_of(stored_events(sessions)) == ["candidate.created"]


def test_a_csv_import_creates_with_source_import_and_tells_its_grants(
    db_session: Session,
) -> None:
    """Each new row: candidate.created (import); its grants: subscription/mass_email changes;
    a known address is not created again."""
    eng = add_interest(db_session, "Engineering", slug="engineering")
    data = (
        b"email,first_name,last_name,phone,interests,mass_email,consent_source,consent_at\n"
        b"Ana@Example.COM,Ana,Silva,,engineering,yes,Career fair 2024,2024-05-01T10:00:00Z\n"
    )
    import_candidates(db_session, data, "pool.csv")
    import_candidates(db_session, data, "pool.csv")
    ana = db_session.scalars(select(Candidate.public_id)).one()
    facts = stored_events(db_session)
    assert facts == [
        ("candidate.created", ana, {"language": "en"}, "import"),
        (
            "subscription.changed",
            ana,
            {
                "kind": "interest",
                "interest_id": eng.id,
                "action": "grant",
                "status": "subscribed",
                "frequency": "daily",
            },
            "import",
        ),
        ("mass_email.changed", ana, {"action": "grant", "status": "opted_in"}, "import"),
    ]
    assert_no_personal_data(facts, *TYPED, "career fair")


@pytest.fixture
def member(sessions: sessionmaker[Session], world: dict[str, int]) -> int:
    """Ana, a member with a password who never confirmed her address."""
    with session_scope(sessions) as session:
        ana, _ = get_or_create_candidate(session, "ana@example.com", first_name="Ana")
        set_password(ana, PASSWORD)
        design = session.get_one(Interest, world["design"])
        subscribe(session, ana, design, source=ConsentSource.CONNECT_FORM, confirmed=True)
        return ana.id


def test_a_login_link_confirms_an_unverified_address_once(
    client: FlaskClient, sessions: sessionmaker[Session], member: int
) -> None:
    """Following a sign-in link proves the address: candidate.confirmed, source login_link."""
    post(client, "/login", {"email": "ana@example.com", "action": "link"})
    with session_scope(sessions) as session:
        url = emailed_link(session, session.scalars(select(OutboxMessage)).one(), "login_url")
    path = url.removeprefix("http://127.0.0.1:8000")
    page = client.get(path)
    assert client.post(path, data={"csrf_token": csrf_token(page.text)}).status_code == 302
    ana = public_id(sessions, "ana@example.com")
    assert stored_events(sessions, "candidate.confirmed") == [
        ("candidate.confirmed", ana, {}, "login_link")
    ]


def test_deleting_my_account_is_candidate_erased_by_request(
    client: FlaskClient, sessions: sessionmaker[Session], member: int
) -> None:
    """Dashboard → Delete: candidate.erased (deleted, request) by the id she had."""
    key = public_id(sessions, "ana@example.com")
    post(client, "/login", {"email": "ana@example.com", "password": PASSWORD, "action": "password"})
    done = post(client, "/dashboard/delete", {"confirm": "yes"})
    assert done.status_code == 200
    facts = stored_events(sessions, "candidate.erased")
    assert facts == [
        ("candidate.erased", key, {"mode": "deleted", "reason": "request"}, "candidate")
    ]
    # Erasure is one event: no subscription.changed for the rows it deleted.
    assert types_of(stored_events(sessions))[-1] == "candidate.erased"


# --- the guard ----------------------------------------------------------------------------

# Where the code may write a Candidate row or set `email_verified_at` without the event
# functions: the demo's seeding (bulk inserts of made-up people, told nobody) and erasure
# (which clears it).
ALLOWED = {
    "portal/demo.py",
    "portal/demo_history.py",
    "preferences/subscriptions.py",
    "preferences/privacy.py",
}


def _sources() -> Iterator[tuple[str, str]]:
    for package in ("preferences", "jobs", "mailer", "portal"):
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" not in relative:
                yield relative, path.read_text()


def test_every_candidate_is_created_and_verified_through_the_event_functions() -> None:
    """No module constructs a Candidate without add_candidate, nor sets email_verified_at to a
    time but mark_address_verified (add_candidate tells a verified new candidate too)."""
    for relative, text in _sources():
        if relative in ALLOWED:
            continue
        if re.search(r"\bCandidate\(\s*\n?\s*email=", text):
            assert "add_candidate(" in text, f"{relative} creates a Candidate without its event"
        if re.search(r"insert\((Candidate|_CANDIDATES|_candidates)\b", text):
            pytest.fail(f"{relative} inserts candidate rows itself")
        for line in re.findall(r".*email_verified_at\s*=(?!=).*", text):
            # The one allowed shape: a new, unsaved candidate about to go to add_candidate.
            assert "candidate.email_verified_at = now()" in line and "add_candidate(" in text, (
                f"{relative}: {line.strip()}"
            )
