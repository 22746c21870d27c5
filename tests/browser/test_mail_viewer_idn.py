"""The development mail viewer in a real browser: an internationalized recipient reads right.

A message to `josé@exämple.test` goes through the real sender (SMTPUTF8) into the mail
sink; an admin opens /admin/mail and the message, at desktop and phone (375 px) width,
and sees the address in Unicode in the list and in the envelope rows. axe-core clean.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from portal.auth.recruiters import set_recruiter
from preferences.db import session_scope
from preferences.models import RecruiterRole
from tests.browser.conftest import LivePortal
from tests.browser.flow import open_flow
from tests.portal.test_mail_viewer_idn import RECIPIENT, send_through_sink

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

EMAIL = "boss@acme.example.com"
PASSWORD = "a long admin password"


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_mail_viewer_shows_an_internationalized_recipient(
    chromium: Browser, portal: LivePortal, axe_source: str, phone: bool
) -> None:
    with session_scope(portal.sessions) as session:
        set_recruiter(session, EMAIL, password=PASSWORD, name="Boss", role=RecruiterRole.ADMIN)
    send_through_sink(portal.settings)
    run = "mail-idn-phone" if phone else "mail-idn"
    with open_flow(chromium, portal, axe_source, run, phone=phone) as flow:
        page = flow.page
        flow.recruiter_login(EMAIL, PASSWORD)
        flow.goto("/admin/mail")
        row = page.locator("main table.data-table tbody tr")
        assert row.count() == 1
        listed = row.first.inner_text()
        assert RECIPIENT in listed and "\ufffd" not in listed
        flow.check("mail")

        flow.press('main a:text-is("Bienvenue, José")')
        flow.wait_for(r"/admin/mail/[^/]+")
        headers = page.locator("dl.headers")
        envelope_to = headers.locator("dt:text-is('Envelope to') + dd").inner_text()
        assert envelope_to == RECIPIENT
        to = headers.locator("dt:text-is('To') + dd").inner_text()
        assert to == f"José Ñúñez <{RECIPIENT}>"
        assert "\ufffd" not in headers.inner_text()
        flow.check("mail-message")
