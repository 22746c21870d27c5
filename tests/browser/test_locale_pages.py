"""Every candidate page in every language at phone width: axe-clean, nothing overflowing.

One browser per module and, per language, one tab that visits each candidate page once:
the landing page (with its Menu open), job search, a job, each step of Connect With Us
(and the review's error summary), thanks, log in and the sign-in link form, the
dashboard and its preferences, the preference center with the mass-email warning showing,
and the one-click pages (before and after). On each: axe-core (nothing serious or
critical), `<html lang>` and direction, no English sentence from the catalog, no button,
step, menu link, card, field or heading narrower than its words, no sideways scroll, and
a full-page screenshot in test-artifacts/ (flow-locale-<xx>-*-phone.png) to look at.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from jobs.models import JobPosting
from preferences.db import session_scope
from preferences.models import Candidate
from tests.browser.conftest import LivePortal
from tests.browser.flow import FlowPage, open_flow
from tests.browser.locale_checks import (
    LOCALES,
    assert_in_language,
    assert_nothing_overflows,
    translated,
)
from tests.browser.prefs_support import PASSWORD, Member, seed_member, warning

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

NEWCOMER = "jonas.weber@example.com"


def check(flow: FlowPage, locale: str, name: str) -> None:
    """What every page must satisfy in every language (axe and a screenshot via FlowPage)."""
    assert_in_language(flow.page, locale, name)
    assert_nothing_overflows(flow.page, f"{name} in {locale}")
    flow.check(name)


def press_and_wait(flow: FlowPage, selector: str, path: str) -> None:
    flow.page.locator(selector).click()
    flow.wait_for(path)


def member_speaking(portal: LivePortal, locale: str) -> Member:
    """Ana, with a password, whose stored language is `locale`."""
    member = seed_member(portal, password=PASSWORD)
    with session_scope(portal.sessions) as session:
        session.get_one(Candidate, member.id).locale = locale
    return member


def a_job(portal: LivePortal) -> int:
    with session_scope(portal.sessions) as session:
        return session.scalars(
            select(JobPosting.id).where(JobPosting.title == "Platform Engineer")
        ).one()


def walk_public_pages(flow: FlowPage, locale: str, job_id: int) -> None:
    flow.goto(f"/?lang={locale}")  # chosen once: the cookie keeps it for the next pages
    check(flow, locale, "landing")
    flow.page.locator("header.site-header summary").click()  # the phone's Menu
    flow.page.get_by_role("navigation", name=translated(locale, "Main")).wait_for()
    check(flow, locale, "landing-menu")
    flow.goto("/jobs")
    check(flow, locale, "jobs")
    flow.goto(f"/jobs/{job_id}")
    check(flow, locale, "job")


def walk_connect(flow: FlowPage, locale: str, portal: LivePortal) -> None:
    """Each step of Connect With Us, the review's errors included, to the thank-you page."""
    flow.goto("/connect")
    check(flow, locale, "connect-start")
    press_and_wait(flow, 'main a[href="/connect/details"]', "/connect/details")
    check(flow, locale, "connect-details")
    flow.fill("#field-first_name", "Jonas")
    flow.fill("#field-last_name", "Weber")
    flow.fill("#field-email", NEWCOMER)
    press_and_wait(flow, '.form-actions button[value="continue"]', "/connect/interests")
    check(flow, locale, "connect-interests")
    flow.tick(f"#interest-{portal.interests['software']}")
    press_and_wait(flow, '.form-actions button[value="continue"]', "/connect/resume")
    check(flow, locale, "connect-resume")
    press_and_wait(flow, 'main a[href="/connect/review"]', "/connect/review")
    check(flow, locale, "connect-review")
    page = flow.page
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.locator('.form-actions button[value="submit"]').click()
    assert answer.value.status == 400
    page.get_by_role("alert").wait_for()
    flow.console_errors[:] = [e for e in flow.console_errors if "status of 400" not in e]
    check(flow, locale, "connect-review-errors")
    flow.tick("#field-alerts")
    flow.tick("#field-mass_email")
    press_and_wait(flow, '.form-actions button[value="submit"]', "/connect/thanks")
    check(flow, locale, "connect-thanks")


def walk_account(flow: FlowPage, locale: str, member: Member) -> None:
    """Log in (and the sign-in link form), the dashboard and its preferences."""
    flow.goto("/login/forgot")
    check(flow, locale, "login-forgot")
    flow.goto("/login")
    check(flow, locale, "login")
    flow.fill("#field-email", member.email)
    flow.fill("#field-password", PASSWORD)
    press_and_wait(flow, "main .form-actions .button-primary", "/dashboard")
    check(flow, locale, "dashboard")
    flow.goto("/dashboard/preferences")
    check(flow, locale, "dashboard-preferences")


def walk_signed_pages(flow: FlowPage, locale: str, member: Member) -> None:
    """The preference center with the warning showing, and the one-click pages."""
    page = flow.page
    flow.goto(member.preferences_path)
    page.locator("#field-mass_email").uncheck()
    warning(page).wait_for(state="visible")
    check(flow, locale, "preferences-warning")
    software = f"interest:{member.portal.interests['software']}"
    flow.goto(member.one_click_path(software))
    check(flow, locale, "one-click-alerts")
    flow.goto(member.one_click_path("mass_email"))
    check(flow, locale, "one-click-mass-email")
    with page.expect_navigation(wait_until="load"):
        page.locator("main form .button-primary").click()
    check(flow, locale, "one-click-done")


@pytest.mark.parametrize("locale", LOCALES)
def test_every_candidate_page_fits_a_phone_and_is_accessible_in_each_language(
    chromium: Browser, portal: LivePortal, axe_source: str, locale: str
) -> None:
    """One tab per language walks every candidate page once; each passes `check`."""
    member = member_speaking(portal, locale)
    with open_flow(chromium, portal, axe_source, f"locale-{locale}", phone=True) as flow:
        walk_public_pages(flow, locale, a_job(portal))
        walk_connect(flow, locale, portal)
        walk_account(flow, locale, member)
        walk_signed_pages(flow, locale, member)
        assert flow.shots == 19
