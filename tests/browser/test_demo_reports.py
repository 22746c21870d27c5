"""The demo's history on first open, in a real browser (issue 14): the console home and the
reports page show real shapes, read well and pass axe, at desktop and phone width."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from mailer.reports import opt_out_trend
from portal.demo import DEMO_RECRUITER_EMAIL, seed_demo
from preferences.db import session_scope
from tests.browser.conftest import LivePortal
from tests.browser.flow import open_flow

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_demo_reports_show_sixty_days_of_history(
    chromium: Browser, portal: LivePortal, axe_source: str, phone: bool
) -> None:
    with session_scope(portal.sessions) as session:
        password = seed_demo(session).recruiter_password
    run = "demo-reports-phone" if phone else "demo-reports"
    with open_flow(chromium, portal, axe_source, run, phone=phone) as flow:
        page = flow.page
        flow.recruiter_login(DEMO_RECRUITER_EMAIL, password)
        subscribers = page.locator('[data-stat="subscribers"] .stat-value').inner_text()
        assert int(subscribers.replace(",", "")) >= 140
        flow.check("home")
        flow.goto("/admin/reports/")
        # Every interest has subscribers: a bar each, none empty.
        bars = page.locator(
            "#subscribers-heading ~ figure svg rect, section:has(#subscribers-heading) svg rect"
        )
        assert bars.count() >= 12
        # The opt-out trend has points, on several weeks: the table shows every week's
        # counts as stored. How many of the demo's weeks have opt-outs depends on the
        # time of day it is seeded (its 60 days end now): 5 to 9 when measured across a
        # day, so "several" is at least 4, and the rows must match the stored counts.
        weekly = page.locator("section:has(#trend-heading) table tbody tr")
        with_opt_outs = [
            row for row in weekly.all_inner_texts() if any(n not in ("0",) for n in row.split()[1:])
        ]
        with session_scope(portal.sessions) as session:
            stored = [
                f"{week.week:%Y-%m-%d}\t{week.mass_email}\t{week.interests}"
                for week in opt_out_trend(session)
                if week.mass_email or week.interests
            ]
        assert with_opt_outs == stored
        assert len(with_opt_outs) >= 4
        assert (
            page.get_by_role("link", name="Run").count()
            + page.locator('a[href^="/admin/reports/runs/"]').count()
            >= 10
        )
        flow.check("reports")
