"""Console forms look like the candidate side, and destructive buttons ask before they act.

In a real browser at desktop and phone (375 px) width: textareas span their form and
have room to type, every field is spaced alike, and primary and destructive buttons
differ. Retire, Merge, a job's Close and a recruiter's Deactivate change nothing until
confirmed: with JavaScript a dialog asks (Cancel leaves everything as it was); without
it, the page asks for a ticked box (which the keyboard alone can tick and send).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select

from jobs.models import JobPosting
from portal.auth.recruiters import set_recruiter
from preferences.db import session_scope
from preferences.models import Interest, InterestStatus, RecruiterRole, RecruiterUser
from tests.browser.conftest import LivePortal
from tests.browser.flow import FlowPage, open_flow

if TYPE_CHECKING:
    from datetime import datetime

    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

EMAIL = "rob@acme.example.com"
PASSWORD = "a long recruiter password"
ADMIN = "ada@acme.example.com"
# Long enough to overflow a phone unless the confirmation page wraps it.
LONG_ADDRESS = "a.rather.long.address.for.a.phone@recruiting.acme.example.com"
DANGER = "rgb(180, 35, 24)"

# Each visible textarea of the form (language tabs hide the others): its width against the
# form's content box, its height, rows.
TEXTAREAS = """(selector) => {
  const form = document.querySelector(selector);
  const style = getComputedStyle(form);
  const inner = form.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  const shown = Array.from(form.querySelectorAll('textarea')).filter(t => t.offsetParent !== null);
  return shown.map(t => ({
    name: t.name, width: t.getBoundingClientRect().width, inner,
    height: t.getBoundingClientRect().height, rows: t.rows,
    line: parseFloat(getComputedStyle(t).lineHeight),
  }));
}"""
FIELD_GAPS = """(selector) => Array.from(document.querySelectorAll(selector + ' > .field'))
  .map(f => getComputedStyle(f).marginBottom)"""


@contextmanager
def _signed_in(
    chromium: Browser, portal: LivePortal, axe_source: str, run: str, phone: bool, **options: Any
) -> Iterator[FlowPage]:
    """A recruiter's browser at desktop or phone width, signed in to the console."""
    with session_scope(portal.sessions) as session:
        set_recruiter(session, EMAIL, password=PASSWORD, name="Rob")
    run = f"{run}-phone" if phone else run
    with open_flow(chromium, portal, axe_source, run, phone=phone, **options) as flow:
        flow.recruiter_login(EMAIL, PASSWORD)
        yield flow


def _assert_textareas(flow: FlowPage, selector: str, names: dict[str, int]) -> None:
    """Each named textarea spans the form and shows at least its number of lines."""
    found: list[dict[str, Any]] = flow.page.evaluate(TEXTAREAS, selector)
    assert sorted(t["name"] for t in found) == sorted(names)
    for area in found:
        assert abs(area["width"] - area["inner"]) <= 1, area
        assert area["rows"] >= names[area["name"]], area
        assert area["height"] >= names[area["name"]] * area["line"], area
    gaps = flow.page.evaluate(FIELD_GAPS, selector)
    assert len(set(gaps)) == 1, gaps


def _background(flow: FlowPage, selector: str) -> str:
    return str(
        flow.page.locator(selector).first.evaluate("b => getComputedStyle(b).backgroundColor")
    )


def _status(portal: LivePortal, key: str) -> tuple[InterestStatus, int | None]:
    with portal.sessions() as session:
        interest = session.get_one(Interest, portal.interests[key])
        return interest.status, interest.merged_into_id


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_console_forms_have_full_width_textareas_and_distinct_buttons(
    chromium: Browser, portal: LivePortal, axe_source: str, phone: bool
) -> None:
    """Interest, job and campaign forms: wide sized textareas, even spacing, red destructive."""
    with _signed_in(chromium, portal, axe_source, "console-forms", phone) as flow:
        flow.goto("/admin/interests/")
        flow.check("interests")
        add = 'form[action="/admin/interests/"]'
        _assert_textareas(flow, add, {"details": 3, "keywords": 2})
        primary = _background(flow, f"{add} .button-primary")
        retire = _background(flow, 'button[aria-label^="Retire:"]')
        assert primary != retire and retire == DANGER
        merge = flow.page.locator('a[aria-label^="Merge:"]').first
        assert merge.evaluate("a => getComputedStyle(a).borderTopColor") == DANGER
        assert merge.evaluate("a => getComputedStyle(a).color") == DANGER

        flow.goto(f"/admin/interests/{portal.interests['sales']}/edit")
        flow.check("interest-edit")
        _assert_textareas(flow, "main form.form-card", {"details": 5, "keywords": 2})
        flow.goto("/admin/jobs/new")
        flow.check("job-new")
        _assert_textareas(flow, "main form.form-card", {"description": 6})
        flow.goto("/admin/campaigns/new")
        flow.check("campaign-new")
        _assert_textareas(flow, "main form.form-card", {"body": 10})
        flow.goto(f"/admin/interests/{portal.interests['design']}/merge")
        flow.check("merge")
        assert _background(flow, "main form .button-danger") == DANGER


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_retire_and_merge_ask_in_a_dialog_and_cancel_changes_nothing(
    chromium: Browser, portal: LivePortal, axe_source: str, phone: bool
) -> None:
    """With JavaScript: Cancel in the dialog leaves the interest; OK retires or merges it."""
    with _signed_in(chromium, portal, axe_source, "console-confirm-js", phone) as flow:
        page = flow.page
        flow.goto("/admin/interests/")
        retire = page.get_by_role("button", name="Retire: Sales")
        flow.answer_next_dialog(accept=False)
        retire.click()
        assert flow.dialogs[-1].startswith("Retire Sales?")
        page.wait_for_timeout(300)  # a submission, had there been one, would have left
        assert page.url == f"{portal.url}/admin/interests/"
        assert _status(portal, "sales") == (InterestStatus.ACTIVE, None)
        flow.answer_next_dialog(accept=True)
        retire.click()
        flow.wait_for("/admin/interests/")
        page.get_by_text("Retired Sales").wait_for()
        assert _status(portal, "sales") == (InterestStatus.RETIRED, None)
        flow.check("retired")

        flow.goto(f"/admin/interests/{portal.interests['design']}/merge")
        flow.check("merge")
        assert not page.get_by_label("Yes, merge Design", exact=False).is_visible()
        page.get_by_label("Merge into").select_option(label="Data Science")
        flow.answer_next_dialog(accept=False)
        page.get_by_role("button", name="Merge Design").click()
        assert flow.dialogs[-1].startswith("Merge Design into Data Science?")
        page.wait_for_timeout(300)
        assert page.url.endswith("/merge")
        assert _status(portal, "design") == (InterestStatus.ACTIVE, None)
        flow.answer_next_dialog(accept=True)
        page.get_by_role("button", name="Merge Design").click()
        flow.wait_for("/admin/interests/")
        page.get_by_text("Merged Design into Data Science").wait_for()
        assert _status(portal, "design") == (InterestStatus.RETIRED, portal.interests["data"])
        flow.check("merged")


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_retire_and_merge_without_javascript_ask_on_the_page(
    chromium: Browser, portal: LivePortal, axe_source: str, phone: bool
) -> None:
    """Without JavaScript: the first press asks, an unticked box changes nothing, ticked acts."""
    with _signed_in(
        chromium, portal, axe_source, "console-confirm-nojs", phone, javascript=False
    ) as flow:
        page = flow.page
        flow.goto("/admin/interests/")
        page.get_by_role("button", name="Retire: Sales").click()
        page.get_by_role("heading", name="Retire Sales?").wait_for()
        assert "Nothing has changed yet." in page.get_by_role("status").inner_text()
        assert _status(portal, "sales") == (InterestStatus.ACTIVE, None)
        flow.check("retire-asks")
        page.get_by_role("button", name="Retire Sales").click()
        page.get_by_text("Tick the box to confirm. Nothing has been retired.").wait_for()
        assert _status(portal, "sales") == (InterestStatus.ACTIVE, None)
        flow.console_errors[:] = [e for e in flow.console_errors if "status of 400" not in e]
        flow.check("retire-unticked")
        page.get_by_label("Yes, retire Sales.").check()
        page.get_by_role("button", name="Retire Sales").click()
        flow.wait_for("/admin/interests/")
        assert _status(portal, "sales") == (InterestStatus.RETIRED, None)

        flow.goto(f"/admin/interests/{portal.interests['design']}/merge")
        page.get_by_label("Merge into").select_option(label="Data Science")
        page.get_by_role("button", name="Merge Design").click()
        page.get_by_text("Tick the box to confirm. Nothing has been merged.").wait_for()
        assert "Nothing has been merged." in page.get_by_role("status").inner_text()
        assert page.get_by_label("Merge into").input_value() == str(portal.interests["data"])
        assert _status(portal, "design") == (InterestStatus.ACTIVE, None)
        flow.console_errors[:] = [e for e in flow.console_errors if "status of 400" not in e]
        flow.check("merge-unticked")
        page.get_by_label("Yes, merge Design", exact=False).check()
        page.get_by_role("button", name="Merge Design").click()
        flow.wait_for("/admin/interests/")
        assert _status(portal, "design") == (InterestStatus.RETIRED, portal.interests["data"])


def _job(portal: LivePortal, title: str) -> tuple[str, datetime | None]:
    """The seeded posting's reference and when it closed (None while open)."""
    with portal.sessions() as session:
        job = session.scalars(select(JobPosting).where(JobPosting.title == title)).one()
        return job.reference, job.closed_at


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_close_asks_in_a_dialog_and_cancel_keeps_the_job_open(
    chromium: Browser, portal: LivePortal, axe_source: str, phone: bool
) -> None:
    """With JavaScript: Cancel in the dialog leaves the posting open; OK closes it."""
    reference, _closed = _job(portal, "Platform Engineer")
    with _signed_in(chromium, portal, axe_source, "console-close-js", phone) as flow:
        page = flow.page
        flow.goto("/admin/jobs/")
        flow.check("jobs")
        close = page.get_by_role("button", name=f"Close: {reference}")
        flow.answer_next_dialog(accept=False)
        close.click()
        assert flow.dialogs[-1].startswith(f"Close {reference}: Platform Engineer?")
        assert "can't be reopened" in flow.dialogs[-1]
        page.wait_for_timeout(300)  # a submission, had there been one, would have left
        assert page.url == f"{portal.url}/admin/jobs/"
        assert _job(portal, "Platform Engineer") == (reference, None)
        flow.answer_next_dialog(accept=True)
        close.click()
        flow.wait_for("/admin/jobs/")
        page.get_by_text(f"Closed {reference}").wait_for()
        assert _job(portal, "Platform Engineer")[1] is not None
        assert not page.get_by_role("button", name=f"Close: {reference}").count()
        flow.check("closed")


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_close_without_javascript_asks_on_the_page(
    chromium: Browser, portal: LivePortal, axe_source: str, phone: bool
) -> None:
    """Without JavaScript, by keyboard: Close asks on a page naming the job, an unticked box
    changes nothing, ticked it closes."""
    reference, _closed = _job(portal, "Platform Engineer")
    with _signed_in(
        chromium,
        portal,
        axe_source,
        "console-close-nojs",
        phone,
        javascript=False,
        keyboard=True,
    ) as flow:
        page = flow.page
        flow.goto("/admin/jobs/")
        flow.press(f'button[aria-label="Close: {reference}"]')
        page.get_by_role("heading", name="Close this job posting?").wait_for()
        assert "Nothing has changed yet." in page.get_by_role("status").inner_text()
        facts = page.locator("main dl").inner_text()
        assert reference in facts and "Platform Engineer" in facts
        assert "job alerts stop including it" in page.locator("main").inner_text()
        assert _job(portal, "Platform Engineer") == (reference, None)
        flow.check("close-asks")
        flow.press('main button[type="submit"].button-danger')
        page.get_by_text("Tick the box to confirm. Nothing has been closed.").wait_for()
        assert _job(portal, "Platform Engineer") == (reference, None)
        flow.console_errors[:] = [e for e in flow.console_errors if "status of 400" not in e]
        flow.check("close-unticked")
        flow.tick("#field-confirm")
        flow.press('main button[type="submit"].button-danger')
        flow.wait_for("/admin/jobs/")
        page.get_by_text(f"Closed {reference}").wait_for()
        assert _job(portal, "Platform Engineer")[1] is not None


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_deactivate_without_javascript_asks_on_the_page(
    chromium: Browser, portal: LivePortal, axe_source: str, phone: bool
) -> None:
    """Without JavaScript, by keyboard: Deactivate asks on a page that fits a long address;
    ticked, the account is deactivated."""
    with session_scope(portal.sessions) as session:
        set_recruiter(session, ADMIN, password=PASSWORD, name="Ada", role=RecruiterRole.ADMIN)
        set_recruiter(session, LONG_ADDRESS, password=PASSWORD)
    run = "console-deactivate-nojs-phone" if phone else "console-deactivate-nojs"
    with open_flow(
        chromium, portal, axe_source, run, phone=phone, javascript=False, keyboard=True
    ) as flow:
        page = flow.page
        flow.recruiter_login(ADMIN, PASSWORD)
        flow.goto("/admin/recruiters")
        flow.press(f'button[aria-label="Deactivate: {LONG_ADDRESS}"]')
        page.get_by_role("heading", name="Deactivate this recruiter account?").wait_for()
        assert LONG_ADDRESS in page.locator("main dl").inner_text()
        assert "can no longer sign in" in page.locator("main").inner_text()
        flow.check("deactivate-asks")
        flow.tick("#field-confirm")
        flow.press('main button[type="submit"].button-danger')
        flow.wait_for("/admin/recruiters")
        page.get_by_text(f"{LONG_ADDRESS} can no longer log in.").wait_for()
        flow.check("deactivated")  # the notice wraps the long address on a phone
        with portal.sessions() as session:
            user = session.scalars(
                select(RecruiterUser).where(RecruiterUser.email == LONG_ADDRESS)
            ).one()
            assert not user.active
