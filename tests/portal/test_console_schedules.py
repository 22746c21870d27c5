"""Console pages for alert schedules: list, create, edit, preview and test send."""

from __future__ import annotations

import dataclasses
import html
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from jobs.alerts import run_schedule
from jobs.models import AlertRun, AlertSchedule, DigestItem, FrequencyClass
from mailer.config import SmtpTarget
from mailer.models import MessageKind, OutboxMessage
from mailer.sink import MailSink, MemoryStore
from portal.cli.main import make_worker
from portal.config import Settings
from preferences.clock import frozen, now
from preferences.db import session_scope
from preferences.models import (
    ConsentSource,
    Frequency,
    Interest,
    Subscription,
    SuppressionReason,
)
from preferences.subscriptions import get_or_create_candidate, subscribe
from preferences.suppressions import suppress
from tests.portal.helpers import add_interest, add_job, csrf_token, login

# A Wednesday; 08:00 in Berlin has passed, so the next daily run is tomorrow.
NOW = datetime(2026, 6, 10, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture
def signed_in(client: FlaskClient, recruiter: tuple[str, str]) -> FlaskClient:
    assert login(client, *recruiter).status_code == 302
    return client


def form(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": "Morning digest",
        "cadence": "daily",
        "time": "08:00",
        "weekday": "1",
        "cron": "",
        "timezone": "Europe/Berlin",
        "audience": "all",
        "frequency_class": "daily",
        "enabled": "on",
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


def post(client: FlaskClient, path: str, data: dict[str, Any]) -> Any:
    page = client.get(path)
    assert page.status_code == 200, page.text
    return client.post(path, data={**data, "csrf_token": csrf_token(page.text)})


def stored(sessions: sessionmaker[Session]) -> list[tuple[str, str, str, bool]]:
    with session_scope(sessions) as session:
        return [
            (s.name, s.cron, s.timezone, s.enabled)
            for s in session.scalars(select(AlertSchedule).order_by(AlertSchedule.id))
        ]


def test_schedule_pages_need_a_recruiter(client: FlaskClient) -> None:
    """Every schedule page sends a visitor who is not signed in to the recruiter login."""
    for path in (
        "/admin/schedules/",
        "/admin/schedules/new",
        "/admin/schedules/1/edit",
        "/admin/schedules/1/preview",
    ):
        response = client.get(path)
        assert response.status_code == 302, path
        assert "/admin/login?next=" in response.headers["Location"]
    response = client.post("/admin/schedules/1/test")
    assert response.status_code in (302, 400)


def test_a_post_without_the_csrf_token_is_refused_and_stores_nothing(
    signed_in: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    """Creating a schedule without the form's CSRF token is a 400 and stores nothing."""
    response = signed_in.post("/admin/schedules/new", data=form())
    assert response.status_code == 400
    assert stored(sessions) == []


@pytest.mark.parametrize(
    ("fields", "cron", "words"),
    [
        ({"cadence": "daily", "time": "08:00"}, "0 8 * * *", "Daily at 08:00"),
        (
            {"cadence": "weekly", "time": "09:30", "weekday": "1"},
            "30 9 * * 1",
            "Weekly on Monday at 09:30",
        ),
        (
            {"cadence": "weekly", "time": "18:05", "weekday": "0"},
            "5 18 * * 0",
            "Weekly on Sunday at 18:05",
        ),
        (
            {"cadence": "cron", "cron": " */15  9-17 * * 1-5 "},
            "*/15 9-17 * * 1-5",
            "Cron: */15 9-17 * * 1-5",
        ),
        # Cron input that words fit is listed in words.
        ({"cadence": "cron", "cron": "30 7 * * 1-5"}, "30 7 * * 1-5", "Every weekday at 07:30"),
        ({"cadence": "cron", "cron": "0 10 * * 0,6"}, "0 10 * * 0,6", "Every weekend day at 10:00"),
        (
            {"cadence": "cron", "cron": "0 8 * * 1,4"},
            "0 8 * * 1,4",
            "Every Monday and Thursday at 08:00",
        ),
        ({"cadence": "cron", "cron": "15 * * * *"}, "15 * * * *", "Every hour at :15"),
        ({"cadence": "cron", "cron": "0 */2 * * *"}, "0 */2 * * *", "Every 2 hours at :00"),
        ({"cadence": "cron", "cron": "0 8 1 * *"}, "0 8 1 * *", "Cron: 0 8 1 * *"),
    ],
)
def test_creating_a_schedule_stores_its_cadence_as_cron_and_lists_it(
    signed_in: FlaskClient,
    sessions: sessionmaker[Session],
    fields: dict[str, str],
    cron: str,
    words: str,
) -> None:
    """Each cadence choice is stored as a cron string and listed in words."""
    response = post(signed_in, "/admin/schedules/new", form(**fields))
    assert response.status_code == 302, response.text
    assert stored(sessions) == [("Morning digest", cron, "Europe/Berlin", True)]
    listing = signed_in.get(response.headers["Location"])
    assert words in html.unescape(listing.text)
    assert "Schedule saved" in listing.text


def test_the_list_shows_the_next_three_run_times_in_the_schedule_zone(
    signed_in: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    """Daily at 08:00 Berlin, seen on 10 June at 11:00 Berlin: the 11th, 12th and 13th at 08:00."""
    with frozen(NOW):
        assert post(signed_in, "/admin/schedules/new", form()).status_code == 302
        page = signed_in.get("/admin/schedules/")
    for day in ("2026-06-11", "2026-06-12", "2026-06-13"):
        assert f'datetime="{day}T08:00:00+02:00"' in page.text
    assert "2026-06-14" not in page.text
    assert "All interests" in page.text and "Daily subscribers" in page.text


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        # A plain sentence naming the field, not the scheduling library's message.
        ({"cadence": "cron", "cron": "0 25 * * *"}, "cron", "The hour field, '25', is not valid"),
        ({"cadence": "cron", "cron": "0 8 * * 9"}, "cron", "day of the week field, '9'"),
        ({"cadence": "cron", "cron": "every morning"}, "cron", "has 2 fields; use five"),
        ({"cadence": "cron", "cron": "0 8 31 2 *"}, "cron", "That cron expression never runs."),
        ({"cadence": "cron", "cron": ""}, "cron", "Enter a cron expression"),
        ({"timezone": "Mars/Olympus"}, "timezone", "is not a time zone we know"),
        ({"timezone": "../../etc/passwd"}, "timezone", "is not a time zone we know"),
        ({"time": "24:00"}, "time", "Enter the time as HH:MM"),
        ({"time": "8am"}, "time", "Enter the time as HH:MM"),
        ({"cadence": "weekly", "weekday": "9"}, "weekday", "Choose the day of the week."),
        ({"cadence": "hourly"}, "cadence", "Choose daily, weekly or a cron expression."),
        ({"name": "  "}, "name", "Enter a name."),
        ({"audience": "selected"}, "interests", "Choose at least one interest"),
        ({"frequency_class": "monthly"}, "frequency_class", "Choose daily subscribers"),
    ],
)
def test_bad_input_is_refused_with_a_message_and_nothing_is_stored(
    signed_in: FlaskClient,
    sessions: sessionmaker[Session],
    fields: dict[str, str],
    field: str,
    message: str,
) -> None:
    """Bad cron, time zone, time or choice: a 400 naming the problem at its field, no row."""
    response = post(signed_in, "/admin/schedules/new", form(**fields))
    assert response.status_code == 400
    text = html.unescape(response.text)
    assert message in text
    assert f'id="error-{field}"' in response.text
    assert 'aria-invalid="true"' in response.text or field in (
        "cadence",
        "interests",
        "frequency_class",
    )
    assert stored(sessions) == []


def test_a_duplicate_name_is_refused(
    signed_in: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    """A second schedule with the same name (any case) is refused; the first is unchanged."""
    assert post(signed_in, "/admin/schedules/new", form()).status_code == 302
    response = post(signed_in, "/admin/schedules/new", form(name="MORNING DIGEST", time="10:00"))
    assert response.status_code == 400
    assert "already exists" in html.unescape(response.text)
    assert stored(sessions) == [("Morning digest", "0 8 * * *", "Europe/Berlin", True)]


def test_editing_changes_the_schedule_and_bad_edits_leave_it_unharmed(
    signed_in: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    """The edit form shows the stored values; a good edit saves, a bad one changes nothing."""
    with session_scope(sessions) as session:
        design = add_interest(session, "Design")
        schedule = AlertSchedule(name="Weekly", cron="30 9 * * 1", timezone="UTC")
        session.add(schedule)
        session.flush()
        schedule_id, design_id = schedule.id, design.id
    path = f"/admin/schedules/{schedule_id}/edit"
    page = signed_in.get(path)
    assert 'value="weekly" checked' in page.text and 'value="09:30"' in page.text
    assert '<option value="1" selected>Monday</option>' in page.text
    bad = post(signed_in, path, form(name="Weekly", timezone="Nowhere/Land"))
    assert bad.status_code == 400
    assert stored(sessions) == [("Weekly", "30 9 * * 1", "UTC", True)]
    good = post(
        signed_in,
        path,
        form(
            name="Weekly design",
            cadence="weekly",
            time="07:45",
            weekday="5",
            audience="selected",
            interests=str(design_id),
            frequency_class="weekly",
            enabled=None,
        ),
    )
    assert good.status_code == 302
    assert stored(sessions) == [("Weekly design", "45 7 * * 5", "Europe/Berlin", False)]
    with session_scope(sessions) as session:
        saved = session.get_one(AlertSchedule, schedule_id)
        assert not saved.all_interests
        assert [i.name for i in saved.interests] == ["Design"]
        assert saved.frequency_class is FrequencyClass.WEEKLY
    listing = signed_in.get("/admin/schedules/")
    assert "Not running (disabled)" in listing.text


def test_editing_a_missing_schedule_is_a_404(signed_in: FlaskClient) -> None:
    """An unknown schedule id is a 404 page, not an error."""
    assert signed_in.get("/admin/schedules/999/edit").status_code == 404
    assert signed_in.get("/admin/schedules/999/preview").status_code == 404


def test_send_a_test_queues_a_sample_digest_to_the_recruiter(
    signed_in: FlaskClient, sessions: sessionmaker[Session], recruiter: tuple[str, str]
) -> None:
    """Send a test to me queues one job alert to the recruiter's address with the newest jobs."""
    with session_scope(sessions) as session:
        design = add_interest(session, "Design")
        sales = add_interest(session, "Sales")
        for n in range(12):
            add_job(session, f"Designer {n}", interests=[design])
        add_job(session, "Sales lead", interests=[sales])
        schedule = AlertSchedule(
            name="Design weekly", cron="0 8 * * 1", interests=[design], all_interests=False
        )
        session.add(schedule)
        session.flush()
        schedule_id, design_id = schedule.id, design.id
    path = f"/admin/schedules/{schedule_id}/preview"
    page = signed_in.get(path)
    assert "Send a test to me" in page.text
    response = signed_in.post(
        f"/admin/schedules/{schedule_id}/test", data={"csrf_token": csrf_token(page.text)}
    )
    assert response.status_code == 302
    confirmation = signed_in.get(response.headers["Location"])
    assert "A sample digest with 10 jobs is queued to" in confirmation.text
    with session_scope(sessions) as session:
        (row,) = session.scalars(select(OutboxMessage))
        assert row.kind is MessageKind.JOB_ALERT and row.template == "job_alert"
        assert row.to_address == recruiter[0] and row.candidate_id is None
        assert row.context["test"] is True
        assert row.context["interest_ids"] == [design_id]
        assert len(row.context["job_ids"]) == 10 and row.context["more_count"] == 2


def test_the_test_digest_reaches_the_recruiter_through_the_worker(
    signed_in: FlaskClient,
    sessions: sessionmaker[Session],
    recruiter: tuple[str, str],
    smtp_server: MailSink,
    settings: Settings,
) -> None:
    """The queued sample digest passes the send-time check and arrives, listing the jobs."""
    with session_scope(sessions) as session:
        design = add_interest(session, "Design")
        for n in range(3):
            add_job(session, f"Designer {n}", interests=[design])
        schedule = AlertSchedule(
            name="Design daily", cron="0 8 * * *", interests=[design], all_interests=False
        )
        session.add(schedule)
        session.flush()
        schedule_id = schedule.id
    page = signed_in.get(f"/admin/schedules/{schedule_id}/preview")
    signed_in.post(
        f"/admin/schedules/{schedule_id}/test", data={"csrf_token": csrf_token(page.text)}
    )
    worker = make_worker(
        settings, sessions, SmtpTarget(host=smtp_server.host, port=smtp_server.port)
    )
    assert worker.run_once().sent == 1
    assert isinstance(smtp_server.store, MemoryStore)
    (received,) = smtp_server.store.wait_for(1)
    assert received.envelope_to == (recruiter[0],)
    text = received.parsed().get_body(preferencelist=("plain",)).get_content()
    assert all(f"Designer {n}" in text for n in range(3))


def test_send_a_test_without_matching_jobs_says_so_and_queues_nothing(
    signed_in: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    """With no open job for the schedule's interests the page explains; no row is queued."""
    with session_scope(sessions) as session:
        schedule = AlertSchedule(name="Empty", cron="0 8 * * *")
        session.add(schedule)
        session.flush()
        schedule_id = schedule.id
    page = signed_in.get(f"/admin/schedules/{schedule_id}/preview")
    response = signed_in.post(
        f"/admin/schedules/{schedule_id}/test", data={"csrf_token": csrf_token(page.text)}
    )
    assert response.status_code == 409
    assert "No open job matches this schedule" in html.unescape(response.text)
    no_token = signed_in.post(f"/admin/schedules/{schedule_id}/test")
    assert no_token.status_code == 400
    with session_scope(sessions) as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_the_preview_page_shows_next_runs_and_the_audience_or_a_note(
    signed_in: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    """The audience page lists the next runs and how many would receive the digest."""
    with session_scope(sessions) as session:
        schedule = AlertSchedule(name="Daily", cron="0 8 * * *", timezone="UTC")
        session.add(schedule)
        session.flush()
        schedule_id = schedule.id
    with frozen(NOW):
        page = signed_in.get(f"/admin/schedules/{schedule_id}/preview")
    assert page.status_code == 200
    assert 'datetime="2026-06-11T08:00:00+00:00"' in page.text
    assert "<strong>0</strong> candidates would receive a digest if it ran now." in page.text


def _seed_design_audience(sessions: sessionmaker[Session]) -> int:
    """Ana subscribed to Design before two Design jobs went up, Ben after: the schedule's id."""
    with frozen(NOW - timedelta(days=3)), session_scope(sessions) as session:
        design = add_interest(session, "Design")
        for name in ("ana", "zoe"):
            candidate, _ = get_or_create_candidate(
                session, f"{name}@example.com", first_name=name.title(), email_verified_at=now()
            )
            subscribe(
                session,
                candidate,
                design,
                source=ConsentSource.CONNECT_FORM,
                frequency=Frequency.DAILY,
                confirmed=True,
            )
        suppress(session, "zoe@example.com", SuppressionReason.HARD_BOUNCE)
        add_job(session, "Senior <Product> Designer", interests=[design], posted_at=NOW - DAY)
        add_job(session, "Type Designer", interests=[design], posted_at=NOW - 2 * DAY)
        schedule = AlertSchedule(
            name="Design daily", cron="0 8 * * *", interests=[design], all_interests=False
        )
        session.add(schedule)
        session.flush()
        schedule_id = schedule.id
    with frozen(NOW), session_scope(sessions) as session:
        ben, _ = get_or_create_candidate(
            session, "ben@example.com", first_name="Ben", email_verified_at=now()
        )
        subscribe(
            session,
            ben,
            session.scalars(select(Interest).where(Interest.name == "Design")).one(),
            source=ConsentSource.CONNECT_FORM,
            frequency=Frequency.DAILY,
            confirmed=True,
        )
    return schedule_id


def _written(sessions: sessionmaker[Session]) -> tuple[int, int, int, int]:
    """Outbox rows, digest items, alert runs and subscriptions marked as alerted."""
    with session_scope(sessions) as session:
        return (
            session.scalar(select(func.count()).select_from(OutboxMessage)) or 0,
            session.scalar(select(func.count()).select_from(DigestItem)) or 0,
            session.scalar(select(func.count()).select_from(AlertRun)) or 0,
            session.scalar(select(func.count()).where(Subscription.last_alerted_at.is_not(None)))
            or 0,
        )


def test_the_preview_renders_the_sample_recipients_digest(
    signed_in: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    """The page shows the sample's subject and plain text; the frame's HTML lists the jobs."""
    schedule_id = _seed_design_audience(sessions)
    with frozen(NOW):
        page = signed_in.get(f"/admin/schedules/{schedule_id}/preview")
        frame = signed_in.get(f"/admin/schedules/{schedule_id}/preview.html")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "<strong>1</strong> candidate would receive a digest if it ran now." in page.text
    assert "For example, ana@example.com would get 2 jobs." in text
    assert "New jobs at Acme: Senior <Product> Designer and 1 more" in text
    assert f'src="/admin/schedules/{schedule_id}/preview.html"' in page.text
    assert "sandbox" in page.text and "<summary>Plain-text version</summary>" in page.text
    assert "Hi Ana," in text and "- Type Designer" in text
    assert "You subscribed to job alerts for Design at Acme." in text
    # The HTML goes to a sandboxed frame, under a policy that allows no script.
    assert frame.status_code == 200 and frame.mimetype == "text/html"
    csp = frame.headers["Content-Security-Policy"]
    assert csp.startswith("sandbox;") and "default-src 'none'" in csp
    assert "Senior &lt;Product&gt; Designer" in frame.text and "Type Designer" in frame.text
    assert "Hi Ana," in frame.text and "1 Test Street, Testville" in frame.text
    # Footer links lead back to the console, never to a candidate's signed links.
    for body in (page.text, frame.text):
        assert "/unsubscribe/" not in body and "/preferences/" not in body
    assert f"/admin/schedules/{schedule_id}/preview" in frame.text


def test_viewing_the_preview_writes_nothing(
    signed_in: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    """Page and frame queue no mail, add no digest item or run and mark nobody as alerted."""
    schedule_id = _seed_design_audience(sessions)
    before = _written(sessions)
    assert before == (0, 0, 0, 0)
    with frozen(NOW):
        for _ in range(2):
            assert signed_in.get(f"/admin/schedules/{schedule_id}/preview").status_code == 200
            assert signed_in.get(f"/admin/schedules/{schedule_id}/preview.html").status_code == 200
    assert _written(sessions) == before
    # The digest is still to come: a run now sends Ana the two jobs the preview showed.
    with frozen(NOW):
        summary = run_schedule(sessions, schedule_id)
    assert (summary.digests_queued, summary.jobs_listed) == (2, 4)


def test_the_preview_says_when_nobody_would_receive_it(
    signed_in: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    """No subscriber with anything new: the page says so and shows no frame, which is a 404."""
    with session_scope(sessions) as session:
        design = add_interest(session, "Design")
        add_job(session, "Type Designer", interests=[design])
        schedule = AlertSchedule(name="Quiet", cron="0 8 * * *")
        session.add(schedule)
        session.flush()
        schedule_id = schedule.id
    page = signed_in.get(f"/admin/schedules/{schedule_id}/preview")
    assert page.status_code == 200
    assert "Nobody would receive a digest if it ran now" in page.text
    assert "<iframe" not in page.text and "preview.html" not in page.text
    assert signed_in.get(f"/admin/schedules/{schedule_id}/preview.html").status_code == 404


def test_the_preview_html_needs_a_recruiter_and_an_existing_schedule(
    client: FlaskClient, recruiter: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    """A visitor is sent to the login with nothing rendered; an unknown schedule is a 404."""
    schedule_id = _seed_design_audience(sessions)
    with frozen(NOW):
        visitor = client.get(f"/admin/schedules/{schedule_id}/preview.html")
        assert visitor.status_code == 302
        assert "/admin/login?next=" in visitor.headers["Location"]
        assert "Designer" not in visitor.text
        assert login(client, *recruiter).status_code == 302
        assert client.get(f"/admin/schedules/{schedule_id}/preview.html").status_code == 200
        assert client.get("/admin/schedules/999/preview.html").status_code == 404
        assert client.get("/admin/schedules/999/preview").status_code == 404


def test_the_test_digest_says_it_is_a_test(
    signed_in: FlaskClient,
    sessions: sessionmaker[Session],
    smtp_server: MailSink,
    settings: Settings,
) -> None:
    """The recruiter's copy is subject "[Test] …" and its footer says it came from the console."""
    schedule_id = _seed_design_audience(sessions)
    with frozen(NOW):
        page = signed_in.get(f"/admin/schedules/{schedule_id}/preview")
        signed_in.post(
            f"/admin/schedules/{schedule_id}/test", data={"csrf_token": csrf_token(page.text)}
        )
    worker = make_worker(
        settings, sessions, SmtpTarget(host=smtp_server.host, port=smtp_server.port)
    )
    with frozen(NOW):
        assert worker.run_once().sent == 1
    assert isinstance(smtp_server.store, MemoryStore)
    (received,) = smtp_server.store.wait_for(1)
    message = received.parsed()
    assert message["Subject"] == "[Test] New jobs at Acme: Senior <Product> Designer and 1 more"
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "This is a test of a job alert, sent to you from the recruiter console" in text
    assert "You subscribed" not in text
    assert f"/admin/schedules/{schedule_id}/preview" in text
    html_part = message.get_body(preferencelist=("html",)).get_content()
    assert "This is a test of a job alert" in html_part


def test_a_new_schedule_starts_in_the_company_time_zone(app: Flask, signed_in: FlaskClient) -> None:
    """The new-schedule form's time zone is COMPANY_TIME_ZONE (UTC unless set)."""
    assert 'name="timezone" type="text"' in signed_in.get("/admin/schedules/new").text
    assert 'value="UTC"' in signed_in.get("/admin/schedules/new").text
    runtime = app.extensions["talentconnect"]
    runtime.settings = dataclasses.replace(runtime.settings, company_time_zone="Europe/Berlin")
    page = signed_in.get("/admin/schedules/new").text
    assert re.search(r'id="field-timezone"[^>]*value="Europe/Berlin"', page)
