"""The "Keep me" page of a re-permission email: GET asks, POST keeps, bad links are answered."""

from __future__ import annotations

import html
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from preferences.clock import FrozenClock, frozen
from preferences.db import session_scope
from preferences.models import (
    Candidate,
    ConsentAction,
    ConsentEvent,
    ConsentScope,
    ConsentSource,
    ConsentWording,
    NoticeKind,
    RetentionNotice,
)
from preferences.privacy import erase_candidate
from preferences.subscriptions import get_or_create_candidate
from preferences.tokens import LIFETIMES, LinkPurpose, make_link_token
from preferences.wordings import wording_texts
from tests.conftest import TEST_SECRET

from .helpers import csrf_token

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
# Last active two years before the email: the notice gives them until 5 January 2027.
LAST_ACTIVE = datetime(2024, 12, 5, 9, 0, tzinfo=UTC)
EXPIRES = datetime(2027, 1, 5, 9, 0, tzinfo=UTC)
CLIENT_IP = "203.0.113.7"
STAY_SENTENCE = (
    "I want to stay in the Acme talent community: keep my profile, resume and email "
    "address, and ask me again before you delete them."
)


@dataclass(frozen=True)
class Member:
    candidate_id: int
    token: str
    notice_id: int


@dataclass(frozen=True)
class State:
    """What keeping a candidate changes, read from the database."""

    last_active_at: datetime | None
    events: list[tuple[ConsentScope, ConsentAction, ConsentSource, str, str | None]]
    answered: list[datetime | None]


@pytest.fixture
def clock() -> Iterator[FrozenClock]:
    with frozen(START) as frozen_clock:
        yield frozen_clock


def add_member(
    sessions: sessionmaker[Session], email: str, *, locale: str = "en", first_name: str = "Ana"
) -> Member:
    """An active, confirmed candidate asked to stay: an open re-permission notice."""
    with session_scope(sessions) as session:
        candidate, _ = get_or_create_candidate(session, email, first_name=first_name)
        candidate.locale = locale
        candidate.email_verified_at = LAST_ACTIVE
        candidate.last_active_at = LAST_ACTIVE
        session.flush()
        notice = RetentionNotice(
            candidate_id=candidate.id,
            kind=NoticeKind.REPERMISSION,
            based_on=LAST_ACTIVE,
            expires_at=EXPIRES,
            queued_at=START - timedelta(days=5),
        )
        session.add(notice)
        session.flush()
        token = make_link_token([TEST_SECRET], LinkPurpose.STAY, candidate)
        return Member(candidate.id, token, notice.id)


@pytest.fixture
def member(sessions: sessionmaker[Session], clock: FrozenClock) -> Member:
    return add_member(sessions, "ana@example.com")


def state(sessions: sessionmaker[Session], member: Member) -> State:
    with session_scope(sessions) as session:
        candidate = session.get_one(Candidate, member.candidate_id)
        events = [
            (e.scope, e.action, e.source, e.wording_version, e.ip_address)
            for e in session.scalars(
                select(ConsentEvent)
                .where(ConsentEvent.candidate_id == member.candidate_id)
                .order_by(ConsentEvent.id)
            )
        ]
        answered = list(
            session.scalars(
                select(RetentionNotice.answered_at).where(
                    RetentionNotice.candidate_id == member.candidate_id
                )
            )
        )
        return State(candidate.last_active_at, events, answered)


def keep(client: FlaskClient, token: str, **environ: Any) -> Any:
    page = client.get(f"/stay/{token}")
    assert page.status_code == 200
    return client.post(
        f"/stay/{token}",
        data={"csrf_token": csrf_token(page.text)},
        environ_base={"REMOTE_ADDR": CLIENT_IP, **environ},
    )


def text_of(page: Any) -> str:
    return " ".join(html.unescape(page.text).split())


def test_get_asks_and_changes_nothing(
    client: FlaskClient, sessions: sessionmaker[Session], member: Member, clock: FrozenClock
) -> None:
    """A GET (a person, or a mail scanner) shows the question and writes nothing at all."""
    before = state(sessions, member)
    for _ in range(2):
        page = client.get(f"/stay/{member.token}")
        assert page.status_code == 200
    text = text_of(page)
    assert "Do you want to stay in our talent community?" in text
    assert "Hi Ana, unless you tell us you want to stay" in text
    assert "on January 5, 2027" in text
    assert STAY_SENTENCE in text
    assert ">Keep me</button>" in page.text
    assert 'method="post"' in page.text
    assert "/preferences/" in page.text  # Manage your email preferences
    assert page.headers["Cache-Control"] == "no-store"
    assert state(sessions, member) == before
    assert before.events == [] and before.answered == [None]
    with session_scope(sessions) as session:
        assert session.scalars(select(ConsentWording)).all() == []


def test_a_name_typed_into_a_form_is_not_shown_before_the_address_is_confirmed(
    client: FlaskClient, sessions: sessionmaker[Session], member: Member
) -> None:
    """An unconfirmed address's page greets nobody by name."""
    with session_scope(sessions) as session:
        session.get_one(Candidate, member.candidate_id).email_verified_at = None
    text = text_of(client.get(f"/stay/{member.token}"))
    assert "Ana" not in text
    assert "Unless you tell us you want to stay" in text


def test_post_keeps_the_candidate_and_shows_the_next_check(
    client: FlaskClient, sessions: sessionmaker[Session], member: Member, clock: FrozenClock
) -> None:
    """Keep me: a retention consent event under the shown sentence, activity now, notice
    answered, and a confirmation with the new deadline two years on."""
    page = keep(client, member.token)
    assert page.status_code == 200
    text = text_of(page)
    assert "You're staying" in text
    assert "Thank you, Ana. We have kept your profile" in text
    assert "We will ask you again before December 1, 2028." in text
    assert "/preferences/" in page.text
    after = state(sessions, member)
    assert after.last_active_at == START
    assert after.answered == [START]
    [(scope, action, source, version, ip)] = after.events
    assert (scope, action, source, ip) == (
        ConsentScope.RETENTION,
        ConsentAction.GRANT,
        ConsentSource.REPERMISSION,
        CLIENT_IP,
    )
    with session_scope(sessions) as session:
        wording = wording_texts(session, [version])[version]
        assert (wording.kind, wording.locale, wording.text) == (
            "retention_stay",
            "en",
            STAY_SENTENCE,
        )
        event = session.scalars(select(ConsentEvent)).one()
        assert event.detail == {"via": "repermission_email"}


def test_a_second_keep_records_again_under_the_same_wording(
    client: FlaskClient, sessions: sessionmaker[Session], member: Member, clock: FrozenClock
) -> None:
    """Keeping twice (a reload, a second click) is no error and reuses the wording's version."""
    keep(client, member.token)
    clock.advance(timedelta(minutes=5))
    assert keep(client, member.token).status_code == 200
    events = state(sessions, member).events
    assert len(events) == 2 and events[0][3] == events[1][3]
    assert state(sessions, member).last_active_at == START + timedelta(minutes=5)


def test_post_without_the_form_token_is_refused_and_changes_nothing(
    client: FlaskClient, sessions: sessionmaker[Session], member: Member
) -> None:
    """A cross-site POST (no link-bound form token) is a 400 and keeps nobody."""
    before = state(sessions, member)
    for data in ({}, {"csrf_token": "0" * 40}):
        assert client.post(f"/stay/{member.token}", data=data).status_code == 400
    assert state(sessions, member) == before


def test_a_tampered_link_is_a_friendly_400(
    client: FlaskClient, sessions: sessionmaker[Session], member: Member
) -> None:
    """A link with a changed character gets the "doesn't work" page, on GET and POST."""
    tampered = member.token[:-3] + ("AAA" if not member.token.endswith("AAA") else "BBB")
    for method in (client.get, client.post):
        page = method(f"/stay/{tampered}")
        assert page.status_code == 400
        assert "This link doesn't work" in text_of(page)
    assert state(sessions, member).events == []


def test_an_expired_link_offers_a_new_one(
    client: FlaskClient, sessions: sessionmaker[Session], member: Member, clock: FrozenClock
) -> None:
    """A link older than its lifetime gets the "email me a new link" page and keeps nobody."""
    clock.advance(timedelta(seconds=LIFETIMES[LinkPurpose.STAY] + 60))
    for method in (client.get, client.post):
        page = method(f"/stay/{member.token}")
        assert page.status_code == 410
        assert "This link has expired." in text_of(page)
        assert "Email me a new link" in text_of(page)
        assert "/preferences/resend" in page.text
    assert state(sessions, member).events == []


def test_an_erased_candidates_link_gets_a_friendly_page(
    client: FlaskClient,
    sessions: sessionmaker[Session],
    member: Member,
    tmp_path: Path,
) -> None:
    """After erasure (or anonymization) the link says there is nothing to keep: no 500."""
    page = client.get(f"/stay/{member.token}")
    form = {"csrf_token": csrf_token(page.text)}
    with session_scope(sessions) as session:
        erase_candidate(
            session, session.get_one(Candidate, member.candidate_id), upload_dir=tmp_path
        )
    for response in (
        client.post(f"/stay/{member.token}", data=form),
        client.get(f"/stay/{member.token}"),
    ):
        assert response.status_code == 410
        text = text_of(response)
        assert "Your profile is no longer here" in text
        assert "Join our talent community" in text
    with session_scope(sessions) as session:
        assert (
            session.scalars(
                select(ConsentEvent).where(ConsentEvent.scope == ConsentScope.RETENTION)
            ).all()
            == []
        )


def test_the_page_is_in_the_candidates_language(
    client: FlaskClient, sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    """A Spanish candidate's page, confirmation and recorded wording are in Spanish."""
    member = add_member(sessions, "lucia@example.com", locale="es", first_name="Lucía")
    page = client.get(f"/stay/{member.token}")
    assert page.status_code == 200
    assert '<html lang="es"' in page.text
    text = text_of(page)
    assert "5 de enero de 2027" in text
    assert "Lucía" in text
    assert "Keep me" not in text
    done = keep(client, member.token)
    assert '<html lang="es"' in done.text
    assert "You're staying" not in text_of(done)
    [event] = state(sessions, member).events
    with session_scope(sessions) as session:
        wording = wording_texts(session, [event[3]])[event[3]]
        assert wording.locale == "es"
        assert wording.text in text
        assert wording.text != STAY_SENTENCE
