"""A recruiter sets up a job alert end to end in a real browser and sends a test of it.

Interest, posting and schedule are created through the console; candidates in
known states are seeded with the service functions in between; the audience
preview must count them exactly and render the sample recipient's digest. The
test digest ("[Test] …") goes through the real sender worker (one batch, run in
the test) into the development mail sink the portal reads at /admin/mail, and
must reach the recruiter alone. Runs on SQLite and PostgreSQL, at desktop and
phone (375 px) width; screenshots land in test-artifacts/.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import func, select

from jobs.models import AlertRun, AlertSchedule, DigestItem, FrequencyClass, JobPosting
from mailer.models import MessageKind, OutboxMessage
from mailer.sink import MaildirStore, MailSink
from mailer.worker import BatchResult
from portal.auth.recruiters import set_recruiter
from preferences.clock import now
from preferences.db import session_scope
from preferences.models import (
    ConsentSource,
    Frequency,
    Interest,
    RecruiterRole,
    Subscription,
    SuppressionReason,
)
from preferences.subscriptions import (
    get_or_create_candidate,
    pause_subscription,
    subscribe,
    unsubscribe,
)
from preferences.suppressions import suppress
from tests.browser.conftest import LivePortal
from tests.browser.flow import open_flow
from tests.browser.mail import deliver_one_batch

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

EMAIL = "rob@acme.example.com"
PASSWORD = "a long recruiter password"
INTEREST = "Marine Robotics"
DETAILS = "Robots that inspect hulls and offshore turbines."
KEYWORDS = "ros, sonar, embedded"
REFERENCE = "MR-7"
TITLE = "Underwater Robotics Engineer"
APPLY_URL = "https://jobs.acme.example.com/mr-7"
SCHEDULE = "Robotics daily"
# What the preview must say about the candidates seeded below.
RECEIVING = 2
EXCLUDED = {
    "Unsubscribed": "1",
    "Unconfirmed": "1",
    "Paused": "1",
    "Suppressed": "1",
    "Deleted": "0",
    "Nothing new": "1",
}


def _subscriber(
    portal: LivePortal,
    email: str,
    *,
    interest_id: int,
    confirmed: bool = True,
    frequency: Frequency = Frequency.DAILY,
) -> None:
    """Commit a candidate who subscribed to one interest through the connect form."""
    with session_scope(portal.sessions) as session:
        candidate, _ = get_or_create_candidate(
            session,
            email,
            first_name=email.split("@")[0].title(),
            email_verified_at=now() if confirmed else None,
        )
        interest = session.get_one(Interest, interest_id)
        subscribe(
            session,
            candidate,
            interest,
            source=ConsentSource.CONNECT_FORM,
            frequency=frequency,
            confirmed=confirmed,
        )


def _seed_audience(portal: LivePortal) -> int:
    """Subscribers of the interest the browser just created, one per state; its id."""
    with session_scope(portal.sessions) as session:
        interest_id = session.scalars(select(Interest.id).where(Interest.name == INTEREST)).one()
    for name in ("ana", "ben", "cy", "dee", "fay"):  # confirmed, daily
        _subscriber(portal, f"{name}@example.com", interest_id=interest_id)
    _subscriber(portal, "eve@example.com", interest_id=interest_id, confirmed=False)
    # Outside the schedule's scope, so not counted at all: weekly, or another interest.
    _subscriber(portal, "gus@example.com", interest_id=interest_id, frequency=Frequency.WEEKLY)
    _subscriber(portal, "hal@example.com", interest_id=portal.interests["software"])
    with session_scope(portal.sessions) as session:
        interest = session.get_one(Interest, interest_id)
        cy, _ = get_or_create_candidate(session, "cy@example.com")
        unsubscribe(session, cy, interest, source=ConsentSource.PREFERENCE_CENTER)
        dee, _ = get_or_create_candidate(session, "dee@example.com")
        pause_subscription(
            session, dee, interest, now() + timedelta(days=14), source=ConsentSource.DASHBOARD
        )
        suppress(session, "fay@example.com", SuppressionReason.HARD_BOUNCE)
    return interest_id


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_interest_posting_schedule_preview_and_test_send(
    chromium: Browser, portal: LivePortal, axe_source: str, phone: bool
) -> None:
    """Create interest, posting and schedule; the preview counts the audience; a test arrives."""
    with session_scope(portal.sessions) as session:
        # An admin: the development mail viewer, where the test is read, is for admins.
        set_recruiter(session, EMAIL, password=PASSWORD, name="Rob", role=RecruiterRole.ADMIN)
    sink_dir = portal.settings.mail_sink_dir
    sink_dir.parent.mkdir(parents=True, exist_ok=True)
    # The development mail sink, as `talentconnect run` starts it; /admin/mail reads it.
    store = MaildirStore(sink_dir)
    sink = MailSink(store).start()
    run = "alert-flow-phone" if phone else "alert-flow"
    try:
        with open_flow(chromium, portal, axe_source, run, phone=phone) as flow:
            page = flow.page
            flow.recruiter_login(EMAIL, PASSWORD)

            # 1. The interest.
            flow.add_interest(INTEREST, DETAILS, KEYWORDS)
            # Subscribers who were there before the job was posted.
            interest_id = _seed_audience(portal)

            # 2. A posting tagged with it.
            flow.open_new_job()
            page.get_by_label("Reference").fill(REFERENCE)
            page.get_by_label("Title").fill(TITLE)
            page.get_by_label("Location").fill("Aberdeen, UK")
            page.get_by_label("Apply URL (https://)").fill(APPLY_URL)
            page.get_by_label("Description").fill("Keep the fleet of hull crawlers swimming.")
            page.get_by_label(INTEREST, exact=True).check()
            flow.press("form.form-card button.button-primary")
            flow.wait_for("/admin/jobs/")
            assert page.get_by_role("status").inner_text() == f"Saved {REFERENCE}: {TITLE}."
            row = page.get_by_role("row", name=REFERENCE).inner_text()
            assert TITLE in row and INTEREST in row
            flow.check("jobs")
            # Subscribed after the posting went up: nothing new for them.
            _subscriber(portal, "ivy@example.com", interest_id=interest_id)

            # 3. A daily schedule for that interest's daily subscribers.
            flow.press('nav a[href="/admin/schedules/"]')
            flow.wait_for("/admin/schedules/")
            flow.press('main a[href="/admin/schedules/new"]')
            flow.wait_for("/admin/schedules/new")
            flow.check("schedule-new")
            page.get_by_label("Name").fill(SCHEDULE)
            page.get_by_label("Daily at a time").check()
            page.get_by_label("Time (HH:MM, 24-hour; daily and weekly)").fill("07:15")
            page.get_by_label("Time zone").fill("Europe/Lisbon")
            page.get_by_label("Only the interests ticked below").check()
            page.get_by_label(INTEREST, exact=True).check()
            page.get_by_label("Daily subscribers", exact=True).check()
            assert page.get_by_label("Enabled").is_checked()
            flow.press("form.form-card button.button-primary")
            flow.wait_for("/admin/schedules/")
            flow.check("schedules")
            text = page.get_by_role("row", name=re.compile(SCHEDULE)).inner_text()
            assert INTEREST in text and "Daily subscribers" in text
            assert "Daily at 07:15" in text and "Europe/Lisbon" in text

            # 4. Its audience.
            flow.press(f'main a[aria-label="Preview audience of {SCHEDULE}"]')
            flow.wait_for(r"/admin/schedules/\d+/preview")
            flow.check("preview")
            assert page.get_by_role("heading", level=1).inner_text() == f"Audience of {SCHEDULE}"
            assert page.locator(".audience-count").inner_text() == (
                f"{RECEIVING} candidates would receive a digest if it ran now."
            )
            rows = page.locator("main table.data-table tbody tr")
            shown = {}
            for i in range(rows.count()):
                reason = rows.nth(i).locator("th").inner_text().strip()
                shown[reason] = rows.nth(i).locator("td").inner_text().strip()
            assert shown == EXCLUDED
            # The page names a sample recipient and renders the digest Ana would get.
            assert (
                "For example, ana@example.com would get 1 job." in page.locator("main").inner_text()
            )
            assert page.locator("dd.digest-subject").inner_text() == f"New job at Acme: {TITLE}"
            preview = page.frame_locator("iframe.mail-frame")
            preview.get_by_role("link", name=TITLE).wait_for()
            assert preview.get_by_role("link", name=TITLE).is_visible()
            assert preview.get_by_text("Hi Ana,").is_visible()
            page.get_by_text("Plain-text version").click()
            assert TITLE in page.locator("details pre.mail-text").inner_text()
            flow.check("preview-digest")
            with session_scope(portal.sessions) as session:
                # Viewing the preview queued nothing.
                assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0

            # 5. A test to the recruiter.
            page.get_by_role("button", name="Send a test to me").click()
            flow.wait_for(r"/admin/schedules/\d+/preview")
            status = page.get_by_role("status")
            assert status.inner_text() == (
                f"A sample digest with 1 job is queued to {EMAIL}; the sender delivers it shortly."
            )
            flow.check("test-queued")

            with session_scope(portal.sessions) as session:
                # Only the recruiter's copy was queued: the real run did not start.
                (queued,) = session.scalars(select(OutboxMessage)).all()
                assert (queued.kind, queued.to_address, queued.candidate_id) == (
                    MessageKind.JOB_ALERT,
                    EMAIL,
                    None,
                )
                assert queued.context["test"] is True
                assert session.scalar(select(func.count()).select_from(AlertRun)) == 0
                assert session.scalar(select(func.count()).select_from(DigestItem)) == 0
                alerted = select(func.count()).where(Subscription.last_alerted_at.is_not(None))
                assert session.scalar(alerted) == 0

            assert deliver_one_batch(portal, sink) == BatchResult(claimed=1, sent=1)
            (received,) = store.list()
            assert received.envelope_to == (EMAIL,)
            message = received.parsed()
            assert message["To"] == EMAIL
            assert message["Subject"] == f"[Test] New job at Acme: {TITLE}"
            plain = message.get_body(preferencelist=("plain",))
            assert plain is not None and TITLE in plain.get_content()
            assert "This is a test of a job alert" in plain.get_content()
            html = message.get_body(preferencelist=("html",))
            assert html is not None and TITLE in html.get_content()

            # The recruiter reads it in the console's mail sink too.
            flow.press('nav a[href="/admin/mail"]')
            flow.wait_for("/admin/mail")
            flow.check("mail")
            mail_rows = page.locator("main table.data-table tbody tr")
            assert mail_rows.count() == 1
            assert EMAIL in mail_rows.first.inner_text()
            flow.press(f'main a:text-is("[Test] New job at Acme: {TITLE}")')
            flow.wait_for(r"/admin/mail/[^/]+")
            frame = page.frame_locator("iframe.mail-frame")
            frame.get_by_role("link", name=TITLE).wait_for()
            assert TITLE in page.locator("pre.mail-text").inner_text()
            flow.check("mail-message")
    finally:
        sink.stop()

    with session_scope(portal.sessions) as session:
        interest = session.get_one(Interest, interest_id)
        assert (interest.name, interest.slug, interest.details, interest.keywords) == (
            INTEREST,
            "marine-robotics",
            DETAILS,
            ["ros", "sonar", "embedded"],
        )
        job = session.scalars(select(JobPosting).where(JobPosting.reference == REFERENCE)).one()
        assert (job.title, job.location, job.apply_url, job.closed_at) == (
            TITLE,
            "Aberdeen, UK",
            APPLY_URL,
            None,
        )
        assert [i.name for i in job.interests] == [INTEREST]
        schedule = session.scalars(select(AlertSchedule)).one()
        assert (
            schedule.name,
            schedule.cron,
            schedule.timezone,
            schedule.all_interests,
            schedule.frequency_class,
            schedule.enabled,
        ) == (SCHEDULE, "15 7 * * *", "Europe/Lisbon", False, FrequencyClass.DAILY, True)
        assert [i.name for i in schedule.interests] == [INTEREST]
