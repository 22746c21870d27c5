"""A recruiter creates an interest and a posting tagged with it in a real browser.

Runs on SQLite and PostgreSQL, at desktop and phone (375 px) width, with the
flow checks (no overflow, no console errors, axe-core); screenshots land in
test-artifacts/.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from jobs.models import JobPosting
from portal.auth.recruiters import set_recruiter
from preferences.db import session_scope
from tests.browser.conftest import LivePortal
from tests.browser.flow import open_flow

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

EMAIL = "rob@acme.example.com"
PASSWORD = "a long recruiter password"


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_create_interest_and_posting_then_see_it_on_jobs(
    chromium: Browser, portal: LivePortal, axe_source: str, phone: bool
) -> None:
    """Log in, add "Robotics", post a Robotics job, and find it on /jobs under Robotics."""
    with session_scope(portal.sessions) as session:
        set_recruiter(session, EMAIL, password=PASSWORD, name="Rob")
    run = "console-phone" if phone else "console"
    with open_flow(chromium, portal, axe_source, run, phone=phone) as flow:
        page = flow.page
        flow.recruiter_login(EMAIL, PASSWORD)
        flow.add_interest("Robotics", "Robots that pick and pack.", "ros, embedded")
        flow.open_new_job()
        page.get_by_label("Reference").fill("ROB-1")
        page.get_by_label("Title").fill("Robotics Engineer")
        page.get_by_label("Location").fill("Porto, Portugal")
        page.get_by_label("Apply URL (https://)").fill("http://jobs.acme.example.com/rob-1")
        page.get_by_label("Description").fill("Build the arms.")
        page.get_by_label("Robotics", exact=True).check()
        flow.press("form.form-card button.button-primary")
        # An http:// address comes back with the message at the field, the rest kept.
        page.locator("#error-apply_url").wait_for()
        assert "https://" in page.locator("#error-apply_url").inner_text()
        assert page.get_by_label("Title").input_value() == "Robotics Engineer"
        assert page.get_by_label("Robotics", exact=True).is_checked()
        flow.console_errors[:] = [e for e in flow.console_errors if "status of 400" not in e]
        flow.check("job-error")
        page.get_by_label("Apply URL (https://)").fill("https://jobs.acme.example.com/rob-1")
        flow.press("form.form-card button.button-primary")
        flow.wait_for("/admin/jobs/")
        flow.check("jobs")
        assert "Robotics Engineer" in page.get_by_role("row", name="ROB-1").inner_text()

        flow.goto("/jobs?interest=robotics")
        assert page.get_by_role("link", name="Robotics Engineer").count() == 1
        flow.check("public-jobs")
    with session_scope(portal.sessions) as session:
        job = session.scalars(select(JobPosting).where(JobPosting.reference == "ROB-1")).one()
        assert [i.name for i in job.interests] == ["Robotics"]
        assert job.apply_url == "https://jobs.acme.example.com/rob-1"
