"""Campaign content rules: a readable text part, alt text on images, and the 100 KB HTML limit."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from mailer.campaign_admin import (
    CampaignDraft,
    CampaignError,
    dispatch_due_campaigns,
    save_draft,
    schedule_campaign,
    send_now,
    send_test,
)
from mailer.campaigns import MAX_EMAIL_HTML_BYTES, body_text, email_size, images_without_alt
from mailer.models import Campaign, CampaignStatus, MessageKind, OutboxMessage
from mailer.sender import SmtpSender
from mailer.sink import MailSink, MemoryStore
from mailer.worker import OutboxWorker
from preferences.clock import FrozenClock
from preferences.db import session_scope
from preferences.models import Candidate, MassEmail, MassEmailStatus, RecruiterUser

from .support import SETTINGS, T0, queue
from .test_worker import sink_target

KEYS = ("campaign-content-test-key-" + "k" * 30,)
MAIL = dataclasses.replace(SETTINGS, secret_keys=KEYS)
RECRUITER = "rita@acme.example.com"

MARKDOWN = """# Hiring day in Berlin

Join us for **talks**, *interviews* and `coffee`: [save your seat](https://acme.example.com/day).
Questions? <jobs@acme.example.com>

- Morning: [the team](https://acme.example.com/team)
- Afternoon
    1. interviews
    2. office tour

> Best day of the year.

![Our Berlin office](https://acme.example.com/office.png)

[![Acme logo](https://acme.example.com/logo.png)](https://acme.example.com)
"""


def _body_of_size(html_bytes: int) -> str:
    """A Markdown body whose campaign email has exactly `html_bytes` of HTML."""
    base = email_size(MAIL, "News", "a").html_bytes
    return "a" * (html_bytes - base + 1)


def _seed(sessions: sessionmaker[Session]) -> tuple[int, int]:
    """One opted-in, confirmed candidate and one recruiter; returns their ids."""
    with session_scope(sessions) as session:
        ana = Candidate(email="ana@example.com", first_name="Ana", email_verified_at=T0)
        recruiter = RecruiterUser(email=RECRUITER, name="Rita")
        session.add_all([ana, recruiter])
        session.flush()
        session.add(MassEmailStatus(candidate_id=ana.id, status=MassEmail.OPTED_IN))
        return ana.id, recruiter.id


def _store(sessions: sessionmaker[Session], body: str, **fields: object) -> int:
    """Store a campaign as it may exist from before these rules (no save checks)."""
    with session_scope(sessions) as session:
        campaign = Campaign(
            name="Big", subject="News", body=body, audience={"interest_ids": []}, **fields
        )
        session.add(campaign)
        session.flush()
        return campaign.id


def _outbox_count(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(OutboxMessage)) or 0


# --- the text part ------------------------------------------------------------------------


def test_text_part_is_readable_text_rendered_from_the_markdown() -> None:
    """Headings, emphasis and list markup go; links read "text (url)", images their alt text."""
    text = body_text(MARKDOWN)
    assert text == (
        "Hiring day in Berlin\n\n"
        "Join us for talks, interviews and coffee: save your seat (https://acme.example.com/day)."
        " Questions? jobs@acme.example.com\n\n"
        "- Morning: the team (https://acme.example.com/team)\n"
        "- Afternoon\n"
        "  1. interviews\n"
        "  2. office tour\n\n"
        "> Best day of the year.\n\n"
        "Our Berlin office\n\n"
        "Acme logo (https://acme.example.com)"
    )
    for markup in ("**", "# ", "](", "`", "<"):
        assert markup not in text, markup


def test_text_part_drops_what_the_html_drops() -> None:
    """A script in the Markdown is not in the text part either: both come from the cleaned HTML."""
    text = body_text("Hello <script>alert(1)</script>[x](javascript:alert(2)) &amp; bye")
    assert text == "Hello x & bye"


def test_the_worker_sends_the_readable_text_part(
    sessions: sessionmaker[Session], smtp_server: MailSink, clock: FrozenClock
) -> None:
    """The text/plain part of a sent campaign is the rendered text, not the raw Markdown."""
    ana, _ = _seed(sessions)
    campaign_id = _store(sessions, MARKDOWN)
    queue(
        sessions,
        "ana@example.com",
        "campaign:text",
        kind=MessageKind.CAMPAIGN,
        template="campaign",
        candidate_id=ana,
        context={"campaign_id": campaign_id},
    )
    worker = OutboxWorker(sessions, lambda: _sender(smtp_server), MAIL)
    assert worker.run_once().sent == 1
    assert isinstance(smtp_server.store, MemoryStore)
    (received,) = smtp_server.store.wait_for(1)
    part = received.parsed().get_body(preferencelist=("plain",))
    assert part is not None
    plain = part.get_content()
    assert "save your seat (https://acme.example.com/day)" in plain
    assert "**talks**" not in plain and "[save your seat]" not in plain
    assert "# Hiring day" not in plain


def _sender(sink: MailSink) -> SmtpSender:
    return SmtpSender(sink_target(sink))


# --- alt text -------------------------------------------------------------------------------


def test_images_without_alt_text_are_found_by_address() -> None:
    """Missing and blank alt text are both found; an image with alt text is not."""
    html = (
        '<p><img src="https://a.example/1.png" alt="Team"><img src="https://a.example/2.png">'
        '<img src="https://a.example/3.png" alt="  "></p>'
    )
    assert images_without_alt(html) == ["https://a.example/2.png", "https://a.example/3.png"]


@pytest.mark.parametrize(
    "body",
    [
        "Look: ![](https://acme.example.com/team.png)",
        'Look: <img src="https://acme.example.com/team.png">',
        'Look: <img src="https://acme.example.com/team.png" alt=" ">',
    ],
)
def test_saving_an_image_without_alt_text_is_refused_and_stores_nothing(
    sessions: sessionmaker[Session], body: str
) -> None:
    """The body error names the image; no campaign is created and an edit leaves the old one."""
    with sessions() as session, pytest.raises(CampaignError) as refused:
        save_draft(session, CampaignDraft("Team", "Meet the team", body), settings=MAIL)
    message = refused.value.problems["body"]
    assert "alt text" in message and "https://acme.example.com/team.png" in message
    campaign_id = _store(sessions, "Old body.")
    with sessions() as session, pytest.raises(CampaignError):
        save_draft(session, CampaignDraft("Team", "New", body), campaign_id=campaign_id)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Campaign)) == 1
        assert session.get_one(Campaign, campaign_id).body == "Old body."


# --- size -----------------------------------------------------------------------------------


def test_email_size_is_the_html_the_worker_sends(
    sessions: sessionmaker[Session], smtp_server: MailSink, clock: FrozenClock
) -> None:
    """The measured size equals the bytes of the HTML part a recipient receives."""
    ana, _ = _seed(sessions)
    campaign_id = _store(sessions, MARKDOWN + "\n\nZürich café · ünïcödé\n")
    queue(
        sessions,
        "ana@example.com",
        "campaign:size",
        kind=MessageKind.CAMPAIGN,
        template="campaign",
        candidate_id=ana,
        context={"campaign_id": campaign_id},
    )
    assert OutboxWorker(sessions, lambda: _sender(smtp_server), MAIL).run_once().sent == 1
    assert isinstance(smtp_server.store, MemoryStore)
    (received,) = smtp_server.store.wait_for(1)
    part = received.parsed().get_body(preferencelist=("html",))
    assert part is not None
    sent = part.get_payload(decode=True)
    assert isinstance(sent, bytes)
    measured = email_size(MAIL, "News", MARKDOWN + "\n\nZürich café · ünïcödé\n")
    assert measured.html_bytes == len(sent)
    assert measured.kb == f"{measured.html_bytes / 1000:.1f} KB"


def test_a_body_at_the_limit_saves_and_one_byte_more_is_refused(
    sessions: sessionmaker[Session],
) -> None:
    """100,000 bytes of HTML is allowed; 100,001 is refused with the size and why."""
    at_limit = _body_of_size(MAX_EMAIL_HTML_BYTES)
    assert email_size(MAIL, "News", at_limit).html_bytes == MAX_EMAIL_HTML_BYTES
    with session_scope(sessions) as session:
        save_draft(session, CampaignDraft("Long", "News", at_limit), settings=MAIL)
    with sessions() as session, pytest.raises(CampaignError) as refused:
        save_draft(session, CampaignDraft("Longer", "News", at_limit + "a"), settings=MAIL)
    message = refused.value.problems["body"]
    assert "100.0 KB" in message and "over the 100 KB limit" in message
    assert "Gmail" in message and "unsubscribe link" in message
    with sessions() as session:
        names = session.scalars(select(Campaign.name)).all()
    assert names == ["Long"]


def test_an_oversized_stored_campaign_cannot_be_sent_scheduled_or_tested(
    sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    """Send now, Schedule and Send a test refuse it with the size message and queue nothing."""
    _, recruiter_id = _seed(sessions)
    campaign_id = _store(sessions, _body_of_size(MAX_EMAIL_HTML_BYTES + 1))
    attempts = [
        lambda s: send_now(s, campaign_id, settings=MAIL),
        lambda s: schedule_campaign(s, campaign_id, T0 + timedelta(days=1), settings=MAIL),
        lambda s: send_test(s, campaign_id, recruiter_id, settings=MAIL),
    ]
    for attempt in attempts:
        with sessions() as session, pytest.raises(CampaignError, match="over the 100 KB limit"):
            attempt(session)
    assert _outbox_count(sessions) == 0
    with sessions() as session:
        assert session.get_one(Campaign, campaign_id).status is CampaignStatus.DRAFT


def test_dispatch_returns_an_oversized_scheduled_campaign_to_draft(
    sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    """A due campaign over the limit is not queued: it goes back to draft; others still go."""
    ana, _ = _seed(sessions)
    big = _store(
        sessions,
        _body_of_size(MAX_EMAIL_HTML_BYTES + 1),
        status=CampaignStatus.SCHEDULED,
        scheduled_at=T0 - timedelta(minutes=1),
    )
    small = _store(
        sessions, "Hello.", status=CampaignStatus.SCHEDULED, scheduled_at=T0 - timedelta(minutes=1)
    )
    done = dispatch_due_campaigns(sessions, settings=MAIL)
    assert [(d.campaign_id, d.queued) for d in done] == [(small, 1)]
    with sessions() as session:
        campaign = session.get_one(Campaign, big)
        assert (campaign.status, campaign.scheduled_at) == (CampaignStatus.DRAFT, None)
        rows = session.scalars(select(OutboxMessage.dedupe_key)).all()
    assert rows == [f"campaign:{small}:{ana}"]
    assert dispatch_due_campaigns(sessions, settings=MAIL) == []
