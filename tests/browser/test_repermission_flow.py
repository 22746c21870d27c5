"""A re-permission email in a real browser: the email's Keep link → "Keep me" → confirmation.

The email is queued by the retention run itself (its links are made at send time),
sent by one batch of the real sender worker to a real aiosmtpd server, and
chromium opens the Keep link the delivered message carries. Desktop from the keyboard
with axe-core, and 375 px without JavaScript; SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from mailer.retention import run_retention
from mailer.sink import MailSink, MemoryStore
from mailer.worker import BatchResult
from preferences.clock import now
from preferences.db import session_scope
from preferences.models import (
    Candidate,
    ConsentAction,
    ConsentEvent,
    ConsentScope,
    ConsentSource,
    RetentionNotice,
)
from preferences.retention import add_months
from preferences.subscriptions import get_or_create_candidate
from preferences.wordings import wording_texts
from tests.browser.conftest import LivePortal
from tests.browser.flow import open_flow
from tests.browser.mail import deliver_one_batch
from tests.browser.prefs_support import expect_that

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

EMAIL = "ana.stay@example.com"
KEEP_LINE = re.compile(r"Keep me in the talent community: (\S+)")


def queue_repermission(portal: LivePortal) -> tuple[int, datetime, datetime]:
    """Ana, silent for 23 months, asked to stay by the retention run itself.

    Returns her id, her last activity and the day she would be anonymized.
    """
    policy = portal.settings.retention_policy
    with session_scope(portal.sessions) as session:
        candidate, _ = get_or_create_candidate(session, EMAIL, first_name="Ana")
        # A day inside the asking window: policy expiry within REPERMISSION_DAYS.
        last_active = add_months(now(), -policy.months) + timedelta(days=10)
        candidate.email_verified_at = last_active
        candidate.last_active_at = last_active
        candidate_id = candidate.id
    report = run_retention(portal.sessions, policy, upload_dir=portal.settings.upload_dir)
    assert report.counts["repermission_queued"] == 1
    with session_scope(portal.sessions) as session:
        notice = session.scalars(
            select(RetentionNotice).where(RetentionNotice.candidate_id == candidate_id)
        ).one()
        return candidate_id, last_active, notice.expires_at


def keep_link(portal: LivePortal, sink: MailSink) -> str:
    """Send the queued email through the worker; the Keep link of the delivered message."""
    assert deliver_one_batch(portal, sink) == BatchResult(claimed=1, sent=1)
    assert isinstance(sink.store, MemoryStore)
    (received,) = sink.store.wait_for(1)
    assert received.envelope_to == (EMAIL,)
    message = received.parsed()
    assert message["Subject"] == "Do you want to stay in the Acme talent community?"
    assert "List-Unsubscribe" not in message  # transactional
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    found = KEEP_LINE.search(str(text.get_content()))
    assert found is not None
    link = found.group(1)
    assert link.startswith(f"{portal.url}/stay/")
    assert f'href="{link}"' in str(html.get_content())
    return link


@pytest.mark.parametrize(
    ("phone", "javascript"), [(False, True), (True, False)], ids=["desktop-keyboard", "phone-nojs"]
)
def test_keep_link_from_the_email_keeps_the_candidate(
    chromium: Browser,
    portal: LivePortal,
    axe_source: str,
    smtp_server: MailSink,
    phone: bool,
    javascript: bool,
) -> None:
    """The delivered email's Keep link opens a page whose "Keep me" button keeps Ana: a
    retention consent under the shown sentence, activity now, her notice answered."""
    candidate_id, last_active, expires = queue_repermission(portal)
    link = keep_link(portal, smtp_server)
    run = "repermission"
    with open_flow(
        chromium, portal, axe_source, run, phone=phone, keyboard=not phone, javascript=javascript
    ) as flow:
        page = flow.page
        response = page.goto(link)
        assert response is not None and response.status == 200
        expect_that(
            page.get_by_role("heading", name="Do you want to stay in our talent community?")
        ).to_be_visible()
        lead = page.locator(".page-head .lead").inner_text()
        assert lead.startswith("Hi Ana, unless you tell us you want to stay")
        assert f"{expires:%B} {expires.day}, {expires.year}" in lead
        assert page.get_by_role("link", name="Manage your email preferences").is_visible()
        flow.check("ask")
        # Opening the page changed nothing.
        with session_scope(portal.sessions) as session:
            assert session.get_one(Candidate, candidate_id).last_active_at == last_active
            assert session.scalars(select(ConsentEvent)).all() == []
        statement = page.locator("#stay-statement").inner_text()
        clicked = now()
        flow.press("button.button-primary[type=submit]")
        expect_that(page.get_by_role("heading", name="You're staying")).to_be_visible()
        assert flow.server_errors == []
        flow.check("kept")
        next_check = page.locator("main").inner_text()
        assert "We will ask you again before" in next_check

    with session_scope(portal.sessions) as session:
        candidate = session.get_one(Candidate, candidate_id)
        assert candidate.last_active_at is not None
        assert candidate.last_active_at >= clicked - timedelta(seconds=1)
        [event] = session.scalars(select(ConsentEvent)).all()
        assert (event.scope, event.action, event.source) == (
            ConsentScope.RETENTION,
            ConsentAction.GRANT,
            ConsentSource.REPERMISSION,
        )
        assert event.ip_address == "127.0.0.1"
        wording = wording_texts(session, [event.wording_version])[event.wording_version]
        assert wording.text == statement
        [answered] = session.scalars(select(RetentionNotice.answered_at)).all()
        assert answered is not None
        deadline = add_months(candidate.last_active_at, portal.settings.retention_policy.months)
        assert f"{deadline:%B} {deadline.day}, {deadline.year}" in next_check
