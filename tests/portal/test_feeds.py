"""Syncing job feeds from a real loopback HTTP server into postings, on both backends."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from jobs.feed_models import Feed, FeedKind, FeedPosting, FeedSync, RuleField, SyncStatus
from jobs.models import JobPosting
from jobs.posting_fields import EmploymentType, Workplace
from portal.console.feed_fetch import FetchPolicy
from portal.console.feeds import (
    FeedInput,
    InvalidFeed,
    add_rule,
    create_feed,
    due_feed_ids,
    failing_feed_names,
    sync_due_feeds,
    sync_feed,
)
from preferences.clock import now
from preferences.db import session_scope
from preferences.models import InterestStatus
from tests.portal.feed_server import (
    FeedServer,
    greenhouse_board,
    greenhouse_job,
    lever_posting,
    running_feed_server,
)
from tests.portal.helpers import add_interest, add_job


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with running_feed_server() as running:
        yield running


@pytest.fixture
def policy(server: FeedServer) -> FetchPolicy:
    return FetchPolicy(allowed_hosts=(server.host,), max_bytes=256 * 1024, timeout=2.0)


def _feed(session: Session, name: str, kind: str, url: str, policy: FetchPolicy) -> Feed:
    return create_feed(session, FeedInput(name=name, kind=kind, url=url), policy)


def _job(session: Session, reference: str) -> JobPosting:
    job = session.scalar(select(JobPosting).where(JobPosting.reference == reference))
    assert job is not None, reference
    return job


def _counts(record: FeedSync) -> tuple[int, int, int, int]:
    return record.created, record.updated, record.closed, record.unchanged


def test_greenhouse_sync_creates_postings_with_our_fields(
    db_session: Session, server: FeedServer, policy: FetchPolicy
) -> None:
    """A Greenhouse board becomes postings: title, place, apply URL, department, Markdown text."""
    content = (
        "<h2>About</h2><p>We build <strong>tools</strong> &amp; more.</p>"
        "<ul><li>Python</li><li>SQL</li></ul><script>alert(1)</script>"
        '<p><a href="https://acme.example.com/team">Meet us</a> '
        '<a href="javascript:alert(1)">bad</a></p>'
    )
    url = server.serve(
        "/v1/boards/acme/jobs",
        greenhouse_board(
            greenhouse_job(101, "Backend Engineer", content_html=content),
            greenhouse_job(102, "Support Lead", location="Remote - Europe", departments=()),
        ),
    )
    feed = _feed(db_session, "gh", "greenhouse", url + "?content=true", policy)
    record = sync_feed(db_session, feed, policy)
    assert record.status is SyncStatus.OK, record.error
    assert _counts(record) == (2, 0, 0, 0)
    assert record.rejected == []
    job = _job(db_session, "gh-101")
    assert job.title == "Backend Engineer"
    assert job.location == "Berlin, Germany"
    assert job.apply_url == "https://boards.greenhouse.io/acme/jobs/101"
    assert job.department == "Engineering"
    assert job.posted_at.isoformat() == "2026-11-20T15:02:33+00:00"
    assert job.description == (
        "**About**\n\nWe build **tools** & more.\n\n- Python\n- SQL\n\n"
        "[Meet us](https://acme.example.com/team) bad"
    )
    remote = _job(db_session, "gh-102")
    assert remote.workplace is Workplace.REMOTE
    assert remote.department == ""
    links = db_session.scalars(select(FeedPosting.external_id).order_by(FeedPosting.id)).all()
    assert links == ["101", "102"]
    assert server.requests[0][0] == "/v1/boards/acme/jobs?content=true"


def test_resync_of_an_unchanged_feed_writes_nothing(
    db_session: Session, server: FeedServer, policy: FetchPolicy
) -> None:
    """Without validators the second sync reads the same rows and changes no posting."""
    url = server.serve("/jobs", greenhouse_board(greenhouse_job(1, "A"), greenhouse_job(2, "B")))
    feed = _feed(db_session, "gh", "greenhouse", url, policy)
    sync_feed(db_session, feed, policy)
    before = {j.reference: j.updated_at for j in db_session.scalars(select(JobPosting))}
    record = sync_feed(db_session, feed, policy)
    assert _counts(record) == (0, 0, 0, 2)
    after = {j.reference: j.updated_at for j in db_session.scalars(select(JobPosting))}
    assert after == before
    assert db_session.scalar(select(func.count()).select_from(JobPosting)) == 2


def test_etag_and_last_modified_make_an_unchanged_feed_a_304(
    db_session: Session, server: FeedServer, policy: FetchPolicy
) -> None:
    """The stored validators are sent back; a 304 records a sync and touches no posting."""
    url = server.serve(
        "/jobs",
        greenhouse_board(greenhouse_job(1, "A")),
        etag='"v1"',
        last_modified="Tue, 01 Dec 2026 10:00:00 GMT",
    )
    feed = _feed(db_session, "gh", "greenhouse", url, policy)
    first = sync_feed(db_session, feed, policy)
    assert first.created == 1
    assert feed.etag == '"v1"'
    second = sync_feed(db_session, feed, policy)
    assert second.status is SyncStatus.NOT_MODIFIED
    assert _counts(second) == (0, 0, 0, 0)
    headers = server.requests[-1][1]
    assert headers["If-None-Match"] == '"v1"'
    assert headers["If-Modified-Since"] == "Tue, 01 Dec 2026 10:00:00 GMT"
    assert "If-None-Match" not in server.requests[0][1]


def test_sync_updates_closes_and_reopens(
    db_session: Session, server: FeedServer, policy: FetchPolicy
) -> None:
    """A changed job updates, a job gone from the feed closes, and it reopens when it returns."""
    path = "/jobs"
    url = server.serve(path, greenhouse_board(greenhouse_job(1, "A"), greenhouse_job(2, "B")))
    feed = _feed(db_session, "gh", "greenhouse", url, policy)
    sync_feed(db_session, feed, policy)
    server.serve(path, greenhouse_board(greenhouse_job(1, "A, senior")))
    record = sync_feed(db_session, feed, policy)
    assert _counts(record) == (0, 1, 1, 0)
    assert _job(db_session, "gh-1").title == "A, senior"
    assert _job(db_session, "gh-2").closed_at is not None
    again = sync_feed(db_session, feed, policy)
    assert _counts(again) == (0, 0, 0, 1), "a closed posting is closed once"
    server.serve(path, greenhouse_board(greenhouse_job(1, "A, senior"), greenhouse_job(2, "B")))
    back = sync_feed(db_session, feed, policy)
    assert _counts(back) == (0, 1, 0, 1)
    assert _job(db_session, "gh-2").closed_at is None
    assert db_session.scalar(select(func.count()).select_from(JobPosting)) == 2


def test_a_recruiters_close_stands_when_the_job_returns(
    db_session: Session, server: FeedServer, policy: FetchPolicy
) -> None:
    """Only a close the feed made is undone by the job coming back."""
    url = server.serve("/jobs", greenhouse_board(greenhouse_job(1, "A")))
    feed = _feed(db_session, "gh", "greenhouse", url, policy)
    sync_feed(db_session, feed, policy)
    job = _job(db_session, "gh-1")
    job.closed_at = now() - timedelta(minutes=5)
    server.serve("/jobs", greenhouse_board())
    assert sync_feed(db_session, feed, policy).closed == 0
    server.serve("/jobs", greenhouse_board(greenhouse_job(1, "A")))
    sync_feed(db_session, feed, policy)
    assert _job(db_session, "gh-1").closed_at is not None


def test_lever_fields_map_to_ours(
    db_session: Session, server: FeedServer, policy: FetchPolicy
) -> None:
    """Lever's commitment, workplace type, team, creation time and apply URL are mapped."""
    url = server.serve(
        "/v0/postings/acme",
        [
            lever_posting("5ac21346-8e0c-4494-8e7a-3eb92ff77902", "Data Engineer"),
            lever_posting(
                "b7f9", "Intern, Design", commitment="Intern", workplace="Remote", team="Design"
            ),
            lever_posting("c1", "Odd", commitment="Whenever", workplace="unspecified"),
        ],
    )
    feed = _feed(db_session, "lever", "lever", url + "?mode=json", policy)
    record = sync_feed(db_session, feed, policy)
    assert _counts(record) == (3, 0, 0, 0), record.rejected
    job = _job(db_session, "lever-5ac21346-8e0c-4494-8e7a-3eb92ff77902")
    assert job.title == "Data Engineer"
    assert job.location == "London"
    assert job.employment_type is EmploymentType.FULL_TIME
    assert job.workplace is Workplace.HYBRID
    assert job.department == "Engineering"
    assert job.apply_url.endswith("/5ac21346-8e0c-4494-8e7a-3eb92ff77902/apply")
    assert job.posted_at.isoformat() == "2025-11-24T16:00:00+00:00"
    assert job.description == (
        "We are hiring.\n\nJoin us.\n\n**What you'll do**\n\n- Ship features\n- Pair daily"
        "\n\nBenefits."
    )
    intern = _job(db_session, "lever-b7f9")
    assert (intern.employment_type, intern.workplace) == (
        EmploymentType.INTERNSHIP,
        Workplace.REMOTE,
    )
    odd = _job(db_session, "lever-c1")
    assert (odd.employment_type, odd.workplace) == (None, None)


def test_bad_rows_are_reported_and_the_rest_synced(
    db_session: Session, server: FeedServer, policy: FetchPolicy
) -> None:
    """A row that breaks a rule is in the report with its reason; the others are stored."""
    bad_url = lever_posting("l2", "Insecure")
    bad_url["applyUrl"] = "http://jobs.example.com/apply"
    bad_url["hostedUrl"] = None
    no_title = lever_posting("l3", "")
    url = server.serve("/lever", [lever_posting("l1", "Good"), bad_url, no_title, "junk"])
    feed = _feed(db_session, "lv", "lever", url, policy)
    record = sync_feed(db_session, feed, policy)
    assert record.status is SyncStatus.OK
    assert record.created == 1
    assert record.rejected == [
        ["id l2", "apply_url: 'http://jobs.example.com/apply' is not an https:// URL"],
        ["id l3", "title: is required"],
        ["posting 4", "is not an object"],
    ]
    assert _job(db_session, "lv-l1").title == "Good"


def test_json_and_csv_feeds_use_the_import_format(
    db_session: Session, server: FeedServer, policy: FetchPolicy
) -> None:
    """Our own JSON and CSV formats at a URL sync like the import, bad rows reported by line."""
    add_interest(db_session, "Design")
    json_url = server.serve(
        "/jobs.json",
        [
            {
                "reference": "J1",
                "title": "Designer",
                "apply_url": "https://acme.example.com/j1",
                "interests": ["design"],
                "workplace": "remote",
            },
            {"reference": "J2", "title": "No URL"},
        ],
    )
    csv_url = server.serve(
        "/jobs.csv",
        "reference,title,apply_url,employment_type\r\n"
        "C1,Writer,https://acme.example.com/c1,part_time\r\n"
        "C2,Editor,https://acme.example.com/c2,sometimes\r\n",
        content_type="text/csv",
    )
    json_feed = _feed(db_session, "site-json", "json", json_url, policy)
    csv_feed = _feed(db_session, "site-csv", "csv", csv_url, policy)
    json_record = sync_feed(db_session, json_feed, policy)
    assert json_record.created == 1
    assert json_record.rejected == [["line 1, reference J2", "apply_url: is required"]]
    designer = _job(db_session, "site-json-J1")
    assert [i.slug for i in designer.interests] == ["design"]
    assert designer.workplace is Workplace.REMOTE
    csv_record = sync_feed(db_session, csv_feed, policy)
    assert csv_record.created == 1
    assert len(csv_record.rejected) == 1
    assert csv_record.rejected[0][0] == "line 3, reference C2"
    assert csv_record.rejected[0][1].startswith("employment_type:")
    assert _job(db_session, "site-csv-C1").employment_type is EmploymentType.PART_TIME


def test_an_empty_feed_closes_everything_it_brought(
    db_session: Session, server: FeedServer, policy: FetchPolicy
) -> None:
    """An empty list is a feed without jobs, not an error."""
    url = server.serve(
        "/jobs.json", [{"reference": "J1", "title": "A", "apply_url": "https://a.example.com/"}]
    )
    feed = _feed(db_session, "site", "json", url, policy)
    sync_feed(db_session, feed, policy)
    server.serve("/jobs.json", [])
    record = sync_feed(db_session, feed, policy)
    assert (record.status, record.closed) == (SyncStatus.OK, 1)


def test_rules_give_interests_on_every_sync(
    db_session: Session, server: FeedServer, policy: FetchPolicy
) -> None:
    """Department, team and keyword rules add interests; a rule added later applies next sync."""
    engineering = add_interest(db_session, "Software Engineering", slug="software")
    data = add_interest(db_session, "Data")
    design = add_interest(db_session, "Design")
    url = server.serve(
        "/jobs",
        greenhouse_board(
            greenhouse_job(1, "Backend Engineer", departments=("Engineering", "Platform")),
            greenhouse_job(
                2, "Analyst", departments=("Finance",), content_html="<p>Lots of SQL and data.</p>"
            ),
            greenhouse_job(3, "Designer", departments=("Product",)),
        ),
    )
    feed = _feed(db_session, "gh", "greenhouse", url, policy)
    add_rule(db_session, feed.id, "department", "engineering", str(engineering.id))
    add_rule(db_session, feed.id, "team", "Platform", str(data.id))
    add_rule(db_session, feed.id, "keyword", "data", str(data.id))
    record = sync_feed(db_session, feed, policy)
    assert record.created == 3
    assert [i.slug for i in _job(db_session, "gh-1").interests] == ["software", "data"]
    assert [i.slug for i in _job(db_session, "gh-2").interests] == ["data"]
    assert _job(db_session, "gh-3").interests == []
    add_rule(db_session, feed.id, "department", "Product", str(design.id))
    later = sync_feed(db_session, feed, policy)
    assert _counts(later) == (0, 1, 0, 2)
    assert [i.slug for i in _job(db_session, "gh-3").interests] == ["design"]
    # A rule's interest retired later is left out, not a reason to reject the row.
    design.status = InterestStatus.RETIRED
    db_session.flush()
    assert sync_feed(db_session, feed, policy).rejected == []
    assert _job(db_session, "gh-3").interests == []


def test_rules_refuse_bad_input(
    db_session: Session, server: FeedServer, policy: FetchPolicy
) -> None:
    """A rule needs a known field, a value and an active interest, and is not repeated."""
    retired = add_interest(db_session, "Old", status=InterestStatus.RETIRED)
    active = add_interest(db_session, "Data")
    feed = _feed(db_session, "gh", "greenhouse", server.url("/x"), policy)
    with pytest.raises(InvalidFeed) as caught:
        add_rule(db_session, feed.id, "salary", "  ", str(retired.id))
    assert set(caught.value.errors) == {"rule_field", "rule_value", "rule_interest"}
    add_rule(db_session, feed.id, RuleField.KEYWORD.value, "data", str(active.id))
    with pytest.raises(InvalidFeed) as repeated:
        add_rule(db_session, feed.id, "keyword", "DATA", str(active.id))
    assert repeated.value.errors == {"rule_value": "This feed already has that rule."}


def test_a_reference_used_outside_the_feed_is_rejected(
    db_session: Session, server: FeedServer, policy: FetchPolicy
) -> None:
    """A feed never takes over a posting typed in the console with the same reference."""
    add_job(db_session, "Typed by hand", reference="gh-1")
    url = server.serve("/jobs", greenhouse_board(greenhouse_job(1, "From the feed")))
    feed = _feed(db_session, "gh", "greenhouse", url, policy)
    record = sync_feed(db_session, feed, policy)
    assert record.created == 0
    assert record.rejected == [["id 1", "reference 'gh-1' belongs to a posting not from this feed"]]
    assert _job(db_session, "gh-1").title == "Typed by hand"


def test_feed_urls_are_checked_when_saved(db_session: Session, policy: FetchPolicy) -> None:
    """Names are slugs and unique, URLs https:// (http:// only for allowed hosts)."""
    with pytest.raises(InvalidFeed) as caught:
        create_feed(
            db_session,
            FeedInput(name="Bad Name!", kind="workday", url="ftp://x", interval_minutes="0"),
            policy,
        )
    assert set(caught.value.errors) == {"name", "kind", "url", "interval_minutes"}
    with pytest.raises(InvalidFeed) as plain:
        create_feed(
            db_session, FeedInput(name="ok", kind="lever", url="http://ats.example.com/x"), policy
        )
    assert (
        "http:// is only for hosts in TALENTCONNECT_FEED_ALLOWED_HOSTS" in plain.value.errors["url"]
    )
    create_feed(
        db_session,
        FeedInput(name="ok", kind="lever", url="https://api.lever.co/v0/postings/acme"),
        policy,
    )
    with pytest.raises(InvalidFeed) as again:
        create_feed(
            db_session, FeedInput(name="OK", kind="lever", url="https://x.example.com/"), policy
        )
    assert set(again.value.errors) == {"name"}


def test_a_private_host_not_allowed_is_refused(
    db_session: Session, server: FeedServer, policy: FetchPolicy
) -> None:
    """SSRF guard: loopback over https without being allowed fails before any request."""
    url = server.serve("/jobs", greenhouse_board(greenhouse_job(1, "A")))
    feed = _feed(db_session, "gh", "greenhouse", url, policy)
    feed.url = f"https://127.0.0.1:{server.port}/jobs"
    strict = FetchPolicy(allowed_hosts=(), max_bytes=policy.max_bytes, timeout=policy.timeout)
    record = sync_feed(db_session, feed, strict)
    assert record.status is SyncStatus.FAILED
    assert "127.0.0.1 is a private or loopback address" in record.error
    feed.url = url  # http:// to a host no longer allowed
    assert "http:// is only for hosts" in sync_feed(db_session, feed, strict).error
    assert server.requests == []
    assert feed.consecutive_failures == 2


def test_redirects_are_followed_and_checked_like_the_first_url(
    db_session: Session, server: FeedServer, policy: FetchPolicy
) -> None:
    """A redirect on the allowed host is followed; one to another private host is refused."""
    target = server.serve("/v2/jobs", greenhouse_board(greenhouse_job(1, "A")))
    moved = server.serve("/jobs", b"", status=301, headers={"Location": "/v2/jobs"})
    feed = _feed(db_session, "gh", "greenhouse", moved, policy)
    assert sync_feed(db_session, feed, policy).created == 1
    assert [path for path, _headers in server.requests] == ["/jobs", "/v2/jobs"]
    elsewhere = target.replace("127.0.0.1", "localhost")
    server.serve("/jobs", b"", status=302, headers={"Location": elsewhere})
    record = sync_feed(db_session, feed, policy)
    assert record.status is SyncStatus.FAILED
    assert "http:// is only for hosts in TALENTCONNECT_FEED_ALLOWED_HOSTS" in record.error
    secure_elsewhere = elsewhere.replace("http://", "https://")
    server.serve("/jobs", b"", status=302, headers={"Location": secure_elsewhere})
    refused = sync_feed(db_session, feed, policy)
    assert "localhost is a private or loopback address" in refused.error
    assert len(server.requests) == 4


def test_oversize_and_slow_feeds_fail_and_three_failures_mark_it_failing(
    db_session: Session,
    server: FeedServer,
    policy: FetchPolicy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Too large, too slow and not JSON each fail; the third in a row logs a warning."""
    big = greenhouse_board(
        *(greenhouse_job(n, "x" * 100, content_html="y" * 2000) for n in range(200))
    )
    url = server.serve("/big", big)
    feed = _feed(db_session, "gh", "greenhouse", url, policy)
    first = sync_feed(db_session, feed, policy)
    assert first.status is SyncStatus.FAILED
    assert first.error == f"the feed is larger than {policy.max_bytes:,} bytes"
    server.serve("/big", greenhouse_board(), delay=1.0)
    quick = FetchPolicy(allowed_hosts=policy.allowed_hosts, max_bytes=policy.max_bytes, timeout=0.3)
    second = sync_feed(db_session, feed, quick)
    assert second.error == "timed out after 0.3 s"
    assert failing_feed_names(db_session) == []
    server.serve("/big", "<html>not json</html>", content_type="text/html")
    with caplog.at_level(logging.WARNING, logger="portal.console.feeds"):
        third = sync_feed(db_session, feed, policy)
    assert third.error == "the feed is not valid JSON (JSONDecodeError)"
    assert feed.consecutive_failures == 3
    assert failing_feed_names(db_session) == ["gh"]
    warning = [r for r in caplog.records if r.getMessage() == "feed failing"]
    assert len(warning) == 1
    assert warning[0].__dict__["feed"] == "gh"
    assert warning[0].__dict__["failures"] == 3
    assert db_session.scalar(select(func.count()).select_from(JobPosting)) == 0
    server.serve("/big", greenhouse_board(greenhouse_job(1, "A")))
    assert sync_feed(db_session, feed, policy).status is SyncStatus.OK
    assert failing_feed_names(db_session) == []


def test_http_errors_fail_the_sync(
    db_session: Session, server: FeedServer, policy: FetchPolicy
) -> None:
    """A 404 or 500 is a failed sync that names the status."""
    feed = _feed(db_session, "gh", "greenhouse", server.url("/missing"), policy)
    assert sync_feed(db_session, feed, policy).error == "the server answered HTTP 404"


def test_the_scheduler_syncs_enabled_feeds_when_due(
    sessions: sessionmaker[Session], server: FeedServer, policy: FetchPolicy
) -> None:
    """Due: enabled and never synced, or the interval has passed since the last sync."""
    url = server.serve("/jobs", greenhouse_board(greenhouse_job(1, "A")))
    with session_scope(sessions) as session:
        _feed(session, "on", "greenhouse", url, policy)
        off = _feed(session, "off", "greenhouse", url, policy)
        off.enabled = False
    records = sync_due_feeds(sessions, policy)
    assert [r.status for r in records] == [SyncStatus.OK]
    with session_scope(sessions) as session:
        assert due_feed_ids(session) == []
        feed = session.scalars(select(Feed).where(Feed.name == "on")).one()
        assert feed.kind is FeedKind.GREENHOUSE
        feed.last_synced_at = now() - timedelta(minutes=61)
        assert due_feed_ids(session) == [feed.id]
    assert len(sync_due_feeds(sessions, policy)) == 1
