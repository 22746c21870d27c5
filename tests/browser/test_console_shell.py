"""The console's own shell and home in a real browser, at desktop and phone (375 px) width.

The public header ("Connect With Us", "Log in") gives way to the console's: the company,
the signed-in recruiter, Log out, and a section bar marking where you are. The home's
figures match the seeded rows; only admins see People and the mail sink. Every page
passes the flow checks (no overflow, no console errors, axe-core).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from portal.auth.recruiters import set_recruiter
from preferences.db import session_scope
from preferences.models import RecruiterRole
from tests.browser.conftest import LivePortal
from tests.browser.flow import FlowPage, open_flow
from tests.console_data import seed_console_data

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

PASSWORD = "a long recruiter password"


def _assert_console_shell(flow: FlowPage, section: str, signed_in_as: str) -> None:
    page = flow.page
    assert page.locator(".site-header").count() == 0
    assert page.get_by_text("Connect With Us").count() == 0
    assert page.get_by_role("link", name="Log in").count() == 0
    header = page.locator("header.console-header")
    assert flow.portal.settings.company_name in header.locator(".brand").inner_text()
    assert header.locator(".console-user").inner_text() == f"Signed in as {signed_in_as}"
    assert header.get_by_role("button", name="Log out").is_visible()
    bar = page.get_by_role("navigation", name="Recruiter console")
    current = bar.locator('[aria-current="page"]')
    assert current.count() == 1
    assert current.inner_text().strip() == section


def _sections(flow: FlowPage) -> list[str]:
    bar = flow.page.get_by_role("navigation", name="Recruiter console")
    return [name.strip() for name in bar.get_by_role("link").all_inner_texts()]


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_admin_console_home_and_sections(
    chromium: Browser, portal: LivePortal, axe_source: str, phone: bool
) -> None:
    """An admin lands on the home: live figures, every section, and a keyboard-usable bar."""
    with session_scope(portal.sessions) as session:
        figures = seed_console_data(session)
        set_recruiter(
            session, "ada@acme.example.com", password=PASSWORD, name="Ada", role=RecruiterRole.ADMIN
        )
    run = "console-shell-phone" if phone else "console-shell"
    with open_flow(chromium, portal, axe_source, run, phone=phone) as flow:
        page = flow.page
        flow.recruiter_login("ada@acme.example.com", PASSWORD)
        flow.check("home")
        _assert_console_shell(flow, "Home", "Ada")
        assert _sections(flow) == [
            "Home",
            "Interests",
            "Jobs",
            "Schedules",
            "Campaigns",
            "Reports",
            "Privacy",
            "Feeds",
            "Webhooks",
            "People",
            "Mail sink",
        ]

        def stat(name: str) -> str:
            return page.locator(f'[data-stat="{name}"] .stat-value').inner_text().strip()

        assert stat("subscribers") == str(figures.subscribers)
        assert stat("open-jobs") == str(figures.open_jobs)
        assert stat("queued") == str(figures.queued)
        assert stat("next-run").startswith("in ")
        note = page.locator('[data-stat="next-run"] .stat-note').inner_text()
        assert note.startswith(f"{figures.next_schedule}, Monday")
        cards = page.locator(".console-sections .section-card strong").all_inner_texts()
        assert cards == _sections(flow)[1:]

        # The bar works from the keyboard: Tab to a section, Enter, and it is marked.
        flow.tab_to('.console-nav a[href="/admin/schedules/"]')
        page.keyboard.press("Enter")
        flow.wait_for("/admin/schedules/")
        flow.check("schedules")
        _assert_console_shell(flow, "Schedules", "Ada")
        for path, section in (
            ("/admin/feeds/", "Feeds"),
            ("/admin/webhooks/", "Webhooks"),
            ("/admin/recruiters", "People"),
            ("/admin/mail", "Mail sink"),
        ):
            flow.goto(path)
            flow.check(section.lower().replace(" ", "-"))
            _assert_console_shell(flow, section, "Ada")

        # Log out from the console header, as before: back to the public site.
        page.locator("header.console-header").get_by_role("button", name="Log out").click()
        flow.wait_for("/")
        assert page.locator(".site-header").count() == 1


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_recruiter_sees_no_admin_sections(
    chromium: Browser, portal: LivePortal, axe_source: str, phone: bool
) -> None:
    """A plain recruiter (no name, so the email shows) gets no People or Mail sink."""
    with session_scope(portal.sessions) as session:
        set_recruiter(session, "rob@acme.example.com", password=PASSWORD)
    run = "console-shell-recruiter-phone" if phone else "console-shell-recruiter"
    with open_flow(chromium, portal, axe_source, run, phone=phone) as flow:
        page = flow.page
        flow.recruiter_login("rob@acme.example.com", PASSWORD)
        flow.check("home")
        _assert_console_shell(flow, "Home", "rob@acme.example.com")
        expected = ["Home", "Interests", "Jobs", "Schedules", "Campaigns", "Reports", "Privacy"]
        assert _sections(flow) == expected
        assert (
            page.locator(".console-sections .section-card strong").all_inner_texts()
            == (expected[1:])
        )
        assert page.locator('[data-stat="subscribers"] .stat-value').inner_text() == "0"
        assert page.locator('[data-stat="next-run"] .stat-value').inner_text() == "None scheduled"
        for path, section in (
            ("/admin/interests/", "Interests"),
            ("/admin/jobs/", "Jobs"),
            ("/admin/campaigns/", "Campaigns"),
            ("/admin/reports/", "Reports"),
            ("/admin/privacy", "Privacy"),
        ):
            flow.goto(path)
            flow.check(section.lower())
            _assert_console_shell(flow, section, "rob@acme.example.com")
