"""The preference center, dashboard and one-click pages in a real browser (issue 4).

Each test runs on SQLite and PostgreSQL against a live portal; it seeds Ana (daily
Software Engineering alerts, weekly Design alerts, opted in to mass email), drives
chromium, then checks what the database recorded. Screenshots land in test-artifacts/.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import TYPE_CHECKING

import pytest

from preferences.clock import now
from preferences.models import (
    ConsentAction,
    ConsentScope,
    ConsentSource,
    Frequency,
    MassEmail,
    SubscriptionStatus,
)
from tests.browser.conftest import LivePortal
from tests.browser.flow import open_flow
from tests.browser.prefs_support import (
    PASSWORD,
    WARNING_START,
    expect_changes,
    expect_that,
    interest_box,
    log_in,
    mass_email_box,
    open_options,
    record_dialogs,
    save,
    seed_member,
    set_frequency,
    set_pause,
    stored,
    submit,
    warning,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Request

pytestmark = pytest.mark.browser

SUBSCRIBED = SubscriptionStatus.SUBSCRIBED
UNSUBSCRIBED = SubscriptionStatus.UNSUBSCRIBED
INTEREST = ConsentScope.INTEREST
MASS = ConsentScope.MASS_EMAIL
CENTER = ConsentSource.PREFERENCE_CENTER
ACTIVE_WARNING = re.compile(r"\bwarning-active\b")


def _long_date(day: date) -> str:
    return f"{day:%B} {day.day}, {day.year}"


def test_with_javascript_the_warning_is_highlighted_and_confirmed_before_saving(
    chromium: Browser, portal: LivePortal, axe_source: str
) -> None:
    """With JS, unticking the box shows the warning; Save asks, dismiss keeps the DB."""
    member = seed_member(portal)
    before = stored(member)
    with open_flow(chromium, portal, axe_source, "prefs-js") as flow:
        page = flow.page
        dialogs = record_dialogs(page, [False, True])
        posts: list[str] = []

        def on_request(request: Request) -> None:
            if request.method == "POST":
                posts.append(request.url)

        page.on("request", on_request)
        flow.goto(member.preferences_path)
        flow.check("center")
        expect_that(mass_email_box(page)).to_be_checked()
        expect_that(warning(page)).to_be_hidden()

        interest_box(flow, "design").uncheck()
        set_frequency(flow, "software", "weekly")
        mass_email_box(page).uncheck()
        expect_that(warning(page)).to_be_visible()
        expect_that(warning(page)).to_have_class(ACTIVE_WARNING)
        flow.check("center-warning")

        # Dismissing the confirm sends nothing and ticks the box again.
        page.get_by_role("button", name="Save", exact=True).click()
        expect_that(mass_email_box(page)).to_be_checked()
        expect_that(warning(page)).to_be_hidden()
        assert len(dialogs) == 1
        assert dialogs[0].startswith(f"confirm: {WARNING_START}"), dialogs
        assert posts == []
        assert page.locator("#saved").count() == 0
        assert stored(member) == before

        mass_email_box(page).uncheck()
        lines = save(flow)
        assert len(dialogs) == 2 and dialogs[1].startswith(f"confirm: {WARNING_START}")
        expect_changes(
            lines,
            [
                "Software Engineering alerts now arrive in a weekly digest.",
                "Stopped job alerts for Design.",
                "Stopped occasional emails.",
            ],
        )
        assert page.get_by_role("button", name="Undo").is_visible()
        assert not mass_email_box(page).is_checked()
        flow.check("center-saved")

    after = stored(member)
    assert after.subscriptions == {
        "software": (SUBSCRIBED, Frequency.WEEKLY, None),
        "design": (UNSUBSCRIBED, Frequency.WEEKLY, None),
    }
    assert after.mass_email is MassEmail.OPTED_OUT
    assert after.since_seeding() == [
        (INTEREST, "software", ConsentAction.CHANGE, CENTER),
        (INTEREST, "design", ConsentAction.WITHDRAW, CENTER),
        (MASS, None, ConsentAction.WITHDRAW, CENTER),
    ]


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_without_javascript_the_warning_is_shown_and_turning_off_asks_a_second_time(
    chromium: Browser, portal: LivePortal, axe_source: str, phone: bool
) -> None:
    """Without JS the warning is always visible; Save after unticking asks to confirm first."""
    member = seed_member(portal)
    before = stored(member)
    with open_flow(
        chromium, portal, axe_source, "prefs-nojs", javascript=False, phone=phone
    ) as flow:
        page = flow.page
        dialogs = record_dialogs(page, [])
        flow.goto(member.preferences_path)
        flow.check("center")
        expect_that(mass_email_box(page)).to_be_checked()
        assert warning(page).is_visible()
        assert "you may miss notifications about interviews" in warning(page).inner_text()
        assert "1:1 messages about an application" in warning(page).inner_text()
        expect_that(warning(page)).not_to_have_class(ACTIVE_WARNING)

        interest_box(flow, "software").uncheck()
        interest_box(flow, "data").check()
        mass_email_box(page).uncheck()
        submit(flow, "Save")
        # The confirm step: nothing saved, the form as posted, the warning highlighted.
        assert "Nothing is saved yet." in page.locator("#confirm-off").inner_text()
        expect_that(warning(page)).to_have_class(ACTIVE_WARNING)
        assert page.locator("#saved").count() == 0
        assert not interest_box(flow, "software").is_checked()
        assert interest_box(flow, "data").is_checked()
        assert not mass_email_box(page).is_checked()
        assert stored(member) == before
        flow.check("center-confirm-off")

        lines = save(flow, "Yes, stop them and save")
        expect_changes(
            lines,
            [
                "Stopped job alerts for Software Engineering.",
                "Started job alerts for Data Science, in a daily digest.",
                "Stopped occasional emails.",
            ],
        )
        assert warning(page).count() == 0  # nothing left to turn off
        flow.check("center-saved")
        assert stored(member).mass_email is MassEmail.OPTED_OUT

        # Withdrawing is as easy as giving: the same page takes the candidate back.
        mass_email_box(page).check()
        expect_changes(save(flow), ["Started occasional emails: newsletters, events, hiring news."])
        assert dialogs == []

    after = stored(member)
    assert after.subscriptions == {
        "software": (UNSUBSCRIBED, Frequency.DAILY, None),
        "design": (SUBSCRIBED, Frequency.WEEKLY, None),
        "data": (SUBSCRIBED, Frequency.DAILY, None),
    }
    assert after.mass_email is MassEmail.OPTED_IN
    assert after.since_seeding() == [
        (INTEREST, "software", ConsentAction.WITHDRAW, CENTER),
        (INTEREST, "data", ConsentAction.GRANT, CENTER),
        (MASS, None, ConsentAction.WITHDRAW, CENTER),
        (MASS, None, ConsentAction.GRANT, CENTER),
    ]


def test_undo_puts_back_every_choice_from_before_the_save(
    chromium: Browser, portal: LivePortal, axe_source: str
) -> None:
    """Undo after a Save restores the subscriptions, pause and mass email, listing "…"."""
    member = seed_member(portal)
    before = stored(member)
    pause_end = now().date() + timedelta(days=14)
    with open_flow(chromium, portal, axe_source, "prefs-undo") as flow:
        page = flow.page
        record_dialogs(page, [True])
        flow.goto(member.preferences_path)
        interest_box(flow, "software").uncheck()
        set_pause(flow, "design", pause_end)
        mass_email_box(page).uncheck()
        expect_changes(
            save(flow),
            [
                "Stopped job alerts for Software Engineering.",
                f"Paused Design alerts until {_long_date(pause_end)}.",
                "Stopped occasional emails.",
            ],
        )
        saved = stored(member)
        assert saved.subscriptions["design"] == (SUBSCRIBED, Frequency.WEEKLY, pause_end)
        assert saved.mass_email is MassEmail.OPTED_OUT

        submit(flow, "Undo")
        flow.wait_for(f"{re.escape(member.preferences_path)}/undo")
        lines = [t.strip() for t in page.locator("#saved li").all_inner_texts()]
        expect_changes(
            lines,
            [
                "Started job alerts for Software Engineering, in a daily digest.",
                "Resumed Design alerts.",
                "Started occasional emails: newsletters, events, hiring news.",
            ],
        )
        assert interest_box(flow, "software").is_checked()
        assert mass_email_box(page).is_checked()
        flow.check("center-undone")

    after = stored(member)
    assert after.subscriptions == before.subscriptions
    assert after.mass_email is MassEmail.OPTED_IN
    assert [c[2] for c in after.since_seeding()] == [
        ConsentAction.WITHDRAW,
        ConsentAction.CHANGE,
        ConsentAction.WITHDRAW,
        ConsentAction.GRANT,
        ConsentAction.CHANGE,
        ConsentAction.GRANT,
    ]


def test_log_in_then_dashboard_then_manage_subscriptions_then_save(
    chromium: Browser, portal: LivePortal, axe_source: str
) -> None:
    """Log in → Dashboard → Manage your email subscriptions → change → Save records "dashboard"."""
    member = seed_member(portal, password=PASSWORD)
    with open_flow(chromium, portal, axe_source, "prefs-dashboard") as flow:
        page = flow.page
        dialogs = record_dialogs(page, [])
        flow.goto("/")
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Log in").click()
        flow.wait_for("/login")
        flow.check("login")
        log_in(flow, member.email, PASSWORD)
        # The Dashboard link the header now shows leads back to the same page.
        flow.goto("/jobs")
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
        flow.wait_for("/dashboard")
        assert page.get_by_role("heading", level=1).inner_text() == "Welcome back, Ana"
        flow.check("dashboard")

        page.get_by_role("link", name="Manage your email subscriptions").click()
        flow.wait_for("/dashboard/preferences")
        flow.check("dashboard-preferences")
        assert interest_box(flow, "design").is_checked()
        interest_box(flow, "design").uncheck()
        interest_box(flow, "data").check()
        set_frequency(flow, "data", "instant")
        expect_changes(
            save(flow),
            [
                "Stopped job alerts for Design.",
                "Started job alerts for Data Science, as jobs are posted.",
            ],
        )
        assert page.url == f"{portal.url}/dashboard/preferences"
        flow.check("dashboard-saved")
        assert dialogs == []

    after = stored(member)
    assert after.subscriptions == {
        "software": (SUBSCRIBED, Frequency.DAILY, None),
        "design": (UNSUBSCRIBED, Frequency.WEEKLY, None),
        "data": (SUBSCRIBED, Frequency.INSTANT, None),
    }
    assert after.mass_email is MassEmail.OPTED_IN
    assert after.since_seeding() == [
        (INTEREST, "design", ConsentAction.WITHDRAW, ConsentSource.DASHBOARD),
        (INTEREST, "data", ConsentAction.GRANT, ConsentSource.DASHBOARD),
    ]


def test_one_click_page_asks_first_then_unsubscribes_from_that_list_only(
    chromium: Browser, portal: LivePortal, axe_source: str
) -> None:
    """GET /unsubscribe/<token> only shows a button; pressing it unsubscribes that one list."""
    member = seed_member(portal)
    before = stored(member)
    path = member.one_click_path(f"interest:{portal.interests['software']}")
    with open_flow(chromium, portal, axe_source, "prefs-one-click") as flow:
        page = flow.page
        flow.goto(path)
        flow.check("one-click")
        heading = page.get_by_role("heading", level=1).inner_text()
        assert heading == "Unsubscribe from job alerts for Software Engineering?"
        assert page.get_by_role("button", name="Unsubscribe").is_visible()
        assert stored(member) == before  # mail scanners prefetch: a GET changes nothing

        submit(flow, "Unsubscribe")
        assert page.get_by_role("heading", level=1).inner_text() == "You're unsubscribed"
        assert "We won't send you job alerts for Software Engineering any more." in (
            page.locator("main").inner_text()
        )
        flow.check("one-click-done")

        # The way back: the full preference center, with the alert unticked and re-tickable.
        page.get_by_role("link", name="Manage your email preferences").click()
        flow.wait_for(r"/preferences/[^/]+")
        assert not interest_box(flow, "software").is_checked()
        assert interest_box(flow, "design").is_checked()

    after = stored(member)
    assert after.subscriptions["software"][0] is UNSUBSCRIBED
    assert after.subscriptions["design"][0] is SUBSCRIBED
    assert after.mass_email is MassEmail.OPTED_IN
    assert after.since_seeding() == [
        (INTEREST, "software", ConsentAction.WITHDRAW, ConsentSource.ONE_CLICK)
    ]


def test_pages_have_no_serious_accessibility_violations(
    chromium: Browser, portal: LivePortal, axe_source: str
) -> None:
    """axe-core finds nothing serious on the center (fresh, errors, saved) and account pages."""
    member = seed_member(portal, password=PASSWORD)
    before = stored(member)
    with open_flow(chromium, portal, axe_source, "prefs-axe") as flow:
        page = flow.page
        record_dialogs(page, [])
        flow.goto(member.preferences_path)
        for key in ("software", "design", "data", "sales"):
            open_options(flow, key)
        flow.check("center-open")

        set_pause(flow, "software", date(2000, 1, 1))
        submit(flow, "Save", status=400)
        summary = page.get_by_role("alert")
        assert "The pause for Software Engineering must end after today." in summary.inner_text()
        pause = page.locator(f"#field-pause-{portal.interests['software']}")
        assert pause.get_attribute("aria-invalid") == "true"
        assert pause.input_value() == "2000-01-01"  # what was typed comes back to be fixed
        assert page.title().startswith("Error: ")
        flow.check("center-errors")
        assert stored(member) == before

        summary.get_by_role("link").click()
        assert page.evaluate("document.activeElement.id") == pause.get_attribute("id")
        flow.fill(f"#field-pause-{portal.interests['software']}", "")
        interest_box(flow, "sales").check()
        expect_changes(save(flow), ["Started job alerts for Sales, in a daily digest."])
        flow.check("center-saved")

        flow.goto(member.one_click_path("mass_email"))
        assert "You may miss notifications about interviews" in page.locator("main").inner_text()
        flow.check("one-click-mass")
        submit(flow, "Unsubscribe")
        flow.check("one-click-mass-done")

        flow.goto("/login")
        flow.fill("#field-email", member.email)
        flow.fill("#field-password", "not the password")
        page.get_by_role("button", name="Log in", exact=True).click()
        page.get_by_role("alert").wait_for()
        flow.console_errors[:] = [e for e in flow.console_errors if "status of 400" not in e]
        flow.check("login-error")
        log_in(flow, member.email, PASSWORD)
        flow.check("dashboard")
        flow.goto("/dashboard/profile")
        flow.check("profile")
        flow.goto("/dashboard/preferences")
        flow.check("dashboard-preferences")


def test_phone_sized_pages_do_not_scroll_sideways(
    chromium: Browser, portal: LivePortal, axe_source: str
) -> None:
    """At 375px the preference center (open, with errors, saved) and dashboard fit the width."""
    member = seed_member(portal, password=PASSWORD)
    with open_flow(chromium, portal, axe_source, "prefs-phone", phone=True) as flow:
        page = flow.page
        record_dialogs(page, [True])
        flow.goto(member.preferences_path)
        flow.check("center")
        for key in ("software", "design", "data", "sales"):
            open_options(flow, key)
        flow.check("center-open")
        set_pause(flow, "design", date(2000, 1, 1))
        submit(flow, "Save", status=400)
        flow.check("center-errors")
        flow.fill(f"#field-pause-{portal.interests['design']}", "")
        mass_email_box(page).uncheck()
        save(flow)
        flow.check("center-saved")

        flow.goto("/login")
        flow.check("login")
        log_in(flow, member.email, PASSWORD)
        flow.check("dashboard")
        page.get_by_role("link", name="Manage your email subscriptions").click()
        flow.wait_for("/dashboard/preferences")
        flow.check("dashboard-preferences")
