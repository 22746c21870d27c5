"""The interest edit page's languages: tabs with the keyboard, fieldsets without JavaScript.

In a real browser: with JavaScript (campaign_languages.js, the console's language tabs
the campaign form uses too) the language fieldsets become a WAI-ARIA tablist
(arrow keys, Home and End; one panel shown), a Save stores the Spanish name typed in
its tab, and a refused Save opens on the tab holding the error. Without JavaScript every
language's fieldset is on the page under its heading. axe-core checks each page.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from portal.auth.recruiters import set_recruiter
from preferences.db import session_scope
from preferences.models import InterestTranslation
from tests.browser.conftest import LivePortal
from tests.browser.flow import FlowPage, open_flow

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

EMAIL = "tabs@acme.example.com"
PASSWORD = "a long recruiter password"
LANGUAGES = ["English (default)", "Spanish", "German", "French", "Arabic"]


@contextmanager
def _signed_in(
    chromium: Browser,
    portal: LivePortal,
    axe_source: str,
    run: str,
    *,
    javascript: bool = True,
    phone: bool = False,
) -> Iterator[FlowPage]:
    with session_scope(portal.sessions) as session:
        set_recruiter(session, EMAIL, password=PASSWORD, name="Tab")
    with open_flow(chromium, portal, axe_source, run, javascript=javascript, phone=phone) as flow:
        flow.recruiter_login(EMAIL, PASSWORD)
        yield flow


def _selected(flow: FlowPage) -> list[str]:
    tabs = flow.page.get_by_role("tab")
    return [
        tabs.nth(i).inner_text()
        for i in range(tabs.count())
        if tabs.nth(i).get_attribute("aria-selected") == "true"
    ]


def _visible_panels(flow: FlowPage) -> list[str]:
    panels = flow.page.locator("main .language-panel")
    return [
        panels.nth(i).get_attribute("id") or ""
        for i in range(panels.count())
        if panels.nth(i).is_visible()
    ]


def test_language_tabs_move_with_the_keyboard_and_save_a_translation(
    chromium: Browser, portal: LivePortal, axe_source: str
) -> None:
    """A tablist of the five languages; Right, Left (wrapping), End and Home move the
    selection and the focus, one panel shows; the Spanish name typed in its tab is stored."""
    design = portal.interests["design"]
    with _signed_in(chromium, portal, axe_source, "interest-tabs") as flow:
        page = flow.page
        flow.goto(f"/admin/interests/{design}/edit")
        flow.check("interest-tabs")
        tablist = page.get_by_role("tablist", name="Language versions")
        assert tablist.is_visible()
        tabs = page.get_by_role("tab")
        assert [tabs.nth(i).inner_text() for i in range(tabs.count())] == LANGUAGES
        assert _selected(flow) == ["English (default)"]
        assert _visible_panels(flow) == ["language-en"]
        panel = page.get_by_role("tabpanel")
        assert panel.count() == 1 and panel.get_attribute("aria-labelledby") == "tab-language-en"

        tabs.nth(0).focus()
        page.keyboard.press("ArrowRight")
        assert _selected(flow) == ["Spanish"] and _visible_panels(flow) == ["language-es"]
        assert page.evaluate("document.activeElement.id") == "tab-language-es"
        page.keyboard.press("End")
        assert _selected(flow) == ["Arabic"]
        page.keyboard.press("Home")
        assert _selected(flow) == ["English (default)"]
        page.keyboard.press("ArrowLeft")
        assert _selected(flow) == ["Arabic"] and _visible_panels(flow) == ["language-ar"]
        # Only the selected tab is in the Tab order.
        assert [tabs.nth(i).get_attribute("tabindex") for i in range(5)] == [
            "-1",
            "-1",
            "-1",
            "-1",
            "0",
        ]

        page.get_by_role("tab", name="Spanish").click()
        page.get_by_label("Name in Spanish").fill("Diseño")
        page.get_by_label("Details in Spanish").fill("Todo sobre diseño.")
        flow.check("interest-tabs-spanish")
        flow.press("form.form-card button.button-primary")
        flow.wait_for("/admin/interests/")
    with session_scope(portal.sessions) as session:
        rows = session.scalars(select(InterestTranslation)).all()
        assert [(r.interest_id, r.locale, r.name, r.details) for r in rows] == [
            (design, "es", "Diseño", "Todo sobre diseño.")
        ]


def test_a_refused_save_opens_on_the_tab_with_the_error(
    chromium: Browser, portal: LivePortal, axe_source: str
) -> None:
    """Details in French without a name: the page comes back on the French tab, which
    says "(has a problem)", with the message at the field; nothing is stored."""
    with _signed_in(chromium, portal, axe_source, "interest-tabs-error") as flow:
        page = flow.page
        flow.goto(f"/admin/interests/{portal.interests['design']}/edit")
        page.get_by_role("tab", name="French").click()
        page.get_by_label("Details in French").fill("Tout sur le design.")
        flow.press("form.form-card button.button-primary")
        page.wait_for_load_state("load")
        # The refused Save is a 400, which the browser logs; that one is expected.
        flow.console_errors[:] = [e for e in flow.console_errors if "status of 400" not in e]
        flow.check("interest-tabs-error")
        assert _selected(flow) == ["French (has a problem)"]
        assert _visible_panels(flow) == ["language-fr"]
        assert page.locator("#error-name_fr").is_visible()
    with session_scope(portal.sessions) as session:
        assert session.scalars(select(InterestTranslation)).all() == []


def test_without_javascript_every_language_is_a_fieldset_under_its_heading(
    chromium: Browser, portal: LivePortal, axe_source: str
) -> None:
    """No tablist; five visible fieldsets, each headed by its language, all fields there."""
    with _signed_in(chromium, portal, axe_source, "interest-tabs-nojs", javascript=False) as flow:
        page = flow.page
        flow.goto(f"/admin/interests/{portal.interests['design']}/edit")
        flow.check("interest-tabs-nojs")
        assert page.get_by_role("tablist").count() == 0
        headings = page.get_by_role("heading", level=2)
        assert [headings.nth(i).inner_text() for i in range(headings.count())] == LANGUAGES
        assert len(_visible_panels(flow)) == 5
        for language in LANGUAGES[1:]:
            assert page.get_by_label(f"Name in {language}").is_visible()


# Each visible textarea's width against its fieldset's (or the form's) content box.
TEXTAREA_WIDTHS = """() => Array.from(document.querySelectorAll('main form.form-card textarea'))
  .filter(t => t.offsetParent !== null)
  .map(t => {
    const box = t.closest('fieldset') || t.closest('form');
    const style = getComputedStyle(box);
    const inner = box.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    return {name: t.name, width: t.getBoundingClientRect().width, inner};
  })"""


def test_the_tabs_fit_a_phone_and_their_fields_span_the_panel(
    chromium: Browser, portal: LivePortal, axe_source: str
) -> None:
    """At 375 px the tabs wrap without overflowing the page (flow.check), and the shown
    panel's textareas are as wide as the panel."""
    with _signed_in(chromium, portal, axe_source, "interest-tabs", phone=True) as flow:
        flow.goto(f"/admin/interests/{portal.interests['design']}/edit")
        flow.check("interest-tabs")
        flow.page.get_by_role("tab", name="German").click()
        widths = flow.page.evaluate(TEXTAREA_WIDTHS)
        assert sorted(w["name"] for w in widths) == ["details_de", "keywords"]
        for found in widths:
            assert abs(found["width"] - found["inner"]) <= 1, found
