""" "Email me jobs like this" (issue 15 §3): members save in one click, visitors by double opt-in.

Through the real app and, for the visitor's email, the real outbox worker and aiosmtpd.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from mailer.config import SmtpTarget
from mailer.models import OutboxMessage
from mailer.sender import SmtpSender
from mailer.sink import MailSink, MemoryStore
from mailer.worker import OutboxWorker
from portal.app import create_app
from portal.auth.accounts import set_password
from portal.config import Settings
from portal.connect.saved_search import SAVED_SEARCH_WORDING, _new_candidate
from preferences.clock import frozen, now
from preferences.db import session_scope
from preferences.models import (
    Candidate,
    CandidateStatus,
    ConsentAction,
    ConsentEvent,
    ConsentScope,
    ConsentSource,
    Frequency,
    InterestStatus,
    SavedSearch,
    SubscriptionStatus,
    SuppressionReason,
)
from preferences.saved_searches import withdraw_saved_search
from preferences.subscriptions import get_or_create_candidate
from preferences.suppressions import suppress
from preferences.tokens import LinkPurpose, make_link_token
from preferences.wordings import wording_texts
from tests.conftest import TEST_SECRET, make_settings

from .helpers import add_interest, add_job, csrf_token, emailed_link, without_tokens

BASE = "http://127.0.0.1:8000"
MEMBER = "ana@example.com"
PASSWORD = "a long and careful passphrase"
SEARCH = {"q": "python", "location": "Berlin"}


@pytest.fixture
def world(sessions: sessionmaker[Session]) -> Iterator[dict[str, int]]:
    """Two interests (one retired) and a Python job in Berlin."""
    with session_scope(sessions) as session:
        software = add_interest(session, "Software Engineering")
        add_interest(session, "Old Area", status=InterestStatus.RETIRED)
        add_job(session, "Python Developer", interests=[software], location="Berlin, Germany")
        ids = {"software": software.id}
    yield ids


def make_member(sessions: sessionmaker[Session], email: str = MEMBER) -> int:
    """A verified member with a password; returns her candidate id."""
    with session_scope(sessions) as session:
        ana, _ = get_or_create_candidate(session, email, first_name="Ana")
        ana.email_verified_at = now()
        set_password(ana, PASSWORD)
        session.flush()
        return ana.id


def log_in(client: FlaskClient, email: str = MEMBER) -> None:
    page = client.get("/login")
    r = client.post(
        "/login",
        data={
            "csrf_token": csrf_token(page.text),
            "email": email,
            "password": PASSWORD,
            "action": "password",
        },
    )
    assert r.status_code == 302, r.text


def box_form(html: str) -> dict[str, Any]:
    """The fields the "Email me jobs like this" form on `html` posts as it stands."""
    form = re.search(r'<form method="post" action="/jobs/save".*?</form>', html, re.S)
    assert form is not None, "no save-search form on the page"
    fields: dict[str, Any] = dict(
        re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form.group(0))
    )
    selected = re.search(r'<option value="([^"]+)" selected>', form.group(0))
    assert selected is not None
    fields["frequency"] = selected.group(1)
    return fields


def save_from_jobs(client: FlaskClient, args: dict[str, str] | None = None, **extra: Any) -> Any:
    """Open `/jobs` with `args` and post its save form with `extra` fields."""
    page = client.get("/jobs", query_string=args or SEARCH)
    assert page.status_code == 200
    return client.post("/jobs/save", data={**box_form(page.text), **extra})


def as_visitor(client: FlaskClient, email: str, **extra: Any) -> Any:
    return save_from_jobs(client, email=email, consent="yes", **extra)


def rows(sessions: sessionmaker[Session], model: Any, *where: Any) -> list[Any]:
    with sessions() as session:
        found = list(session.scalars(select(model).where(*where).order_by(model.id)))
        session.expunge_all()
    return found


def count(sessions: sessionmaker[Session], model: Any) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def search_events(sessions: sessionmaker[Session]) -> list[ConsentEvent]:
    return rows(sessions, ConsentEvent, ConsentEvent.scope == ConsentScope.SAVED_SEARCH)


def run_worker(sessions: sessionmaker[Session], settings: Settings, sink: MailSink) -> None:
    target = SmtpTarget(host=sink.host, port=sink.port, timeout=5)
    OutboxWorker(sessions, lambda: SmtpSender(target), settings.mail_settings()).run_once()


def delivered_text(sink: MailSink, count: int) -> list[str]:
    assert isinstance(sink.store, MemoryStore)
    texts = []
    for received in sink.store.wait_for(count):
        text, html = list(received.parsed().iter_parts())
        texts.append(str(text.get_content()) + str(html.get_content()))
    return texts


def confirmation_path(sessions: sessionmaker[Session], to: str) -> str:
    (row,) = rows(sessions, OutboxMessage, OutboxMessage.template == "saved_search_confirm")
    assert row.to_address == to
    with sessions() as session:
        return emailed_link(session, row, "confirm_url").removeprefix(BASE)


# -- the box --------------------------------------------------------------------------------


def test_the_box_says_in_words_what_will_be_saved_and_is_never_ticked(
    client: FlaskClient, world: dict[str, int]
) -> None:
    """A visitor sees the search in words, an email field and an unticked consent box."""
    page = client.get("/jobs", query_string={**SEARCH, "posted": "7d"})
    assert "Email me jobs like this" in page.text
    assert "We'll email you new jobs matching <strong" in page.text
    assert "“python” in Berlin" in page.text
    # `posted` is not saved: an alert lists jobs new since the last one.
    assert 'name="posted"' not in box_form(page.text) and "posted" not in box_form(page.text)
    consent = re.search(r'<input type="checkbox" id="save-search-consent"[^>]*>', page.text)
    assert consent is not None and "checked" not in consent.group(0)
    assert SAVED_SEARCH_WORDING in page.text
    assert box_form(page.text)["frequency"] == "daily"


@pytest.mark.parametrize(
    "args", [{}, {"posted": "24h"}, {"interest": "old-area"}, {"interest": "no-such-area"}]
)
def test_no_box_for_a_search_with_nothing_to_alert_on(
    client: FlaskClient, world: dict[str, int], args: dict[str, str]
) -> None:
    """All jobs, only a time window, or an interest nobody can choose: no box."""
    page = client.get("/jobs", query_string=args)
    assert page.status_code == 200
    assert "Email me jobs like this" not in page.text


# -- a member: one click --------------------------------------------------------------------


def test_a_member_saves_a_search_in_one_click(
    client: FlaskClient, sessions: sessionmaker[Session], world: dict[str, int]
) -> None:
    """Saved at once, confirmed, at the chosen frequency, with a consent event and its wording."""
    ana = make_member(sessions)
    log_in(client)
    page = client.get("/jobs", query_string=SEARCH)
    assert 'name="email"' not in page.text  # she is known: no address to give
    r = client.post("/jobs/save", data={**box_form(page.text), "frequency": "weekly"})
    assert r.status_code == 200, r.text
    assert "Saved. We'll email you new jobs matching <strong>“python” in Berlin</strong>" in r.text
    assert 'href="/dashboard/preferences"' in r.text
    (search,) = rows(sessions, SavedSearch)
    assert (search.candidate_id, search.query, search.location) == (ana, "python", "Berlin")
    assert (search.status, search.frequency) == (SubscriptionStatus.SUBSCRIBED, Frequency.WEEKLY)
    (event,) = search_events(sessions)
    assert (event.action, event.source) == (ConsentAction.GRANT, ConsentSource.DASHBOARD)
    with session_scope(sessions) as session:
        (wording,) = wording_texts(session, [event.wording_version]).values()
    assert (wording.kind, wording.locale) == ("saved_search", "en")
    assert wording.text == SAVED_SEARCH_WORDING
    assert event.detail["wording"] == SAVED_SEARCH_WORDING
    assert event.detail["search"] == "“python” in Berlin"
    assert count(sessions, OutboxMessage) == 0  # nothing to confirm by email


def test_saving_the_same_search_again_says_it_is_saved_and_writes_nothing(
    client: FlaskClient, sessions: sessionmaker[Session], world: dict[str, int]
) -> None:
    """Same search (case and spacing aside): "already saved", one row, one consent event."""
    make_member(sessions)
    log_in(client)
    assert save_from_jobs(client).status_code == 200
    again = save_from_jobs(client, {"q": "  PYTHON ", "location": "berlin"})
    assert again.status_code == 200
    assert "You've already saved this search" in again.text
    assert count(sessions, SavedSearch) == 1
    assert len(search_events(sessions)) == 1


def test_a_member_saving_again_at_another_frequency_changes_only_that(
    client: FlaskClient, sessions: sessionmaker[Session], world: dict[str, int]
) -> None:
    """Weekly, then daily: one search, now daily, and one change event after the grant."""
    make_member(sessions)
    log_in(client)
    save_from_jobs(client, frequency="weekly")
    r = save_from_jobs(client, frequency="daily")
    assert r.status_code == 200 and "Search updated" in r.text and "now once a day" in r.text
    (search,) = rows(sessions, SavedSearch)
    assert search.frequency is Frequency.DAILY
    assert [e.action for e in search_events(sessions)] == [
        ConsentAction.GRANT,
        ConsentAction.CHANGE,
    ]


def test_a_member_who_saved_as_a_visitor_confirms_by_saving_signed_in(
    client: FlaskClient, app: Flask, sessions: sessionmaker[Session], world: dict[str, int]
) -> None:
    """Her own unconfirmed search (from the visitor form) is confirmed by her signed-in click."""
    as_visitor(app.test_client(), "zoe@example.com")
    with session_scope(sessions) as session:
        zoe = session.scalar(select(Candidate))
        assert zoe is not None
        set_password(zoe, PASSWORD)
    log_in(client, "zoe@example.com")
    r = save_from_jobs(client)
    assert r.status_code == 200 and "Saved. We'll email you new jobs matching" in r.text
    (search,) = rows(sessions, SavedSearch)
    assert search.status is SubscriptionStatus.SUBSCRIBED
    assert [e.action for e in search_events(sessions)] == [
        ConsentAction.GRANT,
        ConsentAction.CONFIRM,
    ]


def limited_app(tmp_path: Path, database_url: str, limit: int) -> Flask:
    application = create_app(make_settings(tmp_path, database_url, MAX_SAVED_SEARCHES=str(limit)))
    application.config["TESTING"] = True
    return application


def test_past_the_limit_a_member_is_told_and_nothing_is_written(
    tmp_path: Path, database_url: str, sessions: sessionmaker[Session], world: dict[str, int]
) -> None:
    """With MAX_SAVED_SEARCHES=2 the third is refused (409) with a link to manage the two."""
    make_member(sessions)
    application = limited_app(tmp_path, database_url, 2)
    try:
        client = application.test_client()
        log_in(client)
        for place in ("Berlin", "Leeds"):
            assert save_from_jobs(client, {"q": "python", "location": place}).status_code == 200
        events = len(search_events(sessions))
        r = save_from_jobs(client, {"q": "python", "location": "Lisbon"})
        assert r.status_code == 409
        assert "You already have 2 saved searches, the most you can keep" in r.text
        assert 'href="/dashboard/preferences"' in r.text
        assert count(sessions, SavedSearch) == 2
        assert len(search_events(sessions)) == events
        # One already kept still says so: the limit is about new ones.
        again = save_from_jobs(client, {"q": "python", "location": "Leeds"})
        assert again.status_code == 200 and "already saved" in again.text
    finally:
        application.extensions["talentconnect"].engine.dispose()


# -- a visitor: double opt-in ---------------------------------------------------------------


def test_a_visitor_saves_confirms_by_email_and_a_scanners_get_confirms_nothing(
    client: FlaskClient,
    app: Flask,
    sessions: sessionmaker[Session],
    settings: Settings,
    smtp_server: MailSink,
    world: dict[str, int],
) -> None:
    """New address: unverified candidate, unconfirmed search, an email; GET shows, POST confirms."""
    r = as_visitor(client, "Zoe@Example.com", frequency="instant")
    assert r.status_code == 200
    assert "Check your email" in r.text
    (zoe,) = rows(sessions, Candidate)
    assert (zoe.email, zoe.email_verified_at) == ("zoe@example.com", None)
    (search,) = rows(sessions, SavedSearch)
    assert (search.status, search.frequency) == (SubscriptionStatus.UNCONFIRMED, Frequency.INSTANT)
    (grant,) = search_events(sessions)
    assert (grant.action, grant.source) == (ConsentAction.GRANT, ConsentSource.CONNECT_FORM)
    assert grant.detail["wording"] == SAVED_SEARCH_WORDING
    assert grant.ip_address == "127.0.0.1"

    run_worker(sessions, settings, smtp_server)
    (mail,) = delivered_text(smtp_server, 1)
    assert "new jobs matching “python” in Berlin, as soon as they're posted" in mail
    path = confirmation_path(sessions, "zoe@example.com")
    assert path.startswith("/jobs/save/confirm/")

    inbox = app.test_client()  # her mail client, then her browser
    for _ in range(2):  # a link scanner's GET, then hers
        page = inbox.get(path)
        assert page.status_code == 200
        assert "Confirm your saved search" in page.text and "“python” in Berlin" in page.text
        assert page.headers["Cache-Control"] == "no-store"
    (search,) = rows(sessions, SavedSearch)
    assert search.status is SubscriptionStatus.UNCONFIRMED
    assert len(search_events(sessions)) == 1

    done = inbox.post(path, data={"csrf_token": csrf_token(page.text)})
    assert done.status_code == 200
    assert "Confirmed. We'll email you new jobs matching" in done.text
    assert "/preferences/" in done.text  # her own preference center
    (search,) = rows(sessions, SavedSearch)
    assert search.status is SubscriptionStatus.SUBSCRIBED
    (zoe,) = rows(sessions, Candidate)
    assert zoe.email_verified_at is not None
    confirm = search_events(sessions)[-1]
    assert (confirm.action, confirm.source) == (ConsentAction.CONFIRM, ConsentSource.CONNECT_FORM)

    # The link again: nothing left to confirm, no button.
    used = inbox.get(path)
    assert (
        "This search is saved already" in used.text
        and "<button" not in used.text.split("<main", 1)[1].split("</main>")[0]
    )
    assert inbox.post(path, data={"csrf_token": csrf_token(page.text)}).status_code == 200
    assert len(search_events(sessions)) == 2


def test_a_known_address_changes_nothing_until_its_owner_confirms(
    app: Flask,
    sessions: sessionmaker[Session],
    settings: Settings,
    smtp_server: MailSink,
    world: dict[str, int],
) -> None:
    """A member's address from a stranger: the same page, no row, an email; confirming saves it."""
    ana = make_member(sessions)
    stranger = app.test_client()
    newcomer = app.test_client()
    known = as_visitor(stranger, MEMBER)
    fresh = as_visitor(newcomer, "someone.new@example.com")
    assert known.status_code == fresh.status_code == 200
    # No user enumeration: byte for byte the same page.
    assert without_tokens(known.text) == without_tokens(fresh.text)
    with sessions() as session:
        assert session.scalar(select(func.count()).where(SavedSearch.candidate_id == ana)) == 0
        assert session.scalar(select(func.count()).where(ConsentEvent.candidate_id == ana)) == 0
    run_worker(sessions, settings, smtp_server)
    assert len(delivered_text(smtp_server, 2)) == 2

    with sessions() as session:
        row = session.scalar(
            select(OutboxMessage).where(
                OutboxMessage.template == "saved_search_confirm",
                OutboxMessage.candidate_id == ana,
            )
        )
        assert row is not None
        path = emailed_link(session, row, "confirm_url").removeprefix(BASE)
    inbox = app.test_client()
    page = inbox.get(path)
    assert "Confirm and save this search" in page.text
    with sessions() as session:
        assert session.scalar(select(func.count()).where(SavedSearch.candidate_id == ana)) == 0
    assert inbox.post(path, data={"csrf_token": csrf_token(page.text)}).status_code == 200
    (search,) = rows(sessions, SavedSearch, SavedSearch.candidate_id == ana)
    assert search.status is SubscriptionStatus.SUBSCRIBED
    events = rows(sessions, ConsentEvent, ConsentEvent.candidate_id == ana)
    assert [(e.action, e.source) for e in events] == [
        (ConsentAction.GRANT, ConsentSource.CONNECT_FORM),
        (ConsentAction.CONFIRM, ConsentSource.CONNECT_FORM),
    ]
    assert events[0].detail["wording"] == SAVED_SEARCH_WORDING


def test_a_link_never_turns_back_on_a_search_she_stopped(
    app: Flask, sessions: sessionmaker[Session], world: dict[str, int]
) -> None:
    """Confirmed, then stopped: the old link (or a new one) says so and changes nothing."""
    as_visitor(app.test_client(), "zoe@example.com")
    path = confirmation_path(sessions, "zoe@example.com")
    inbox = app.test_client()
    token = csrf_token(inbox.get(path).text)
    inbox.post(path, data={"csrf_token": token})
    (search,) = rows(sessions, SavedSearch)
    with session_scope(sessions) as session:
        withdraw_saved_search(
            session, search.candidate_id, search.id, source=ConsentSource.PREFERENCE_CENTER
        )
    events = len(search_events(sessions))
    page = inbox.get(path)
    assert "You stopped this search" in page.text
    r = inbox.post(path, data={"csrf_token": token})
    assert r.status_code == 200 and "Nothing changed" in r.text
    (search,) = rows(sessions, SavedSearch)
    assert search.status is SubscriptionStatus.UNSUBSCRIBED
    assert len(search_events(sessions)) == events


def test_confirming_past_the_limit_is_refused_and_writes_nothing(
    tmp_path: Path, database_url: str, sessions: sessionmaker[Session], world: dict[str, int]
) -> None:
    """A known address at the limit: the link's POST says so (409) and saves nothing."""
    make_member(sessions)
    application = limited_app(tmp_path, database_url, 1)
    try:
        member = application.test_client()
        log_in(member)
        save_from_jobs(member, {"q": "rust"})
        as_visitor(application.test_client(), MEMBER)
        path = confirmation_path(sessions, MEMBER)
        inbox = application.test_client()
        page = inbox.get(path)
        r = inbox.post(path, data={"csrf_token": csrf_token(page.text)})
        assert r.status_code == 409
        assert "You already have 1 saved searches" in r.text and "/preferences/" in r.text
        assert count(sessions, SavedSearch) == 1
    finally:
        application.extensions["talentconnect"].engine.dispose()


@pytest.mark.parametrize("how", ["erased", "suppressed"])
def test_an_erased_or_suppressed_address_gets_the_same_page_and_nothing_else(
    client: FlaskClient, sessions: sessionmaker[Session], world: dict[str, int], how: str
) -> None:
    """Nothing is written and nothing queued; the visitor sees what anyone sees."""
    fresh = as_visitor(client, "new.person@example.com")
    if how == "erased":
        ana = make_member(sessions)
        with session_scope(sessions) as session:
            candidate = session.get(Candidate, ana)
            assert candidate is not None
            candidate.status = CandidateStatus.DELETED
    else:
        with session_scope(sessions) as session:
            suppress(session, MEMBER, SuppressionReason.HARD_BOUNCE)
    before = [count(sessions, model) for model in (Candidate, SavedSearch, OutboxMessage)]
    r = as_visitor(client, MEMBER)
    assert r.status_code == 200
    assert without_tokens(r.text) == without_tokens(fresh.text)
    assert [count(sessions, model) for model in (Candidate, SavedSearch, OutboxMessage)] == before


def test_visitor_saves_are_rate_limited_per_client(
    tmp_path: Path, database_url: str, sessions: sessionmaker[Session], world: dict[str, int]
) -> None:
    """Past CONNECT_RATE_LIMIT a save gets 429 and queues nothing; the pages still open."""
    application = create_app(
        make_settings(tmp_path, database_url, CONNECT_RATE_LIMIT="2 per minute")
    )
    application.config["TESTING"] = True
    try:
        client = application.test_client()
        for n in range(2):
            assert as_visitor(client, f"person{n}@example.com").status_code == 200
        blocked = as_visitor(client, "person9@example.com")
        assert blocked.status_code == 429
        assert count(sessions, OutboxMessage) == 2
        assert client.get("/jobs", query_string=SEARCH).status_code == 200
    finally:
        application.extensions["talentconnect"].engine.dispose()


def test_a_twin_request_that_made_the_candidate_first_is_not_an_error(
    sessions: sessionmaker[Session],
) -> None:
    """Two visitors' requests for one new address: the one that loses the insert finds it."""
    with session_scope(sessions) as session:
        first, made = _new_candidate(session, "twin@example.com")
        assert made
    with session_scope(sessions) as session:
        second, made = _new_candidate(session, "twin@example.com")
        assert not made and second.id == first.id
    assert count(sessions, Candidate) == 1


# -- links that don't work --------------------------------------------------------------------


def test_tampered_and_expired_links_get_friendly_pages(
    client: FlaskClient, sessions: sessionmaker[Session], world: dict[str, int]
) -> None:
    """A tampered link: 400 with a way on; an expired one: 410 saying to save again."""
    as_visitor(client, "zoe@example.com")
    path = confirmation_path(sessions, "zoe@example.com")
    bad = client.get(path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB"))
    assert bad.status_code == 400 and "This link doesn&#39;t work" in bad.text
    # A preference link is not a confirmation: one salt per purpose.
    (zoe,) = rows(sessions, Candidate)
    other = make_link_token((TEST_SECRET,), LinkPurpose.PREFERENCES, zoe, s=SEARCH, f="daily")
    assert client.get(f"/jobs/save/confirm/{other}").status_code == 400
    with frozen(now() + timedelta(days=31)):
        old = client.get(path)
    assert old.status_code == 410 and "This confirmation link has expired" in old.text
    (search,) = rows(sessions, SavedSearch)
    assert search.status is SubscriptionStatus.UNCONFIRMED


# -- hostile input --------------------------------------------------------------------------


HOSTILE = {
    "oversized keywords": {"q": "python " * 200},
    "unknown job type": {"type": "astronaut"},
    "unknown interest": {"interest": "no-such-area"},
    "retired interest": {"interest": "old-area"},
    "nothing to alert on": {"q": "", "location": ""},
    "bad frequency": {"frequency": "hourly"},
    "bad email": {"email": "not an address"},
    "no consent": {"consent": ""},
    "oversized email": {"email": "a" * 5000 + "@example.com"},
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_input_is_a_clear_400_and_stores_nothing(
    client: FlaskClient, sessions: sessionmaker[Session], world: dict[str, int], case: str
) -> None:
    """Malformed or tampered fields: a 400 that says what is wrong; no candidate, no email."""
    page = client.get("/jobs", query_string=SEARCH)
    data = {**box_form(page.text), "email": "zoe@example.com", "consent": "yes"}
    data.update(HOSTILE[case])
    r = client.post("/jobs/save", data=data)
    assert r.status_code == 400, r.text
    assert "field-error" in r.text or "wasn't saved" in r.text
    assert (count(sessions, Candidate), count(sessions, OutboxMessage)) == (0, 0)


def test_control_characters_are_cleaned_as_everywhere_else(
    client: FlaskClient, sessions: sessionmaker[Session], world: dict[str, int]
) -> None:
    """A NUL in the place is dropped by the stored-text rule, as the search page reads it."""
    r = as_visitor(client, "zoe@example.com", location="Ber\x00lin")
    assert r.status_code == 200
    (search,) = rows(sessions, SavedSearch)
    assert search.location == "Berlin"


def test_a_post_without_its_csrf_token_is_refused(
    client: FlaskClient, sessions: sessionmaker[Session], world: dict[str, int]
) -> None:
    """No token, no save: the project's 400 page, nothing stored."""
    page = client.get("/jobs", query_string=SEARCH)
    data = {**box_form(page.text), "email": "zoe@example.com", "consent": "yes"}
    del data["csrf_token"]
    r = client.post("/jobs/save", data=data)
    assert r.status_code == 400 and "We couldn&#39;t verify that form" in r.text
    assert count(sessions, Candidate) == 0


def test_the_form_page_keeps_what_was_typed_and_names_each_problem(
    client: FlaskClient, world: dict[str, int]
) -> None:
    """A visitor's form errors come back on a page of their own, with the box still unticked."""
    page = client.get("/jobs", query_string=SEARCH)
    r = client.post("/jobs/save", data={**box_form(page.text), "email": "zoe@"})
    assert r.status_code == 400
    assert "Enter an email address like name@example.com." in r.text
    assert "Tick this box so we can email you jobs like this." in r.text
    assert 'value="zoe@"' in r.text
    consent = re.search(r'<input type="checkbox" id="save-search-consent"[^>]*>', r.text)
    assert consent is not None and "checked" not in consent.group(0)
    # And the standalone page opens for the same search.
    standalone = client.get("/jobs/save", query_string=SEARCH)
    assert standalone.status_code == 200 and "“python” in Berlin" in standalone.text
    assert client.get("/jobs/save").status_code == 400


FIELD_TEXT = st.one_of(
    st.text(max_size=300),
    st.sampled_from(["remote", "full_time", "software-engineering", "weekly", "yes", ""]),
)


@hypothesis_settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    fields=st.fixed_dictionaries(
        {},
        optional={
            name: FIELD_TEXT
            for name in (
                "q",
                "location",
                "workplace",
                "type",
                "interest",
                "frequency",
                "email",
                "consent",
            )
        },
    )
)
def test_any_form_is_answered_with_a_page_never_a_500(
    client: FlaskClient, world: dict[str, int], fields: dict[str, str]
) -> None:
    """Whatever text each field holds: 200 (saved or "check your email") or a 400 with a message."""
    page = client.get("/jobs", query_string=SEARCH)
    r = client.post("/jobs/save", data={"csrf_token": csrf_token(page.text), **fields})
    assert r.status_code in (200, 400), r.status_code
    if r.status_code == 400:
        assert re.search(r'class="(?:field-error|form-error)', r.text), r.text
