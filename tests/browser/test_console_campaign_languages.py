"""A recruiter writes a campaign in two languages in a real browser: the language fieldsets
become ARIA tabs (arrow keys move between them), an error in a hidden language opens its
tab, and the detail page counts the audience per language. Screenshots in test-artifacts/.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from mailer.models import CampaignVariant
from portal.auth.recruiters import set_recruiter
from preferences.clock import now
from preferences.db import session_scope
from preferences.models import Candidate, MassEmail, MassEmailStatus
from tests.browser.conftest import LivePortal
from tests.browser.flow import open_flow

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

EMAIL = "rita@acme.example.com"
PASSWORD = "a long recruiter password"


def _seed(portal: LivePortal) -> None:
    with session_scope(portal.sessions) as session:
        set_recruiter(session, EMAIL, password=PASSWORD, name="Rita")
        for name, locale in (("ana", "es"), ("ben", "de"), ("cal", "en")):
            candidate = Candidate(
                email=f"{name}@example.com", locale=locale, email_verified_at=now()
            )
            session.add(candidate)
            session.flush()
            session.add(MassEmailStatus(candidate_id=candidate.id, status=MassEmail.OPTED_IN))


def test_language_tabs_keyboard_errors_and_audience_per_language(
    chromium: Browser, portal: LivePortal, axe_source: str
) -> None:
    """Tabs with arrows; a half-filled Spanish version is refused and its tab shown; once
    fixed, the campaign page says es gets the Spanish version, de and en the default."""
    _seed(portal)
    with open_flow(chromium, portal, axe_source, "campaign-languages") as flow:
        page = flow.page
        flow.recruiter_login(EMAIL, PASSWORD)
        flow.goto("/admin/campaigns/new")
        tabs = page.get_by_role("tablist", name="Language versions").get_by_role("tab")
        assert tabs.all_inner_texts() == [
            "English (default)",
            "Spanish",
            "German",
            "French",
            "Arabic",
        ]
        assert (
            page.get_by_role("tab", name="English (default)").get_attribute("aria-selected")
            == "true"
        )
        assert page.get_by_label("Spanish subject").is_hidden()
        flow.check("tabs")
        page.get_by_label("Name").fill("Hiring day")
        page.get_by_label("Subject line").fill("Join our hiring day")
        page.get_by_label("Message").fill("We are **hiring**.")
        page.get_by_role("tab", name="English (default)").focus()
        page.keyboard.press("ArrowRight")
        spanish = page.get_by_role("tab", name="Spanish")
        assert spanish.get_attribute("aria-selected") == "true"
        assert page.evaluate("document.activeElement.textContent") == "Spanish"
        assert page.get_by_label("Subject line").is_hidden()
        page.keyboard.press("End")
        assert page.get_by_role("tab", name="Arabic").get_attribute("aria-selected") == "true"
        page.keyboard.press("ArrowRight")
        assert (
            page.get_by_role("tab", name="English (default)").get_attribute("aria-selected")
            == "true"
        )
        spanish.click()
        page.get_by_label("Spanish subject").fill("Únete a nuestro día de contratación")
        page.get_by_role("tab", name="English (default)").click()
        flow.press('button[value="save"]')
        # Refused: the page comes back on the Spanish tab, marked, with the error in view.
        page.get_by_role("alert").wait_for()
        spanish = page.get_by_role("tab", name="Spanish (has a problem)")
        assert spanish.get_attribute("aria-selected") == "true"
        assert page.locator("#body-es-error").is_visible()
        # The refusal is a 400 page, which the browser logs; it is the expected answer here.
        flow.console_errors[:] = [e for e in flow.console_errors if "status of 400" not in e]
        flow.check("tabs-error")
        page.get_by_label("Spanish body").fill("Estamos **contratando**.")
        flow.press('button[value="save"]')
        flow.wait_for(r"/admin/campaigns/\d+")
        table = page.locator("#audience-languages")
        assert "Spanish version" in table.locator("tbody tr", has_text="Spanish").first.inner_text()
        assert "default (English)" in table.locator("tbody tr", has_text="German").inner_text()
        flow.check("detail-languages")
        page.get_by_role("link", name="Spanish").click()
        frame = page.frame_locator("iframe.mail-frame")
        assert frame.locator("strong", has_text="contratando").inner_text() == "contratando"
        flow.check("detail-spanish-preview")
    with portal.sessions() as session:
        assert session.scalars(select(CampaignVariant.locale)).all() == ["es"]
