"""Logging out in a real browser ends the session on the server, for every copy of its cookie.

Ana logs in with her password and copies her cookies into a second browser context
(as someone with the cookie jar would); that copy opens the dashboard. After she
presses Log out, the copy gets the login page instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.browser.conftest import LivePortal
from tests.browser.flow import open_flow
from tests.browser.prefs_support import PASSWORD, log_in, seed_member, submit

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser


def test_a_cookie_copied_before_logout_opens_nothing_after_it(
    chromium: Browser, portal: LivePortal, axe_source: str
) -> None:
    """A copied session cookie works until Log out; replayed afterwards it lands on /login."""
    member = seed_member(portal, password=PASSWORD)
    with open_flow(chromium, portal, axe_source, "logout-replay") as flow:
        page = flow.page
        flow.goto("/login")
        log_in(flow, member.email, PASSWORD)
        assert page.get_by_label("Current password").is_visible()
        flow.check("dashboard")
        cookies = page.context.cookies()
        assert [c["name"] for c in cookies] == ["tc_session"]

        copy = chromium.new_context()
        try:
            copy.add_cookies(cookies)
            other = copy.new_page()
            other.goto(portal.url + "/dashboard")
            assert other.url == portal.url + "/dashboard"
            assert other.get_by_role("heading", level=1).inner_text() == "Welcome back, Ana"

            submit(flow, "Log out", status=302)
            assert page.url == portal.url + "/"

            response = other.goto(portal.url + "/dashboard")
            assert response is not None and response.status == 200
            assert other.url == portal.url + "/login"
            assert "Welcome back" not in other.content()
        finally:
            copy.close()
