"""The career portal in a real browser (Debian's chromium through Playwright), desktop and phone.

Screenshots land in test-artifacts/ for a human to look at.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from jobs.models import JobPosting
from portal.app import create_app
from portal.demo import seed_demo
from portal.migrate import upgrade
from preferences.db import make_engine, make_session_factory, session_scope
from tests.browser.servers import stop_waitress
from tests.conftest import make_settings

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
VIEWPORTS = {"desktop": (1280, 800), "phone": (375, 740)}


@dataclass(frozen=True)
class LiveSite:
    url: str
    apply_urls: dict[str, str]


@pytest.fixture(scope="module")
def live_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    """The portal with the demo company, served by waitress on a loopback port."""
    from waitress import create_server

    root = tmp_path_factory.mktemp("browser")
    database_url = f"sqlite:///{root / 'site.db'}"
    engine = make_engine(database_url)
    upgrade(engine)
    with session_scope(make_session_factory(engine)) as session:
        seed_demo(session)
        apply_urls = {job.title: job.apply_url for job in session.scalars(select(JobPosting))}
    engine.dispose()

    app = create_app(make_settings(root, database_url))
    server: Any = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, name="waitress", daemon=True)
    thread.start()
    try:
        yield LiveSite(f"http://127.0.0.1:{server.effective_port}", apply_urls)
    finally:
        stop_waitress(server, thread)
        app.extensions["talentconnect"].engine.dispose()


@pytest.fixture(params=list(VIEWPORTS), ids=list(VIEWPORTS))
def page(request: pytest.FixtureRequest, chromium: Any) -> Iterator[Any]:
    """A fresh page at desktop or phone size; `page.device` names which."""
    width, height = VIEWPORTS[request.param]
    context = chromium.new_context(viewport={"width": width, "height": height})
    context.set_default_timeout(10_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    tab.device = request.param
    tab.console_errors = errors
    try:
        yield tab
    finally:
        context.close()


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}-{page.device}.png"), full_page=True)


def _assert_no_horizontal_overflow(page: Any) -> None:
    width = page.viewport_size["width"]
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{page.url} is {scroll_width}px wide in a {width}px viewport"


def _open_menu_on_a_phone(page: Any) -> None:
    """On a phone the header's links fold under its Menu button: open it."""
    if page.device == "phone":
        page.locator("header.site-header").get_by_text("Menu", exact=True).click()


def test_landing_page_shows_the_calls_to_action(page: Any, live_site: LiveSite) -> None:
    """The landing page shows visible Connect With Us and Log in links without overflow."""
    response = page.goto(live_site.url + "/")
    assert response is not None and response.status == 200
    header = page.locator("header.site-header")
    _open_menu_on_a_phone(page)
    connect = header.get_by_role("link", name="Connect With Us")
    login = header.get_by_role("link", name="Log in")
    assert connect.is_visible()
    assert login.is_visible()
    assert page.get_by_role("heading", level=1).is_visible()
    # The header's links sit inside the viewport, not pushed off to the side.
    width = page.viewport_size["width"]
    for link in (connect, login):
        box = link.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
    _assert_no_horizontal_overflow(page)
    # The stylesheet loaded under the CSP: the hero has its brand background.
    hero_bg = page.evaluate("getComputedStyle(document.querySelector('.hero')).backgroundImage")
    assert "gradient" in hero_bg
    assert page.console_errors == []
    _shot(page, "landing")


def test_tab_first_focuses_the_skip_link(page: Any, live_site: LiveSite) -> None:
    """The first Tab focuses a visible "Skip to main content" link that jumps to the content."""
    page.goto(live_site.url + "/")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Skip to main content"
    box = page.locator(".skip-link").bounding_box()
    assert box is not None and box["x"] >= 0 and box["y"] >= 0  # on screen once focused
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_connect_with_us_opens_the_connect_page(page: Any, live_site: LiveSite) -> None:
    """Clicking "Connect With Us" on the landing page navigates to /connect."""
    page.goto(live_site.url + "/")
    _open_menu_on_a_phone(page)
    page.locator("header.site-header").get_by_role("link", name="Connect With Us").click()
    page.wait_for_url(live_site.url + "/connect")
    assert page.get_by_role("heading", level=1).inner_text() == "Join our talent community"
    _assert_no_horizontal_overflow(page)
    _shot(page, "connect")


def test_jobs_page_lists_jobs_and_apply_goes_to_the_posting(page: Any, live_site: LiveSite) -> None:
    """/jobs lists open jobs; a job's Apply link leads to that posting's apply URL."""
    page.goto(live_site.url + "/jobs")
    cards = page.locator(".job-card")
    assert cards.count() == 20
    assert page.get_by_text("Page 1 of 2").is_visible()
    _assert_no_horizontal_overflow(page)
    _shot(page, "jobs")

    first = cards.first.locator(".job-title a")
    title = first.inner_text()
    first.click()
    page.wait_for_url("**/jobs/*")
    assert page.get_by_role("heading", level=1).inner_text() == title
    apply = page.get_by_role("link", name="Apply", exact=True)
    assert apply.is_visible()
    # Through the portal's redirect (it notes a member's click) to the posting's apply URL.
    href = apply.get_attribute("href") or ""
    assert re.fullmatch(r"/jobs/\d+/apply", href), href
    answer = page.request.get(live_site.url + href, max_redirects=0)
    assert answer.status == 303
    assert answer.headers["location"] == live_site.apply_urls[title]
    _assert_no_horizontal_overflow(page)
    _shot(page, "job")


def test_search_form_filters_jobs(page: Any, live_site: LiveSite) -> None:
    """Typing a keyword and choosing an area narrows the job list."""
    page.goto(live_site.url + "/jobs")
    page.get_by_label("Keywords").fill("engineer")
    # Options carry their counts ("Software Engineering (9)"): chosen by slug.
    page.get_by_label("Area", exact=True).select_option("software-engineering")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/jobs?*")
    titles = page.locator(".job-card .job-title").all_inner_texts()
    assert titles
    assert all("engineer" in t.lower() for t in titles), titles
    assert "Software Engineering jobs" in page.get_by_role("heading", level=1).inner_text()


def test_recruiter_login_page_fits(page: Any, live_site: LiveSite) -> None:
    """The recruiter login page fits the screen and its fields are labelled."""
    page.goto(live_site.url + "/admin/login")
    assert page.get_by_label("Work email").is_visible()
    assert page.get_by_label("Password").is_visible()
    _assert_no_horizontal_overflow(page)
    _shot(page, "admin-login")
