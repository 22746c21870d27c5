"""Demo ID in a browser: the start page's social path with the development provider."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from portal.auth.demo_id import DemoId, start_demo_id
from tests.browser.conftest import LivePortal, serve_portal
from tests.browser.flow import open_flow
from tests.conftest import make_settings

if TYPE_CHECKING:
    from playwright.sync_api import Browser


@pytest.fixture
def demo_id_portal(tmp_path: Path, database_url: str) -> Iterator[tuple[LivePortal, DemoId]]:
    """The portal with Demo ID as `run --demo` starts it, redirecting to this portal."""
    started: list[DemoId] = []

    def configure(url: str) -> dict[str, Any]:
        settings = make_settings(tmp_path / "demo-id", database_url, BASE_URL=url)
        demo_id = start_demo_id(settings, demo=True)
        started.append(demo_id)
        config = demo_id.provider_config()
        item = {
            "name": config.name,
            "label": config.label,
            "client_id": config.client_id,
            "client_secret": config.client_secret,
            "discovery_url": config.discovery_url,
        }
        return {"OIDC_PROVIDERS": json.dumps([item])}

    try:
        with serve_portal(tmp_path, database_url, configure) as live:
            yield live, started[0]
    finally:
        for demo_id in started:
            demo_id.stop()


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_continue_with_demo_id_fills_in_the_details(
    chromium: Browser,
    axe_source: str,
    demo_id_portal: tuple[LivePortal, DemoId],
    phone: bool,
) -> None:
    """Start page, Demo ID's page (Continue), and back with name and email filled in."""
    portal, demo_id = demo_id_portal
    with open_flow(chromium, portal, axe_source, "demo-id", phone=phone) as flow:
        page = flow.page
        flow.goto("/connect")
        flow.check("start", "start")
        assert page.get_by_role("link", name="Continue with Demo ID").is_visible()
        assert page.get_by_role("link", name="Continue without one").is_visible()
        page.get_by_role("link", name="Continue with Demo ID").click()

        page.wait_for_url(re.compile(re.escape(demo_id.url) + r"/authorize\?"))
        flow.check("demo-id-page")
        assert page.get_by_text("Demo ID — development only").is_visible()
        assert page.get_by_role("heading", name="Sign in with Demo ID").is_visible()
        email = page.get_by_label("Email")
        assert email.input_value().endswith("@example.com")
        page.get_by_label("First name").fill("Grace")
        page.get_by_label("Last name").fill("Hopper")
        email.fill("grace.hopper@example.com")
        if phone:
            email.press("Enter")  # Continue is the form's default button
        else:
            page.get_by_role("button", name="Continue").click()

        flow.wait_for("/connect/interests")
        flow.check("interests", "interests")
        flow.goto("/connect/details")
        flow.check("details", "details")
        assert flow.value("first_name") == "Grace"
        assert flow.value("last_name") == "Hopper"
        assert flow.value("email") == "grace.hopper@example.com"


def test_cancel_on_demo_id_returns_to_the_start_page(
    chromium: Browser, axe_source: str, demo_id_portal: tuple[LivePortal, DemoId]
) -> None:
    portal, demo_id = demo_id_portal
    with open_flow(chromium, portal, axe_source, "demo-id-cancel") as flow:
        page = flow.page
        flow.goto("/connect")
        page.get_by_role("link", name="Continue with Demo ID").click()
        page.wait_for_url(re.compile(re.escape(demo_id.url) + r"/authorize\?"))
        page.get_by_role("button", name="Cancel").click()
        flow.wait_for("/connect")
        flow.check("start-after-cancel", "start")
        assert page.get_by_role("alert").filter(has_text="Demo ID").is_visible()
