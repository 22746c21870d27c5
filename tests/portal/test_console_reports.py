"""Console reports: a campaign's outcomes by reason, SVG charts with tables, the send log."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from mailer.models import Campaign, CampaignStatus, MessageKind, OutboxMessage, OutboxStatus
from mailer.reports import campaign_report, opt_out_trend, search_send_log
from portal.charts import bar_chart
from preferences.clock import FrozenClock, frozen
from preferences.db import session_scope
from preferences.models import (
    Candidate,
    ConsentAction,
    ConsentEvent,
    ConsentScope,
    ConsentSource,
    Subscription,
    SubscriptionStatus,
)
from tests.portal.helpers import add_interest, login

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
    assert "skipped: candidate is opted out of mass email</td><td>2<" in text
    assert "skipped: address is suppressed</td><td>1<" in text
    assert re.search(r"Bounced \(address suppressed\)</th><td>1<", text)
    assert re.search(r"Unsubscribes it caused</th><td>1<", text)
    assert "7 days after the last" in text
    assert client.get("/admin/reports/campaigns/999").status_code == 404


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
    """Withdrawals land in their Monday-started week; grants and old events are left out."""
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
        _event(session, candidate.id, T0, action=ConsentAction.GRANT)
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


def test_bar_chart_scales_and_handles_no_data() -> None:
    """The longest bar spans the plot; an empty chart says there is no data."""
    svg = str(bar_chart("T", "D", [("a", 10), ("b", 5)]))
    widths = [int(w) for w in re.findall(r'<rect [^>]*width="(\d+)"', svg)]
    assert widths[0] == 2 * widths[1]
    assert "No data yet" in str(bar_chart("T", "D", []))


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
