"""The console's shell and home: its own header, the section bar, and live figures.

The figures come from one COUNT query each (the next run reads the enabled schedules).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker

from portal.auth.recruiters import set_recruiter
from portal.config import Settings
from portal.console.overview import console_overview, time_until
from preferences.clock import now
from preferences.db import session_scope
from preferences.models import RecruiterRole
from tests.console_data import seed_console_data
from tests.portal.helpers import login

ADMIN = ("ada@acme.example.com", "an admin's long password")


def _current_section(page: str) -> list[str]:
    """The names the console's section bar marks as the current page."""
    bar = re.search(r'<nav class="console-nav".*?</nav>', page, re.S)
    assert bar is not None, "no section bar"
    return re.findall(r'aria-current="page">([^<]*)<', bar.group(0))


def _stat(page: str, name: str) -> str:
    match = re.search(
        rf'data-stat="{name}">.*?<strong class="stat-value[^"]*">([^<]*)</strong>', page, re.S
    )
    assert match is not None, name
    return match.group(1).strip()


@contextmanager
def _statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(args[2].lower())

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_overview_counts_in_sql(engine: Engine, db_session: Session) -> None:
    """Each figure is one COUNT query; no candidate, job or message row is loaded."""
    figures = seed_console_data(db_session)
    with _statements(engine) as seen:
        overview = console_overview(db_session)
    assert overview.subscribers == figures.subscribers
    assert overview.open_jobs == figures.open_jobs
    assert overview.queued == figures.queued
    assert overview.next_run is not None
    assert overview.next_run.name == figures.next_schedule
    assert overview.next_run.at.weekday() == 0 and overview.next_run.at > now()
    counts = [s for s in seen if "alert_schedules" not in s and "from feeds" not in s]
    assert len(counts) == 3
    # Failing feeds: one query of their names, filtered in SQL.
    feeds = [s for s in seen if "from feeds" in s]
    assert len(feeds) == 1 and feeds[0].startswith("select feeds.name"), feeds
    assert all(s.startswith("select count(*)") for s in counts), counts


def test_overview_of_an_empty_database(db_session: Session) -> None:
    overview = console_overview(db_session)
    assert (overview.subscribers, overview.open_jobs, overview.queued) == (0, 0, 0)
    assert overview.next_run is None


def test_time_until_in_words() -> None:
    at = now()
    assert time_until(at, since=at) == "in under a minute"
    assert time_until(at + timedelta(seconds=70), since=at) == "in 1 minute"
    assert time_until(at + timedelta(minutes=45), since=at) == "in 45 minutes"
    assert time_until(at + timedelta(minutes=180), since=at) == "in 3 hours"
    assert time_until(at + timedelta(minutes=60 * 24 * 2), since=at) == "in 2 days"


def test_home_shows_live_figures(
    client: FlaskClient, recruiter: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    """The home's figures match the rows: who counts as a subscriber, open jobs, queue."""
    with session_scope(sessions) as session:
        figures = seed_console_data(session)
    assert login(client, *recruiter).status_code == 302
    page = client.get("/admin/").text
    assert _stat(page, "subscribers") == str(figures.subscribers)
    assert _stat(page, "open-jobs") == str(figures.open_jobs)
    assert _stat(page, "queued") == str(figures.queued)
    assert _stat(page, "next-run").startswith("in ")
    assert f"{figures.next_schedule}, Monday" in page


def test_console_pages_have_the_console_shell(
    settings: Settings, client: FlaskClient, recruiter: tuple[str, str]
) -> None:
    """No public header: the company, who is signed in, Log out, and the marked section."""
    assert login(client, *recruiter).status_code == 302
    for path, section in (
        ("/admin/", "Home"),
        ("/admin/interests/", "Interests"),
        ("/admin/jobs/", "Jobs"),
        ("/admin/schedules/", "Schedules"),
        ("/admin/campaigns/", "Campaigns"),
        ("/admin/reports/", "Reports"),
    ):
        page = client.get(path).text
        assert 'class="site-header"' not in page, path
        assert "Connect With Us" not in page and "Candidate log in" not in page, path
        assert 'class="console-header"' in page, path
        assert f'{settings.company_name} <span class="brand-sub">Recruiter console' in page
        assert "Signed in as <strong>Rita</strong>" in page, path
        assert 'action="/admin/logout"' in page, path
        assert _current_section(page) == [section], path
        # A plain recruiter doesn't see the admins' sections.
        assert ">People<" not in page and ">Mail sink<" not in page, path
        assert ">Feeds<" not in page, path


def test_admins_see_people_and_mail(client: FlaskClient, sessions: sessionmaker[Session]) -> None:
    with session_scope(sessions) as session:
        set_recruiter(session, ADMIN[0], password=ADMIN[1], role=RecruiterRole.ADMIN)
    assert login(client, *ADMIN).status_code == 302
    home = client.get("/admin/").text
    assert "Signed in as <strong>ada@acme.example.com</strong>" in home
    assert home.count('href="/admin/recruiters"') == 2  # the bar and the home's card
    assert home.count('href="/admin/mail"') == 2
    people = client.get("/admin/recruiters").text
    assert _current_section(people) == ["People"]
    mail = client.get("/admin/mail").text
    assert _current_section(mail) == ["Mail sink"]
