"""An admin adds a Greenhouse feed in a real browser, syncs it, reads the report and adds a rule.

Runs on SQLite and PostgreSQL, at desktop and phone (375 px) width; screenshots land in
test-artifacts/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from jobs.models import JobPosting
from portal.auth.recruiters import set_recruiter
from preferences.db import session_scope
from preferences.models import RecruiterRole
from tests.browser.conftest import LivePortal, serve_portal
from tests.browser.flow import open_flow
from tests.portal.feed_server import (
    FeedServer,
    greenhouse_board,
    greenhouse_job,
    running_feed_server,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

EMAIL = "ada@acme.example.com"
PASSWORD = "a long recruiter password"


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    with running_feed_server() as running:
        yield running


@pytest.fixture
def feed_portal(tmp_path: Path, database_url: str, feed_server: FeedServer) -> Iterator[LivePortal]:
    with serve_portal(
        tmp_path, database_url, lambda _url: {"FEED_ALLOWED_HOSTS": feed_server.host}
    ) as live:
        yield live


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_add_a_feed_sync_it_and_add_a_rule(
    chromium: Browser,
    feed_portal: LivePortal,
    feed_server: FeedServer,
    axe_source: str,
    phone: bool,
) -> None:
    """Add a feed (after a refused URL), sync it, see its report, and add a department rule."""
    portal = feed_portal
    with session_scope(portal.sessions) as session:
        set_recruiter(session, EMAIL, password=PASSWORD, name="Ada", role=RecruiterRole.ADMIN)
    bad = greenhouse_job(2, "Untitled")
    bad["absolute_url"] = "http://insecure.example.com/2"
    url = feed_server.serve(
        "/v1/boards/acme/jobs", greenhouse_board(greenhouse_job(1, "Platform Engineer"), bad)
    )
    run = "feeds-phone" if phone else "feeds"
    with open_flow(chromium, portal, axe_source, run, phone=phone) as flow:
        page = flow.page
        flow.recruiter_login(EMAIL, PASSWORD)
        flow.press('nav a[href="/admin/feeds/"]')
        flow.wait_for("/admin/feeds/")
        flow.check("feeds-empty")
        flow.press('main a[href="/admin/feeds/new"]')
        flow.wait_for("/admin/feeds/new")
        flow.check("feed-new")
        page.get_by_label("Name").fill("greenhouse")
        page.get_by_label("Greenhouse job board").check()
        page.get_by_label("URL").fill("ftp://files.example.com/jobs")
        flow.press("form.form-card button.button-primary")
        page.get_by_role("alert").wait_for()
        assert "must start with https://" in page.locator("#error-url").inner_text()
        assert page.get_by_label("Name").input_value() == "greenhouse"
        flow.console_errors[:] = [e for e in flow.console_errors if "status of 400" not in e]
        flow.check("feed-error")
        page.get_by_label("URL").fill(url + "?content=true")
        flow.press("form.form-card button.button-primary")
        flow.wait_for(r"/admin/feeds/\d+")
        flow.check("feed")
        flow.press('main form button:has-text("Sync now")')
        flow.wait_for(r"/admin/feeds/\d+/syncs/\d+")
        flow.check("feed-report")
        assert "Synced" in page.locator("main").inner_text()
        rejected = page.get_by_role("row", name="id 2").inner_text()
        assert "apply_url" in rejected and "https://" in rejected
        page.get_by_role("link", name="Feed greenhouse").click()
        flow.wait_for(r"/admin/feeds/\d+")
        page.get_by_label("When").select_option(label="Department is")
        page.get_by_label("Department, team or keyword").fill("Engineering")
        page.get_by_label("Interest", exact=True).select_option(label="Software Engineering")
        flow.press('form button:has-text("Add rule")')
        flow.wait_for(r"/admin/feeds/\d+#rules")
        assert (
            "Department is “Engineering” → Software Engineering"
            in page.locator(".feed-rules").inner_text()
        )
        flow.check("feed-with-rule")
    with session_scope(portal.sessions) as session:
        job = session.scalars(
            select(JobPosting).where(JobPosting.reference == "greenhouse-1")
        ).one()
        assert job.title == "Platform Engineer"
