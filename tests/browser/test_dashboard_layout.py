"""The dashboard's layout and the site header, measured in a real browser.

Ana (a password, a phone number) logs in at 1280 px and at 375 px, with and without
JavaScript. The header stays one row (a Menu button at 375 px that opens from the
keyboard), Log out is in the header and works; the dashboard's cards form an even grid
with no orphan card on a desktop and one column on a phone, no button runs past two
lines, and the file input is inside the viewport. axe-core runs on every page with JS.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from preferences.db import session_scope
from preferences.models import Candidate
from tests.browser.conftest import LivePortal
from tests.browser.flow import FlowPage, open_flow
from tests.browser.prefs_support import PASSWORD, log_in, seed_member

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator

pytestmark = pytest.mark.browser

# A pixel of slack for subpixel layout.
SLACK = 1.5
# The number of lines of text in each visible button or button-styled link of the cards.
BUTTON_LINES = """(root) => [...root.querySelectorAll('button, .button')]
  .filter(el => el.offsetParent !== null)
  .map(el => {
    const cs = getComputedStyle(el);
    const inner = el.getBoundingClientRect().height - parseFloat(cs.paddingTop)
      - parseFloat(cs.paddingBottom) - parseFloat(cs.borderTopWidth)
      - parseFloat(cs.borderBottomWidth);
    return [el.textContent.trim(), inner / parseFloat(cs.lineHeight)];
  })"""


def _box(locator: Locator) -> dict[str, float]:
    box = locator.bounding_box()
    assert box is not None, locator
    return box


def _visible_children(locator: Locator) -> list[dict[str, float]]:
    children = locator.locator(":scope > *")
    return [_box(c) for c in children.all() if c.is_visible()]


def assert_header_is_one_row(flow: FlowPage) -> None:
    """Every visible item of the header shares one row, inside the viewport."""
    page = flow.page
    width = page.viewport_size["width"] if page.viewport_size else 0
    header = page.locator("header.site-header")
    boxes = _visible_children(header.locator(".header-inner"))
    assert len(boxes) >= 2, boxes
    top = max(b["y"] for b in boxes)
    bottom = min(b["y"] + b["height"] for b in boxes)
    assert top < bottom, f"the header's items are on more than one row: {boxes}"
    for box in boxes:
        assert box["x"] >= 0 and box["x"] + box["width"] <= width + SLACK, box
    # One row: no taller than its tallest item plus the padding around it.
    tallest = max(b["height"] for b in boxes)
    assert _box(header)["height"] <= max(tallest + 24, 70), _box(header)


def open_menu_if_folded(flow: FlowPage) -> bool:
    """On a phone, Tab to the header's Menu button and open it with Enter; say if it was."""
    page = flow.page
    menu = page.locator("header.site-header summary")
    if flow.device != "phone":
        assert not menu.is_visible(), "the desktop header shows a Menu button"
        return False
    assert menu.is_visible()
    assert menu.inner_text().strip() == "Menu"
    nav = page.get_by_role("navigation", name="Main")
    assert not nav.is_visible(), "the phone header shows its links before Menu is pressed"
    flow.tab_to("header.site-header summary")
    page.keyboard.press("Enter")
    nav.wait_for(state="visible")
    assert page.locator("header details").get_attribute("open") is not None
    width = page.viewport_size["width"] if page.viewport_size else 0
    for link in nav.locator("a, button").all():
        box = _box(link)
        assert box["x"] >= 0 and box["x"] + box["width"] <= width + SLACK, box
    return True


def _rows(boxes: list[dict[str, float]]) -> list[list[dict[str, float]]]:
    rows: list[list[dict[str, float]]] = []
    for box in sorted(boxes, key=lambda b: (round(b["y"]), b["x"])):
        if rows and abs(rows[-1][0]["y"] - box["y"]) <= SLACK:
            rows[-1].append(box)
        else:
            rows.append([box])
    return rows


def assert_even_grid(flow: FlowPage) -> None:
    """The cards: one column on a phone; on a desktop, even rows and no orphan on the last."""
    page = flow.page
    grid = _box(page.locator(".dash-grid"))
    cards = [_box(c) for c in page.locator(".dash-grid > .card").all()]
    assert len(cards) == 6  # emails, profile, resume, password, language, data
    rows = _rows(cards)
    if flow.device == "phone":
        assert all(len(row) == 1 for row in rows), rows
        for card in cards:
            assert (
                abs(card["x"] - grid["x"]) <= SLACK and abs(card["width"] - grid["width"]) <= SLACK
            )
        return
    columns = len(rows[0])
    assert columns >= 2, "the desktop dashboard is a single column"
    column_width = rows[0][0]["width"]
    for row in rows:
        # Cards of a row line up: same top, same height.
        assert len({round(b["height"]) for b in row}) == 1, row
        if len(row) == columns:
            assert all(abs(b["width"] - column_width) <= SLACK for b in row), row
        else:
            # A shorter row is allowed only when its cards span the grid's full width.
            starts, ends = row[0]["x"], row[-1]["x"] + row[-1]["width"]
            assert starts <= grid["x"] + SLACK and ends >= grid["x"] + grid["width"] - SLACK, (
                f"orphan card on a row of {len(row)} in {columns} columns: {row}"
            )


def assert_cards_fit(flow: FlowPage) -> None:
    """No button runs past two lines; the file input lies inside its card and the viewport."""
    page = flow.page
    width = page.viewport_size["width"] if page.viewport_size else 0
    grid = page.locator(".dash-grid")
    lines: list[tuple[str, float]] = grid.evaluate(BUTTON_LINES)
    assert lines, "no buttons measured"
    for text, count in lines:
        assert count < 2.5, f"{text!r} wraps to {count:.1f} lines"
    file_input = page.get_by_label("Resume file")
    box = _box(file_input)
    card = _box(page.get_by_role("region", name="Your resume"))
    assert box["x"] >= 0 and box["x"] + box["width"] <= width + SLACK, box
    assert box["x"] >= card["x"] and box["x"] + box["width"] <= card["x"] + card["width"], box


def _set_phone(portal: LivePortal, candidate_id: int, phone: str) -> None:
    with session_scope(portal.sessions) as session:
        session.get_one(Candidate, candidate_id).phone_e164 = phone


@pytest.mark.parametrize(
    ("phone", "javascript"),
    [(True, True), (True, False), (False, True), (False, False)],
    ids=["phone-js", "phone-nojs", "desktop-js", "desktop-nojs"],
)
def test_dashboard_grid_header_menu_and_log_out(
    chromium: Browser, portal: LivePortal, axe_source: str, phone: bool, javascript: bool
) -> None:
    """Header one row, Menu by keyboard, even card grid, Log out from the header works."""
    member = seed_member(portal, password=PASSWORD)
    _set_phone(portal, member.id, "+12025550143")
    device = "phone" if phone else "desktop"
    run = f"dash-layout{'' if javascript else '-nojs'}"
    with open_flow(chromium, portal, axe_source, run, phone=phone, javascript=javascript) as flow:
        page = flow.page
        flow.goto("/login")
        assert_header_is_one_row(flow)
        log_in(flow, member.email, PASSWORD)
        flow.check("dashboard")
        assert_header_is_one_row(flow)
        profile = page.get_by_role("region", name="Your profile")
        assert "(202) 555-0143" in profile.inner_text()
        assert_even_grid(flow)
        assert_cards_fit(flow)

        # Another candidate page: the same header, one row, Log out in reach.
        flow.goto("/jobs")
        assert_header_is_one_row(flow)
        folded = open_menu_if_folded(flow)
        assert folded == (device == "phone")
        nav = page.get_by_role("navigation", name="Main")
        assert nav.get_by_role("link", name="Dashboard").is_visible()
        log_out = page.locator("header.site-header").get_by_role("button", name="Log out")
        assert log_out.is_visible()
        flow.check("jobs-menu-open" if folded else "jobs")
        if folded and javascript:
            # With JavaScript, Escape folds the menu and gives the focus back to its button.
            page.keyboard.press("Escape")
            nav.wait_for(state="hidden")
            assert page.evaluate("document.activeElement.matches('header summary')")
            page.keyboard.press("Space")
            nav.wait_for(state="visible")

        # Log out by keyboard, from the header.
        with page.expect_navigation(wait_until="load"):
            flow.tab_to('header.site-header button[type="submit"]')
            assert page.evaluate("document.activeElement.textContent.trim()") == "Log out"
            page.keyboard.press("Enter")
        assert page.url == portal.url + "/"
        assert_header_is_one_row(flow)
        open_menu_if_folded(flow)
        header = page.locator("header.site-header")
        assert header.get_by_role("link", name="Log in").is_visible()
        assert header.get_by_role("button", name="Log out").count() == 0
        flow.check("logged-out")
        response: Any = page.goto(portal.url + "/dashboard")
        assert response is not None and page.url == portal.url + "/login"
