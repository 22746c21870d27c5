"""Arabic pages in a real browser: right to left, mirrored, readable at 375 px, and axe-clean.

Screenshots of the Arabic pages at phone width go to the folder in TALENTCONNECT_SHOTS_DIR
when it is set (a person looks at them), never into the repository.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from portal.web.links import preference_url
from preferences.db import session_scope
from preferences.models import Candidate
from preferences.subscriptions import get_or_create_candidate
from tests.browser.conftest import LivePortal
from tests.browser.flow import AXE_RUN, BLOCKING_IMPACTS

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 740}
DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture
def open_page(chromium: Browser) -> Iterator[Any]:
    """Open a path in a fresh context (no cookies) at a given viewport; closes them after."""
    contexts: list[Any] = []

    def opener(portal: LivePortal, path: str, viewport: dict[str, int]) -> Page:
        context = chromium.new_context(viewport=viewport)
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        response = page.goto(portal.url + path)
        assert response is not None and response.status == 200, path
        page.wait_for_load_state("load")
        page.console_errors = errors  # type: ignore[attr-defined]
        return page

    yield opener
    for context in contexts:
        context.close()


def box(page: Page, selector: str) -> dict[str, float]:
    found = page.locator(selector).first.bounding_box()
    assert found is not None, f"{selector} is not laid out"
    return dict(found)


def centre(page: Page, selector: str) -> float:
    found = box(page, selector)
    return found["x"] + found["width"] / 2


def assert_accessible(page: Page, axe_source: str, name: str) -> None:
    page.evaluate(axe_source)  # evaluated: the CSP rightly refuses an inline <script>
    violations: list[dict[str, Any]] = page.evaluate(AXE_RUN)
    blocking = [v for v in violations if v["impact"] in BLOCKING_IMPACTS]
    assert blocking == [], f"{name}: axe violations\n" + "\n".join(
        f"{v['impact']} {v['id']}: {v['help']}\n  " + "\n  ".join(v["nodes"]) for v in blocking
    )


def shot(page: Page, name: str) -> None:
    folder = os.environ.get("TALENTCONNECT_SHOTS_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("path", ["/", "/connect"], ids=["home", "connect-start"])
def test_arabic_pages_read_right_to_left_at_phone_width(
    open_page: Any, portal: LivePortal, axe_source: str, path: str
) -> None:
    """dir=rtl, the header mirrored (brand right, Menu left), no overflow at 375 px, axe-clean."""
    page = open_page(portal, f"{path}?lang=ar", PHONE)
    assert page.evaluate("[document.documentElement.lang, document.documentElement.dir]") == [
        "ar",
        "rtl",
    ]
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    # The brand starts the header: on the right in Arabic, the Menu button on the left.
    assert centre(page, ".brand") > centre(page, ".nav-menu-button")
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= PHONE["width"], f"{scroll_width}px wide in a 375px viewport"
    # The language menu: Arabic is the current one, each link in its own language.
    current = page.locator('.language-switch a[aria-current="true"]')
    assert current.inner_text() == "العربية"
    assert current.get_attribute("lang") == "ar"
    assert page.console_errors == []
    assert_accessible(page, axe_source, f"{path} in Arabic")
    shot(page, f"ar-{path.strip('/') or 'home'}-375")
    # The same page in English is the mirror image: brand left, Menu right.
    english = open_page(portal, f"{path}?lang=en", PHONE)
    assert centre(english, ".brand") < centre(english, ".nav-menu-button")


def test_the_step_bar_and_navigation_run_right_to_left(
    open_page: Any, portal: LivePortal, axe_source: str
) -> None:
    """On the connect start page, step 1 is rightmost in Arabic; the header links too."""
    arabic = open_page(portal, "/connect?lang=ar", DESKTOP)
    english = open_page(portal, "/connect?lang=en", DESKTOP)
    for page, rtl in ((arabic, True), (english, False)):
        first = box(page, ".steps li:nth-child(1)")
        second = box(page, ".steps li:nth-child(2)")
        assert abs(first["y"] - second["y"]) < 2, "the first two steps share a row"
        assert (first["x"] > second["x"]) is rtl
        jobs = centre(page, ".site-nav li:nth-child(1) a")
        connect = centre(page, ".site-nav li:nth-child(2) a")
        assert (jobs > connect) is rtl
        # The step number sits at the start of its step: right of the label in Arabic.
        number = centre(page, ".steps li:nth-child(1) .step-num")
        label = centre(page, ".steps li:nth-child(1) .step-label")
        assert (number > label) is rtl
    assert_accessible(arabic, axe_source, "connect start in Arabic, desktop")
    shot(arabic, "ar-connect-start-1280")


def test_the_preference_page_in_arabic_changes_the_language_without_javascript(
    chromium: Browser, portal: LivePortal, axe_source: str
) -> None:
    """Her Arabic preference page is right to left and axe-clean; Deutsch + Save language."""
    with session_scope(portal.sessions) as session:
        candidate, _ = get_or_create_candidate(session, "layla@example.com", first_name="Layla")
        candidate.locale = "ar"
        session.flush()
        url = preference_url(portal.settings, candidate)
    context = chromium.new_context(viewport=PHONE, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(url)
        assert page.evaluate("document.documentElement.dir") == "rtl"
        form = page.locator("#language")
        assert form.get_by_role("heading").inner_text() == "اللغة"
        # Save language starts its row: on the right-hand side of the form.
        assert centre(page, "#language .button") > centre(page, "#language form")
        shot(page, "ar-preferences-375")
        context_js = chromium.new_context(viewport=PHONE)
        try:
            checked = context_js.new_page()
            checked.goto(url)
            assert_accessible(checked, axe_source, "preference page in Arabic")
        finally:
            context_js.close()
        page.select_option("#field-language", "de")
        with page.expect_navigation():
            form.get_by_role("button").click()
        assert page.evaluate("document.documentElement.lang") == "de"
        assert page.evaluate("document.documentElement.dir") == "ltr"
        assert "Gespeichert." in form.inner_text()
        shot(page, "de-preferences-saved-375")
    finally:
        context.close()
    with session_scope(portal.sessions) as session:
        stored = session.query(Candidate.locale).filter_by(email="layla@example.com").scalar()
        assert stored == "de"
