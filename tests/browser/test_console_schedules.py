"""A recruiter creates an alert schedule in a real browser and sees its next run times.

Runs on SQLite and PostgreSQL, at desktop and phone (375 px) width; screenshots
land in test-artifacts/.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from jobs.models import AlertSchedule
from portal.auth.recruiters import set_recruiter
from preferences.db import session_scope
from tests.browser.conftest import LivePortal
from tests.browser.flow import open_flow

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

EMAIL = "sam@acme.example.com"
PASSWORD = "a long recruiter password"


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_create_a_weekly_schedule_and_see_its_next_runs(
    chromium: Browser, portal: LivePortal, axe_source: str, phone: bool
) -> None:
    """Log in, create "weekly on Monday at 09:30" in New York, and see three Monday runs."""
    with session_scope(portal.sessions) as session:
        set_recruiter(session, EMAIL, password=PASSWORD, name="Sam")
    run = "schedule-phone" if phone else "schedule"
    with open_flow(chromium, portal, axe_source, run, phone=phone) as flow:
        page = flow.page
        flow.recruiter_login(EMAIL, PASSWORD)
        flow.press('nav a[href="/admin/schedules/"]')
        flow.wait_for("/admin/schedules/")
        flow.check("schedules-empty")
        flow.press('main a[href="/admin/schedules/new"]')
        flow.wait_for("/admin/schedules/new")
        flow.check("schedule-new")
        page.get_by_label("Name").fill("Design weekly")
        page.get_by_label("Weekly on a day at a time").check()
        page.get_by_label("Time (HH:MM, 24-hour; daily and weekly)").fill("09:30")
        page.get_by_label("Day of the week (weekly)").select_option(label="Monday")
        page.get_by_label("Time zone").fill("Mars/Olympus")
        page.get_by_label("Only the interests ticked below").check()
        page.get_by_label("Design", exact=True).check()
        page.get_by_label("Weekly subscribers", exact=True).check()
        flow.press("form.form-card button.button-primary")
        # A bad zone comes back with the message at the field, everything else kept.
        page.get_by_role("alert").wait_for()
        assert "is not a time zone we know" in page.locator("#error-timezone").inner_text()
        assert page.get_by_label("Name").input_value() == "Design weekly"
        assert page.get_by_label("Design", exact=True).is_checked()
        # The refused form answers 400, which chromium logs; that one is expected.
        flow.console_errors[:] = [e for e in flow.console_errors if "status of 400" not in e]
        flow.check("schedule-error")
        page.get_by_label("Time zone").fill("America/New_York")
        flow.press("form.form-card button.button-primary")
        flow.wait_for("/admin/schedules/")
        flow.check("schedules")
        row = page.get_by_role("row", name=re.compile("Design weekly"))
        text = row.inner_text()
        assert "Weekly on Monday at 09:30" in text
        assert "America/New_York" in text and "Weekly subscribers" in text
        runs = row.locator("time")
        assert runs.count() == 3
        for i in range(3):
            assert re.match(r"Mon \d{4}-\d{2}-\d{2} 09:30 E[DS]T", runs.nth(i).inner_text())
    with session_scope(portal.sessions) as session:
        saved = session.scalars(select(AlertSchedule)).one()
        assert (saved.cron, saved.timezone, saved.all_interests) == (
            "30 9 * * 1",
            "America/New_York",
            False,
        )


@pytest.mark.parametrize(
    ("phone", "javascript"),
    [(False, True), (True, True), (False, False)],
    ids=["desktop", "phone", "no-js"],
)
def test_the_form_shows_the_fields_of_the_chosen_cadence(
    chromium: Browser, portal: LivePortal, axe_source: str, phone: bool, javascript: bool
) -> None:
    """With JavaScript only the chosen cadence's fields show; without it, all of them do."""
    with session_scope(portal.sessions) as session:
        set_recruiter(session, EMAIL, password=PASSWORD, name="Sam")
    run = f"schedule-fields-{'phone' if phone else 'desktop'}-{'js' if javascript else 'nojs'}"
    with open_flow(chromium, portal, axe_source, run, phone=phone, javascript=javascript) as flow:
        page = flow.page
        flow.recruiter_login(EMAIL, PASSWORD)
        flow.goto("/admin/schedules/new")
        time = page.get_by_label("Time (HH:MM, 24-hour; daily and weekly)")
        weekday = page.get_by_label("Day of the week (weekly)")
        cron = page.get_by_label("Cron expression (minute hour day-of-month month day-of-week)")
        if not javascript:
            assert time.is_visible() and weekday.is_visible() and cron.is_visible()
            flow.check("schedule-fields-all")
            return
        assert page.get_by_label("Daily at a time").is_checked()
        assert time.is_visible() and not weekday.is_visible() and not cron.is_visible()
        flow.check("schedule-fields-daily")
        page.get_by_label("Weekly on a day at a time").check()
        assert time.is_visible() and weekday.is_visible() and not cron.is_visible()
        page.get_by_label("A cron expression").check()
        assert cron.is_visible() and not time.is_visible() and not weekday.is_visible()
        flow.check("schedule-fields-cron")
