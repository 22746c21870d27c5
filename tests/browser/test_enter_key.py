"""Enter in a field does each candidate form's primary action, at desktop and phone width.

The connect steps put Back first and Log in puts "Email me a sign-in link" first, on
screen and in the Tab order; Enter must still continue, submit or log in. Each walk
runs with JavaScript and without, and the details step shows its own errors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from mailer.models import OutboxMessage
from preferences.db import session_scope
from preferences.models import Candidate
from tests.browser.conftest import LivePortal
from tests.browser.flow import FlowPage, open_flow
from tests.browser.prefs_support import PASSWORD, seed_member

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

WAYS = [
    pytest.param(False, True, id="desktop-js"),
    pytest.param(True, True, id="phone-js"),
    pytest.param(False, False, id="desktop-nojs"),
    pytest.param(True, False, id="phone-nojs"),
]


def enter_in(flow: FlowPage, selector: str, *, status: int) -> None:
    """Press Enter in the field `selector` and wait for the answer to the form's POST."""
    page = flow.page
    page.locator(selector).focus()
    with (
        page.expect_navigation(wait_until="load"),
        page.expect_response(lambda r: r.request.method == "POST") as answer,
    ):
        page.keyboard.press("Enter")
    assert answer.value.status == status, f"Enter in {selector}: {answer.value.status}"
    assert flow.server_errors == [], flow.server_errors
    if status >= 400:
        # The browser logs an expected 4xx like any failed load; that's not a page error.
        flow.console_errors[:] = [e for e in flow.console_errors if f"status of {status}" not in e]


def path_of(flow: FlowPage) -> str:
    return flow.page.url.removeprefix(flow.portal.url)


@pytest.mark.parametrize(("phone", "javascript"), WAYS)
def test_enter_continues_every_connect_step_and_details_are_checked_there(
    chromium: Browser, axe_source: str, portal: LivePortal, phone: bool, javascript: bool
) -> None:
    """Enter never goes Back; a whitespace-only first name is refused on the details step."""
    run = f"enter-{'js' if javascript else 'nojs'}"
    with open_flow(chromium, portal, axe_source, run, phone=phone, javascript=javascript) as flow:
        page = flow.page
        flow.goto("/connect/details")
        flow.check("details", "details")
        flow.fill("#field-first_name", "   ")
        flow.fill("#field-last_name", "Silva")
        flow.fill("#field-email", "  ana.enter@example.com ")
        enter_in(flow, "#field-email", status=400)
        assert path_of(flow) == "/connect/details"
        summary = page.locator("#error-summary")
        assert summary.is_visible()
        assert summary.get_by_role("link", name="First name is required.").is_visible()
        assert page.locator("#error-first_name").inner_text() == "First name is required."
        assert page.locator("#field-first_name").get_attribute("aria-invalid") == "true"
        if javascript:  # as on the review: focus moves to the summary, which is read out
            assert page.evaluate("document.activeElement.id") == "error-summary"
        assert page.title().startswith("Error:")
        # What was typed stays, trimmed.
        assert flow.value("last_name") == "Silva"
        assert flow.value("email") == "ana.enter@example.com"
        flow.check("details-errors", "details")

        flow.fill("#field-first_name", "Ana")
        enter_in(flow, "#field-first_name", status=302)
        assert path_of(flow) == "/connect/interests"
        flow.check("interests", "interests")
        box = page.locator(f"#interest-{portal.interests['design']}")
        box.check()
        enter_in(flow, f"#interest-{portal.interests['design']}", status=302)
        assert path_of(flow) == "/connect/resume"
        flow.skip_resume()

        flow.fill("#field-location", "Lisbon")
        page.locator("#field-alerts").check()
        enter_in(flow, "#field-location", status=302)
        assert path_of(flow) == "/connect/thanks"
        flow.thank_you()

    with session_scope(portal.sessions) as session:
        candidate = session.scalars(
            select(Candidate).where(Candidate.email == "ana.enter@example.com")
        ).one()
        assert (candidate.first_name, candidate.last_name) == ("Ana", "Silva")
        assert candidate.location == "Lisbon"


@pytest.mark.parametrize(("phone", "javascript"), WAYS)
def test_enter_after_the_password_logs_in_and_sends_no_link(
    chromium: Browser, axe_source: str, portal: LivePortal, phone: bool, javascript: bool
) -> None:
    """On Log in, Enter logs in with the password typed, never emails a sign-in link."""
    member = seed_member(portal, password=PASSWORD)
    run = f"enter-login-{'js' if javascript else 'nojs'}"
    with open_flow(chromium, portal, axe_source, run, phone=phone, javascript=javascript) as flow:
        page = flow.page
        flow.goto("/login")
        flow.check("login")
        # No password yet: Enter says it's needed (it is the password form's default).
        flow.fill("#field-email", member.email)
        enter_in(flow, "#field-email", status=400)
        assert path_of(flow) == "/login"
        assert page.get_by_role("alert").inner_text() == (
            "Enter your password, or get a sign-in link by email."
        )
        flow.check("login-no-password")
        flow.fill("#field-password", PASSWORD)
        enter_in(flow, "#field-password", status=302)
        assert path_of(flow) == "/dashboard"
        assert page.get_by_role("heading", level=1).inner_text() == "Welcome back, Ana"

    with session_scope(portal.sessions) as session:
        assert session.scalars(select(OutboxMessage.template)).all() == []
