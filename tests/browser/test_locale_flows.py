"""A candidate's whole journey in Spanish, German and Arabic, in a real browser.

She chooses her language on the landing page, joins through Connect With Us (every label
in her language), receives the confirmation email on the real aiosmtpd sink in her
language, confirms from it, opens the preference center from the email's signed link in
a browser that has never seen her choice (her stored language decides), where turning
off occasional emails warns her, and what continues, in her language; then she signs in
(again from a fresh browser) and her dashboard is in her language too.

Expected words are read from the gettext catalogs (`translated`), and every page and the
email must show no English sentence of the catalog (`english_left`).
"""

from __future__ import annotations

import html
import re
from email.message import EmailMessage
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from mailer.sink import MailSink, MemoryStore
from mailer.worker import BatchResult
from portal.auth.accounts import set_password
from preferences.db import session_scope
from preferences.models import Candidate
from tests.browser.conftest import LivePortal
from tests.browser.flow import FlowPage, open_flow
from tests.browser.locale_checks import assert_in_language, english_left, translated
from tests.browser.mail import deliver_one_batch
from tests.browser.prefs_support import PASSWORD, record_dialogs, warning

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

EMAIL = "lucia.martin@example.com"
COMPANY = "Acme"  # COMPANY_NAME in the test settings
WHAT_STOPS = (
    "What stops: newsletters, event invitations, hiring announcements and other emails we "
    "send to many candidates."
)
WHAT_CONTINUES = (
    "What you will still receive: 1:1 messages about an application you make, such as "
    "interview scheduling, and emails about your account."
)
CONFIRM_OFF = (
    "Stop occasional emails? You may miss notifications about interviews, future "
    "considerations and career opportunities. You will still get 1:1 messages about an "
    "application you make."
)


def check(flow: FlowPage, locale: str, name: str) -> None:
    assert_in_language(flow.page, locale, name)
    flow.check(name)


def label_of(flow: FlowPage, field: str) -> str:
    return flow.page.locator(f'label[for="field-{field}"]').inner_text()


def join(flow: FlowPage, locale: str) -> None:
    """From the landing page in `locale` to the thank-you page, reading each label."""
    page = flow.page
    flow.goto(f"/?lang={locale}")
    check(flow, locale, "landing")
    page.locator("main .hero a.button-primary").click()
    flow.wait_for("/connect")
    check(flow, locale, "start")
    page.get_by_role("link", name=translated(locale, "Get started"), exact=True).click()
    flow.wait_for("/connect/details")
    check(flow, locale, "details")
    assert page.get_by_role("heading", level=1).inner_text() == translated(locale, "Your details")
    for field, source in (("first_name", "First name"), ("last_name", "Last name")):
        assert label_of(flow, field).startswith(translated(locale, source)), field
    assert label_of(flow, "email").startswith(translated(locale, "Email"))
    flow.fill("#field-first_name", "Lucía")
    flow.fill("#field-last_name", "Martín")
    flow.fill("#field-email", EMAIL)
    page.get_by_role("button", name=translated(locale, "Continue"), exact=True).click()
    flow.wait_for("/connect/interests")
    check(flow, locale, "interests")
    flow.tick(f"#interest-{flow.portal.interests['software']}")
    page.get_by_role("button", name=translated(locale, "Continue"), exact=True).click()
    flow.wait_for("/connect/resume")
    check(flow, locale, "resume")
    page.get_by_role("link", name=translated(locale, "Skip"), exact=True).click()
    flow.wait_for("/connect/review")
    check(flow, locale, "review")
    flow.tick("#field-alerts")
    flow.tick("#field-mass_email")
    page.get_by_role("button", name=translated(locale, "Submit Profile"), exact=True).click()
    flow.wait_for("/connect/thanks")
    check(flow, locale, "thanks")
    heading = page.get_by_role("heading", level=1).inner_text()
    assert heading == translated(locale, "Thank you, %(first_name)s!", first_name="Lucía")


def receive_confirmation(portal: LivePortal, sink: MailSink) -> EmailMessage:
    """Send the queued confirmation through the real worker; the message the sink got."""
    assert deliver_one_batch(portal, sink) == BatchResult(claimed=1, sent=1)
    assert isinstance(sink.store, MemoryStore)
    (received,) = sink.store.wait_for(1)
    assert received.envelope_to == (EMAIL,)
    return received.parsed()


def read_email(message: EmailMessage, locale: str) -> str:
    """Check the subject and both parts are in `locale`; return the text part."""
    subject = translated(
        locale,
        "Confirm your email to start your %(company_name)s job alerts",
        company_name=COMPANY,
    )
    assert message["Subject"] == subject
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    assert text_part is not None and html_part is not None
    text = str(text_part.get_content())
    markup = str(html_part.get_content())
    direction = "rtl" if locale == "ar" else "ltr"
    assert f'<html lang="{locale}"' in markup
    assert (f'dir="{direction}"' in markup) is (locale == "ar")
    assert translated(locale, "Manage your email preferences") in " ".join(text.split())
    assert english_left(text, locale) == [], "the text part"
    visible = html.unescape(re.sub(r"<style.*?</style>|<[^>]+>", " ", markup, flags=re.S))
    assert english_left(visible, locale) == [], "the HTML part"
    return text


def link_in(text: str, path: str) -> str:
    found = re.findall(r"https?://\S+" + re.escape(path) + r"\S+", text)
    assert len(found) == 1, f"{path} links in the email: {found}"
    return found[0]


def confirm(flow: FlowPage, locale: str, url: str) -> None:
    page = flow.page
    page.goto(url)
    check(flow, locale, "confirm")
    with page.expect_navigation(wait_until="load"):
        page.locator("main form .button-primary").click()
    check(flow, locale, "confirmed")
    heading = page.get_by_role("heading", level=1).inner_text()
    assert heading == translated(locale, "You're confirmed")


def preference_center(flow: FlowPage, locale: str, url: str) -> None:
    """The emailed link in a fresh browser: her language, the warning and what continues."""
    page = flow.page
    dialogs = record_dialogs(page, [False])
    page.goto(url)
    check(flow, locale, "preferences")
    mass_email = page.get_by_label(
        translated(locale, "Send me occasional emails: newsletters, events, hiring news")
    )
    mass_email.uncheck()
    warning(page).wait_for(state="visible")
    check(flow, locale, "preferences-warning")
    shown = " ".join(warning(page).inner_text().split())
    assert translated(locale, WHAT_STOPS) in shown
    assert translated(locale, WHAT_CONTINUES) in shown
    page.get_by_role("button", name=translated(locale, "Save"), exact=True).click()
    assert dialogs == [f"confirm: {translated(locale, CONFIRM_OFF)}"]
    assert mass_email.is_checked(), "dismissing the question keeps occasional emails on"


def dashboard(flow: FlowPage, locale: str) -> None:
    """Sign in from a browser that never chose a language: her dashboard is in hers."""
    page = flow.page
    flow.goto("/login")
    flow.fill("#field-email", EMAIL)
    flow.fill("#field-password", PASSWORD)
    page.locator("main .form-actions .button-primary").click()
    flow.wait_for("/dashboard")
    check(flow, locale, "dashboard")
    heading = page.get_by_role("heading", level=1).inner_text()
    assert heading == translated(locale, "Welcome back, %(name)s", name="Lucía")


def stored_locale(portal: LivePortal) -> str | None:
    with session_scope(portal.sessions) as session:
        return session.scalars(select(Candidate.locale).where(Candidate.email == EMAIL)).one()


def give_password(portal: LivePortal) -> None:
    with session_scope(portal.sessions) as session:
        candidate = session.scalars(select(Candidate).where(Candidate.email == EMAIL)).one()
        set_password(candidate, PASSWORD)


@pytest.mark.parametrize("locale", ["es", "de", "ar"])
def test_a_candidate_joins_confirms_and_manages_her_emails_in_her_language(
    chromium: Browser,
    portal: LivePortal,
    axe_source: str,
    smtp_server: MailSink,
    locale: str,
) -> None:
    """Connect, the confirmation email, the preference center and the dashboard in `locale`."""
    with open_flow(chromium, portal, axe_source, f"journey-{locale}-1join") as flow:
        join(flow, locale)
    assert stored_locale(portal) == locale
    text = read_email(receive_confirmation(portal, smtp_server), locale)
    with open_flow(chromium, portal, axe_source, f"journey-{locale}-2email") as flow:
        confirm(flow, locale, link_in(text, "/connect/confirm/"))
    with open_flow(chromium, portal, axe_source, f"journey-{locale}-3preferences") as flow:
        preference_center(flow, locale, link_in(text, "/preferences/"))
    give_password(portal)
    with open_flow(chromium, portal, axe_source, f"journey-{locale}-4dashboard") as flow:
        dashboard(flow, locale)
