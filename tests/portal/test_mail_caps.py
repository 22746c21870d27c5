"""Per-address caps on the emails a visitor can make us send: sign-in and confirmation links.

The per-IP limits alone let one request a minute mail a member 1,440 sign-in
links a day. `ADDRESS_MAIL_LIMIT` caps them per address; past the cap nothing is
queued and the visitor sees the same page as ever.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from mailer.models import MessageKind, OutboxMessage
from mailer.outbox import VISITOR_MAIL_KINDS, MailCap, recent_mail_query
from portal.config import ConfigError, Settings
from preferences.clock import FrozenClock, frozen
from preferences.db import session_scope
from preferences.models import ConsentSource, Interest
from preferences.subscriptions import get_or_create_candidate, subscribe
from tests.conftest import make_settings

from .helpers import add_interest, csrf_token, without_tokens

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MEMBER = "ana@example.com"


@pytest.fixture
def clock() -> Iterator[FrozenClock]:
    with frozen(T0) as fixed:
        yield fixed


@pytest.fixture
def member(sessions: sessionmaker[Session], clock: FrozenClock) -> int:
    """A member with one unconfirmed subscription (so a confirmation can be resent)."""
    with session_scope(sessions) as session:
        interest = add_interest(session, "Design")
        ana, _ = get_or_create_candidate(session, MEMBER, first_name="Ana")
        found = session.get(Interest, interest.id)
        assert found is not None
        subscribe(session, ana, found, source=ConsentSource.CONNECT_FORM)
        return ana.id


def post_form(client: FlaskClient, path: str, **data: str) -> tuple[int, str]:
    page = client.get(path)
    r = client.post(path, data={"csrf_token": csrf_token(page.text), **data})
    return r.status_code, without_tokens(r.text)


def ask_for_login_link(client: FlaskClient) -> tuple[int, str]:
    return post_form(client, "/login", email=MEMBER, action="link")


def queued(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(OutboxMessage.template).order_by(OutboxMessage.id)))


def test_sign_in_links_per_address_stop_at_the_hourly_and_daily_caps(
    client: FlaskClient, sessions: sessionmaker[Session], member: int, clock: FrozenClock
) -> None:
    """5 an hour, 10 a day by default; beyond that nothing is queued and the page is the same."""
    answers = []
    for _ in range(8):  # one a minute, as the per-IP limit allows
        answers.append(ask_for_login_link(client))
        clock.advance(timedelta(minutes=1))
    assert queued(sessions) == ["login_link"] * 5
    assert len(set(answers)) == 1 and answers[0][0] == 200
    clock.advance(timedelta(hours=1))
    for _ in range(8):
        ask_for_login_link(client)
        clock.advance(timedelta(minutes=1))
    assert len(queued(sessions)) == 10  # the daily cap
    clock.advance(timedelta(hours=3))
    ask_for_login_link(client)
    assert len(queued(sessions)) == 10
    clock.advance(timedelta(hours=24))
    ask_for_login_link(client)
    assert len(queued(sessions)) == 11


def capped_app(tmp_path: Path, database_url: str, limit: str) -> Iterator[Flask]:
    from portal.app import create_app

    application = create_app(make_settings(tmp_path, database_url, ADDRESS_MAIL_LIMIT=limit))
    application.config["TESTING"] = True
    yield application
    application.extensions["talentconnect"].engine.dispose()


@pytest.fixture
def five_a_day(tmp_path: Path, database_url: str) -> Iterator[Flask]:
    yield from capped_app(tmp_path, database_url, "5 per day")


def test_one_cap_covers_sign_in_preference_and_confirmation_links(
    five_a_day: Flask, sessions: sessionmaker[Session], member: int, clock: FrozenClock
) -> None:
    """Every kind of link a visitor can have mailed to an address counts against one cap."""
    client = five_a_day.test_client()
    requests = [
        ("/connect/confirm/resend", {"email": MEMBER}),
        ("/preferences/resend", {"email": MEMBER}),
        ("/login/forgot", {"email": MEMBER}),
        ("/login", {"email": MEMBER, "action": "link"}),
    ]
    pages: dict[str, set[tuple[int, str]]] = {}
    for _ in range(3):
        for path, data in requests:
            pages.setdefault(path, set()).add(post_form(client, path, **data))
            clock.advance(timedelta(minutes=11))  # past every dedupe window
    assert queued(sessions) == [
        "confirmation",
        "preference_link",
        "login_link",
        "login_link",
        "confirmation",
    ]
    # Each form answered the same whether its email went or not.
    assert all(len(answers) == 1 for answers in pages.values())


def test_the_cap_is_per_address(
    client: FlaskClient, sessions: sessionmaker[Session], member: int, clock: FrozenClock
) -> None:
    """The cap is per address: other members' links don't use it up."""
    for _ in range(6):
        ask_for_login_link(client)
        clock.advance(timedelta(minutes=2))
    with session_scope(sessions) as session:
        bo, _ = get_or_create_candidate(session, "bo@example.com")
        bo_id = bo.id
    post_form(client, "/login", email="bo@example.com", action="link")
    with sessions() as session:
        assert (
            session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.candidate_id == bo_id)
            )
            == 1
        )


def test_the_cap_is_a_setting(tmp_path: Path, database_url: str) -> None:
    """ADDRESS_MAIL_LIMIT takes rate strings; a malformed one stops start-up naming it."""
    settings = make_settings(tmp_path, database_url, ADDRESS_MAIL_LIMIT="2 per hour")
    assert settings.address_mail_caps == (MailCap(2, timedelta(hours=1)),)
    default = make_settings(tmp_path, database_url)
    assert default.address_mail_caps == (
        MailCap(5, timedelta(hours=1)),
        MailCap(10, timedelta(days=1)),
    )
    for bad in ("lots", "0 per hour"):
        with pytest.raises(ConfigError) as info:
            make_settings(tmp_path, database_url, ADDRESS_MAIL_LIMIT=bad)
        assert info.value.variable == "TALENTCONNECT_ADDRESS_MAIL_LIMIT"


def _plan(engine: Engine, backend: str) -> str:
    """The query plan of the count the cap runs, on this backend."""
    since = T0 - timedelta(days=1)
    with Session(engine) as session:
        statement = recent_mail_query(1, VISITOR_MAIL_KINDS, [since])
        compiled = statement.compile(engine, compile_kwargs={"literal_binds": True})
        if backend == "sqlite":
            rows = session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")).all()
            return "\n".join(str(row[-1]) for row in rows)
        # A tiny table is cheaper to scan; ask what the planner does when it must choose.
        session.execute(text("SET LOCAL enable_seqscan = off"))
        rows = session.execute(text(f"EXPLAIN {compiled}")).all()
        return "\n".join(str(row[0]) for row in rows)


def test_the_cap_count_is_served_by_an_index(engine: Engine, backend: str) -> None:
    """Counting one address's recent links reads an index, not the whole outbox."""
    plan = _plan(engine, backend)
    assert "ix_outbox_messages_candidate_kind_created" in plan, plan
    assert MessageKind.LOGIN_LINK in VISITOR_MAIL_KINDS


def test_settings_table_documents_the_cap(settings: Settings) -> None:
    """The setting is listed with its default, like every other."""
    from portal.config import SETTINGS

    (spec,) = [s for s in SETTINGS if s.name == "ADDRESS_MAIL_LIMIT"]
    assert spec.default == "5 per hour;10 per day"
    assert settings.address_mail_limit == spec.default
