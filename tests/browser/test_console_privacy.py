"""The console's Privacy page and a candidate's page in a real browser, desktop and phone.

Seeded with expiries over the coming weeks, a year of re-permission emails, a legal hold
with a long reason and retention runs, the pages pass the flow checks (no overflow, no
console errors, axe-core); an admin finds a candidate by address, is refused a blank
hold reason, places a hold, releases it (a dialog asks first) and marks the person
contacted.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from portal.auth.recruiters import set_recruiter
from preferences.clock import now
from preferences.db import session_scope
from preferences.models import Candidate, NoticeKind, RecruiterRole, RetentionNotice, RetentionRun
from preferences.retention import add_months, place_hold
from tests.browser.conftest import LivePortal
from tests.browser.flow import open_flow

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

EMAIL = "ada@acme.example.com"
PASSWORD = "a long recruiter password"
LONG_REASON = (
    "Employment tribunal claim 2026/0412 brought by a former applicant; keep every record "
    "until the case and any appeal are closed, per the legal team's instruction of March"
)


def _seed(portal: LivePortal) -> None:
    at = now()
    with session_scope(portal.sessions) as s:
        ada = set_recruiter(s, EMAIL, password=PASSWORD, name="Ada", role=RecruiterRole.ADMIN)
        s.flush()
        people = [
            Candidate(
                email=f"person{n}@example.com",
                first_name=f"Person{n}",
                last_name="Quill",
                last_active_at=add_months(at, -24) + timedelta(days=3 * n + 1),
            )
            for n in range(20)
        ]
        s.add_all(people)
        s.flush()
        place_hold(s, people[0], reason=LONG_REASON, recruiter_id=ada.id)
        for n, person in enumerate(people[1:12]):
            queued = add_months(at, -n) - timedelta(days=2)
            s.add(
                RetentionNotice(
                    candidate_id=person.id,
                    kind=NoticeKind.REPERMISSION,
                    based_on=add_months(at, -40 - n),
                    queued_at=queued,
                    expires_at=queued + timedelta(days=30),
                    answered_at=queued + timedelta(days=3) if n % 2 else None,
                    expired_at=queued + timedelta(days=30) if n % 3 == 0 else None,
                )
            )
        for day in range(3):
            s.add(
                RetentionRun(
                    started_at=at - timedelta(days=day),
                    finished_at=at - timedelta(days=day) + timedelta(seconds=41),
                    dry_run=day == 2,
                    trigger="scheduler",
                    counts={"repermission_queued": 120 + day, "reminders_queued": 40, "held": 1},
                )
            )


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_privacy_pages_and_holds_in_a_browser(
    chromium: Browser, portal: LivePortal, axe_source: str, phone: bool
) -> None:
    """The Privacy page reads well; an admin holds, releases and marks contact from a page."""
    _seed(portal)
    run = "console-privacy-phone" if phone else "console-privacy"
    with open_flow(chromium, portal, axe_source, run, phone=phone) as flow:
        page = flow.page
        flow.recruiter_login(EMAIL, PASSWORD)
        flow.goto("/admin/privacy")
        flow.check("privacy")
        assert page.locator('main svg[role="img"]').count() == 2
        assert page.get_by_text(LONG_REASON).is_visible()
        assert "1 candidate is on legal hold" in page.locator("main").inner_text()

        page.get_by_role("link", name="Person0 Quill").click()
        flow.wait_for("/admin/candidates/[^/]+")
        flow.check("held-candidate")
        assert page.get_by_role("button", name="Release hold").is_visible()

        flow.goto("/admin/privacy")
        page.get_by_label("Find a candidate by email address").fill("person5@example.com")
        page.get_by_role("button", name="Find").click()
        flow.wait_for("/admin/candidates/[^/]+")
        assert page.get_by_role("heading", name="Person5 Quill").is_visible()

        page.get_by_role("button", name="Place legal hold").click()
        flow.wait_for("/admin/candidates/[^/]+/hold")
        # The form comes back with the message as a 400, which the browser logs.
        flow.console_errors[:] = [e for e in flow.console_errors if "status of 400" not in e]
        flow.check("blank-reason")
        assert page.get_by_text("Enter a reason").is_visible()

        page.get_by_label("Reason").fill("Case 77")
        page.get_by_role("button", name="Place legal hold").click()
        flow.wait_for("/admin/candidates/[^/]+")
        assert page.get_by_text("Legal hold placed").is_visible()
        assert page.get_by_text("Case 77").is_visible()

        # Release asks first: with JavaScript, in a dialog; OK releases.
        flow.answer_next_dialog(accept=True)
        page.get_by_role("button", name="Release hold").click()
        flow.wait_for("/admin/candidates/[^/]+")
        page.get_by_text("Legal hold released").wait_for()
        assert flow.dialogs == [
            "Release the legal hold on Person5 Quill? Retention applies to them again."
        ]

        page.get_by_role("button", name="Mark contacted").click()
        flow.wait_for("/admin/candidates/[^/]+")
        flow.check("contacted")
        assert page.get_by_text("Marked as contacted").is_visible()
