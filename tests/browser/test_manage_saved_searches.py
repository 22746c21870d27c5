"""Managing saved searches in a real browser: from the signed preference link and the dashboard.

Ana (seeded as in test_preferences.py) also has two confirmed saved searches. Each test
changes how often one arrives, pauses it, resumes it and removes the other, checking the
page (axe, no sideways scroll, screenshots) and what the database recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from jobs.posting_fields import Workplace
from preferences.clock import now
from preferences.db import session_scope
from preferences.models import (
    Candidate,
    ConsentAction,
    ConsentEvent,
    ConsentScope,
    ConsentSource,
    SavedSearch,
)
from tests.browser.conftest import LivePortal
from tests.browser.flow import FlowPage, open_flow
from tests.browser.prefs_support import PASSWORD, Member, log_in, seed_member
from tests.saved_search_seed import seed_search

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator

pytestmark = pytest.mark.browser

PYTHON = "“python” in Berlin · Remote"
DESIGNER = "“designer” in Leeds"


@dataclass(frozen=True)
class Searches:
    python: int
    designer: int


def seed_searches(member: Member) -> Searches:
    with session_scope(member.portal.sessions) as session:
        ana = session.get_one(Candidate, member.id)
        python = seed_search(session, ana, "python", "Berlin", workplace=Workplace.REMOTE)
        designer = seed_search(session, ana, "designer", "Leeds")
        return Searches(python.id, designer.id)


def stored_searches(member: Member) -> dict[int, tuple[str, str, date | None]]:
    with session_scope(member.portal.sessions) as session:
        return {
            s.id: (
                s.status.value,
                s.frequency.value,
                s.paused_until.date() if s.paused_until else None,
            )
            for s in session.scalars(
                select(SavedSearch).where(SavedSearch.candidate_id == member.id)
            )
        }


def search_consents(member: Member) -> list[tuple[int | None, ConsentAction, ConsentSource]]:
    with session_scope(member.portal.sessions) as session:
        return [
            (e.saved_search_id, e.action, e.source)
            for e in session.scalars(
                select(ConsentEvent)
                .where(
                    ConsentEvent.candidate_id == member.id,
                    ConsentEvent.scope == ConsentScope.SAVED_SEARCH,
                    ConsentEvent.source != ConsentSource.CONNECT_FORM,
                )
                .order_by(ConsentEvent.id)
            )
        ]


def item(flow: FlowPage, search_id: int) -> Locator:
    return flow.page.locator(f"#saved-search-{search_id}")


def press(flow: FlowPage, search_id: int, button: str) -> None:
    """Press one search's button and wait for the page its form redirects back to."""
    page = flow.page
    with page.expect_navigation(wait_until="load"):
        item(flow, search_id).get_by_role("button", name=button).click()
    assert flow.server_errors == [], flow.server_errors
    assert page.url.endswith("#search-notice"), page.url


def notice(flow: FlowPage) -> str:
    return flow.page.locator("#search-notice").inner_text()


def manage(flow: FlowPage, searches: Searches, name: str) -> date:
    """Weekly, pause for two weeks, resume, then remove the other search; returns the pause day."""
    page = flow.page
    flow.check(f"{name}-searches")
    python = item(flow, searches.python)
    assert python.get_by_role("heading").inner_text() == PYTHON
    assert "Active" in python.inner_text()
    assert python.get_by_role("link", name="See matching jobs").get_attribute("href") == (
        "/jobs?q=python&location=Berlin&workplace=remote"
    )

    page.get_by_label(f"How often for {PYTHON}").select_option("weekly")
    press(flow, searches.python, "Save how often")
    assert notice(flow) == f"Alerts for {PYTHON} now arrive weekly."
    # The message has the focus, so a screen reader reads it.
    assert page.evaluate("document.activeElement.id") == "search-notice"
    assert page.get_by_label(f"How often for {PYTHON}").input_value() == "weekly"
    flow.check(f"{name}-weekly")

    day = (now() + timedelta(days=14)).date()
    flow.fill(f"#search-pause-{searches.python}", day.isoformat())
    press(flow, searches.python, "Pause")
    until = f"{day:%B} {day.day}, {day.year}"
    assert notice(flow) == f"Alerts for {PYTHON} are paused until {until}."
    assert f"Paused until {until}" in item(flow, searches.python).inner_text()
    flow.check(f"{name}-paused")

    press(flow, searches.python, "Resume alerts")
    assert notice(flow) == f"Alerts for {PYTHON} are on again."

    press(flow, searches.designer, "Remove")
    assert notice(flow) == f"Removed your saved search {DESIGNER}: its alerts have stopped."
    assert item(flow, searches.designer).count() == 0
    flow.check(f"{name}-removed")
    return day


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_manage_saved_searches_from_the_signed_preference_link(
    chromium: Browser, portal: LivePortal, axe_source: str, phone: bool
) -> None:
    """From the emailed link: weekly, pause, resume, remove; one consent event each."""
    member = seed_member(portal)
    searches = seed_searches(member)
    with open_flow(chromium, portal, axe_source, "manage-signed", phone=phone) as flow:
        flow.goto(member.preferences_path)
        manage(flow, searches, "signed")
    assert stored_searches(member) == {
        searches.python: ("subscribed", "weekly", None),
        searches.designer: ("unsubscribed", "daily", None),
    }
    center = ConsentSource.PREFERENCE_CENTER
    assert search_consents(member) == [
        (searches.python, ConsentAction.CHANGE, center),
        (searches.python, ConsentAction.CHANGE, center),
        (searches.python, ConsentAction.CHANGE, center),
        (searches.designer, ConsentAction.WITHDRAW, center),
    ]


def test_manage_saved_searches_from_the_dashboard(
    chromium: Browser, portal: LivePortal, axe_source: str
) -> None:
    """Log in → the dashboard lists the searches → manage them there; events say dashboard."""
    member = seed_member(portal, password=PASSWORD)
    searches = seed_searches(member)
    with open_flow(chromium, portal, axe_source, "manage-dashboard") as flow:
        page = flow.page
        flow.goto("/login")
        log_in(flow, member.email, PASSWORD)
        card = page.locator("section", has=page.get_by_role("heading", name="Your emails"))
        assert PYTHON in card.inner_text() and DESIGNER in card.inner_text()
        flow.check("dashboard")
        page.get_by_role("link", name="Change how often, pause or remove them").click()
        page.wait_for_url(f"{portal.url}/dashboard/preferences#saved-searches")
        day = manage(flow, searches, "dashboard")
        # A pause that ends in the past is refused beside its field, and nothing changes.
        flow.fill(f"#search-pause-{searches.python}", "2000-01-01")
        with page.expect_navigation(wait_until="load"):
            item(flow, searches.python).get_by_role("button", name="Pause").click()
        flow.console_errors[:] = [e for e in flow.console_errors if "status of 400" not in e]
        assert "The pause must end after today." in item(flow, searches.python).inner_text()
        assert page.evaluate("document.activeElement.id") == f"search-pause-{searches.python}"
        flow.check("dashboard-pause-error")
    assert day > now().date()
    assert stored_searches(member) == {
        searches.python: ("subscribed", "weekly", None),
        searches.designer: ("unsubscribed", "daily", None),
    }
    dashboard = ConsentSource.DASHBOARD
    assert search_consents(member) == [
        (searches.python, ConsentAction.CHANGE, dashboard),
        (searches.python, ConsentAction.CHANGE, dashboard),
        (searches.python, ConsentAction.CHANGE, dashboard),
        (searches.designer, ConsentAction.WITHDRAW, dashboard),
    ]


def test_without_javascript_the_forms_still_work(
    chromium: Browser, portal: LivePortal, axe_source: str
) -> None:
    """With JavaScript off, the small forms post and come back with their message."""
    member = seed_member(portal)
    searches = seed_searches(member)
    with open_flow(chromium, portal, axe_source, "manage-nojs", javascript=False) as flow:
        flow.goto(member.preferences_path)
        flow.page.get_by_label(f"How often for {PYTHON}").select_option("instant")
        press(flow, searches.python, "Save how often")
        assert notice(flow) == f"Alerts for {PYTHON} now arrive as jobs are posted."
    assert stored_searches(member)[searches.python][1] == "instant"
