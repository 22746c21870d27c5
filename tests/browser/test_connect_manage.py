"""From the first email on, a way to manage emails: thank-you steps, confirmed and used links.

Desktop and 375 px, with and without JavaScript, axe-core checked (with JavaScript):
the thank-you page's next steps, the confirm page, the confirmed page's links (the
candidate's own preference center, Set a password), and a used link opened again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from mailer.models import OutboxMessage
from preferences.db import session_scope
from tests.browser.conftest import LivePortal
from tests.browser.flow import FlowPage, open_flow
from tests.browser.prefs_support import expect_that, mass_email_box
from tests.portal.helpers import emailed_link

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

EMAIL = "lea.martin@example.com"


def confirm_path(portal: LivePortal) -> str:
    """The confirmation link the worker would email Léa, as a path."""
    with session_scope(portal.sessions) as session:
        row = session.scalars(
            select(OutboxMessage).where(OutboxMessage.template == "confirmation")
        ).one()
        url = emailed_link(session, row, "confirm_url", base_url=portal.url)
    return url.removeprefix(portal.url)


def sign_up(flow: FlowPage) -> None:
    flow.start_manually()
    flow.enter_details("Léa", "Martin", EMAIL)
    flow.choose_interests(["design"])
    flow.skip_resume()
    flow.submit_review(mass_email=True)
    flow.thank_you()


@pytest.mark.parametrize(
    ("phone", "javascript"),
    [(False, True), (True, True), (False, False), (True, False)],
    ids=["desktop", "phone", "desktop-nojs", "phone-nojs"],
)
def test_thanks_then_confirm_then_manage_and_a_used_link_says_already_confirmed(
    chromium: Browser, axe_source: str, portal: LivePortal, phone: bool, javascript: bool
) -> None:
    """Next steps on the thank-you page; once confirmed, Manage and Set a password; no re-ask."""
    run = f"manage-{'js' if javascript else 'nojs'}"
    with open_flow(chromium, portal, axe_source, run, phone=phone, javascript=javascript) as flow:
        page = flow.page
        sign_up(flow)
        steps = page.locator("ol.next-steps > li")
        assert steps.count() == 3
        assert steps.nth(0).inner_text().startswith("Confirm your email")
        manage = page.get_by_role("link", name="Manage your emails")
        assert manage.get_attribute("href") == "/preferences/resend"
        browse = steps.nth(2).get_by_role("link", name="Browse open jobs")
        assert browse.get_attribute("href") == "/jobs"

        path = confirm_path(portal)
        flow.goto(path)
        flow.check("confirm")
        assert page.get_by_role("link", name="Manage your email preferences").count() == 0
        page.get_by_role("button", name="Confirm my email and these choices").click()
        page.get_by_role("heading", name="You're confirmed").wait_for()
        flow.check("confirmed")
        assert page.get_by_role("link", name="Set a password").get_attribute("href") == (
            "/login/forgot?first=1"
        )

        # A used link: the message and the same links, not the button again.
        flow.goto(path)
        expect_that(page.get_by_role("heading", level=1)).to_have_text("You're already confirmed")
        assert page.get_by_role("button").filter(has_text="Confirm").count() == 0
        flow.check("already-confirmed")

        page.get_by_role("link", name="Manage your email preferences").click()
        flow.wait_for("/preferences/[^/]+")
        flow.check("preferences")
        assert EMAIL in page.locator("main").inner_text()
        expect_that(mass_email_box(page)).to_be_checked()  # confirming opted her in

        flow.goto(path)
        page.get_by_role("link", name="Set a password").click()
        flow.wait_for("/login/forgot")
        assert page.get_by_role("heading", level=1).inner_text() == "Set a password"
        flow.check("set-password")
