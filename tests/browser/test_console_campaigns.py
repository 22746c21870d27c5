"""A recruiter writes a campaign in a real browser, previews its audience and sends a test;
Send now asks first (a dialog with JavaScript, a page without).

The test message goes through the real sender worker (run in the test, one batch)
to a real aiosmtpd server. Runs on SQLite and PostgreSQL; screenshots land in
test-artifacts/.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import func, select

from mailer.models import Campaign, CampaignStatus, OutboxMessage
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


def _stored_campaign(portal: LivePortal) -> int:
    """A draft campaign to everyone opted in (2 of _seed's candidates); returns its id."""
    with session_scope(portal.sessions) as session:
        campaign = Campaign(
            name="Autumn hiring day at the Lisbon office",
            subject="Join us",
            body="We are **hiring**.",
            audience={"interest_ids": []},
        )
        session.add(campaign)
        session.flush()
        return campaign.id


def _sent(portal: LivePortal, campaign_id: int) -> tuple[CampaignStatus, int]:
    """The campaign's status and how many outbox rows are queued."""
    with portal.sessions() as session:
        status = session.get_one(Campaign, campaign_id).status
        queued = session.scalar(select(func.count()).select_from(OutboxMessage)) or 0
    return status, queued


def test_send_now_asks_in_a_dialog_and_cancel_sends_nothing(
    chromium: Browser, portal: LivePortal, axe_source: str
) -> None:
    """With JavaScript: Cancel in Send now's dialog queues nothing; OK queues the audience."""
    _seed(portal)
    campaign_id = _stored_campaign(portal)
    with open_flow(chromium, portal, axe_source, "campaign-send-js") as flow:
        page = flow.page
        flow.recruiter_login(EMAIL, PASSWORD)
        flow.goto(f"/admin/campaigns/{campaign_id}")
        send = page.get_by_role("button", name="Send now to 2")
        flow.answer_next_dialog(accept=False)
        send.click()
        assert flow.dialogs[-1].startswith(
            "Send the campaign Autumn hiring day at the Lisbon office to 2 candidates now?"
        )
        assert "Messages that have gone out can't be called back" in flow.dialogs[-1]
        page.wait_for_timeout(300)  # a submission, had there been one, would have left
        assert _sent(portal, campaign_id) == (CampaignStatus.DRAFT, 0)
        flow.answer_next_dialog(accept=True)
        send.click()
        page.get_by_text("Queued for 2 recipients.").wait_for()
        assert _sent(portal, campaign_id) == (CampaignStatus.SENT, 2)
        flow.check("campaign-sent")


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_send_now_without_javascript_asks_on_the_page(
    chromium: Browser, portal: LivePortal, phone: bool
) -> None:
    """Without JavaScript, by keyboard: Send now asks on a page naming the count and that it
    can't be called back; unticked, nothing is queued; ticked, the audience is."""
    _seed(portal)
    campaign_id = _stored_campaign(portal)
    run = "campaign-send-nojs-phone" if phone else "campaign-send-nojs"
    with open_flow(
        chromium, portal, None, run, phone=phone, javascript=False, keyboard=True
    ) as flow:
        page = flow.page
        flow.recruiter_login(EMAIL, PASSWORD)
        flow.goto(f"/admin/campaigns/{campaign_id}")
        flow.press('main form[action$="/send"] button')
        page.get_by_role("heading", name="Send this campaign now?").wait_for()
        assert "Nothing has been sent yet." in page.get_by_role("status").inner_text()
        facts = page.locator("main dl").inner_text()
        assert "Autumn hiring day at the Lisbon office" in facts and "2 candidates" in facts
        assert "can't be called back" in page.locator("main").inner_text()
        assert _sent(portal, campaign_id) == (CampaignStatus.DRAFT, 0)
        flow.check("send-asks")
        flow.press('main button[type="submit"].button-primary')
        page.get_by_text("Tick the box to confirm. Nothing has been sent.").wait_for()
        assert _sent(portal, campaign_id) == (CampaignStatus.DRAFT, 0)
        flow.console_errors[:] = [e for e in flow.console_errors if "status of 400" not in e]
        flow.check("send-unticked")
        flow.tick("#field-confirm")
        flow.press('main button[type="submit"].button-primary')
        flow.wait_for(f"/admin/campaigns/{campaign_id}")
        page.get_by_text("Queued for 2 recipients.").wait_for()
        assert _sent(portal, campaign_id) == (CampaignStatus.SENT, 2)
