"""Job search in a real browser: without JavaScript, from the keyboard, and on a 375 px phone.

Screenshots land in test-artifacts/.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from jobs.models import JobPosting
from jobs.posting_fields import EmploymentType, Workplace
from preferences.db import session_scope
from tests.browser.conftest import ROOT, LivePortal
from tests.browser.flow import AXE_RUN, BLOCKING_IMPACTS

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "test-artifacts"
# Facts for the seeded jobs (tests/browser/conftest.py): where and how each is worked.
FACTS: dict[str, dict[str, Any]] = {
    "Platform Engineer": {
        "workplace": Workplace.REMOTE,
        "employment_type": EmploymentType.FULL_TIME,
    },
    "Backend Engineer": {"workplace": Workplace.REMOTE, "location": "London, United Kingdom"},
    "Design Systems Engineer": {"workplace": Workplace.HYBRID},
    "Data Scientist": {"workplace": Workplace.ON_SITE, "location": "London, United Kingdom"},
}


@pytest.fixture
def board(portal: LivePortal) -> LivePortal:
    """The seeded portal with workplaces, types and places on some jobs."""
    with session_scope(portal.sessions) as session:
        for posting in session.scalars(select(JobPosting)):
            for name, value in FACTS.get(posting.title, {}).items():
                setattr(posting, name, value)
    return portal


@pytest.fixture
def no_js_page(chromium: Browser) -> Iterator[Page]:
    """A desktop tab with JavaScript switched off."""
    context = chromium.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 800}
    )
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def titles(page: Page) -> list[str]:
    return page.locator(".job-card .job-title").all_inner_texts()


def query(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"job-search-{name}.png"), full_page=True)


def test_search_filter_and_remove_a_chip_without_javascript(
    no_js_page: Page, board: LivePortal
) -> None:
    """With JavaScript off, keywords plus a filter narrow the list; a chip's Remove widens it."""
    page = no_js_page
    page.goto(board.url + "/jobs")
    page.get_by_label("Keywords").fill("engineer")
    workplace = page.get_by_label("Workplace")
    assert workplace.locator("option[value=remote]").inner_text() == "Remote (2)"
    workplace.select_option("remote")
    page.get_by_role("button", name="Search", exact=True).click()
    page.wait_for_url("**/jobs?*")
    assert query(page)["q"] == ["engineer"]
    assert query(page)["workplace"] == ["remote"]
    assert titles(page) == ["Platform Engineer", "Backend Engineer"]
    assert page.get_by_role("heading", name="2 jobs").is_visible()
    # The counts now follow the keywords: three engineers in all, one of them hybrid.
    assert (
        page.get_by_label("Workplace").locator("option[value=hybrid]").inner_text() == "Hybrid (1)"
    )
    shot(page, "filtered")

    page.get_by_role("link", name="Remove Remote").click()
    page.wait_for_url("**/jobs?q=engineer")
    assert titles(page) == ["Design Systems Engineer", "Platform Engineer", "Backend Engineer"]
    assert page.get_by_label("Keywords").input_value() == "engineer"

    page.get_by_role("link", name="Remove “engineer”").click()
    page.wait_for_url("**/jobs")
    assert len(titles(page)) == 6


def test_empty_search_offers_a_way_back(no_js_page: Page, board: LivePortal) -> None:
    """A search nothing matches says so and each filter can be removed from there."""
    page = no_js_page
    page.goto(board.url + "/jobs?q=engineer&location=London&workplace=on_site")
    assert titles(page) == []
    assert page.get_by_text("No open jobs match your search.").is_visible()
    page.locator(".search-empty").get_by_role("link", name="Remove On site").click()
    page.wait_for_url("**/jobs?q=engineer&location=London")
    assert titles(page) == ["Backend Engineer"]


def test_keyboard_alone_runs_a_search(no_js_page: Page, board: LivePortal) -> None:
    """Typing keywords and pressing Enter searches; Tab reaches the filters and Apply."""
    page = no_js_page
    page.goto(board.url + "/jobs")
    page.get_by_label("Keywords").focus()
    page.keyboard.type("designer")
    page.keyboard.press("Enter")
    page.wait_for_url("**/jobs?*")
    # "designer" and "design" share a stem.
    assert sorted(titles(page)) == ["Design Systems Engineer", "Product Designer"]
    page.get_by_label("Date posted").focus()
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Apply filters"


@pytest.mark.parametrize("width", [375, 1280])
def test_search_page_fits_and_passes_axe(
    chromium: Browser, board: LivePortal, axe_source: str, width: int
) -> None:
    """At 375 px and on a desktop the search page has no sideways scroll and no serious
    axe-core violations, with chips, counts and results showing."""
    context = chromium.new_context(viewport={"width": width, "height": 800})
    try:
        page = context.new_page()
        page.goto(board.url + "/jobs?q=engineer&workplace=remote&location=London")
        assert titles(page) == ["Backend Engineer"]
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= width, f"{scroll_width}px wide in a {width}px viewport"
        assert page.get_by_role("link", name="Remove Remote").is_visible()
        page.evaluate(axe_source)
        violations: list[dict[str, Any]] = page.evaluate(AXE_RUN)
        blocking = [v for v in violations if v["impact"] in BLOCKING_IMPACTS]
        assert blocking == [], blocking
        shot(page, f"{width}px")
        page.goto(board.url + "/jobs?q=xylophone")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        shot(page, f"empty-{width}px")
    finally:
        context.close()
