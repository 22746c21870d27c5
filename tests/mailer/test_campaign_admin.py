"""Mass campaigns: the audience in SQL, drafts, scheduling, dispatch, cancel, Markdown, tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from mailer.campaign_admin import (
    CampaignDraft,
    CampaignError,
    Exclusion,
    cancel_campaign,
    dispatch_due_campaigns,
    preview_audience,
    render_preview,
    save_draft,
    schedule_campaign,
    send_now,
    send_test,
)
from mailer.campaigns import body_html, campaign_parts
from mailer.models import Campaign, CampaignStatus, MessageKind, OutboxMessage, OutboxStatus
from mailer.sink import MailSink, MemoryStore
from mailer.worker import BatchResult
from preferences.clock import FrozenClock
from preferences.db import session_scope
from preferences.models import (
    Candidate,
    CandidateStatus,
    Interest,
    MassEmail,
    MassEmailStatus,
    RecruiterUser,
    Subscription,
    SubscriptionStatus,
    SuppressionReason,
)
from preferences.suppressions import suppress

from .support import SETTINGS, T0, queue
from .test_worker import make_worker, sink_target

RECRUITER = "rita@acme.example.com"


@dataclass
class World:
    data: int
    design: int
    ids: dict[str, int]
    recruiter_id: int


def _seed(sessions: sessionmaker[Session]) -> World:
    """Candidates covering every exclusion reason, two interests and a recruiter."""
    with session_scope(sessions) as session:
        data = Interest(name="Data Science", slug="data")
        design = Interest(name="Design", slug="design", position=1)
        recruiter = RecruiterUser(email=RECRUITER, name="Rita")
        session.add_all([data, design, recruiter])
        session.flush()
        # name: (verified, mass email, status, interests)
        people: dict[str, tuple[bool, MassEmail | None, CandidateStatus, list[int]]] = {
            "ana": (True, MassEmail.OPTED_IN, CandidateStatus.ACTIVE, [data.id]),
            "bob": (True, MassEmail.OPTED_OUT, CandidateStatus.ACTIVE, [data.id]),
            "cy": (True, None, CandidateStatus.ACTIVE, []),
            "dee": (False, MassEmail.OPTED_IN, CandidateStatus.ACTIVE, [data.id]),
            "eve": (True, MassEmail.OPTED_IN, CandidateStatus.DELETED, [data.id]),
            "fay": (True, MassEmail.OPTED_IN, CandidateStatus.ACTIVE, [data.id]),
            "gus": (True, MassEmail.OPTED_IN, CandidateStatus.ACTIVE, [design.id]),
        }
        ids = {}
        for name, (verified, mass, status, interests) in people.items():
            candidate = Candidate(
                email=f"{name}@example.com",
                first_name=name.title(),
                status=status,
                email_verified_at=T0 - timedelta(days=3) if verified else None,
            )
            session.add(candidate)
            session.flush()
            ids[name] = candidate.id
            if mass is not None:
                session.add(MassEmailStatus(candidate_id=candidate.id, status=mass))
            for interest_id in interests:
                session.add(
                    Subscription(
                        candidate_id=candidate.id,
                        interest_id=interest_id,
                        status=SubscriptionStatus.SUBSCRIBED,
                    )
                )
        suppress(session, "fay@example.com", SuppressionReason.HARD_BOUNCE)
        return World(data.id, design.id, ids, recruiter.id)


def _draft(
    sessions: sessionmaker[Session], interest_ids: list[int] | None = None, body: str = "Hi *all*."
) -> int:
    with session_scope(sessions) as session:
        draft = CampaignDraft("Autumn news", "News from Acme", body, interest_ids or [])
        return save_draft(session, draft).id


def _rows(sessions: sessionmaker[Session]) -> list[OutboxMessage]:
    with sessions() as session:
        rows = list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.candidate_id)))
        session.expunge_all()
    return rows


def _campaign(sessions: sessionmaker[Session], campaign_id: int) -> Campaign:
    with sessions() as session:
        campaign = session.get_one(Campaign, campaign_id)
        session.expunge(campaign)
    return campaign


# --- audience ---------------------------------------------------------------------------


def test_preview_counts_everyone_opted_in_and_each_exclusion(
    sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    """Without interests, only opted-in, confirmed, active, unsuppressed candidates count."""
    world = _seed(sessions)
    with sessions() as session:
        preview = preview_audience(session, [])
    assert preview.would_receive == 2  # ana and gus
    assert preview.excluded == {
        Exclusion.OPTED_OUT: 2,
        Exclusion.UNCONFIRMED: 1,
        Exclusion.DELETED: 1,
        Exclusion.SUPPRESSED: 1,
    }
    assert preview.sample_candidate_id == world.ids["ana"]


def test_preview_with_interests_excludes_the_uninterested(
    sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    """With an interest chosen, an opted-in candidate not subscribed to it is excluded."""
    world = _seed(sessions)
    with sessions() as session:
        preview = preview_audience(session, [world.data])
    assert preview.would_receive == 1
    assert preview.excluded[Exclusion.NOT_INTERESTED] == 1
    assert preview.excluded_total == 6


def test_dispatch_queues_the_audience_once(
    sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    """A due campaign queues one row per audience member; running dispatch again adds none."""
    world = _seed(sessions)
    campaign_id = _draft(sessions, [world.data])
    with session_scope(sessions) as session:
        schedule_campaign(session, campaign_id, T0 + timedelta(hours=1))
    assert dispatch_due_campaigns(sessions) == []  # not due yet
    assert _rows(sessions) == []
    clock.advance(timedelta(hours=1))
    (done,) = dispatch_due_campaigns(sessions)
    assert (done.campaign_id, done.queued) == (campaign_id, 1)
    (row,) = _rows(sessions)
    assert row.dedupe_key == f"campaign:{campaign_id}:{world.ids['ana']}"
    assert (row.kind, row.template, row.to_address) == (
        MessageKind.CAMPAIGN,
        "campaign",
        "ana@example.com",
    )
    assert row.context == {"campaign_id": campaign_id}
    assert row.status is OutboxStatus.PENDING
    campaign = _campaign(sessions, campaign_id)
    assert campaign.status is CampaignStatus.SENT
    assert campaign.sent_at == T0 + timedelta(hours=1)
    assert dispatch_due_campaigns(sessions) == []
    assert len(_rows(sessions)) == 1


def test_a_half_dispatched_campaign_is_finished_without_duplicates(
    sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    """A campaign left `sending` (a crash between queueing and marking) is completed once."""
    world = _seed(sessions)
    campaign_id = _draft(sessions)
    with session_scope(sessions) as session:
        send_now(session, campaign_id)
        session.get_one(Campaign, campaign_id).status = CampaignStatus.SENDING
    assert len(_rows(sessions)) == 2
    (done,) = dispatch_due_campaigns(sessions)
    assert done.queued == 0
    assert {r.candidate_id for r in _rows(sessions)} == {world.ids["ana"], world.ids["gus"]}
    assert _campaign(sessions, campaign_id).status is CampaignStatus.SENT


def test_cancelled_campaign_is_never_queued_and_pending_rows_are_skipped(
    sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    """Cancel before the time: nothing is queued; cancel after queueing: the rows are skipped."""
    _seed(sessions)
    later = _draft(sessions)
    with session_scope(sessions) as session:
        schedule_campaign(session, later, T0 + timedelta(minutes=5))
        assert cancel_campaign(session, later) == 0
    clock.advance(timedelta(minutes=10))
    assert dispatch_due_campaigns(sessions) == []
    assert _rows(sessions) == []

    now_id = _draft(sessions)
    with session_scope(sessions) as session:
        assert send_now(session, now_id) == 2
        assert cancel_campaign(session, now_id) == 2
    with sessions() as session:
        rows = list(session.scalars(select(OutboxMessage)))
        parts = campaign_parts(session, rows, SETTINGS)
    assert set(parts.values()) == {"the campaign was cancelled"}


def test_cancelling_a_fully_sent_campaign_is_refused(
    sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    """Once every message has gone, cancel says so and leaves the campaign as it was."""
    _seed(sessions)
    campaign_id = _draft(sessions)
    with session_scope(sessions) as session:
        send_now(session, campaign_id)
        for row in session.scalars(select(OutboxMessage)):
            row.status = OutboxStatus.SENT
    with sessions() as session, pytest.raises(CampaignError, match="already been sent"):
        cancel_campaign(session, campaign_id)
    assert _campaign(sessions, campaign_id).status is CampaignStatus.SENT


# --- drafts and validation -----------------------------------------------------------------


def test_bad_draft_is_refused_with_a_message_per_field_and_nothing_stored(
    sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    """Empty name, subject and body and an unknown interest each get a message; no row is made."""
    with sessions() as session, pytest.raises(CampaignError) as raised:
        save_draft(session, CampaignDraft(" ", "", "  \n", [999]))
    assert set(raised.value.problems) == {"name", "subject", "body", "interest_ids"}
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Campaign)) == 0


def test_a_sent_campaign_cannot_be_edited_or_rescheduled(
    sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    """Edits and schedules of a sent campaign are refused and change nothing."""
    _seed(sessions)
    campaign_id = _draft(sessions)
    with session_scope(sessions) as session:
        send_now(session, campaign_id)
    with sessions() as session:
        with pytest.raises(CampaignError, match="no longer be edited"):
            save_draft(session, CampaignDraft("X", "Y", "Z"), campaign_id=campaign_id)
        with pytest.raises(CampaignError, match="cannot be scheduled"):
            schedule_campaign(session, campaign_id, T0 + timedelta(days=1))
    campaign = _campaign(sessions, campaign_id)
    assert (campaign.name, campaign.status) == ("Autumn news", CampaignStatus.SENT)


def test_a_send_time_in_the_past_is_refused(
    sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    """Scheduling for a past time explains itself and keeps the draft a draft."""
    campaign_id = _draft(sessions)
    with sessions() as session, pytest.raises(CampaignError) as raised:
        schedule_campaign(session, campaign_id, T0 - timedelta(minutes=1))
    assert "future" in raised.value.problems["send_at"]
    assert _campaign(sessions, campaign_id).status is CampaignStatus.DRAFT


def test_a_send_time_past_the_range_is_refused_not_an_overflow(
    sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    """9999-12-31T23:59 in Etc/GMT+12 lies past the last UTC instant Python holds: scheduling it
    is a field message, not an OverflowError, and the campaign stays a draft."""
    campaign_id = _draft(sessions)
    for at in (
        datetime(9999, 12, 31, 23, 59, tzinfo=ZoneInfo("Etc/GMT+12")),
        datetime(2100, 1, 1, tzinfo=UTC),
    ):
        with sessions() as session, pytest.raises(CampaignError) as raised:
            schedule_campaign(session, campaign_id, at)
        assert raised.value.problems["send_at"] == "Choose a time before 2100."
    assert _campaign(sessions, campaign_id).status is CampaignStatus.DRAFT


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x1b", "\x7f", "\x9b", "\ud800"])
def test_control_characters_in_a_draft_are_refused_at_their_field(
    sessions: sessionmaker[Session], clock: FrozenClock, char: str
) -> None:
    """A name, subject or body holding a control character or a lone surrogate is refused with
    a message naming it, and nothing is stored; a line break in the subject is one space."""
    with sessions() as session, pytest.raises(CampaignError) as raised:
        save_draft(session, CampaignDraft(f"A{char}", f"News{char}", f"Hi{char}"))
    assert set(raised.value.problems) == {"name", "subject", "body"}
    code = f"U+{ord(char):04X}"
    assert all(code in message for message in raised.value.problems.values())
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Campaign)) == 0
        campaign = save_draft(
            session, CampaignDraft("Autumn", "News\r\n from\tAcme", "One\r\nTwo\rThree")
        )
        assert (campaign.subject, campaign.body) == ("News from Acme", "One\nTwo\nThree")


def test_a_subject_stored_with_control_characters_still_sends(
    sessions: sessionmaker[Session], smtp_server: MailSink, clock: FrozenClock
) -> None:
    """A subject saved before the rule with \x01 and ESC (PostgreSQL would have refused NUL) no
    longer fails every email of the campaign: rendering drops the control characters."""
    world = _seed(sessions)
    campaign_id = _draft(sessions)
    with session_scope(sessions) as session:
        session.get_one(Campaign, campaign_id).subject = "News\x01 from\x1b Acme"
        assert send_test(session, campaign_id, world.recruiter_id) == RECRUITER
    result = make_worker(sessions, sink_target(smtp_server)).run_once()
    assert result == BatchResult(claimed=1, sent=1)
    assert isinstance(smtp_server.store, MemoryStore)
    (received,) = smtp_server.store.wait_for(1)
    assert received.parsed()["Subject"] == "[Test] News from Acme"


# --- Markdown -------------------------------------------------------------------------------


def test_markdown_is_rendered_and_sanitized() -> None:
    """Formatting and https links survive; script, event handlers and javascript: URLs do not."""
    html = str(
        body_html(
            "# Hiring day\n\nCome **along**: [details](https://acme.example.com/day)\n\n"
            "<script>alert(1)</script>\n\n"
            '<img src="https://acme.example.com/x.png" onerror="alert(2)" alt="x">\n\n'
            '[click](javascript:alert(3)) <a href="javascript:alert(4)">raw</a>\n\n'
            '<p style="color:red" onclick="alert(5)">styled</p>'
        )
    )
    assert "<h1>Hiring day</h1>" in html
    assert "<strong>along</strong>" in html
    assert 'href="https://acme.example.com/day"' in html
    assert '<img src="https://acme.example.com/x.png" alt="x">' in html
    lowered = html.lower()
    for bad in ("<script", "alert(1)", "onerror", "javascript:", "onclick", "style="):
        assert bad not in lowered, bad
    assert "click" in html and "raw" in html  # the text of a stripped link stays


# --- previews and test sends ----------------------------------------------------------------


def test_render_preview_has_the_body_and_the_bulk_footer(
    sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    """The preview renders the campaign template with the sanitized body and the footer."""
    world = _seed(sessions)
    campaign_id = _draft(sessions, body="Hello <b onclick='x()'>there</b>")
    with sessions() as session:
        email = render_preview(session, campaign_id, SETTINGS, candidate_id=world.ids["ana"])
    assert email.subject == "News from Acme"
    assert "<b>there</b>" in email.html
    assert "onclick" not in email.html
    assert "1 Test Street, Testville" in email.html


def test_send_test_reaches_the_recruiter_through_the_worker(
    sessions: sessionmaker[Session], smtp_server: MailSink, clock: FrozenClock
) -> None:
    """A test send is delivered to the recruiter with a [Test] subject; no candidate is mailed."""
    world = _seed(sessions)
    campaign_id = _draft(sessions, body="Big **news**.")
    with session_scope(sessions) as session:
        assert send_test(session, campaign_id, world.recruiter_id) == RECRUITER
    result = make_worker(sessions, sink_target(smtp_server)).run_once()
    assert result == BatchResult(claimed=1, sent=1)
    assert isinstance(smtp_server.store, MemoryStore)
    (received,) = smtp_server.store.wait_for(1)
    assert received.envelope_to == (RECRUITER,)
    email = received.parsed()
    assert email["Subject"] == "[Test] News from Acme"
    html = email.get_body(preferencelist=("html",))
    assert html is not None and "<strong>news</strong>" in html.get_content()


def test_a_test_row_to_a_non_recruiter_is_skipped(
    sessions: sessionmaker[Session], smtp_server: MailSink, clock: FrozenClock
) -> None:
    """A forged test row to an address no recruiter owns is skipped, not sent."""
    _seed(sessions)
    campaign_id = _draft(sessions)
    with session_scope(sessions) as session:
        recruiter = session.scalars(select(RecruiterUser)).one()
        recruiter.active = False
        send_test_id = recruiter.id
    with sessions() as session, pytest.raises(CampaignError, match="active recruiter"):
        send_test(session, campaign_id, send_test_id)
    queue(
        sessions,
        "ana@example.com",
        "campaign-test:forged",
        kind=MessageKind.CAMPAIGN,
        template="campaign",
        context={"campaign_id": campaign_id, "test": True},
    )
    result = make_worker(sessions, sink_target(smtp_server)).run_once()
    assert result == BatchResult(claimed=1, skipped=1)
    (row,) = _rows(sessions)
    assert row.last_error == "bulk mail needs a candidate whose consent can be checked"
