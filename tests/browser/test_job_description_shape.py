"""A description typed into the console keeps its shape on the job page (issue 14).

The browser submits a textarea's line breaks as CRLF, exactly as a recruiter's would;
the posting must still show paragraphs, a bulleted list and bold text, on desktop and
on a phone, with and without JavaScript on the candidate side.
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

EMAIL = "dee@acme.example.com"
PASSWORD = "a long recruiter password"
DESCRIPTION = (
    "You will run our data platform.\n"
    "\n"
    "What you will do:\n"
    "- Build **reliable** pipelines\n"
    "- Mentor two engineers\n"
    "\n"
    "We offer <b>typed</b> HTML as text, never as markup."
)


@pytest.mark.parametrize(
    ("phone", "javascript"),
    [(False, True), (True, True), (True, False)],
    ids=["desktop", "phone", "phone-nojs"],
)
def test_typed_paragraphs_and_lists_render_as_such(
    chromium: Browser, portal: LivePortal, axe_source: str, phone: bool, javascript: bool
) -> None:
    with session_scope(portal.sessions) as session:
        set_recruiter(session, EMAIL, password=PASSWORD)
    run = f"job-shape-{'phone' if phone else 'desktop'}{'' if javascript else '-nojs'}"
    with open_flow(chromium, portal, axe_source, run, phone=phone) as console:
        console.recruiter_login(EMAIL, PASSWORD)
        console.open_new_job()
        page = console.page
        page.get_by_label("Reference").fill("DP-1")
        page.get_by_label("Title").fill("Data Platform Engineer")
        page.get_by_label("Apply URL (https://)").fill("https://jobs.acme.example.com/dp-1")
        page.get_by_label("Description").fill(DESCRIPTION)
        console.press("form.form-card button.button-primary")
        console.wait_for("/admin/jobs/")
    with session_scope(portal.sessions) as session:
        job = session.scalars(select(JobPosting).where(JobPosting.reference == "DP-1")).one()
        # Stored with LF only: the browser's CRLF is normalized on the way in.
        assert "\r" not in job.description and "\n- Mentor" in job.description
        path = f"/jobs/{job.id}"
    with open_flow(
        chromium, portal, axe_source, run + "-page", phone=phone, javascript=javascript
    ) as visitor:
        visitor.goto(path)
        body = visitor.page.locator(".job-description")
        assert body.locator("p").all_inner_texts() == [
            "You will run our data platform.",
            "What you will do:",
            "We offer <b>typed</b> HTML as text, never as markup.",
        ]
        assert body.locator("ul > li").all_inner_texts() == [
            "Build reliable pipelines",
            "Mentor two engineers",
        ]
        assert body.locator("strong").inner_text() == "reliable"
        assert body.locator("b").count() == 0
        visitor.check("job")
