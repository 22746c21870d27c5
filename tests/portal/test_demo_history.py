"""The demo's history: about 200 candidates and 60 days of sign-ups, alerts, opt-outs, bounces."""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select
from sqlalchemy import event as sql_event
from sqlalchemy.orm import Session, sessionmaker

from jobs.digests import digest_context
from jobs.models import AlertRun, AlertRunStatus, DigestItem
from jobs.run_reports import alert_run_report
from mailer.config import SmtpTarget
from mailer.models import (
    BounceEvent,
    Campaign,
    CampaignStatus,
    MessageKind,
    OutboxMessage,
    OutboxStatus,
)
from mailer.outbox import count_queued
from mailer.reports import campaign_report, opt_out_trend, subscribers_per_interest
from mailer.sender import SmtpSender
from mailer.sink import MailSink, MemoryStore
from mailer.worker import OutboxWorker
from portal.config import Settings
from portal.demo import DEMO_RECRUITER_EMAIL, seed_demo
from portal.demo_history import seed_history
from preferences.clock import now
from preferences.db import Base, session_scope
from preferences.models import (
    Candidate,
    ConsentAction,
    ConsentEvent,
    ConsentScope,
    ConsentSource,
    MassEmail,
    MassEmailStatus,
    Subscription,
    SubscriptionStatus,
    Suppression,
    SuppressionReason,
)
from preferences.subscriptions import count_subscribers
from preferences.suppressions import is_suppressed
from tests.portal.helpers import login

DEMO_DOMAINS = {"example.com", "example.org", "example.net"}


def _count(session: Session, model: type[Any], *where: Any) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def _all_counts(session: Session) -> dict[str, int]:
    return {
        table.name: session.scalar(select(func.count()).select_from(table)) or 0
        for table in Base.metadata.sorted_tables
    }


def test_demo_seeds_about_200_candidates_over_60_days(db_session: Session) -> None:
    """About 200 candidates at example domains signed up on most of the last 60 days."""
    result = seed_demo(db_session)
    assert 180 <= result.candidates_created <= 220
    rows = db_session.execute(
        select(Candidate.email, Candidate.created_at, Candidate.email_verified_at)
    ).all()
    assert len(rows) == result.candidates_created
    assert {email.rpartition("@")[2] for email, _, _ in rows} <= DEMO_DOMAINS
    assert len({email for email, _, _ in rows}) == len(rows)

    at = now()
    signed_up = [created for _, created, _ in rows]
    assert all(at - timedelta(days=61) <= s <= at for s in signed_up)
    days = {s.date() for s in signed_up}
    assert len(days) >= 40
    assert max(signed_up) - min(signed_up) >= timedelta(days=50)
    # Weekdays bring more sign-ups than weekends.
    by_weekday = Counter(s.weekday() for s in signed_up)
    assert sum(by_weekday[d] for d in range(5)) / 5 > 1.3 * (by_weekday[5] + by_weekday[6]) / 2

    confirmed = [verified for _, _, verified in rows if verified is not None]
    assert len(confirmed) >= 0.75 * len(rows)
    assert all(verified >= created for _, created, verified in rows if verified is not None)
    assert _count(
        db_session, Subscription, Subscription.status == SubscriptionStatus.SUBSCRIBED
    ) > len(rows)
    assert _count(db_session, Subscription, Subscription.status == SubscriptionStatus.UNCONFIRMED)
    assert _count(db_session, MassEmailStatus, MassEmailStatus.status == MassEmail.OPTED_IN) > 40
    # Every subscription has the consent events the sign-up and confirmation write.
    grants = _count(
        db_session,
        ConsentEvent,
        ConsentEvent.action == ConsentAction.GRANT,
        ConsentEvent.scope == ConsentScope.INTEREST,
    )
    assert grants >= _count(db_session, Subscription, Subscription.created_at <= at)
    assert _count(
        db_session,
        ConsentEvent,
        ConsentEvent.action == ConsentAction.CONFIRM,
        ConsentEvent.source == ConsentSource.CONNECT_FORM,
    )
    assert count_subscribers(db_session) >= 0.7 * len(rows)


def test_demo_history_has_sent_alerts_opt_outs_and_a_bounce(db_session: Session) -> None:
    """Alert runs with their sent digests, a campaign, opt-outs over weeks, a hard bounce."""
    seed_demo(db_session)
    at = now()
    runs = db_session.scalars(select(AlertRun).order_by(AlertRun.started_at)).all()
    assert len(runs) >= 60  # daily and weekly runs over 60 days
    assert all(r.status is AlertRunStatus.SUCCEEDED and r.started_at < at for r in runs)
    assert runs[0].started_at <= at - timedelta(days=55)
    assert sum(1 for r in runs if r.digests_queued) >= 30
    assert all(r.explanation for r in runs if not r.candidates_matched)

    alerts_sent = _count(
        db_session,
        OutboxMessage,
        OutboxMessage.kind == MessageKind.JOB_ALERT,
        OutboxMessage.status == OutboxStatus.SENT,
    )
    assert alerts_sent >= 300
    assert _count(db_session, DigestItem) >= alerts_sent
    assert sum(r.digests_queued for r in runs) == _count(
        db_session, OutboxMessage, OutboxMessage.kind == MessageKind.JOB_ALERT
    )
    # Nothing is left for the worker: every seeded message was settled in the past.
    assert count_queued(db_session) == 0
    assert not _count(
        db_session,
        OutboxMessage,
        OutboxMessage.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING, OutboxStatus.HELD)),
    )
    assert not _count(db_session, OutboxMessage, OutboxMessage.sent_at > at)
    kinds = set(db_session.scalars(select(OutboxMessage.kind).distinct()))
    assert {MessageKind.CONFIRMATION, MessageKind.WELCOME, MessageKind.LOGIN_LINK} <= kinds

    # The subscribers chart has a bar for every interest.
    assert all(count > 0 for _, count in subscribers_per_interest(db_session))

    # Opt-outs over the weeks, of interest alerts and of mass email, by several routes.
    trend = opt_out_trend(db_session)
    assert sum(1 for w in trend if w.interests) >= 5
    assert sum(w.mass_email for w in trend) >= 3
    sources = set(
        db_session.scalars(
            select(ConsentEvent.source).where(ConsentEvent.action == ConsentAction.WITHDRAW)
        )
    )
    assert {ConsentSource.ONE_CLICK, ConsentSource.PREFERENCE_CENTER} <= sources
    assert _count(
        db_session,
        ConsentEvent,
        ConsentEvent.action == ConsentAction.CHANGE,
        ConsentEvent.source == ConsentSource.PREFERENCE_CENTER,
    )

    # Campaigns went to those who opted in to mass email; some left through their link.
    campaigns = db_session.scalars(
        select(Campaign.id).where(Campaign.status == CampaignStatus.SENT)
    ).all()
    assert len(campaigns) == 2
    reports = [campaign_report(db_session, campaign_id)[1] for campaign_id in campaigns]
    assert all(r.sent > 20 and r.pending == 0 for r in reports)
    assert sum(r.unsubscribes for r in reports) >= 2

    # Hard bounces: recorded per message, the address suppressed, the stop in the record.
    hard = db_session.scalars(
        select(Suppression).where(Suppression.reason == SuppressionReason.HARD_BOUNCE)
    ).all()
    assert 1 <= len(hard) <= 3
    assert all(s.created_at < at for s in hard)
    events = db_session.scalars(select(BounceEvent)).all()
    assert len(events) == len(hard)
    for event in events:
        row = db_session.get(OutboxMessage, event.outbox_id)
        assert row is not None and row.to_address.rpartition("@")[2] == event.domain
        assert is_suppressed(db_session, row.to_address)
    stops = db_session.scalars(
        select(ConsentEvent).where(ConsentEvent.source == ConsentSource.BOUNCE)
    ).all()
    assert {e.detail["outbox_id"] for e in stops} == {e.outbox_id for e in events}
    bounced_run = next(
        r for r in runs if any(e.outbox_id for e in events if _in_run(db_session, e, r))
    )
    _, run_report = alert_run_report(db_session, bounced_run.id)
    assert run_report.bounced == 1


def _in_run(session: Session, event: BounceEvent, run: AlertRun) -> bool:
    row = session.get(OutboxMessage, event.outbox_id)
    return row is not None and row.dedupe_key.startswith(f"alert-run:{run.id}:")


def test_seeding_the_history_twice_adds_nothing(db_session: Session) -> None:
    """A second seed finds the demo candidates and adds no row anywhere."""
    first = seed_demo(db_session)
    before = _all_counts(db_session)
    second = seed_demo(db_session)
    assert first.candidates_created > 0
    assert (second.candidates_created, second.alert_runs_created, second.messages_created) == (
        0,
        0,
        0,
    )
    assert _all_counts(db_session) == before


def test_the_history_is_written_in_bulk(db_session: Session, engine: Engine) -> None:
    """The 60 days go in a few statements per table, not one per row (its time: `make bench`)."""
    seed_demo(db_session, history=False)
    db_session.flush()
    before = _all_counts(db_session)
    inserts: Counter[str] = Counter()

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        found = re.match(r"\s*INSERT INTO (\w+)", statement, re.IGNORECASE)
        if found:
            inserts[found.group(1)] += 1

    sql_event.listen(engine, "before_cursor_execute", count)
    try:
        result = seed_history(db_session, at=now())
        db_session.flush()
    finally:
        sql_event.remove(engine, "before_cursor_execute", count)
    after = _all_counts(db_session)
    written = {name: after[name] - before[name] for name in after if after[name] > before[name]}
    assert written["candidates"] == result.candidates_created > 150
    assert written["outbox_messages"] == result.messages_created > 500
    assert set(inserts) == set(written)
    # One statement per bounce is how `mailer.bounces` records one; the demo has a few.
    per_row = {"bounce_events", "suppressions"}
    assert all(inserts[name] <= result.bounces for name in per_row)
    assert {
        name: (inserts[name], rows)
        for name, rows in written.items()
        if name not in per_row and inserts[name] > 2 + rows // 100
    } == {}


def _numbers(cells: list[str]) -> list[int]:
    return [int(c) for c in cells if c.strip().isdigit()]


def test_reports_and_console_home_show_the_history(
    client: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    """On first open the reports page and the console home show real numbers and shapes."""
    with session_scope(sessions) as session:
        result = seed_demo(session)
    login(client, DEMO_RECRUITER_EMAIL, result.recruiter_password)

    home = client.get("/admin/")
    assert home.status_code == 200
    stats = dict(
        re.findall(
            r'data-stat="([a-z-]+)">.*?<strong class="stat-value[^"]*">([^<]+)</strong>',
            home.text,
            re.S,
        )
    )
    assert int(stats["subscribers"].replace(",", "")) >= 140
    assert int(stats["open-jobs"]) == 40
    assert stats["queued"] == "0"

    page = client.get("/admin/reports/")
    assert page.status_code == 200
    text = page.text
    assert "No data yet" not in text
    assert "No alert runs yet" not in text
    assert "No campaigns yet" not in text
    subscribers = re.search(r'id="subscribers-heading".*?</section>', text, re.S)
    assert subscribers is not None
    counts = _numbers(re.findall(r"<td>(\d+)</td>", subscribers.group(0)))
    assert len(counts) == 12 and all(counts) and sum(counts) > 200
    trend = re.search(r'id="trend-heading".*?</section>', text, re.S)
    assert trend is not None
    weekly = _numbers(re.findall(r"<td>(\d+)</td>", trend.group(0)))
    assert sum(1 for n in weekly if n) >= 6
    assert len(re.findall(r"Run \d+ report", text)) >= 10

    run_link = re.search(r'href="(/admin/reports/runs/\d+)"', text)
    assert run_link is not None
    run_page = client.get(run_link.group(1))
    assert run_page.status_code == 200


def test_the_worker_sends_none_of_the_seeded_mail(
    sessions: sessionmaker[Session], settings: Settings, smtp_server: MailSink
) -> None:
    """After seeding, the outbox worker finds nothing to send: the history is history."""
    with session_scope(sessions) as session:
        seed_demo(session)
    worker = OutboxWorker(
        sessions,
        lambda: SmtpSender(SmtpTarget.from_url(f"{smtp_server.url}?timeout=5")),
        settings.mail_settings(),
        worker_id="demo-test",
        batch_size=50,
        lease=timedelta(minutes=5),
        context_sources={MessageKind.JOB_ALERT: digest_context},
    )
    result = worker.run_once()
    assert result.claimed == 0
    assert isinstance(smtp_server.store, MemoryStore)
    assert smtp_server.store.messages == []
