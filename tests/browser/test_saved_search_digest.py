"""A saved search end to end in a real browser: saved on /jobs, its digest sent by the real
worker, the digest's links opened, and its one-click scope leaving what it named.

A member saves "python" in Berlin (instant alerts) beside her Software Engineering
subscription; two new jobs match, one of them through both. The instant run and one batch
of the real sender worker (to a real aiosmtpd server) give one digest listing each job
once with every reason; the browser opens its Manage link and sees the saved search; the
one-click POST leaves the interest and the search it named, and the next new job brings no email.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from jobs.alerts import run_instant
from mailer.sink import MailSink, MemoryStore
from mailer.worker import BatchResult
from preferences.clock import now
from preferences.db import session_scope
from preferences.models import (
    Frequency,
    Interest,
    SavedSearch,
    Subscription,
    SubscriptionStatus,
)
from tests.browser.conftest import LivePortal
from tests.browser.flow import open_flow
from tests.browser.mail import deliver_one_batch
from tests.browser.prefs_support import EMAIL, PASSWORD, expect_that, log_in, seed_member
from tests.portal.helpers import add_job

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser


def _post_jobs(portal: LivePortal) -> None:
    """Two new jobs for the search (one also in Software Engineering), one for neither."""
    with session_scope(portal.sessions) as session:
        software = session.get_one(Interest, portal.interests["software"])
        posted = now()
        add_job(
            session,
            "Senior Python Engineer",
            interests=[software],
            location="Berlin, Germany",
            posted_at=posted,
        )
        add_job(session, "Python Data Analyst", location="Berlin, Germany", posted_at=posted)
        add_job(session, "Python Developer", location="Lisbon, Portugal", posted_at=posted)


def _search_status(portal: LivePortal) -> SubscriptionStatus:
    with session_scope(portal.sessions) as session:
        return session.scalars(select(SavedSearch.status)).one()


def test_a_saved_search_digest_arrives_and_its_one_click_leaves_what_it_named(
    chromium: Browser, portal: LivePortal, axe_source: str, smtp_server: MailSink
) -> None:
    """Save → instant run → real worker → one digest with both reasons → one-click scope."""
    seed_member(portal, password=PASSWORD)
    with session_scope(portal.sessions) as session:
        # Her Software Engineering alerts arrive as instant ones too, so one run covers both.
        for sub in session.scalars(select(Subscription)):
            sub.frequency = Frequency.INSTANT
    with open_flow(chromium, portal, axe_source, "saved-search-digest") as flow:
        page = flow.page
        flow.goto("/login")
        log_in(flow, EMAIL, PASSWORD)
        flow.goto("/jobs?q=python&location=Berlin")
        page.get_by_label("How often").select_option("instant")
        page.get_by_role("button", name="Save this search").click()
        page.get_by_role("heading", name="Search saved").wait_for()
        assert _search_status(portal) is SubscriptionStatus.SUBSCRIBED

        _post_jobs(portal)
        summary = run_instant(portal.sessions)
        assert summary.digests_queued == 1
        assert deliver_one_batch(portal, smtp_server) == BatchResult(claimed=1, sent=1)
        assert isinstance(smtp_server.store, MemoryStore)
        (received,) = smtp_server.store.wait_for(1)
        message = received.parsed()
        body = message.get_body(preferencelist=("plain",))
        assert body is not None
        text = str(body.get_content()).replace("\r\n", "\n")

        # Each job once, with every reason it matched; the Lisbon job is not there.
        assert text.count("Senior Python Engineer") == 1
        assert text.count("Python Data Analyst") == 1
        assert "Python Developer" not in text
        engineer = text[text.index("Senior Python Engineer") :].split("\n\n")[0]
        assert portal.name("software") in engineer
        assert "“python” in Berlin" in engineer
        analyst = text[text.index("Python Data Analyst") :].split("\n\n")[0]
        assert "“python” in Berlin" in analyst and portal.name("software") not in analyst

        # The digest's own scope: its one-click link names her interest and her search.
        unsubscribe = re.search(
            r"<(https?://[^>]+/unsubscribe/[^>]+)>", message["List-Unsubscribe"]
        )
        assert unsubscribe is not None
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

        manage = re.search(r"(https?://\S+/preferences/\S+)", text)
        assert manage is not None
        flow.goto(manage.group(1).removeprefix(portal.url))
        section = page.get_by_role("region", name="Saved searches")
        expect_that(section).to_contain_text("“python” in Berlin")
        flow.check("preferences-with-search")

        # RFC 8058: a POST without cookies, 200, no redirect; it leaves what the digest named.
        answer = page.request.post(
            unsubscribe.group(1),
            form={"List-Unsubscribe": "One-Click"},
            headers={"Cookie": ""},
            max_redirects=0,
        )
        assert answer.status == 200
        assert _search_status(portal) is SubscriptionStatus.UNSUBSCRIBED

    # No saved search left, no subscription left for the digest's scope: no new email.
    _post_jobs(portal)
    later = run_instant(portal.sessions)
    assert later.digests_queued == 0
