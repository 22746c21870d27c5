"""Replacing and deleting the resume on file from the dashboard, in a real browser.

Each run seeds Ana with a password and a resume whose long name has no spaces, logs in,
tries a refused upload, replaces the resume, then deletes it through the confirmation
page; at 375px with JavaScript (axe-core runs) and on a desktop without JavaScript.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from portal.resumes import UnsupportedFile, store_upload
from preferences.db import session_scope
from preferences.models import Candidate, Resume
from tests.browser.conftest import LivePortal
from tests.browser.flow import CORPUS, open_flow
from tests.browser.prefs_support import PASSWORD, log_in, seed_member, submit
from tests.resumes.support import ELF_HEADER

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

OLD_NAME = "Ana_Lima_Senior_Software_Engineer_Resume_2025_final_version_for_recruiters.txt"


def _seed_resume(portal: LivePortal, candidate_id: int) -> str:
    data = (CORPUS / "08_plain.txt").read_bytes()
    stored = store_upload(io.BytesIO(data), OLD_NAME, portal.settings.upload_dir, max_bytes=10**6)
    with session_scope(portal.sessions) as session:
        candidate = session.get_one(Candidate, candidate_id)
        candidate.resumes.append(
            Resume(
                storage_name=stored.storage_name,
                original_filename=stored.original_filename,
                content_type=stored.content_type,
                size_bytes=stored.size_bytes,
                sha256=stored.sha256,
            )
        )
    return stored.storage_name


def _stored(portal: LivePortal, candidate_id: int) -> list[tuple[str, str]]:
    with session_scope(portal.sessions) as session:
        return [
            (r.storage_name, r.original_filename)
            for r in session.scalars(select(Resume).where(Resume.candidate_id == candidate_id))
        ]


@pytest.mark.parametrize(
    ("phone", "javascript"), [(True, True), (False, False)], ids=["phone-js", "desktop-nojs"]
)
def test_replace_then_delete_the_resume_from_the_dashboard(
    chromium: Browser, portal: LivePortal, axe_source: str, phone: bool, javascript: bool
) -> None:
    """Refused upload, replacement and deletion, each page accessible and within the width."""
    member = seed_member(portal, password=PASSWORD)
    old = _seed_resume(portal, member.id)
    upload_dir = portal.settings.upload_dir
    run = f"resume-{'phone' if phone else 'desktop'}{'' if javascript else '-nojs'}"
    with open_flow(chromium, portal, axe_source, run, phone=phone, javascript=javascript) as flow:
        page = flow.page
        flow.goto("/login")
        log_in(flow, member.email, PASSWORD)
        card = page.get_by_role("region", name="Your resume")
        assert OLD_NAME in card.inner_text()
        flow.check("dashboard")

        page.get_by_label("Replace it with a new file").set_input_files(
            {"name": "resume.pdf", "mimeType": "application/pdf", "buffer": ELF_HEADER}
        )
        submit(flow, "Replace resume", status=400)
        assert page.title().startswith("Error: ")
        assert page.get_by_role("alert").inner_text() == UnsupportedFile.message
        field = page.get_by_label("Replace it with a new file")
        assert field.get_attribute("aria-invalid") == "true"
        flow.check("dashboard-refused")
        assert _stored(portal, member.id) == [(old, OLD_NAME)]
        assert sorted(p.name for p in upload_dir.iterdir()) == [old]

        field.set_input_files(str(CORPUS / "01_one_column.pdf"))
        submit(flow, "Replace resume", status=302)
        assert page.url == f"{portal.url}/dashboard#resume"
        assert "Your resume is replaced with 01_one_column.pdf." in (
            card.get_by_role("status").inner_text()
        )
        assert "01_one_column.pdf" in card.inner_text()
        flow.check("dashboard-replaced")
        [(new, name)] = _stored(portal, member.id)
        assert name == "01_one_column.pdf"
        assert sorted(p.name for p in upload_dir.iterdir()) == [new]

        card.get_by_role("link", name="Delete resume").click()
        flow.wait_for("/dashboard/resume/delete")
        assert page.get_by_role("heading", level=1).inner_text() == "Delete your resume?"
        flow.check("resume-delete")
        assert _stored(portal, member.id) == [(new, name)]
        submit(flow, "Delete resume", status=302)
        assert page.url == f"{portal.url}/dashboard#resume"
        assert card.get_by_role("status").inner_text() == "Your resume is deleted."
        assert "You have no resume on file." in card.inner_text()
        assert card.get_by_role("button", name="Upload resume").is_visible()
        flow.check("dashboard-deleted")

    assert _stored(portal, member.id) == []
    assert list(upload_dir.iterdir()) == []
