"""Console reports: a campaign's outcomes by reason, SVG charts with tables, the send log."""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from jobs.alerts import run_schedule
from jobs.digests import digest_context
from jobs.models import AlertRun, AlertRunStatus, AlertSchedule, FrequencyClass
from jobs.run_reports import AlertRunNotFound, alert_run_report, alert_run_rows, list_alert_runs
from mailer.bounces import BounceOutcome, process_report
from mailer.config import SmtpTarget
from mailer.models import Campaign, CampaignStatus, MessageKind, OutboxMessage, OutboxStatus
from mailer.outbox import claim_batch, mark_failed, mark_retry, mark_sent, mark_skipped
from mailer.reports import campaign_report, opt_out_trend, search_send_log
from mailer.sender import SmtpSender
from mailer.sink import MailSink, MemoryStore
from mailer.verp import verp_address
from mailer.worker import OutboxWorker
from portal.config import Settings
from preferences.clock import FrozenClock, frozen
from preferences.db import session_scope
from preferences.models import (
    Candidate,
    ConsentAction,
    ConsentEvent,
    ConsentScope,
    ConsentSource,
    Frequency,
    Interest,
    Subscription,
    SubscriptionStatus,
    SuppressionReason,
)
from preferences.subscriptions import withdraw_interest
from preferences.suppressions import suppress
from tests.mailer.samples import sample
from tests.mailer.support import SETTINGS as MAIL_SETTINGS
from tests.portal.helpers import add_interest, add_job, login

T0 = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)  # a Wednesday


@pytest.fixture
def clock() -> Iterator[FrozenClock]:
    with frozen(T0) as fixed:
        yield fixed


def _event(
    session: Session,
    candidate_id: int,
    at: datetime,
    *,
    source: ConsentSource = ConsentSource.ONE_CLICK,
    scope: ConsentScope = ConsentScope.MASS_EMAIL,
    action: ConsentAction = ConsentAction.WITHDRAW,
    interest_id: int | None = None,
    detail: dict[str, object] | None = None,
) -> None:
    session.add(
        ConsentEvent(
            candidate_id=candidate_id,
            scope=scope,
            interest_id=interest_id,
            action=action,
            source=source,
            wording_version="v1",
            detail=detail or {},
            occurred_at=at,
        )
    )


def _seed_campaign(sessions: sessionmaker[Session]) -> int:
    """A sent campaign whose eight rows end every way a row can, plus bounces and opt-outs."""
    sent_at = T0 - timedelta(days=3)
    with session_scope(sessions) as session:
        campaign = Campaign(
            name="Autumn news",
            subject="News",
            body="Hi",
            status=CampaignStatus.SENT,
            sent_at=sent_at,
        )
        session.add(campaign)
        session.flush()
        fates = [
            (OutboxStatus.SENT, ""),
            (OutboxStatus.SENT, ""),
            (OutboxStatus.SENT, ""),
            (OutboxStatus.SKIPPED, "candidate is opted out of mass email"),
            (OutboxStatus.SKIPPED, "candidate is opted out of mass email"),
            (OutboxStatus.SKIPPED, "address is suppressed"),
            (OutboxStatus.FAILED, "550 no such user"),
            (OutboxStatus.PENDING, ""),
        ]
        rows = []
        for n, (status, reason) in enumerate(fates):
            candidate = Candidate(email=f"c{n}@example.com")
            session.add(candidate)
            session.flush()
            row = OutboxMessage(
                dedupe_key=f"campaign:{campaign.id}:{candidate.id}",
                kind=MessageKind.CAMPAIGN,
                template="campaign",
                candidate_id=candidate.id,
                to_address=candidate.email,
                context={"campaign_id": campaign.id},
                status=status,
                last_error=reason,
                sent_at=sent_at if status is OutboxStatus.SENT else None,
            )
            session.add(row)
            session.flush()
            rows.append(row)
        # A test send is not part of the campaign's numbers.
        session.add(
            OutboxMessage(
                dedupe_key=f"campaign-test:{campaign.id}:1:1",
                kind=MessageKind.CAMPAIGN,
                template="campaign",
                to_address="rita@acme.example.com",
                context={"campaign_id": campaign.id, "test": True},
                status=OutboxStatus.SENT,
                sent_at=sent_at,
            )
        )
        first, second, third = (r.candidate_id for r in rows[:3])
        assert first is not None and second is not None and third is not None
        # The failed row bounced: the bounce processor names the outbox row.
        failed = rows[6]
        assert failed.candidate_id is not None
        _event(
            session,
            failed.candidate_id,
            sent_at,
            source=ConsentSource.BOUNCE,
            action=ConsentAction.CHANGE,
            detail={"suppressed": "hard_bounce", "outbox_id": failed.id},
        )
        # Opt-outs: one recipient a day after (counted), one after the window, and a
        # candidate who was skipped (not a recipient) opts out too.
        _event(session, first, sent_at + timedelta(days=1))
        _event(session, second, sent_at + timedelta(days=9))
        skipped = rows[3].candidate_id
        assert skipped is not None
        _event(session, skipped, sent_at + timedelta(hours=2))
        return campaign.id


def test_campaign_report_counts_each_outcome_and_reason(
    sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    """Queued, sent, skipped by reason, failed, bounced and opt-outs within the window."""
    campaign_id = _seed_campaign(sessions)
    with sessions() as session:
        _, report = campaign_report(session, campaign_id)
    assert (report.queued, report.sent, report.failed, report.pending) == (8, 3, 1, 1)
    assert report.skipped == [
        ("candidate is opted out of mass email", 2),
        ("address is suppressed", 1),
    ]
    assert report.skipped_total == 3
    assert report.bounced == 1
    assert report.complaints == 0
    assert report.unsubscribes == 1


def test_campaign_report_page_shows_the_numbers(
    client: FlaskClient,
    recruiter: tuple[str, str],
    sessions: sessionmaker[Session],
    clock: FrozenClock,
) -> None:
    """The report page lists every outcome and explains how unsubscribes are counted."""
    campaign_id = _seed_campaign(sessions)
    login(client, *recruiter)
    page = client.get(f"/admin/reports/campaigns/{campaign_id}")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert '<th scope="row">candidate is opted out of mass email</th><td>2<' in text
    assert '<th scope="row">address is suppressed</th><td>1<' in text
    assert re.search(r"Bounced \(address suppressed\)</th><td>1<", text)
    assert re.search(r"Unsubscribes it caused</th><td>1<", text)
    assert "7 days after the last" in text
    assert client.get("/admin/reports/campaigns/999").status_code == 404


BOUNCE_MAIL = dataclasses.replace(MAIL_SETTINGS, secret_keys=("reports-test-key-" + "p" * 32,))


def _policy_bounce(sessions: sessionmaker[Session], row_id: int) -> None:
    """A Spamhaus block list DSN comes back to the row's return path."""
    verp = verp_address(BOUNCE_MAIL, row_id)
    raw = sample("postfix_spamhaus_5_7_1.eml", verp=verp)
    with session_scope(sessions) as session:
        outcome = process_report(session, raw, recipients=[verp], settings=BOUNCE_MAIL)
    assert outcome is BounceOutcome.POLICY_RECORDED


def test_policy_refusals_are_counted_per_domain_and_per_campaign(
    client: FlaskClient,
    recruiter: tuple[str, str],
    sessions: sessionmaker[Session],
    clock: FrozenClock,
) -> None:
    """Two block-list DSNs: the reports page counts them by domain, the campaign report by send."""
    campaign_id = _seed_campaign(sessions)
    with sessions() as session:
        sent = session.scalars(
            select(OutboxMessage.id)
            .where(OutboxMessage.dedupe_key.like(f"campaign:{campaign_id}:%"))
            .where(OutboxMessage.status == OutboxStatus.SENT)
            .order_by(OutboxMessage.id)
        ).all()
    for row_id in sent[:2]:
        _policy_bounce(sessions, row_id)
    with sessions() as session:
        _, report = campaign_report(session, campaign_id)
    assert (report.policy_rejections, report.handed, report.policy_domains) == (
        2,
        4,
        (("example.com", 2),),
    )
    assert report.bounced == 1  # the addresses refused for policy reasons were kept
    login(client, *recruiter)
    index = html.unescape(client.get("/admin/reports/").text)
    assert "Policy, spam and reputation refusals by receiving domain" in index
    assert re.search(r'<th scope="row">example.com</th>\s*<td>2</td>', index)
    assert "blocked using zen.spamhaus.org" in index
    page = html.unescape(client.get(f"/admin/reports/campaigns/{campaign_id}").text)
    assert re.search(r"Refused for policy, spam or reputation \(address kept\)</th><td>2<", page)
    assert "2 of the 4 messages handed to the relay (50.0%)" in page
    assert '<th scope="row">example.com</th><td>2</td>' in page
    assert '<th scope="row">refused by policy, spam filter or reputation</th><td>2</td>' in page
    assert "c0@example.com" not in index + page


def test_without_policy_refusals_the_reports_page_says_so(
    client: FlaskClient, recruiter: tuple[str, str], clock: FrozenClock
) -> None:
    """No refusals in the last 30 days: one sentence instead of an empty table."""
    login(client, *recruiter)
    assert "No policy refusals in the last 30 days." in client.get("/admin/reports/").text


def test_reports_page_has_accessible_svg_charts_and_data_tables(
    client: FlaskClient,
    recruiter: tuple[str, str],
    sessions: sessionmaker[Session],
    clock: FrozenClock,
) -> None:
    """Both charts are inline SVG with a title and description, next to their data tables."""
    with session_scope(sessions) as session:
        data = add_interest(session, "Data <Science>", position=1)
        add_interest(session, "Design", position=2)
        for n in range(3):
            candidate = Candidate(email=f"s{n}@example.com")
            session.add(candidate)
            session.flush()
            session.add(
                Subscription(
                    candidate_id=candidate.id,
                    interest_id=data.id,
                    status=SubscriptionStatus.SUBSCRIBED,
                )
            )
            _event(session, candidate.id, T0 - timedelta(days=1))
    login(client, *recruiter)
    page = client.get("/admin/reports/")
    assert page.status_code == 200
    svgs = re.findall(r"<svg.*?</svg>", page.text, re.DOTALL)
    assert len(svgs) == 2
    for svg in svgs:
        assert 'role="img"' in svg
        assert re.search(r"<title id=\"(chart\d+)-t\">[^<]+</title>", svg)
        assert "<desc id=" in svg
        assert "<script" not in svg
    assert "<title" in svgs[0] and "Subscribers per interest" in svgs[0]
    assert "Data &lt;Science&gt;" in svgs[0]  # names are escaped inside the SVG
    assert "<td>Data &lt;Science&gt;</td><td>3</td>" in page.text
    assert "<td>Design</td><td>0</td>" in page.text
    assert "Opt-outs per week" in svgs[1]
    assert "<td>3</td><td>0</td>" in page.text  # this week's row: 3 mass-email opt-outs


def test_opt_out_trend_buckets_by_week(sessions: sessionmaker[Session], clock: FrozenClock) -> None:
    """Opt-outs land in their Monday-started week; a grant alone and old events are left out."""
    with session_scope(sessions) as session:
        candidate = Candidate(email="t@example.com")
        session.add(candidate)
        session.flush()
        interest = add_interest(session, "Sales")
        _event(session, candidate.id, T0)  # this week
        _event(session, candidate.id, T0 - timedelta(days=7))  # last week
        _event(
            session,
            candidate.id,
            T0 - timedelta(days=7),
            scope=ConsentScope.INTEREST,
            interest_id=interest.id,
            source=ConsentSource.PREFERENCE_CENTER,
        )
        other = Candidate(email="o@example.com")
        session.add(other)
        session.flush()
        _event(session, other.id, T0, action=ConsentAction.GRANT)
        _event(session, candidate.id, T0 - timedelta(weeks=30))
    with sessions() as session:
        trend = opt_out_trend(session, weeks=4)
    assert [w.week.date().isoformat() for w in trend] == [
        "2026-10-26",
        "2026-11-02",
        "2026-11-09",
        "2026-11-16",
    ]
    assert [(w.mass_email, w.interests) for w in trend] == [(0, 0), (0, 0), (1, 1), (1, 0)]


# --- send log -------------------------------------------------------------------------------


def test_send_log_finds_messages_by_normalized_address(
    client: FlaskClient,
    recruiter: tuple[str, str],
    sessions: sessionmaker[Session],
    clock: FrozenClock,
) -> None:
    """A search in any case with spaces finds the address's rows with kind, status and reason."""
    campaign_id = _seed_campaign(sessions)
    login(client, *recruiter)
    page = client.get("/admin/reports/send-log", query_string={"email": "  C3@Example.COM "})
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "1 message to c3@example.com" in text
    assert "<td>campaign</td>" in text
    assert "<td>Autumn news</td>" in text
    assert "<td>skipped</td>" in text
    assert "candidate is opted out of mass email" in text
    with sessions() as session:
        result = search_send_log(session, "rita@acme.example.com")
    assert [e.about for e in result.entries] == ["Autumn news (test)"]
    assert campaign_id


def test_send_log_without_results_and_with_a_bad_address(
    client: FlaskClient,
    recruiter: tuple[str, str],
    sessions: sessionmaker[Session],
    clock: FrozenClock,
) -> None:
    """No rows says so plainly; a malformed address is a 400 with a message; nothing changes."""
    _seed_campaign(sessions)
    with sessions() as session:
        before = session.scalar(select(func.count()).select_from(OutboxMessage))
    login(client, *recruiter)
    none = client.get("/admin/reports/send-log", query_string={"email": "nobody@example.com"})
    assert none.status_code == 200
    assert "No messages were ever queued to nobody@example.com" in none.text
    bad = client.get("/admin/reports/send-log", query_string={"email": "not an address"})
    assert bad.status_code == 400
    assert "That is not a valid email address" in bad.text
    assert 'aria-invalid="true"' in bad.text
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == before


def test_send_log_paginates(
    client: FlaskClient,
    recruiter: tuple[str, str],
    sessions: sessionmaker[Session],
    clock: FrozenClock,
) -> None:
    """Thirty rows to one address come 25 to a page, newest first, with a link to the next."""
    with session_scope(sessions) as session:
        for n in range(30):
            session.add(
                OutboxMessage(
                    dedupe_key=f"welcome:{n}",
                    kind=MessageKind.WELCOME,
                    template="welcome",
                    to_address="many@example.com",
                    created_at=T0 + timedelta(minutes=n),
                )
            )
    login(client, *recruiter)
    first = client.get("/admin/reports/send-log", query_string={"email": "many@example.com"})
    assert "page 1 of 2" in first.text
    # Kind and About both read "welcome": two cells per row.
    assert first.text.count("<td>welcome</td>") == 2 * 25
    assert "page=2" in first.text
    second = client.get(
        "/admin/reports/send-log", query_string={"email": "many@example.com", "page": "2"}
    )
    assert second.text.count("<td>welcome</td>") == 2 * 5
    with sessions() as session:
        page = search_send_log(session, "many@example.com", page=1)
    assert page.entries[0].created_at > page.entries[-1].created_at


def test_report_pages_need_a_recruiter(client: FlaskClient) -> None:
    """Reports and the send log redirect a visitor who is not signed in."""
    for path in ("/admin/reports/", "/admin/reports/send-log", "/admin/reports/campaigns/1"):
        response = client.get(path)
        assert response.status_code == 302
        assert "/admin/login" in response.headers["Location"]


# --- alert runs -----------------------------------------------------------------------------

SCHEDULE_NAME = "Daily engineering"
OWNER = "report-test"


@dataclass(frozen=True)
class SeededRuns:
    """Two real alert runs of one schedule; the first's rows end every way a row can."""

    schedule_id: int
    run_id: int
    other_run_id: int


def _alert_world(sessions: sessionmaker[Session], emails: list[str]) -> tuple[int, int, list[int]]:
    """Commit an interest, daily subscribers to it, a new job and a schedule.

    Returns (interest id, schedule id, candidate ids in the order of `emails`).
    """
    with session_scope(sessions) as session:
        interest = add_interest(session, "Engineering")
        ids = []
        for email in emails:
            candidate = Candidate(email=email, first_name=email.split("@")[0].title())
            session.add(candidate)
            session.flush()
            session.add(
                Subscription(
                    candidate_id=candidate.id,
                    interest_id=interest.id,
                    status=SubscriptionStatus.SUBSCRIBED,
                    frequency=Frequency.DAILY,
                    last_alerted_at=T0 - timedelta(days=1),
                    created_at=T0 - timedelta(days=30),
                )
            )
            ids.append(candidate.id)
        add_job(
            session, "Backend engineer", interests=[interest], posted_at=T0 - timedelta(hours=1)
        )
        schedule = AlertSchedule(
            name=SCHEDULE_NAME,
            all_interests=True,
            frequency_class=FrequencyClass.DAILY,
            cron="0 8 * * *",
            timezone="UTC",
        )
        session.add(schedule)
        session.flush()
        return interest.id, schedule.id, ids


def _run(sessions: sessionmaker[Session], schedule_id: int) -> int:
    summary = run_schedule(sessions, schedule_id)
    assert summary.succeeded and summary.run_id is not None, summary
    return summary.run_id


def _candidate(row: OutboxMessage) -> int:
    assert row.candidate_id is not None
    return row.candidate_id


def _bounce(session: Session, row: OutboxMessage) -> None:
    """The consent event the bounce processor writes for a hard bounce of `row`."""
    _event(
        session,
        _candidate(row),
        T0,
        source=ConsentSource.BOUNCE,
        action=ConsentAction.CHANGE,
        detail={"suppressed": "hard_bounce", "outbox_id": row.id},
    )


def _left_alerts(session: Session, candidate_id: int, interest_id: int, at: datetime) -> None:
    """A one-click withdrawal from an interest's alerts."""
    _event(session, candidate_id, at, scope=ConsentScope.INTEREST, interest_id=interest_id)


def _seed_alert_runs(sessions: sessionmaker[Session], clock: FrozenClock) -> SeededRuns:
    """Run a schedule for seven subscribers and settle its rows: 2 sent, 3 skipped, 1 failed,
    1 left pending; then a second run, a campaign row and a test digest that must not count."""
    interest_id, schedule_id, _ = _alert_world(sessions, [f"dev{n}@example.com" for n in range(7)])
    run_id = _run(sessions, schedule_id)
    with session_scope(sessions) as session:
        claimed = sorted(
            claim_batch(session, OWNER, limit=6, lease=timedelta(minutes=5)), key=lambda r: r.id
        )
        assert [r.dedupe_key.split(":")[1] for r in claimed] == [str(run_id)] * 6
        sent1, sent2, suppressed1, suppressed2, unsubscribed, failed = claimed
        for row in (sent1, sent2):
            assert mark_sent(session, row.id, OWNER, f"<{row.id}@acme.example.com>")
        for row in (suppressed1, suppressed2):
            assert mark_skipped(session, row.id, OWNER, "address is suppressed")
        assert mark_skipped(
            session, unsubscribed.id, OWNER, "candidate is not subscribed to this interest"
        )
        assert mark_failed(session, failed.id, OWNER, "550 5.1.1 no such user")
        first, second, skipped = (_candidate(r) for r in (sent1, sent2, unsubscribed))
        _bounce(session, failed)
        # Counted: a recipient leaves the alerts through a one-click link a day later.
        _left_alerts(session, first, interest_id, T0 + timedelta(days=1))
        # Not counted: a recipient after the window, a skipped candidate (no recipient),
        # and a recipient's opt-out of mass email (another list).
        _left_alerts(session, second, interest_id, T0 + timedelta(days=9))
        _left_alerts(session, skipped, interest_id, T0 + timedelta(hours=2))
        _event(session, second, T0 + timedelta(hours=3))
        # A campaign to a recipient and a test digest of the schedule: other sends.
        session.add_all(
            [
                OutboxMessage(
                    dedupe_key=f"campaign:1:{first}",
                    kind=MessageKind.CAMPAIGN,
                    template="campaign",
                    candidate_id=first,
                    to_address="dev0@example.com",
                    context={"campaign_id": 1},
                    status=OutboxStatus.SENT,
                    sent_at=T0,
                ),
                OutboxMessage(
                    dedupe_key=f"schedule-test:{schedule_id}:rita@acme.example.com:1",
                    kind=MessageKind.JOB_ALERT,
                    template="job_alert",
                    to_address="rita@acme.example.com",
                    context={"test": True, "schedule_id": schedule_id},
                    status=OutboxStatus.SENT,
                    sent_at=T0,
                ),
                # A key of run "<id>0": the colon after the id keeps it out of this run.
                OutboxMessage(
                    dedupe_key=f"alert-run:{run_id}0:{first}",
                    kind=MessageKind.JOB_ALERT,
                    template="job_alert",
                    candidate_id=first,
                    to_address="dev0@example.com",
                    status=OutboxStatus.FAILED,
                ),
            ]
        )
    # An hour later a new job goes to the same seven: a second run, every row sent.
    clock.advance(timedelta(hours=1))
    with session_scope(sessions) as session:
        add_job(
            session,
            "Frontend engineer",
            interests=[session.get_one(Interest, interest_id)],
            posted_at=T0 + timedelta(minutes=30),
        )
    other_run_id = _run(sessions, schedule_id)
    with session_scope(sessions) as session:
        pending = claim_batch(session, OWNER, limit=100, lease=timedelta(minutes=5))
        others = [r for r in pending if r.dedupe_key.startswith(f"alert-run:{other_run_id}:")]
        assert len(others) == 7
        for row in others:
            assert mark_sent(session, row.id, OWNER, f"<{row.id}@acme.example.com>")
        _bounce(session, others[0])
        # The first run's pending row was claimed with the rest: hand it back.
        for row in pending:
            if row.dedupe_key.startswith(f"alert-run:{run_id}:"):
                assert mark_retry(session, row.id, OWNER, "", retry_at=T0)
    return SeededRuns(schedule_id, run_id, other_run_id)


def test_alert_run_report_counts_only_its_own_rows_by_outcome(
    sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    """A real run's rows by outcome and reason, its bounce and interest opt-outs; not others'."""
    seeded = _seed_alert_runs(sessions, clock)
    with sessions() as session:
        entry, report = alert_run_report(session, seeded.run_id)
        other_entry, other = alert_run_report(session, seeded.other_run_id)
        selected = session.scalar(
            select(func.count()).select_from(OutboxMessage).where(alert_run_rows(seeded.run_id))
        )
    assert entry.schedule_name == SCHEDULE_NAME
    assert (entry.run.id, entry.run.status, entry.run.candidates_matched) == (
        seeded.run_id,
        AlertRunStatus.SUCCEEDED,
        7,
    )
    assert selected == entry.run.digests_queued == 7
    assert (report.queued, report.sent, report.failed, report.pending) == (7, 2, 1, 1)
    assert report.skipped == [
        ("address is suppressed", 2),
        ("candidate is not subscribed to this interest", 1),
    ]
    assert report.skipped_total == 3
    assert report.bounced == 1
    assert report.complaints == 0
    assert report.unsubscribes == 1
    assert (report.first_sent_at, report.last_sent_at) == (T0, T0)
    # The second run's numbers are its own: its bounce, none of the first run's opt-outs.
    assert other_entry.run.id == seeded.other_run_id
    assert (other.queued, other.sent, other.skipped, other.bounced) == (7, 7, [], 1)
    # Both runs reached the same people: an opt-out in both windows counts for both,
    # as the page explains (the one two hours after the first run is in the second's).
    assert other.unsubscribes == 2
    with sessions() as session, pytest.raises(AlertRunNotFound):
        alert_run_report(session, 999)


def test_alert_run_report_page_shows_the_run_and_its_numbers(
    client: FlaskClient,
    recruiter: tuple[str, str],
    sessions: sessionmaker[Session],
    clock: FrozenClock,
) -> None:
    """The run page lists the run, every outcome, the skips by reason and the opt-out rule."""
    seeded = _seed_alert_runs(sessions, clock)
    login(client, *recruiter)
    page = client.get(f"/admin/reports/runs/{seeded.run_id}")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert f"<h1>Report: alert run {seeded.run_id} ({SCHEDULE_NAME})</h1>" in text
    assert f"/admin/schedules/{seeded.schedule_id}/edit" in text
    assert "<dt>Status</dt><dd>succeeded</dd>" in text
    assert '<dt>Started</dt><dd><time datetime="2026-11-18T12:00:00+00:00">' in text
    assert "<dt>Candidates matched</dt><dd>7</dd>" in text
    assert "<dt>Error</dt>" not in text
    for label, count in [
        ("Queued", 7),
        ("Waiting to be sent", 1),
        ("Sent", 2),
        ("Skipped", 3),
        ("Failed", 1),
        (r"Bounced \(address suppressed\)", 1),
        ("Spam complaints", 0),
        ("Unsubscribes it caused", 1),
    ]:
        assert re.search(rf'<th scope="row">{label}</th><td>{count}<', text), label
    assert '<th scope="row">address is suppressed</th><td>2<' in text
    assert '<th scope="row">candidate is not subscribed to this interest</th><td>1<' in text
    assert "<caption>Why 3 digests were not sent" in text
    assert "left interest alerts through a one-click link" in text
    assert "7 days after the last" in text
    assert client.get("/admin/reports/runs/999").status_code == 404


def test_reports_index_lists_alert_runs_newest_first(
    client: FlaskClient,
    recruiter: tuple[str, str],
    sessions: sessionmaker[Session],
    clock: FrozenClock,
) -> None:
    """The index's recent runs table puts the newest run first, each linked to its report."""
    seeded = _seed_alert_runs(sessions, clock)
    with sessions() as session:
        entries = list_alert_runs(session)
        assert [e.run.id for e in list_alert_runs(session, limit=1)] == [seeded.other_run_id]
    assert [(e.run.id, e.schedule_name) for e in entries] == [
        (seeded.other_run_id, SCHEDULE_NAME),
        (seeded.run_id, SCHEDULE_NAME),
    ]
    login(client, *recruiter)
    page = client.get("/admin/reports/")
    assert page.status_code == 200
    section = page.text.split('<h2 id="runs-heading">Recent alert runs</h2>', 1)[1]
    assert "<caption>Latest 2 runs, newest first</caption>" in section
    assert re.findall(r'href="/admin/reports/runs/(\d+)">Run \d+ report<', section) == [
        str(seeded.other_run_id),
        str(seeded.run_id),
    ]
    assert '<th scope="row">Daily engineering</th>' in section
    assert '<time datetime="2026-11-18T13:00:00+00:00">2026-11-18 13:00</time>' in section
    for run_id in (seeded.run_id, seeded.other_run_id):
        assert client.get(f"/admin/reports/runs/{run_id}").status_code == 200


def test_reports_index_without_alert_runs_says_so(
    client: FlaskClient, recruiter: tuple[str, str], clock: FrozenClock
) -> None:
    """No run yet: the section says so instead of an empty table."""
    login(client, *recruiter)
    page = client.get("/admin/reports/")
    assert "No alert runs yet." in page.text


def test_a_run_whose_schedule_was_deleted_still_reports(
    client: FlaskClient,
    recruiter: tuple[str, str],
    sessions: sessionmaker[Session],
    clock: FrozenClock,
) -> None:
    """Deleting a schedule keeps its runs' reports; a failed run shows its error."""
    _, schedule_id, _ = _alert_world(sessions, ["ana@example.com"])
    run_id = _run(sessions, schedule_id)
    with session_scope(sessions) as session:
        session.delete(session.get_one(AlertSchedule, schedule_id))
        failed = AlertRun(
            schedule_id=None,
            status=AlertRunStatus.FAILED,
            started_at=T0,
            finished_at=T0 + timedelta(seconds=3),
            error="OperationalError: <database is locked>",
        )
        session.add(failed)
        session.flush()
        failed_id = failed.id
    with sessions() as session:
        entry, report = alert_run_report(session, run_id)
    assert (entry.run.schedule_id, entry.schedule_name) == (None, None)
    assert (report.queued, report.pending) == (1, 1)
    login(client, *recruiter)
    page = client.get(f"/admin/reports/runs/{run_id}")
    assert page.status_code == 200
    assert f"<h1>Report: alert run {run_id}</h1>" in page.text
    assert "None: instant alerts, or a schedule that was deleted" in page.text
    assert ">The schedule</a>" not in page.text
    assert "Nothing sent yet." in page.text
    assert "No digest was skipped." in page.text
    failed_page = client.get(f"/admin/reports/runs/{failed_id}")
    assert failed_page.status_code == 200
    assert "<dt>Status</dt><dd>failed</dd>" in failed_page.text
    assert "<dt>Error</dt><dd>OperationalError: &lt;database is locked&gt;</dd>" in failed_page.text
    assert "<dt>Digests queued</dt><dd>0</dd>" in failed_page.text
    assert "This run queued no digests." in failed_page.text
    index = client.get("/admin/reports/")
    assert index.text.count("None (instant alerts, or deleted)") == 2


def test_alert_run_report_needs_a_recruiter(client: FlaskClient) -> None:
    """A visitor who is not signed in is sent to the login page, not shown a run."""
    response = client.get("/admin/reports/runs/1")
    assert response.status_code == 302
    assert "/admin/login" in response.headers["Location"]


def test_a_digest_the_worker_sent_and_its_one_click_unsubscribe_are_reported(
    client: FlaskClient,
    recruiter: tuple[str, str],
    settings: Settings,
    sessions: sessionmaker[Session],
    smtp_server: MailSink,
    clock: FrozenClock,
) -> None:
    """Run → real worker → aiosmtpd → the digest's one-click POST: the report counts each step."""
    interest_id, schedule_id, (ana, ben, cal) = _alert_world(
        sessions, ["ana@example.com", "ben@example.com", "cal@example.com"]
    )
    run_id = _run(sessions, schedule_id)
    with session_scope(sessions) as session:
        # Before the send: Ben leaves in the preference center, Cal's address bounces.
        withdraw_interest(session, ben, interest_id, source=ConsentSource.PREFERENCE_CENTER)
        suppress(session, "cal@example.com", SuppressionReason.HARD_BOUNCE)
    worker = OutboxWorker(
        sessions,
        lambda: SmtpSender(SmtpTarget.from_url(f"{smtp_server.url}?timeout=5")),
        settings.mail_settings(),
        worker_id=OWNER,
        batch_size=10,
        lease=timedelta(minutes=5),
        context_sources={MessageKind.JOB_ALERT: digest_context},
    )
    result = worker.run_once()
    assert (result.sent, result.skipped) == (1, 2)
    assert isinstance(smtp_server.store, MemoryStore)
    (received,) = smtp_server.store.wait_for(1)
    email = received.parsed()
    assert email["To"] == "ana@example.com"
    match = re.search(r"<http://127\.0\.0\.1:8000(/unsubscribe/[^>]+)>", email["List-Unsubscribe"])
    assert match is not None, email["List-Unsubscribe"]
    left = client.post(match.group(1), data={"List-Unsubscribe": "One-Click"})
    assert left.status_code == 200
    with sessions() as session:
        _, report = alert_run_report(session, run_id)
    assert (report.queued, report.sent, report.pending, report.failed) == (3, 1, 0, 0)
    assert sorted(report.skipped) == [
        ("address is suppressed", 1),
        ("candidate is not subscribed to this interest", 1),
    ]
    assert report.unsubscribes == 1  # Ana's one-click; Ben was no recipient
    login(client, *recruiter)
    page = html.unescape(client.get(f"/admin/reports/runs/{run_id}").text)
    assert '<th scope="row">Unsubscribes it caused</th><td>1<' in page
    assert cal and ana


def test_a_run_that_queued_nothing_says_why_on_its_page(
    client: FlaskClient,
    recruiter: tuple[str, str],
    sessions: sessionmaker[Session],
    clock: FrozenClock,
) -> None:
    """Run twice: the second run finds nothing new, and its page says so with counts."""
    _, schedule_id, _ = _alert_world(sessions, ["ana@example.com"])
    first = _run(sessions, schedule_id)
    second = _run(sessions, schedule_id)
    login(client, *recruiter)
    first_page = html.unescape(client.get(f"/admin/reports/runs/{first}").text)
    assert "Why nothing was queued" not in first_page
    second_page = html.unescape(client.get(f"/admin/reports/runs/{second}").text)
    assert "<dt>Digests queued</dt><dd>0</dd>" in second_page
    assert (
        "<dt>Why nothing was queued</dt><dd>No new jobs since the last alert: 1 subscriber,"
        in second_page
    )


def test_opt_outs_are_net_changes_per_person_and_day(
    sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    """A Save then Undo (withdraw, grant) counts nothing; one person leaving three interests
    in one day counts once; withdraw, grant, withdraw the same day counts once."""
    with session_scope(sessions) as session:
        undo, many, flip = (Candidate(email=f"{n}@example.com") for n in ("u", "m", "f"))
        session.add_all([undo, many, flip])
        session.flush()
        interests = [add_interest(session, name) for name in ("Sales", "Design", "Data")]
        _event(session, undo.id, T0 - timedelta(hours=2))
        _event(session, undo.id, T0 - timedelta(hours=1), action=ConsentAction.GRANT)
        for interest in interests:
            _event(
                session,
                many.id,
                T0,
                scope=ConsentScope.INTEREST,
                interest_id=interest.id,
                source=ConsentSource.PREFERENCE_CENTER,
            )
        _event(session, flip.id, T0 - timedelta(hours=3))
        _event(session, flip.id, T0 - timedelta(hours=2), action=ConsentAction.GRANT)
        _event(session, flip.id, T0 - timedelta(hours=1))
    with sessions() as session:
        trend = opt_out_trend(session, weeks=1)
    assert [(w.mass_email, w.interests) for w in trend] == [(1, 1)]
