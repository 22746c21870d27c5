"""A recruiter writes a campaign in a real browser, previews its audience and sends a test.

The test message goes through the real sender worker (run in the test, one batch)
to a real aiosmtpd server. Runs on SQLite and PostgreSQL; screenshots land in
test-artifacts/.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from mailer.models import Campaign
from mailer.sink import MailSink, MemoryStore
from mailer.worker import BatchResult
from portal.auth.recruiters import set_recruiter
from preferences.clock import now
from preferences.db import session_scope
from preferences.models import Candidate, MassEmail, MassEmailStatus
from tests.browser.conftest import LivePortal
from tests.browser.flow import open_flow
from tests.browser.mail import deliver_one_batch

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

EMAIL = "rita@acme.example.com"
PASSWORD = "a long recruiter password"


def _seed(portal: LivePortal) -> None:
    with session_scope(portal.sessions) as session:
        set_recruiter(session, EMAIL, password=PASSWORD, name="Rita")
        for name in ("ana", "ben"):
            candidate = Candidate(email=f"{name}@example.com", email_verified_at=now())
            session.add(candidate)
            session.flush()
            session.add(MassEmailStatus(candidate_id=candidate.id, status=MassEmail.OPTED_IN))
        session.add(Candidate(email="cy@example.com", email_verified_at=now()))


def test_create_preview_and_send_a_test_to_me(
    chromium: Browser, portal: LivePortal, axe_source: str, smtp_server: MailSink
) -> None:
    """Create a campaign, see 2 of 3 would receive it, send a test, and it arrives over SMTP."""
    _seed(portal)
    with open_flow(chromium, portal, axe_source, "campaign") as flow:
        page = flow.page
        flow.recruiter_login(EMAIL, PASSWORD)
        flow.press('nav a[href="/admin/campaigns/"]')
        flow.wait_for("/admin/campaigns/")
        flow.check("campaigns")
        flow.press('main a[href="/admin/campaigns/new"]')
        flow.wait_for("/admin/campaigns/new")
        flow.check("new-campaign")
        page.get_by_label("Name").fill("Hiring day")
        page.get_by_label("Subject line").fill("Join our hiring day")
        page.get_by_label("Message").fill("We are **hiring**.\n\n<script>alert(1)</script>")
        flow.press('button[value="preview"]')
        page.get_by_role("heading", name="Preview of the message").wait_for()
        assert page.locator(".card strong").inner_text() == "hiring"
        flow.check("campaign-preview")
        flow.press('button[value="save"]')
        flow.wait_for(r"/admin/campaigns/\d+")
        flow.check("campaign-detail")
        assert re.search(r"2\s+candidates would receive it", page.locator("main").inner_text())
        frame = page.frame_locator("iframe.mail-frame")
        assert frame.locator("strong", has_text="hiring").first.inner_text() == "hiring"

        page.get_by_role("button", name="Send a test to me").click()
        page.get_by_role("status").filter(has_text="A test is on its way").wait_for()
        flow.check("campaign-test-sent")

    assert deliver_one_batch(portal, smtp_server) == BatchResult(claimed=1, sent=1)
    assert isinstance(smtp_server.store, MemoryStore)
    (received,) = smtp_server.store.wait_for(1)
    assert received.envelope_to == (EMAIL,)
    message = received.parsed()
    assert message["Subject"] == "[Test] Join our hiring day"
    html = message.get_body(preferencelist=("html",))
    assert html is not None
    content = html.get_content()
    assert "<strong>hiring</strong>" in content
    assert "<script" not in content and "alert(1)" not in content


def test_campaign_page_fits_a_phone(chromium: Browser, portal: LivePortal, axe_source: str) -> None:
    """On a 375 px phone the new-campaign form and the campaign page fit without scrolling."""
    _seed(portal)
    with open_flow(chromium, portal, axe_source, "campaign", phone=True) as flow:
        flow.recruiter_login(EMAIL, PASSWORD)
        flow.goto("/admin/campaigns/new")
        flow.check("new-campaign")
        flow.page.get_by_label("Name").fill("Phone")
        flow.page.get_by_label("Subject line").fill("Hello")
        flow.page.get_by_label("Message").fill("Hi")
        flow.press('button[value="save"]')
        flow.wait_for(r"/admin/campaigns/\d+")
        flow.check("campaign-detail")
        flow.goto("/admin/reports/")
        flow.check("reports")


def test_content_refusals_are_readable_on_a_phone(
    chromium: Browser, portal: LivePortal, axe_source: str
) -> None:
    """A refused image and a blocked oversized campaign explain themselves within 375 px."""
    _seed(portal)
    long_image = (
        "https://cdn.acme.example.com/campaigns/2026/berlin-hiring-day/team-photo-large.png"
    )
    with session_scope(portal.sessions) as session:
        big = Campaign(
            name="Too big",
            subject="News",
            body="[Open roles](https://careers.acme.example.com/jobs)\n\n" * 1_800,
            audience={"interest_ids": []},
        )
        session.add(big)
        session.flush()
        big_id = big.id
    with open_flow(chromium, portal, axe_source, "campaign-rules", phone=True) as flow:
        flow.recruiter_login(EMAIL, PASSWORD)
        flow.goto("/admin/campaigns/new")
        flow.page.get_by_label("Name").fill("Team")
        flow.page.get_by_label("Subject line").fill("Meet the team")
        flow.page.get_by_label("Message").fill(f"Hello\n\n![]({long_image})")
        flow.press('button[value="save"]')
        flow.page.wait_for_load_state("load")
        assert "Add alt text to this image" in flow.page.inner_text("main")
        # The refusal is a 400 page on purpose; the browser logs that status.
        flow.console_errors[:] = [e for e in flow.console_errors if "status of 400" not in e]
        flow.check("campaign-alt-refused")
        flow.goto(f"/admin/campaigns/{big_id}")
        assert "This campaign can't be sent yet" in flow.page.inner_text("main")
        assert flow.page.locator("#email-size").is_visible()
        flow.check("campaign-too-large")
