"""Managing saved searches from the signed preference page, the dashboard and one-click links."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse

from jobs.posting_fields import Workplace
from portal.auth.accounts import set_password
from portal.config import Settings
from portal.web.links import one_click_url
from preferences.clock import now
from preferences.db import session_scope
from preferences.models import (
    Candidate,
    CandidateStatus,
    ConsentEvent,
    ConsentScope,
    ConsentSource,
    Frequency,
    SavedSearch,
    Subscription,
    SubscriptionStatus,
)
from preferences.subscriptions import get_or_create_candidate, subscribe
from preferences.tokens import LinkPurpose, make_link_token
from tests.conftest import TEST_SECRET
from tests.saved_search_seed import seed_search

from .helpers import add_interest, csrf_token

PASSWORD = "a long enough passphrase"
CLIENT_IP = "203.0.113.7"


@dataclass(frozen=True)
class Seeded:
    """Ana with two saved searches (one pending) and an interest; Bea with one search."""

    ana: int
    token: str
    python: int
    pending: int
    design: int
    bea_search: int


@pytest.fixture
def seeded(sessions: sessionmaker[Session]) -> Seeded:
    with session_scope(sessions) as session:
        design = add_interest(session, "Design")
        ana, _ = get_or_create_candidate(session, "ana@example.com", first_name="Ana")
        set_password(ana, PASSWORD)
        subscribe(session, ana, design, source=ConsentSource.CONNECT_FORM, confirmed=True)
        python = seed_search(session, ana, workplace=Workplace.REMOTE, interest=design)
        pending = seed_search(session, ana, "rust", "", confirmed=False)
        bea, _ = get_or_create_candidate(session, "bea@example.com")
        theirs = seed_search(session, bea, "secret project", "Leeds")
        token = make_link_token([TEST_SECRET], LinkPurpose.PREFERENCES, ana)
        return Seeded(ana.id, token, python.id, pending.id, design.id, theirs.id)


def text(response: TestResponse) -> str:
    """The visible words of a page, whitespace collapsed, entities decoded."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.text)))


def rows(sessions: sessionmaker[Session]) -> dict[int, tuple[str, str, Any]]:
    with session_scope(sessions) as session:
        return {
            s.id: (s.status.value, s.frequency.value, s.paused_until)
            for s in session.scalars(select(SavedSearch))
        }


def search_events(sessions: sessionmaker[Session]) -> list[tuple[int | None, str, str, dict]]:
    with session_scope(sessions) as session:
        return [
            (e.saved_search_id, e.action.value, e.source.value, e.detail)
            for e in session.scalars(
                select(ConsentEvent)
                .where(ConsentEvent.scope == ConsentScope.SAVED_SEARCH)
                .order_by(ConsentEvent.id)
            )
        ]


class Page:
    """The preference page at `base` (signed or dashboard) and its saved-search forms."""

    def __init__(self, client: FlaskClient, base: str) -> None:
        self.client = client
        self.base = base

    def open(self) -> TestResponse:
        page = self.client.get(self.base)
        assert page.status_code == 200, page.text
        return page

    def post(self, search_id: object, **form: str) -> TestResponse:
        token = csrf_token(self.open().text)
        return self.client.post(
            f"{self.base}/searches/{search_id}",
            data={"csrf_token": token, **form},
            environ_base={"REMOTE_ADDR": CLIENT_IP},
        )

    def follow(self, response: TestResponse) -> TestResponse:
        assert response.status_code == 303, response.text
        assert response.headers["Cache-Control"] == "no-store"
        location = response.headers["Location"]
        assert location.startswith(self.base + "?") and location.endswith("#search-notice")
        return self.client.get(location.split("#")[0])


def sign_in(client: FlaskClient) -> None:
    login = client.get("/login")
    r = client.post(
        "/login",
        data={
            "csrf_token": csrf_token(login.text),
            "email": "ana@example.com",
            "password": PASSWORD,
            "action": "password",
        },
    )
    assert r.status_code == 302


@pytest.fixture(params=["signed", "dashboard"])
def page(request: pytest.FixtureRequest, client: FlaskClient, seeded: Seeded) -> Page:
    """The signed preference page, or the dashboard's after signing in."""
    if request.param == "signed":
        return Page(client, f"/preferences/{seeded.token}")
    sign_in(client)
    return Page(client, "/dashboard/preferences")


def source_of(page: Page) -> str:
    return "dashboard" if page.base.startswith("/dashboard") else "preference_center"


def test_the_page_lists_each_saved_search_in_words_with_its_status_and_jobs_link(
    page: Page, seeded: Seeded
) -> None:
    """Each of Ana's searches shows in words, with its status, a jobs link and its forms."""
    shown = page.open()
    words = text(shown)
    assert "Saved searches" in words
    assert "“python” in Berlin · Remote · Design Active" in words
    assert "“rust” Awaiting your confirmation" in words
    assert 'href="/jobs?q=python&amp;location=Berlin&amp;workplace=remote&amp;interest=design"' in (
        shown.text
    )
    assert f'action="{page.base}/searches/{seeded.python}"' in shown.text
    assert "secret project" not in words
    assert 'for="search-frequency-' in shown.text and 'for="search-pause-' in shown.text


def test_the_page_after_a_save_and_an_undo_still_lists_the_saved_searches(
    page: Page, seeded: Seeded
) -> None:
    """A Save (and its Undo) reads the searches in its own transaction; the page lists them."""
    token = csrf_token(page.open().text)
    saved = page.client.post(page.base, data={"csrf_token": token, "mass_email": "yes"})
    assert saved.status_code == 200, saved.text
    assert "“python” in Berlin · Remote · Design Active" in text(saved)
    assert "“rust” Awaiting your confirmation" in text(saved)
    undo = re.search(r'name="undo" value="([^"]+)"', saved.text)
    assert undo is not None
    back = page.client.post(
        f"{page.base}/undo", data={"csrf_token": csrf_token(saved.text), "undo": undo.group(1)}
    )
    assert back.status_code == 200, back.text
    assert "“python” in Berlin · Remote · Design Active" in text(back)


def test_changing_frequency_writes_one_event_and_a_repeat_writes_none(
    page: Page, sessions: sessionmaker[Session], seeded: Seeded
) -> None:
    """Weekly is saved with one CHANGE event from this page's source; weekly again is a no-op."""
    before = search_events(sessions)
    shown = page.follow(page.post(seeded.python, action="frequency", frequency="weekly"))
    assert "Alerts for “python” in Berlin · Remote · Design now arrive weekly." in text(shown)
    assert rows(sessions)[seeded.python][1] == "weekly"
    new = search_events(sessions)[len(before) :]
    assert [(e[0], e[1], e[2]) for e in new] == [(seeded.python, "change", source_of(page))]
    again = page.follow(page.post(seeded.python, action="frequency", frequency="weekly"))
    assert "Nothing changed for “python”" in text(again)
    assert len(search_events(sessions)) == len(before) + 1


def test_pause_then_resume(page: Page, sessions: sessionmaker[Session], seeded: Seeded) -> None:
    """A pause date stops alerts until that day and the page offers Resume; Resume undoes it."""
    day = (now() + timedelta(days=10)).date()
    shown = page.follow(page.post(seeded.python, action="pause", pause=day.isoformat()))
    assert f"are paused until {day:%B %-d, %Y}" in text(shown)
    assert f"Paused until {day:%B %-d, %Y}" in text(shown)
    assert "Resume alerts" in text(shown)
    paused = rows(sessions)[seeded.python][2]
    assert paused is not None and paused.date() == day
    resumed = page.follow(page.post(seeded.python, action="resume"))
    assert "are on again" in text(resumed)
    assert rows(sessions)[seeded.python][2] is None
    changes = [e for e in search_events(sessions) if e[1] == "change"]
    assert [e[3]["paused_until"] is None for e in changes] == [False, True]
    assert {e[2] for e in changes} == {source_of(page)}


@pytest.mark.parametrize(
    ("pause", "message"),
    [
        ("", "Enter the day alerts should start again, as a date."),
        ("yesterday", "Enter the day alerts should start again, as a date."),
        ("2000-01-01", "The pause must end after today."),
        ("2999-01-01", "Alerts can be paused for up to a year."),
    ],
)
def test_a_bad_pause_date_is_a_field_error_and_changes_nothing(
    page: Page, sessions: sessionmaker[Session], seeded: Seeded, pause: str, message: str
) -> None:
    """The page comes back (400) with the message beside that search's date, nothing saved."""
    before = (rows(sessions), search_events(sessions))
    r = page.post(seeded.python, action="pause", pause=pause)
    assert r.status_code == 400
    assert message in text(r)
    assert f'aria-describedby="search-error-{seeded.python}"' in r.text
    assert (rows(sessions), search_events(sessions)) == before


def test_remove_withdraws_once_and_the_search_leaves_the_page(
    page: Page, sessions: sessionmaker[Session], seeded: Seeded
) -> None:
    """Remove stops the alerts with one WITHDRAW; removing again answers the same, no event."""
    shown = page.follow(page.post(seeded.python, action="remove"))
    assert "Removed your saved search “python” in Berlin · Remote · Design" in text(shown)
    assert f"saved-search-{seeded.python}" not in shown.text
    assert rows(sessions)[seeded.python][0] == "unsubscribed"
    count = len(search_events(sessions))
    assert search_events(sessions)[-1][:3] == (seeded.python, "withdraw", source_of(page))
    again = page.follow(page.post(seeded.python, action="remove"))
    assert "Removed your saved search" in text(again)
    assert len(search_events(sessions)) == count
    # Other changes to a removed search find nothing.
    assert page.post(seeded.python, action="frequency", frequency="daily").status_code == 404


def test_confirm_a_pending_search(
    page: Page, sessions: sessionmaker[Session], seeded: Seeded
) -> None:
    """A pending search has a Confirm button; it confirms once, then there is none."""
    assert "Confirm alerts" in text(page.open())
    shown = page.follow(page.post(seeded.pending, action="confirm"))
    assert "Alerts for “rust” are confirmed." in text(shown)
    assert "Confirm alerts" not in text(shown)
    assert rows(sessions)[seeded.pending][0] == "subscribed"
    assert search_events(sessions)[-1][:3] == (seeded.pending, "confirm", source_of(page))
    count = len(search_events(sessions))
    page.follow(page.post(seeded.pending, action="confirm"))
    assert len(search_events(sessions)) == count


@pytest.mark.parametrize(
    "search_id", ["bea", "abc", "0", "-1", "1e3", "99999999999", "2147483648", "999"]
)
def test_tampered_ids_are_404_and_change_nothing(
    page: Page, sessions: sessionmaker[Session], seeded: Seeded, search_id: str
) -> None:
    """Another's search id, non-numeric, out-of-range and unknown ids find no saved search."""
    target = seeded.bea_search if search_id == "bea" else search_id
    before = (rows(sessions), search_events(sessions))
    for form in ({"action": "remove"}, {"action": "frequency", "frequency": "weekly"}):
        r = page.post(target, **form)
        assert r.status_code == 404
        assert "We couldn't find that saved search" in text(r)
    assert (rows(sessions), search_events(sessions)) == before


@pytest.mark.parametrize(
    "form",
    [
        {},
        {"action": "explode"},
        {"action": "frequency", "frequency": "hourly"},
        {"action": "frequency"},
    ],
)
def test_a_form_that_is_not_ours_is_400_and_changes_nothing(
    page: Page, sessions: sessionmaker[Session], seeded: Seeded, form: dict[str, str]
) -> None:
    """Unknown actions and frequencies are refused with a clear page."""
    before = (rows(sessions), search_events(sessions))
    r = page.post(seeded.python, **form)
    assert r.status_code == 400 and "Nothing was changed" in text(r)
    assert (rows(sessions), search_events(sessions)) == before


def test_a_post_without_the_form_token_is_refused(
    page: Page, sessions: sessionmaker[Session], seeded: Seeded
) -> None:
    """No CSRF token (a cross-site form) is 400 on both pages; nothing changes."""
    before = rows(sessions)
    r = page.client.post(f"{page.base}/searches/{seeded.python}", data={"action": "remove"})
    assert r.status_code == 400
    assert rows(sessions) == before


def test_the_signed_form_token_of_another_link_is_refused(
    client: FlaskClient, sessions: sessionmaker[Session], seeded: Seeded
) -> None:
    """Bea's page's form token does not work on Ana's link."""
    with session_scope(sessions) as session:
        bea = session.scalars(select(Candidate).where(Candidate.email == "bea@example.com")).one()
        bea_token = make_link_token([TEST_SECRET], LinkPurpose.PREFERENCES, bea)
    bea_form = csrf_token(client.get(f"/preferences/{bea_token}").text)
    before = rows(sessions)
    r = client.post(
        f"/preferences/{seeded.token}/searches/{seeded.python}",
        data={"csrf_token": bea_form, "action": "remove"},
    )
    assert r.status_code == 400
    assert rows(sessions) == before


def test_a_bad_or_revoked_link_changes_nothing(
    client: FlaskClient, sessions: sessionmaker[Session], seeded: Seeded
) -> None:
    """A tampered link is 400; an erased candidate's link no longer works either."""
    r = client.post(
        f"/preferences/{seeded.token}x/searches/{seeded.python}", data={"action": "remove"}
    )
    assert r.status_code == 400 and "This link doesn" in text(r)
    with session_scope(sessions) as session:
        session.get_one(Candidate, seeded.ana).status = CandidateStatus.DELETED
    r = client.post(
        f"/preferences/{seeded.token}/searches/{seeded.python}", data={"action": "remove"}
    )
    assert r.status_code == 400
    assert rows(sessions)[seeded.python][0] == "subscribed"


def test_the_dashboard_needs_a_session(
    client: FlaskClient, sessions: sessionmaker[Session], seeded: Seeded
) -> None:
    """Without signing in, the dashboard's form sends to the login page (or fails CSRF)."""
    before = rows(sessions)
    r = client.post(f"/dashboard/preferences/searches/{seeded.python}", data={"action": "remove"})
    assert r.status_code in (302, 400)
    assert rows(sessions) == before


def test_the_empty_state_points_to_job_search(client: FlaskClient, sessions: sessionmaker) -> None:
    """Someone with no saved search is told how to make one, with a link to /jobs."""
    with session_scope(sessions) as session:
        cy, _ = get_or_create_candidate(session, "cy@example.com")
        token = make_link_token([TEST_SECRET], LinkPurpose.PREFERENCES, cy)
    shown = client.get(f"/preferences/{token}")
    assert "No saved searches. Search jobs and choose “Email me jobs like this”." in text(shown)
    assert '<a href="/jobs">Search jobs</a>' in shown.text


def test_the_page_reads_saved_searches_only_for_someone_who_keeps_one(
    app: Flask, client: FlaskClient, sessions: sessionmaker, seeded: Seeded
) -> None:
    """The page's one query says whether any search is kept; with none, no second query."""
    with session_scope(sessions) as session:
        cy, _ = get_or_create_candidate(session, "cy@example.com")
        token = make_link_token([TEST_SECRET], LinkPurpose.PREFERENCES, cy)
    engine = app.extensions["talentconnect"].engine
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    def saved_search_reads() -> int:
        return sum(s.lstrip().upper().startswith("SELECT SAVED_SEARCHES.") for s in statements)

    event.listen(engine, "before_cursor_execute", record)
    try:
        shown = client.get(f"/preferences/{token}")
        assert "No saved searches." in text(shown)
        assert saved_search_reads() == 0
        with session_scope(sessions) as session:
            seed_search(session, session.get_one(Candidate, cy.id), "golang", "Oslo")
        statements.clear()
        shown = client.get(f"/preferences/{token}")
        assert "“golang” in Oslo" in text(shown)
        assert saved_search_reads() == 1
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_the_dashboard_home_lists_saved_searches(client: FlaskClient, seeded: Seeded) -> None:
    """The dashboard's email card lists the searches with their status and links to manage them."""
    sign_in(client)
    home = client.get("/dashboard")
    words = text(home)
    assert "“python” in Berlin · Remote · Design Active" in words
    assert "“rust” Awaiting your confirmation" in words
    assert 'href="/dashboard/preferences#saved-searches"' in home.text


def test_a_notice_for_someone_elses_search_says_nothing(page: Page, seeded: Seeded) -> None:
    """`?done=…&search=<their id>` names nothing of theirs."""
    shown = page.client.get(f"{page.base}?done=removed&search={seeded.bea_search}")
    assert "secret project" not in text(shown) and "Removed your" not in text(shown)


# One-click links for saved searches.


def one_click_path(settings: Settings, sessions: sessionmaker[Session], ana: int, ref: str) -> str:
    with session_scope(sessions) as session:
        url = one_click_url(settings, session.get_one(Candidate, ana), ref)
    return url.removeprefix(settings.base_url)


ONE_CLICK = {"List-Unsubscribe": "One-Click"}


def test_one_click_search_link_shows_then_leaves_that_search(
    app: Flask, settings: Settings, sessions: sessionmaker[Session], seeded: Seeded
) -> None:
    """GET names the search in words and changes nothing; POST leaves it (200), again a no-op."""
    path = one_click_path(settings, sessions, seeded.ana, f"search:{seeded.python}")
    client = app.test_client(use_cookies=False)
    before = rows(sessions)
    shown = client.get(path)
    assert shown.status_code == 200
    assert "Your saved search “python” in Berlin · Remote · Design" in text(shown)
    assert "occasional" not in text(shown) and "many people at once" not in text(shown)
    assert rows(sessions) == before
    done = client.post(path, data=ONE_CLICK, environ_base={"REMOTE_ADDR": CLIENT_IP})
    assert done.status_code == 200 and "Location" not in done.headers
    assert "We won't send you these alerts any more" in text(done)
    after = rows(sessions)
    assert after[seeded.python][0] == "unsubscribed"
    assert after[seeded.pending] == before[seeded.pending]
    assert search_events(sessions)[-1][:3] == (seeded.python, "withdraw", "one_click")
    count = len(search_events(sessions))
    again = client.post(path, data=ONE_CLICK)
    assert again.status_code == 200 and "already unsubscribed" in text(again)
    assert len(search_events(sessions)) == count


def test_one_click_alerts_link_leaves_the_interest_and_the_search(
    app: Flask, settings: Settings, sessions: sessionmaker[Session], seeded: Seeded
) -> None:
    """An `alerts:` digest link lists and leaves its interest and its saved search."""
    ref = f"alerts:{seeded.design}:{seeded.python}"
    path = one_click_path(settings, sessions, seeded.ana, ref)
    client = app.test_client(use_cookies=False)
    shown = client.get(path)
    assert shown.status_code == 200
    assert "Job alerts for Design" in text(shown)
    assert "Your saved search “python” in Berlin" in text(shown)
    assert client.post(path, data=ONE_CLICK).status_code == 200
    assert rows(sessions)[seeded.python][0] == "unsubscribed"
    with session_scope(sessions) as session:
        sub = session.scalars(select(Subscription)).one()
        assert sub.status is SubscriptionStatus.UNSUBSCRIBED


def test_one_click_for_someone_elses_search_does_nothing(
    app: Flask, settings: Settings, sessions: sessionmaker[Session], seeded: Seeded
) -> None:
    """A link of Ana's naming Bea's search is a bad link: no words of Bea's, nothing left."""
    path = one_click_path(settings, sessions, seeded.ana, f"search:{seeded.bea_search}")
    client = app.test_client(use_cookies=False)
    before = (rows(sessions), search_events(sessions))
    for response in (client.get(path), client.post(path, data=ONE_CLICK)):
        assert response.status_code == 400
        assert "secret project" not in text(response)
    mixed = one_click_path(
        settings, sessions, seeded.ana, f"alerts::{seeded.python}.{seeded.bea_search}"
    )
    assert "secret project" not in text(client.get(mixed))
    assert client.post(mixed, data=ONE_CLICK).status_code == 200
    after = rows(sessions)
    assert after[seeded.bea_search] == before[0][seeded.bea_search]
    assert after[seeded.python][0] == "unsubscribed"


def test_frequency_values_offered_are_the_three(page: Page, seeded: Seeded) -> None:
    """The menu offers instant, daily and weekly, with the search's own selected."""
    shown = page.open().text
    menu = re.search(rf'id="search-frequency-{seeded.python}"[^>]*>(.*?)</select>', shown, re.S)
    assert menu is not None
    assert re.findall(r'value="(\w+)"', menu.group(1)) == [f.value for f in Frequency]
    assert 'value="daily" selected' in menu.group(1)
