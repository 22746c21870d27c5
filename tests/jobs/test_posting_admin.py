"""The posting rules every way in shares (`jobs.posting_admin`): stored text, URLs and times."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jobs.models import JobPosting
from jobs.posting_admin import (
    REQUIRED,
    TOO_LONG,
    UNSTORABLE,
    PostingDraft,
    PostingRejected,
    check_text,
    is_apply_url,
    parse_time,
    save_posting,
)
from preferences.clock import FrozenClock, TimeOutOfRange
from preferences.models import Interest
from preferences.text import TextKind


def draft(**values: str) -> PostingDraft:
    fields = {
        "reference": "R-1",
        "title": "Data Engineer",
        "description": "Build pipelines.",
        "location": "Lisbon",
        "apply_url": "https://jobs.example.com/r-1",
        "posted_at": "",
    }
    fields.update(values)
    return PostingDraft(**fields, interest_ids=())


def test_check_text_cleans_then_checks_presence_and_length() -> None:
    """A field is cleaned by the text rule before it is checked; a refusal names the character."""
    assert check_text("  Data\tEngineer \n", 20, required=True).value == "Data Engineer"
    assert check_text(" \t\n ", 20, required=True).problem == REQUIRED
    assert check_text("x" * 21, 20, required=False).problem == TOO_LONG
    refused = check_text("Data\x00Engineer", 20, required=True)
    assert refused.problem == UNSTORABLE
    assert refused.unstorable is not None and refused.unstorable.code_point == "U+0000"
    assert refused.value == "DataEngineer"
    assert check_text("a\r\nb", 20, required=True, kind=TextKind.TEXT).value == "a\nb"


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://jobs.example.com/apply/1", True),
        ("https://[::1]/apply", True),
        ("https://例え.テスト/応募", True),
        ("https://[::1/", False),
        ("https://[zz]/", False),
        ("https://jobs.example.com:99999/", False),
        ("https://jobs.example.com:-1/", False),
        ("https://exa mple.com/", False),
        ("https://", False),
        ("http://jobs.example.com/", False),
        ("javascript:alert(1)", False),
    ],
)
def test_apply_urls_are_parsed_defensively(url: str, ok: bool) -> None:
    """A broken IPv6 literal or a port out of range is simply not an apply URL."""
    assert is_apply_url(url) is ok


@pytest.mark.parametrize(
    "value",
    ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "9999-12-31", "1969-12-31T23:59Z"],
)
def test_posted_at_out_of_range_is_time_out_of_range(value: str) -> None:
    """Times that overflow UTC or fall outside 1970 to 2099 raise TimeOutOfRange (a ValueError)."""
    with pytest.raises(TimeOutOfRange):
        parse_time(value)
    assert parse_time("2026-11-30T10:00+01:00") == datetime(2026, 11, 30, 9, tzinfo=UTC)


def test_save_posting_refuses_nul_and_far_dates_and_stores_nothing(
    db_session: Session, clock: FrozenClock, interests: dict[str, Interest]
) -> None:
    """NUL in a description (which PostgreSQL would refuse) and a year-9999 time are field
    errors before anything is written; a tab in the title is stored as a space."""
    with pytest.raises(PostingRejected) as info:
        save_posting(
            db_session,
            draft(description="Build\x00 pipelines.", posted_at="9999-12-31T23:59:59-23:59"),
        )
    assert set(info.value.errors) == {"description", "posted_at"}
    assert "U+0000" in info.value.errors["description"]
    assert db_session.scalar(select(func.count()).select_from(JobPosting)) == 0
    job = save_posting(db_session, draft(title="Data\tEngineer", description="One\r\nTwo"))
    assert (job.title, job.description) == ("Data Engineer", "One\nTwo")
