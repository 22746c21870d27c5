"""The reports charts read well in a real browser, at desktop and phone (375 px) width.

Seeded with an interest whose name is far longer than a label column and 90 days of
opt-outs, the charts' text is the page's text size (not scaled with the chart), no
label reaches past the chart's edges, no two date labels overlap, and the long name
has its full text as a tooltip. The flow checks (no overflow, axe-core) run too.
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from portal.auth.recruiters import set_recruiter
from preferences.clock import now
from preferences.db import session_scope
from preferences.models import (
    Candidate,
    ConsentAction,
    ConsentEvent,
    ConsentScope,
    ConsentSource,
    Subscription,
    SubscriptionStatus,
)
from tests.browser.conftest import LivePortal
from tests.browser.flow import open_flow
from tests.portal.helpers import add_interest

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

EMAIL = "rob@acme.example.com"
PASSWORD = "a long recruiter password"
LONG_NAME = "Senior Distributed Systems Reliability Engineering and Platform Operations"
DAYS = 90

# Every drawn <text> of every chart: its box, the chart's box, its font size and scale.
CHART_TEXTS = """() => Array.from(document.querySelectorAll('main svg[role="img"]')).map(svg => {
  const box = svg.getBoundingClientRect();
  const texts = Array.from(svg.querySelectorAll('text'))
    .filter(t => getComputedStyle(t).display !== 'none')
    .map(t => {
      const r = t.getBoundingClientRect();
      return {
        text: t.textContent, cls: t.getAttribute('class') || '',
        left: r.left, right: r.right, top: r.top, bottom: r.bottom,
        font: parseFloat(getComputedStyle(t).fontSize), scale: t.getScreenCTM().a,
      };
    });
  const tips = Array.from(svg.querySelectorAll('g > title')).map(t => t.textContent);
  return {left: box.left, right: box.right, texts, tips};
})"""


def _seed(portal: LivePortal) -> None:
    with session_scope(portal.sessions) as session:
        set_recruiter(session, EMAIL, password=PASSWORD, name="Rob")
        long = add_interest(session, LONG_NAME, slug="long-interest", position=9)
        people = [Candidate(email=f"optout{n}@example.com") for n in range(3)]
        session.add_all(people)
        session.flush()
        for person in people:
            session.add(
                Subscription(
                    candidate_id=person.id,
                    interest_id=long.id,
                    status=SubscriptionStatus.SUBSCRIBED,
                )
            )
        at = now()
        for day, person in itertools.product(range(DAYS), people):
            if (day + person.id) % 3:  # a varied line, some opt-outs on most days
                session.add(
                    ConsentEvent(
                        candidate_id=person.id,
                        scope=ConsentScope.MASS_EMAIL,
                        action=ConsentAction.WITHDRAW,
                        source=ConsentSource.ONE_CLICK,
                        wording_version="v1",
                        detail={},
                        occurred_at=at - timedelta(days=day, hours=1),
                    )
                )


def _overlap(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a["left"] < b["right"] and b["left"] < a["right"]


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_charts_read_well_with_a_long_name_and_ninety_days(
    chromium: Browser, portal: LivePortal, axe_source: str, phone: bool
) -> None:
    """Page-sized text, nothing past the chart edges, no overlapping dates, a full-name tooltip."""
    _seed(portal)
    run = "console-charts-phone" if phone else "console-charts"
    with open_flow(chromium, portal, axe_source, run, phone=phone) as flow:
        page = flow.page
        flow.recruiter_login(EMAIL, PASSWORD)
        flow.goto("/admin/reports/")
        flow.check("reports")
        body_px = float(page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)"))
        charts: list[dict[str, Any]] = page.evaluate(CHART_TEXTS)
        assert len(charts) == 2
        for chart in charts:
            assert chart["texts"]
            for text in chart["texts"]:
                # The size as rendered: the computed size, times any scaling of the SVG.
                assert abs(text["font"] * text["scale"] - body_px) <= 1, text
                assert text["left"] >= chart["left"] - 0.5, text
                assert text["right"] <= chart["right"] + 0.5, text
        bars, trend = charts
        assert any(tip.startswith(f"{LONG_NAME}: ") for tip in bars["tips"])
        shown = " ".join(t["text"] for t in bars["texts"] if "chart-label" in t["cls"])
        assert LONG_NAME.split()[0] in shown and LONG_NAME not in shown
        dates = sorted(
            (t for t in trend["texts"] if "chart-axis" in t["cls"]), key=lambda t: t["left"]
        )
        assert len(dates) >= 2
        for a, b in itertools.pairwise(dates):
            assert not _overlap(a, b), (a["text"], b["text"])
        # Twelve weekly points: the latest week is labelled.
        last_row = page.locator(".data-table").nth(1).locator("tbody tr").last.inner_text()
        assert dates[-1]["text"] in _month_day(last_row.split()[0])


def _month_day(iso: str) -> str:
    """An ISO date as the chart writes it: 2026-11-30 is "Nov 30"."""
    day = date.fromisoformat(iso)
    return f"{day:%b} {day.day}"
