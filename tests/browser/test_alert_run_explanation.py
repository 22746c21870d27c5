"""A run that queued nothing says why on its console page (issue 14), in a real browser."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from jobs.alerts import run_schedule
from jobs.models import AlertSchedule, FrequencyClass
from portal.auth.recruiters import set_recruiter
from preferences.db import session_scope
from tests.browser.conftest import LivePortal
from tests.browser.flow import open_flow

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

EMAIL = "ray@acme.example.com"
PASSWORD = "a long recruiter password"


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_an_empty_run_explains_itself_on_its_page(
    chromium: Browser, portal: LivePortal, axe_source: str, phone: bool
) -> None:
    with session_scope(portal.sessions) as session:
        set_recruiter(session, EMAIL, password=PASSWORD)
        schedule = AlertSchedule(
            name="Nobody listens",
            frequency_class=FrequencyClass.DAILY,
            cron="0 7 * * *",
            timezone="UTC",
        )
        session.add(schedule)
        session.flush()
        schedule_id = schedule.id
    summary = run_schedule(portal.sessions, schedule_id)
    assert summary.digests_queued == 0 and summary.run_id is not None
    run = "run-explained-phone" if phone else "run-explained"
    with open_flow(chromium, portal, axe_source, run, phone=phone) as flow:
        flow.recruiter_login(EMAIL, PASSWORD)
        flow.goto(f"/admin/reports/runs/{summary.run_id}")
        why = flow.page.locator("dt", has_text="Why nothing was queued").locator(
            "xpath=following-sibling::dd[1]"
        )
        assert why.inner_text() == summary.explanation
        assert why.inner_text().startswith("No eligible subscribers")
        flow.check("run")
