"""A job page invites visitors to join the talent community, never a signed-in member."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from jobs.models import JobPosting
from preferences.db import session_scope
from tests.browser.conftest import LivePortal
from tests.browser.flow import open_flow
from tests.browser.prefs_support import PASSWORD, log_in, seed_member

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser


def _open_job_path(portal: LivePortal) -> str:
    with session_scope(portal.sessions) as session:
        job_id = session.scalars(
            select(JobPosting.id).where(JobPosting.closed_at.is_(None)).order_by(JobPosting.id)
        ).first()
    assert job_id is not None
    return f"/jobs/{job_id}"


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_the_join_box_is_for_visitors_only(
    chromium: Browser, portal: LivePortal, axe_source: str, phone: bool
) -> None:
    """A visitor sees "Not the right fit?" with Connect With Us; once signed in, it is gone."""
    member = seed_member(portal, password=PASSWORD)
    path = _open_job_path(portal)
    with open_flow(chromium, portal, axe_source, "job-member", phone=phone) as flow:
        page = flow.page
        flow.goto(path)
        join = page.get_by_role("heading", name="Not the right fit?")
        assert join.is_visible()
        flow.check("job-visitor")

        flow.goto("/login")
        log_in(flow, member.email, PASSWORD)
        flow.goto(path)
        assert page.get_by_role("heading", level=1).is_visible()
        assert join.count() == 0
        assert (
            page.get_by_role("link", name="Apply").count()
            + page.locator(".job-detail .button-primary").count()
            >= 1
        )
        flow.check("job-member")
