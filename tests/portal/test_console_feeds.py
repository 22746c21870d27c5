"""Console pages for job feeds: admins only, CSRF, clear errors, rules, sync now, reports, and the
failing mark on the console home."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from jobs.feed_models import Feed, FeedRule, FeedSync, SyncStatus
from jobs.models import JobPosting
from portal.app import create_app
from portal.auth.recruiters import set_recruiter
from preferences.db import session_scope
from preferences.models import RecruiterRole
from tests.conftest import make_settings
from tests.portal.feed_server import (
    FeedServer,
    greenhouse_board,
    greenhouse_job,
    running_feed_server,
)
from tests.portal.helpers import RECRUITER_PASSWORD, add_interest, csrf_token, login

ADMIN = "ada@acme.example.com"
RECRUITER = "rita@acme.example.com"


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with running_feed_server() as running:
        yield running


@pytest.fixture
def feed_app(tmp_path: Path, database_url: str, server: FeedServer) -> Iterator[Flask]:
    settings = make_settings(
        tmp_path, database_url, FEED_ALLOWED_HOSTS=server.host, FEED_FETCH_SECONDS="2"
    )
    application = create_app(settings)
    application.config["TESTING"] = True
    yield application
    application.extensions["talentconnect"].engine.dispose()


@pytest.fixture
def accounts(sessions: sessionmaker[Session]) -> None:
    with session_scope(sessions) as session:
        set_recruiter(session, ADMIN, password=RECRUITER_PASSWORD, role=RecruiterRole.ADMIN)
        set_recruiter(session, RECRUITER, password=RECRUITER_PASSWORD)


@pytest.fixture
def admin(feed_app: Flask, accounts: None) -> FlaskClient:
    client = feed_app.test_client()
    assert login(client, ADMIN, RECRUITER_PASSWORD).status_code == 302
    return client


def _post(client: FlaskClient, page_path: str, action: str, data: dict[str, Any]) -> Any:
    page = client.get(page_path)
    assert page.status_code == 200, page.text
    return client.post(action, data={**data, "csrf_token": csrf_token(page.text)})


def _feeds(sessions: sessionmaker[Session]) -> list[tuple[str, str, str, int, bool]]:
    with session_scope(sessions) as session:
        return [
            (f.name, f.kind.value, f.url, f.interval_minutes, f.enabled)
            for f in session.scalars(select(Feed).order_by(Feed.id))
        ]


def _add(client: FlaskClient, **fields: str) -> Any:
    data = {
        "name": "gh",
        "kind": "greenhouse",
        "url": "",
        "interval_minutes": "60",
        "enabled": "on",
    }
    data.update(fields)
    return _post(client, "/admin/feeds/new", "/admin/feeds/new", data)


def test_feed_pages_are_for_admins(feed_app: Flask, accounts: None) -> None:
    """Visitors go to the login page; a recruiter who is not an admin gets 403 and no link."""
    client = feed_app.test_client()
    for path in ("/admin/feeds/", "/admin/feeds/new", "/admin/feeds/1"):
        response = client.get(path)
        assert response.status_code == 302
        assert "/admin/login" in response.headers["Location"]
    assert client.post("/admin/feeds/1/sync").status_code in (302, 400)
    assert login(client, RECRUITER, RECRUITER_PASSWORD).status_code == 302
    assert client.get("/admin/feeds/").status_code == 403
    home = client.get("/admin/")
    assert "/admin/feeds/" not in home.text


def test_the_section_is_in_the_console_nav_and_home(admin: FlaskClient) -> None:
    """Admins find Feeds in the section bar and among the home page's sections."""
    home = admin.get("/admin/")
    assert home.text.count('href="/admin/feeds/"') == 2
    page = admin.get("/admin/feeds/")
    assert re.search(r'<a href="/admin/feeds/" aria-current="page">Feeds</a>', page.text)
    assert "No feeds yet" in page.text


def test_add_sync_and_read_the_report(
    admin: FlaskClient, server: FeedServer, sessions: sessionmaker[Session]
) -> None:
    """A feed added in the console syncs on demand; the report page shows what happened."""
    job = greenhouse_job(2, "")
    url = server.serve("/jobs", greenhouse_board(greenhouse_job(1, "SRE"), job))
    added = _add(admin, url=url)
    assert added.status_code == 302
    assert _feeds(sessions) == [("gh", "greenhouse", url, 60, True)]
    feed_page = added.headers["Location"]
    page = admin.get(feed_page)
    assert "Feed gh added" in page.text and "Not synced yet" in page.text
    synced = _post(admin, feed_page, f"{feed_page}/sync", {})
    assert synced.status_code == 302
    report = admin.get(synced.headers["Location"])
    assert report.status_code == 200
    assert re.search(r"Created</span><strong class=\"stat-value\">1<", report.text)
    assert "id 2" in report.text and "title: is required" in report.text
    with session_scope(sessions) as session:
        assert session.scalar(select(func.count()).select_from(JobPosting)) == 1
    listing = admin.get("/admin/feeds/")
    assert "Synced" in listing.text


def test_bad_input_is_explained_and_nothing_is_stored(
    admin: FlaskClient, server: FeedServer, sessions: sessionmaker[Session]
) -> None:
    """Each bad field is named in a summary and next to the field; the typed values stay."""
    response = _add(
        admin,
        name="Not A Slug",
        kind="workday",
        url="ftp://files.example.com/x",
        interval_minutes="2",
    )
    assert response.status_code == 400
    text = response.text
    assert 'role="alert"' in text and "Please fix these 4 things" in text
    assert "Enter a name of 1 to 40 lowercase letters" in text
    assert "Choose the kind of feed" in text
    assert "the URL must start with https://" in text
    assert "from 5 to 10080" in text
    assert 'value="ftp://files.example.com/x"' in text
    assert 'aria-invalid="true" aria-describedby="hint-url error-url"' in text
    private = _add(admin, url="https://10.0.0.1/jobs")
    assert private.status_code == 302, "a private address is refused when fetched, not typed"
    plain = _add(admin, name="other", url="http://ats.example.com/jobs")
    assert plain.status_code == 400
    assert "http:// is only for hosts in TALENTCONNECT_FEED_ALLOWED_HOSTS" in plain.text
    assert [f[0] for f in _feeds(sessions)] == ["gh"]


def test_missing_csrf_token_is_refused(
    admin: FlaskClient, server: FeedServer, sessions: sessionmaker[Session]
) -> None:
    """Every form of the section needs its CSRF token."""
    url = server.serve("/jobs", greenhouse_board(greenhouse_job(1, "SRE")))
    _add(admin, url=url)
    feed_id = _feeds_ids(sessions)[0]
    for path, data in (
        ("/admin/feeds/new", {"name": "x", "kind": "lever", "url": url}),
        (f"/admin/feeds/{feed_id}", {"kind": "lever", "url": url, "interval_minutes": "5"}),
        (f"/admin/feeds/{feed_id}/sync", {}),
        (f"/admin/feeds/{feed_id}/rules", {"rule_field": "keyword", "rule_value": "x"}),
    ):
        assert admin.post(path, data=data).status_code == 400, path
    assert [f[0] for f in _feeds(sessions)] == ["gh"]
    with session_scope(sessions) as session:
        assert session.scalar(select(func.count()).select_from(FeedSync)) == 0


def _feeds_ids(sessions: sessionmaker[Session]) -> list[int]:
    with session_scope(sessions) as session:
        return list(session.scalars(select(Feed.id).order_by(Feed.id)))


def test_edit_the_feed_and_keep_it_on_bad_input(
    admin: FlaskClient, server: FeedServer, sessions: sessionmaker[Session]
) -> None:
    """Saving changes kind, URL, interval and pause; a bad value changes nothing."""
    url = server.serve("/jobs", greenhouse_board())
    _add(admin, url=url)
    feed_id = _feeds_ids(sessions)[0]
    path = f"/admin/feeds/{feed_id}"
    bad = _post(admin, path, path, {"kind": "lever", "url": "", "interval_minutes": "abc"})
    assert bad.status_code == 400
    assert "Enter the URL of the feed" in bad.text and "whole minutes" in bad.text
    assert _feeds(sessions) == [("gh", "greenhouse", url, 60, True)]
    saved = _post(
        admin, path, path, {"kind": "json", "url": url + ".json", "interval_minutes": "15"}
    )
    assert saved.status_code == 302
    assert _feeds(sessions) == [("gh", "json", url + ".json", 15, False)]


def test_rules_are_added_and_removed_and_applied(
    admin: FlaskClient, server: FeedServer, sessions: sessionmaker[Session]
) -> None:
    """A rule added in the console gives the next sync's postings its interest."""
    with session_scope(sessions) as session:
        interest_id = add_interest(session, "Software Engineering", slug="software").id
    url = server.serve("/jobs", greenhouse_board(greenhouse_job(1, "SRE")))
    _add(admin, url=url)
    feed_id = _feeds_ids(sessions)[0]
    path = f"/admin/feeds/{feed_id}"
    bad = _post(
        admin,
        path,
        f"{path}/rules",
        {"rule_field": "department", "rule_value": "", "rule_interest": ""},
    )
    assert bad.status_code == 400
    assert "Enter the department, team or keyword" in bad.text
    assert "Choose the interest these postings get" in bad.text
    added = _post(
        admin,
        path,
        f"{path}/rules",
        {
            "rule_field": "department",
            "rule_value": "Engineering",
            "rule_interest": str(interest_id),
        },
    )
    assert added.status_code == 302
    page = admin.get(path)
    assert "Department is “Engineering” → Software Engineering" in page.text
    _post(admin, path, f"{path}/sync", {})
    with session_scope(sessions) as session:
        job = session.scalars(select(JobPosting)).one()
        assert [i.slug for i in job.interests] == ["software"]
        rule_id = session.scalars(select(FeedRule.id)).one()
    assert 'data-confirm="Remove the rule Department is “Engineering” → Software Engineering?' in (
        admin.get(path).text
    )
    delete = f"{path}/rules/{rule_id}/delete"
    asked = _post(admin, path, delete, {})
    assert asked.status_code == 200
    said = unescape(asked.text)
    assert "Remove this interest rule?" in said and "Nothing has changed yet." in said
    assert "Department is “Engineering” → Software Engineering" in said
    assert "the feed's postings lose Software Engineering" in said
    unticked = _post(admin, path, delete, {"step": "confirm"})
    assert unticked.status_code == 400
    assert "Tick the box to confirm. Nothing has been removed." in unticked.text
    no_token = admin.post(delete, data={"step": "confirm", "confirm": "yes"})
    assert no_token.status_code == 400
    with session_scope(sessions) as session:
        assert session.scalars(select(FeedRule.id)).all() == [rule_id]
    removed = _post(admin, path, delete, {"step": "confirm", "confirm": "yes"})
    assert removed.status_code == 302
    assert (
        admin.post(
            f"{path}/rules/{rule_id}/delete", data={"csrf_token": csrf_token(admin.get(path).text)}
        ).status_code
        == 404
    )
    _post(admin, path, f"{path}/sync", {})
    with session_scope(sessions) as session:
        assert session.scalars(select(JobPosting)).one().interests == []


def test_a_failing_feed_shows_on_the_home_page(
    admin: FlaskClient, server: FeedServer, sessions: sessionmaker[Session]
) -> None:
    """Three failed syncs in a row put the feed on the console home; a success clears it."""
    _add(admin, url=server.url("/missing"))
    feed_id = _feeds_ids(sessions)[0]
    path = f"/admin/feeds/{feed_id}"
    for _ in range(2):
        _post(admin, path, f"{path}/sync", {})
    assert "data-failing-feeds" not in admin.get("/admin/").text
    report = admin.get(_post(admin, path, f"{path}/sync", {}).headers["Location"])
    assert "The sync failed: the server answered HTTP 404" in report.text
    home = admin.get("/admin/")
    assert "data-failing-feeds" in home.text and ">gh</a>" in home.text
    assert "Failing" in admin.get("/admin/feeds/").text
    server.serve("/missing", greenhouse_board())
    _post(admin, path, f"{path}/sync", {})
    assert "data-failing-feeds" not in admin.get("/admin/").text
    with session_scope(sessions) as session:
        statuses = session.scalars(select(FeedSync.status).order_by(FeedSync.id)).all()
    assert statuses == [SyncStatus.FAILED] * 3 + [SyncStatus.OK]


def test_unknown_ids_are_404(admin: FlaskClient) -> None:
    """Pages of a feed or sync that doesn't exist are not found."""
    assert admin.get("/admin/feeds/999").status_code == 404
    assert admin.get("/admin/feeds/999/syncs/1").status_code == 404
