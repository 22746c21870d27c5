""" "Email me jobs like this" in a real browser: a visitor saves, gets the email, confirms; a
member saves in one click.

The confirmation goes through the real sender worker (one batch, run in the test) to a
real aiosmtpd server, and the browser opens the link the message carries. Desktop and
375 px without JavaScript, axe-core checked where JavaScript runs; SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from mailer.sink import MailSink, MemoryStore
from mailer.worker import BatchResult
from preferences.db import session_scope
from preferences.models import Frequency, SavedSearch, SubscriptionStatus
from tests.browser.conftest import LivePortal
from tests.browser.flow import FlowPage, open_flow
from tests.browser.mail import deliver_one_batch
from tests.browser.prefs_support import EMAIL, PASSWORD, expect_that, log_in, seed_member

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

SEARCH_PATH = "/jobs?q=python&location=Berlin"
VISITOR = "zoe.visitor@example.com"


def send_queued_mail(portal: LivePortal, sink: MailSink) -> str:
    """Run one batch of the real worker and return the text part of the one message sent."""
    assert deliver_one_batch(portal, sink) == BatchResult(claimed=1, sent=1)
    assert isinstance(sink.store, MemoryStore)
    (received,) = sink.store.wait_for(1)
    assert received.envelope_to == (VISITOR,)
    text = received.parsed().get_body(preferencelist=("plain",))
    assert text is not None
    return str(text.get_content())


def saved(portal: LivePortal) -> list[tuple[str, str, SubscriptionStatus, Frequency]]:
    with session_scope(portal.sessions) as session:
        return [
            (s.query, s.location, s.status, s.frequency)
            for s in session.scalars(select(SavedSearch).order_by(SavedSearch.id))
        ]


def open_search(flow: FlowPage) -> None:
    flow.goto(SEARCH_PATH)
    box = flow.page.locator("section.save-search")
    expect_that(box.get_by_role("heading", name="Email me jobs like this")).to_be_visible()
    assert "“python” in Berlin" in box.inner_text()


@pytest.mark.parametrize(
    ("phone", "javascript"), [(False, True), (True, False)], ids=["desktop", "phone-nojs"]
)
def test_a_visitor_saves_a_search_and_confirms_it_from_the_email(
    chromium: Browser,
    portal: LivePortal,
    axe_source: str,
    smtp_server: MailSink,
    phone: bool,
    javascript: bool,
) -> None:
    """Address and consent on /jobs, "Check your email", the emailed link, one button: saved."""
    run = f"save-search-visitor-{'js' if javascript else 'nojs'}"
    with open_flow(chromium, portal, axe_source, run, phone=phone, javascript=javascript) as flow:
        page = flow.page
        open_search(flow)
        flow.check("jobs-with-box")
        flow.fill("#save-search-email", VISITOR)
        flow.tick("#save-search-consent")
        page.get_by_role("button", name="Email me jobs like this").click()
        page.get_by_role("heading", name="Check your email").wait_for()
        flow.check("check-email")
        assert saved(portal) == [
            ("python", "Berlin", SubscriptionStatus.UNCONFIRMED, Frequency.DAILY)
        ]

        text = send_queued_mail(portal, smtp_server)
        assert "new jobs matching “python” in Berlin, once a day" in text
        found = re.search(r"Review and confirm: (\S+)", text)
        assert found is not None
        link = found.group(1)
        assert link.startswith(portal.url + "/jobs/save/confirm/")

        flow.goto(link.removeprefix(portal.url))
        page.get_by_role("heading", name="Confirm your saved search").wait_for()
        flow.check("confirm")
        # Opening the link confirmed nothing: only the button does.
        assert saved(portal)[0][2] is SubscriptionStatus.UNCONFIRMED
        page.get_by_role("button", name="Confirm and save this search").click()
        page.get_by_role("heading", name="Search saved").wait_for()
        flow.check("confirmed")
        assert saved(portal) == [
            ("python", "Berlin", SubscriptionStatus.SUBSCRIBED, Frequency.DAILY)
        ]
        page.get_by_role("link", name="Manage your email preferences").click()
        flow.wait_for("/preferences/[^/]+")


def test_a_member_saves_a_search_in_one_click(
    chromium: Browser, portal: LivePortal, axe_source: str
) -> None:
    """Signed in: no address to give; pick weekly, one button, saved at once."""
    seed_member(portal, password=PASSWORD)
    with open_flow(chromium, portal, axe_source, "save-search-member") as flow:
        page = flow.page
        flow.goto("/login")
        log_in(flow, EMAIL, PASSWORD)
        open_search(flow)
        assert page.locator("#save-search-email").count() == 0
        flow.check("jobs-with-box-member")
        page.get_by_label("How often").select_option("weekly")
        page.get_by_role("button", name="Save this search").click()
        page.get_by_role("heading", name="Search saved").wait_for()
        flow.check("member-saved")
        assert "We'll email you new jobs matching “python” in Berlin, once a week" in (
            page.locator("main").inner_text()
        )
        assert saved(portal) == [
            ("python", "Berlin", SubscriptionStatus.SUBSCRIBED, Frequency.WEEKLY)
        ]
        link = page.get_by_role("link", name="Manage your saved searches")
        assert link.get_attribute("href") == "/dashboard/preferences"
