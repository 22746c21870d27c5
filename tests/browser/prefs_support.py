"""Helpers for the preference-center browser tests: a seeded member, DB read-backs, page steps.

The member, Ana, has daily Software Engineering alerts, weekly Design alerts, nothing for
Data Science or Sales, and is opted in to mass email; all of it from the connect form.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.auth.accounts import set_password
from preferences.db import session_scope
from preferences.models import (
    Candidate,
    ConsentAction,
    ConsentEvent,
    ConsentScope,
    ConsentSource,
    Frequency,
    Interest,
    MassEmail,
    MassEmailStatus,
    Subscription,
    SubscriptionStatus,
)
from preferences.subscriptions import get_or_create_candidate, opt_in_mass_email, subscribe
from preferences.tokens import LinkPurpose, make_link_token
from tests.browser.conftest import LivePortal

if TYPE_CHECKING:
    from playwright.sync_api import Dialog, Locator, Page

    from tests.browser.flow import FlowPage

EMAIL = "ana.lima@example.com"
PASSWORD = "a long enough passphrase"
WARNING_START = "Stop occasional emails? You may miss notifications about interviews"

# (scope, interest key or None, action, source) of a consent event.
Consent = tuple[ConsentScope, str | None, ConsentAction, ConsentSource]


@dataclass(frozen=True)
class Member:
    """The seeded candidate and signed links to their pages."""

    id: int
    email: str
    preferences_token: str
    portal: LivePortal

    @property
    def preferences_path(self) -> str:
        return f"/preferences/{self.preferences_token}"

    def one_click_path(self, list_ref: str) -> str:
        """The one-click page for "interest:<id>" or "mass_email", signed now."""
        with session_scope(self.portal.sessions) as session:
            candidate = session.get_one(Candidate, self.id)
            token = make_link_token(
                self.portal.settings.secret_keys, LinkPurpose.ONE_CLICK, candidate, l=list_ref
            )
        return f"/unsubscribe/{token}"


@dataclass(frozen=True)
class Stored:
    """What the database holds for the member: subscriptions, mass email, consent history."""

    subscriptions: dict[str, tuple[SubscriptionStatus, Frequency, date | None]]
    mass_email: MassEmail | None
    consents: list[Consent]

    def since_seeding(self) -> list[Consent]:
        """The consent events written after the connect-form seeding."""
        return [c for c in self.consents if c[3] is not ConsentSource.CONNECT_FORM]


def seed_member(portal: LivePortal, *, password: str | None = None) -> Member:
    """Create Ana (optionally with a password), commit, and sign her preferences link."""
    with session_scope(portal.sessions) as session:
        candidate, _ = get_or_create_candidate(
            session, EMAIL, first_name="Ana", last_name="Lima", location="Lisbon"
        )
        for key, frequency in (("software", Frequency.DAILY), ("design", Frequency.WEEKLY)):
            interest = _interest(session, portal, key)
            subscribe(
                session,
                candidate,
                interest,
                source=ConsentSource.CONNECT_FORM,
                frequency=frequency,
                confirmed=True,
            )
        opt_in_mass_email(session, candidate, source=ConsentSource.CONNECT_FORM)
        if password is not None:
            set_password(candidate, password)
        session.flush()
        token = make_link_token(portal.settings.secret_keys, LinkPurpose.PREFERENCES, candidate)
        return Member(candidate.id, candidate.email, token, portal)


def _interest(session: Session, portal: LivePortal, key: str) -> Interest:
    return session.get_one(Interest, portal.interests[key])


def stored(member: Member) -> Stored:
    """Read back the member's subscriptions, mass-email status and consent events."""
    portal = member.portal
    names = {interest_id: key for key, interest_id in portal.interests.items()}
    with session_scope(portal.sessions) as session:
        subscriptions = {
            names[s.interest_id]: (
                s.status,
                s.frequency,
                _day(s.paused_until),
            )
            for s in session.scalars(
                select(Subscription).where(Subscription.candidate_id == member.id)
            )
        }
        mass = session.get(MassEmailStatus, member.id)
        consents = [
            (
                e.scope,
                names[e.interest_id] if e.interest_id is not None else None,
                e.action,
                e.source,
            )
            for e in session.scalars(
                select(ConsentEvent)
                .where(ConsentEvent.candidate_id == member.id)
                .order_by(ConsentEvent.id)
            )
        ]
        return Stored(subscriptions, mass.status if mass else None, consents)


def _day(moment: datetime | None) -> date | None:
    return moment.date() if moment is not None else None


# -- page steps ----------------------------------------------------------------------------


def interest_box(flow: FlowPage, key: str) -> Locator:
    return flow.page.locator(f"#interest-{flow.portal.interests[key]}")


def open_options(flow: FlowPage, key: str) -> None:
    """Open the "Frequency and pause" disclosure of one interest (a native <details>)."""
    interest_id = flow.portal.interests[key]
    details = flow.page.locator("details.pref-more").filter(
        has=flow.page.locator(f"#field-frequency-{interest_id}")
    )
    if details.get_attribute("open") is None:
        details.locator("summary").click()
    flow.page.locator(f"#field-frequency-{interest_id}").wait_for(state="visible")


def set_frequency(flow: FlowPage, key: str, frequency: str) -> None:
    open_options(flow, key)
    flow.page.select_option(f"#field-frequency-{flow.portal.interests[key]}", frequency)


def set_pause(flow: FlowPage, key: str, day: date) -> None:
    open_options(flow, key)
    flow.fill(f"#field-pause-{flow.portal.interests[key]}", day.isoformat())


def mass_email_box(page: Page) -> Locator:
    return page.get_by_label("Send me occasional emails: newsletters, events, hiring news")


def warning(page: Page) -> Locator:
    return page.locator("#mass-email-warning")


def submit(flow: FlowPage, button: str, *, status: int = 200) -> None:
    """Press a form button and wait until the answer to its POST has loaded."""
    page = flow.page
    # Wait for the new document itself: the old one is already "loaded", and acting on it
    # while the answer replaces it is a race.
    with (
        page.expect_navigation(wait_until="load"),
        page.expect_response(lambda r: r.request.method == "POST") as answer,
    ):
        page.get_by_role("button", name=button, exact=True).click()
    assert answer.value.status == status, f"{button}: {answer.value.status}"
    assert flow.server_errors == [], flow.server_errors
    if status >= 400:
        # The browser logs an expected 4xx like any failed load; that's not a page error.
        flow.console_errors[:] = [e for e in flow.console_errors if f"status of {status}" not in e]


def save(flow: FlowPage, button: str = "Save") -> list[str]:
    """Press Save (or `button`); return the lines of the "Here is what changed" confirmation."""
    submit(flow, button)
    saved = flow.page.locator("#saved")
    saved.wait_for()
    return [line.strip() for line in saved.locator("li").all_inner_texts()]


def record_dialogs(page: Page, answers: list[bool]) -> list[str]:
    """Answer confirm dialogs with `answers` in turn (then fail); return their messages."""
    messages: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        messages.append(f"{dialog.type}: {dialog.message}")
        if answers and answers.pop(0):
            dialog.accept()
        else:
            dialog.dismiss()

    page.on("dialog", on_dialog)
    return messages


def log_in(flow: FlowPage, email: str, password: str) -> None:
    """Log in with email and password from the login page; lands on the dashboard."""
    flow.fill("#field-email", email)
    flow.fill("#field-password", password)
    flow.page.get_by_role("button", name="Log in", exact=True).click()
    flow.wait_for("/dashboard")


def expect_changes(lines: list[str], expected: list[str]) -> None:
    assert lines == expected, f"the confirmation listed {lines}, not {expected}"


def expect_that(target: Locator) -> Any:
    """Playwright's retrying `expect`, imported late: the module must load without it."""
    from playwright.sync_api import expect

    return expect(target)
