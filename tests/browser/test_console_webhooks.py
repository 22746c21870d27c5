"""An admin adds a webhook endpoint in a real browser, sees its secret once, and works its page;
Disable, Rotate and Delete ask first (a dialog with JavaScript, a page without).

Runs on SQLite and PostgreSQL, at desktop and phone (375 px) width, with axe-core and the
no-overflow check on every page; screenshots land in test-artifacts/.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from portal.auth.recruiters import set_recruiter
from portal.webhooks.endpoints import EndpointInput, create_endpoint
from portal.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookSecret
from portal.webhooks.sealing import secret_seal
from preferences.clock import now
from preferences.db import session_scope
from preferences.events import WebhookEvent
from preferences.models import RecruiterRole
from tests.browser.conftest import LivePortal, serve_portal
from tests.browser.flow import open_flow

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

EMAIL = "ada@acme.example.com"
PASSWORD = "a long recruiter password"
RECEIVER = "127.0.0.1:9"  # allowed, never called: these tests run no worker
LONG_ERROR = "ConnectError: " + "connection refused by the receiver " * 6
# Long enough to overflow a phone unless the confirmation page wraps it.
LONG_URL = f"http://{RECEIVER}/hooks/talent-connect/a-rather-long-path-for-a-phone-screen"


@pytest.fixture
def hook_portal(tmp_path: Path, database_url: str) -> Iterator[LivePortal]:
    with serve_portal(
        tmp_path, database_url, lambda _url: {"WEBHOOK_ALLOWED_HOSTS": RECEIVER}
    ) as live:
        yield live


def _seed_deliveries(portal: LivePortal) -> None:
    """A failed and a delivered delivery for the only endpoint, as the worker records them."""
    with session_scope(portal.sessions) as session:
        endpoint = session.scalars(select(WebhookEndpoint)).one()
        for status, code, error in (
            (DeliveryStatus.FAILED, 410, LONG_ERROR),
            (DeliveryStatus.DELIVERED, 204, None),
        ):
            at = now() - timedelta(minutes=5)
            event = WebhookEvent(
                type="candidate.unsubscribed", data={}, source="one_click", occurred_at=at
            )
            session.add(event)
            session.flush()
            session.add(
                WebhookDelivery(
                    endpoint_id=endpoint.id,
                    event_id=event.id,
                    status=status,
                    attempts=1,
                    last_status_code=code,
                    last_error=error,
                    last_duration_ms=87,
                    created_at=at,
                    finished_at=at,
                )
            )


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_add_an_endpoint_see_its_secret_once_and_rotate_it(
    chromium: Browser, hook_portal: LivePortal, axe_source: str, phone: bool
) -> None:
    """Add an endpoint (after a refused URL), copy its secret, then test, redeliver, rotate."""
    portal = hook_portal
    with session_scope(portal.sessions) as session:
        set_recruiter(session, EMAIL, password=PASSWORD, name="Ada", role=RecruiterRole.ADMIN)
    run = "webhooks-phone" if phone else "webhooks"
    with open_flow(chromium, portal, axe_source, run, phone=phone) as flow:
        page = flow.page
        flow.recruiter_login(EMAIL, PASSWORD)
        flow.press('nav a[href="/admin/webhooks/"]')
        flow.wait_for("/admin/webhooks/")
        flow.check("webhooks-empty")
        flow.press('main a[href="/admin/webhooks/new"]')
        flow.wait_for("/admin/webhooks/new")
        flow.check("webhook-new")
        assert not page.get_by_label("Include contact data", exact=False).is_checked()
        assert page.get_by_label("Enabled").is_checked()
        page.get_by_label("URL", exact=True).fill("https://192.168.1.20/hooks")
        page.get_by_label("Description (optional)").fill("ATS sync")
        page.get_by_role("group", name="Event types").get_by_label("candidate.unsubscribed").check()
        flow.press("form.webhook-form button.button-primary")
        page.get_by_role("alert").wait_for()
        assert "not a public address" in page.locator("#error-url").inner_text()
        assert page.get_by_label("Description (optional)").input_value() == "ATS sync"
        assert page.get_by_label("candidate.unsubscribed").is_checked()
        flow.console_errors[:] = [e for e in flow.console_errors if "status of 400" not in e]
        flow.check("webhook-error")
        page.get_by_label("URL", exact=True).fill(f"http://{RECEIVER}/hooks/talent")
        flow.press("form.webhook-form button.button-primary")
        page.get_by_role("heading", name="Endpoint added").wait_for()
        shown = page.get_by_label("Secret", exact=True).input_value()
        with session_scope(portal.sessions) as session:
            (sealed,) = session.scalars(select(WebhookSecret.sealed)).all()
        stored = secret_seal(portal.settings.secret_keys).unseal(sealed)
        assert shown == stored and shown.startswith("whsec_")
        assert page.get_by_role("button", name="Copy").is_visible()
        flow.check("webhook-secret")

        flow.press('main a:has-text("go to the endpoint")')
        flow.wait_for(r"/admin/webhooks/ep_[0-9a-f]+")
        assert shown not in page.content()
        _seed_deliveries(portal)
        page.reload()
        flow.check("webhook-endpoint")
        rows = page.locator("table.webhook-deliveries tbody tr")
        assert rows.count() == 2
        failed = page.locator("table.webhook-deliveries tbody tr:has(.badge-danger)")
        assert "\t410\t" in failed.inner_text() and LONG_ERROR.strip() in failed.inner_text()

        flow.press('main button:has-text("Send test event")')
        flow.wait_for(r"/admin/webhooks/ep_[0-9a-f]+#deliveries")
        assert "webhook.test" in page.get_by_role("status").first.inner_text()
        assert rows.count() == 3
        failed.get_by_role("button", name="Redeliver", exact=False).click()
        flow.wait_for(r"/admin/webhooks/ep_[0-9a-f]+#deliveries")
        assert "will be sent again" in page.get_by_role("status").first.inner_text()
        assert failed.count() == 0  # waiting again: no longer marked failed
        assert page.locator("tbody tr", has_text="Waiting").get_by_role("button").count() == 0
        flow.check("webhook-redelivered")

        # With JavaScript the confirmation is a dialog; OK rotates.
        page.once("dialog", lambda dialog: dialog.accept())
        flow.press('main button:has-text("Rotate secret")')
        page.get_by_role("heading", name="New signing secret").wait_for()
        rotated = page.get_by_label("Secret", exact=True).input_value()
        assert rotated.startswith("whsec_") and rotated != shown
        assert "keeps signing beside the new one for 24 hours" in page.locator("main").inner_text()
        flow.check("webhook-rotated")
        flow.press('main a:has-text("go to the endpoint")')
        flow.wait_for(r"/admin/webhooks/ep_[0-9a-f]+")
        assert page.locator("table.webhook-secrets tbody tr").count() == 2
        assert rotated not in page.content() and shown not in page.content()
        flow.check("webhook-two-secrets")


def test_delete_without_javascript_asks_on_a_page(
    chromium: Browser, hook_portal: LivePortal
) -> None:
    """Without JavaScript, Delete shows a confirmation page; ticking the box deletes."""
    portal = hook_portal
    with session_scope(portal.sessions) as session:
        set_recruiter(session, EMAIL, password=PASSWORD, name="Ada", role=RecruiterRole.ADMIN)
    with open_flow(chromium, portal, None, "webhooks-nojs", javascript=False) as flow:
        page = flow.page
        flow.recruiter_login(EMAIL, PASSWORD)
        flow.goto("/admin/webhooks/new")
        page.get_by_label("URL", exact=True).fill(f"http://{RECEIVER}/in")
        flow.press("form.webhook-form button.button-primary")
        page.get_by_role("heading", name="Endpoint added").wait_for()
        assert not page.get_by_role("button", name="Copy").is_visible()
        flow.press('main a:has-text("go to the endpoint")')
        flow.wait_for(r"/admin/webhooks/ep_[0-9a-f]+")
        flow.press('main button:has-text("Delete endpoint")')
        page.get_by_role("heading", name="Delete the endpoint?").wait_for()
        flow.check("webhook-delete-confirm")
        page.get_by_label("Yes, delete", exact=False).check()
        flow.press('main button:has-text("Delete endpoint")')
        flow.wait_for("/admin/webhooks/")
        assert "No endpoints yet" in page.locator("main").inner_text()
    with session_scope(portal.sessions) as session:
        assert session.scalars(select(WebhookEndpoint)).all() == []


def _admin_and_endpoint(portal: LivePortal) -> str:
    """An admin, and one enabled endpoint at LONG_URL; returns its public id."""
    with session_scope(portal.sessions) as session:
        set_recruiter(session, EMAIL, password=PASSWORD, name="Ada", role=RecruiterRole.ADMIN)
        endpoint, _secret = create_endpoint(
            session,
            EndpointInput(url=LONG_URL, description="ATS sync"),
            allowed_hosts=(RECEIVER,),
            seal=secret_seal(portal.settings.secret_keys),
        )
        public_id = endpoint.public_id
    return public_id


def _enabled(portal: LivePortal) -> bool:
    with portal.sessions() as session:
        return session.scalars(select(WebhookEndpoint.enabled)).one()


def test_disable_asks_in_a_dialog_and_enable_acts_at_once(
    chromium: Browser, hook_portal: LivePortal, axe_source: str
) -> None:
    """With JavaScript: Cancel in Disable's dialog leaves the endpoint enabled, OK disables
    it; Enable then acts at once, without a dialog."""
    portal = hook_portal
    public_id = _admin_and_endpoint(portal)
    with open_flow(chromium, portal, axe_source, "webhook-disable-js") as flow:
        page = flow.page
        flow.recruiter_login(EMAIL, PASSWORD)
        flow.goto(f"/admin/webhooks/{public_id}")
        flow.check("webhook-enabled")
        disable = page.get_by_role("button", name="Disable", exact=True)
        flow.answer_next_dialog(accept=False)
        disable.click()
        assert flow.dialogs[-1].startswith(f"Disable {LONG_URL}? Events that happen while it is")
        assert "deliveries already queued wait for it" in flow.dialogs[-1]
        page.wait_for_timeout(300)  # a submission, had there been one, would have left
        assert _enabled(portal)
        flow.answer_next_dialog(accept=True)
        disable.click()
        page.get_by_text("Endpoint disabled").wait_for()
        assert not _enabled(portal)
        flow.check("webhook-disabled")
        # Enable asks nothing: a dialog would be recorded (and dismissed, sending nothing).
        flow.dialogs.clear()
        flow.answer_next_dialog(accept=False)
        page.get_by_role("button", name="Enable", exact=True).click()
        page.get_by_text("Endpoint enabled").wait_for()
        assert flow.dialogs == [] and _enabled(portal)


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_disable_without_javascript_asks_on_the_page(
    chromium: Browser, hook_portal: LivePortal, phone: bool
) -> None:
    """Without JavaScript, by keyboard: Disable asks on a page that fits a long URL and says
    what happens to events and queued deliveries; unticked, nothing changes; ticked, it
    disables."""
    portal = hook_portal
    public_id = _admin_and_endpoint(portal)
    run = "webhook-disable-nojs-phone" if phone else "webhook-disable-nojs"
    with open_flow(
        chromium, portal, None, run, phone=phone, javascript=False, keyboard=True
    ) as flow:
        page = flow.page
        flow.recruiter_login(EMAIL, PASSWORD)
        flow.goto(f"/admin/webhooks/{public_id}")
        flow.press('main form[action$="/enabled"] button')
        page.get_by_role("heading", name="Disable the endpoint?").wait_for()
        assert "Nothing has changed yet." in page.get_by_role("status").inner_text()
        assert LONG_URL in page.locator("main dl").inner_text()
        said = page.locator("main").inner_text()
        assert "events that happen are never sent to it" in said
        assert "they go out when you enable it again" in said
        assert _enabled(portal)
        flow.check("disable-asks")
        flow.press('main button[type="submit"].button-danger')
        page.get_by_text("Tick the box to confirm. The endpoint is still enabled.").wait_for()
        assert _enabled(portal)
        flow.console_errors[:] = [e for e in flow.console_errors if "status of 400" not in e]
        flow.check("disable-unticked")
        flow.tick("#field-confirm")
        flow.press('main button[type="submit"].button-danger')
        flow.wait_for(f"/admin/webhooks/{public_id}")
        page.get_by_text("Endpoint disabled").wait_for()
        assert not _enabled(portal)


def test_add_an_endpoint_from_the_keyboard(
    chromium: Browser, hook_portal: LivePortal, axe_source: str
) -> None:
    """Tab, type, Space and Enter alone add an endpoint with one event type ticked."""
    portal = hook_portal
    with session_scope(portal.sessions) as session:
        set_recruiter(session, EMAIL, password=PASSWORD, name="Ada", role=RecruiterRole.ADMIN)
    with open_flow(chromium, portal, axe_source, "webhooks-keyboard", keyboard=True) as flow:
        page = flow.page
        flow.recruiter_login(EMAIL, PASSWORD)
        flow.press('nav a[href="/admin/webhooks/"]')
        flow.wait_for("/admin/webhooks/")
        flow.press('main a[href="/admin/webhooks/new"]')
        flow.wait_for("/admin/webhooks/new")
        flow.fill("#field-url", f"http://{RECEIVER}/kb")
        flow.tick('input[name="event_types"][value="mass_email.changed"]')
        flow.press("form.webhook-form button.button-primary")
        page.get_by_role("heading", name="Endpoint added").wait_for()
        flow.check("webhook-secret-keyboard")
    with session_scope(portal.sessions) as session:
        endpoint = session.scalars(select(WebhookEndpoint)).one()
        assert (endpoint.url, endpoint.event_types) == (
            f"http://{RECEIVER}/kb",
            ["mass_email.changed"],
        )
