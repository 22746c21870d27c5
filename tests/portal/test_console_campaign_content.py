"""Console campaign pages enforce the content rules: alt text, the 100 KB limit, its size shown."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from pathlib import Path

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse

from mailer.campaigns import MAX_EMAIL_HTML_BYTES
from mailer.models import Campaign, CampaignStatus, OutboxMessage
from portal.cli.main import campaign_dispatcher
from portal.config import Settings
from preferences.clock import now
from preferences.db import session_scope
from preferences.models import Candidate, MassEmail, MassEmailStatus
from tests.conftest import TEST_SECRET
from tests.portal.helpers import clean_env, csrf_token, login, run_cli

# Enough Markdown for well over 100 KB of HTML, yet under the 100,000-character body cap.
OVERSIZED = "[Open roles](https://careers.acme.example.com/jobs)\n\n" * 1_800


def _seed(sessions: sessionmaker[Session]) -> None:
    with session_scope(sessions) as session:
        ana = Candidate(email="ana@example.com", first_name="Ana", email_verified_at=now())
        session.add(ana)
        session.flush()
        session.add(MassEmailStatus(candidate_id=ana.id, status=MassEmail.OPTED_IN))


def _post_new(client: FlaskClient, body: str, action: str = "save") -> TestResponse:
    page = client.get("/admin/campaigns/new")
    return client.post(
        "/admin/campaigns/new",
        data={
            "csrf_token": csrf_token(page.text),
            "name": "Team",
            "subject": "Meet the team",
            "body": body,
            "audience": "all",
            "action": action,
        },
    )


def _count(sessions: sessionmaker[Session], model: type) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def _stored(sessions: sessionmaker[Session], body: str) -> int:
    """A campaign stored as it may be from before the rules (saved without the checks)."""
    with session_scope(sessions) as session:
        campaign = Campaign(name="Big", subject="News", body=body, audience={"interest_ids": []})
        session.add(campaign)
        session.flush()
        return campaign.id


def test_an_image_without_alt_text_is_refused_at_the_field(
    client: FlaskClient, recruiter: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    """Save answers 400 naming the image at the message field, and stores nothing."""
    login(client, *recruiter)
    response = _post_new(client, "Hello\n\n![](https://acme.example.com/team.png)")
    assert response.status_code == 400
    page = html.unescape(response.text)
    assert 'id="body-error"' in page
    assert "Add alt text to this image: https://acme.example.com/team.png" in page
    assert _count(sessions, Campaign) == 0


def test_an_oversized_body_is_refused_at_save_with_its_size(
    client: FlaskClient, recruiter: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    """Saving a body whose email passes 100 KB is a 400 saying how big and why; nothing stored."""
    login(client, *recruiter)
    response = _post_new(client, OVERSIZED)
    assert response.status_code == 400
    page = html.unescape(response.text)
    assert re.search(r"This email would be 1\d\d\.\d KB of HTML, over the 100 KB limit", page)
    assert "Gmail cuts off larger emails" in page
    assert _count(sessions, Campaign) == 0


def test_preview_shows_the_size_of_the_whole_email(
    client: FlaskClient, recruiter: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    """Preview message shows the email's size, and the size problem before any save."""
    login(client, *recruiter)
    small = _post_new(client, "Hello **all**.", action="preview")
    assert small.status_code == 200
    assert re.search(
        r'id="email-size">Size of the whole email: <strong>\d+\.\d KB</strong> of HTML',
        small.text,
    )
    big = _post_new(client, OVERSIZED, action="preview")
    assert "over the 100 KB limit" in html.unescape(big.text)
    assert _count(sessions, Campaign) == 0


def test_an_oversized_campaign_page_blocks_send_schedule_and_test(
    client: FlaskClient, recruiter: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    """Its page says why it can't be sent and offers no send buttons; posts anyway queue nothing."""
    _seed(sessions)
    login(client, *recruiter)
    campaign_id = _stored(sessions, OVERSIZED)
    page = client.get(f"/admin/campaigns/{campaign_id}")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "This campaign can't be sent yet" in text
    assert "over the 100 KB limit" in text
    assert re.search(r"Size of the whole email: <strong>1\d\d\.\d KB</strong>", text)
    assert "Send now to" not in text and "Send a test to me" not in text
    assert f"/admin/campaigns/{campaign_id}/schedule" not in text
    token = csrf_token(page.text)
    sent = client.post(f"/admin/campaigns/{campaign_id}/send", data={"csrf_token": token})
    assert sent.status_code == 302
    assert "over the 100 KB limit" in html.unescape(client.get(sent.headers["Location"]).text)
    tested = client.post(f"/admin/campaigns/{campaign_id}/test", data={"csrf_token": token})
    assert tested.status_code == 302
    later = (now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    scheduled = client.post(
        f"/admin/campaigns/{campaign_id}/schedule",
        data={"csrf_token": token, "send_at": later, "timezone": "UTC"},
    )
    assert scheduled.status_code == 400
    assert "over the 100 KB limit" in html.unescape(scheduled.text)
    assert _count(sessions, OutboxMessage) == 0
    with sessions() as session:
        assert session.get_one(Campaign, campaign_id).status is CampaignStatus.DRAFT


def test_a_campaign_within_the_limit_shows_its_size_and_can_be_sent(
    client: FlaskClient, recruiter: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    """A normal campaign's page shows its size beside the send buttons, which still work."""
    _seed(sessions)
    login(client, *recruiter)
    campaign_id = _stored(sessions, "Hello **all**.")
    page = client.get(f"/admin/campaigns/{campaign_id}")
    size = re.search(r"Size of the whole email: <strong>(\d+\.\d) KB</strong>", page.text)
    assert size is not None and float(size.group(1)) * 1000 < MAX_EMAIL_HTML_BYTES
    assert "can't be sent yet" not in page.text
    sent = client.post(
        f"/admin/campaigns/{campaign_id}/send",
        data={"csrf_token": csrf_token(page.text), "step": "confirm", "confirm": "yes"},
    )
    assert sent.status_code == 302
    assert _count(sessions, OutboxMessage) == 1


def _due(sessions: sessionmaker[Session], body: str) -> int:
    with session_scope(sessions) as session:
        campaign = Campaign(
            name="Due",
            subject="News",
            body=body,
            audience={"interest_ids": []},
            status=CampaignStatus.SCHEDULED,
            scheduled_at=now() - timedelta(minutes=1),
        )
        session.add(campaign)
        session.flush()
        return campaign.id


def test_cli_dispatch_sends_an_oversized_campaign_back_to_draft(
    tmp_path: Path, database_url: str, sessions: sessionmaker[Session]
) -> None:
    """`campaigns dispatch` checks the size with the configured sender: nothing queued, a draft."""
    _seed(sessions)
    campaign_id = _due(sessions, OVERSIZED)
    env = clean_env(
        DATABASE_URL=database_url, INSTANCE_DIR=str(tmp_path / "instance"), SECRET_KEYS=TEST_SECRET
    )
    done = run_cli(["campaigns", "dispatch"], env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "0 campaign(s) dispatched, 0 message(s) queued" in done.stdout
    assert "campaign not sent: back to draft" in done.stderr
    assert _count(sessions, OutboxMessage) == 0
    with sessions() as session:
        campaign = session.get_one(Campaign, campaign_id)
        assert (campaign.status, campaign.scheduled_at) == (CampaignStatus.DRAFT, None)


def test_the_scheduler_dispatch_checks_the_size_too(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    """The dispatcher `run` and `scheduler` give the scheduler holds the sender settings."""
    _seed(sessions)
    big = _due(sessions, OVERSIZED)
    small = _due(sessions, "Hello.")
    done = campaign_dispatcher(settings)(sessions)
    assert isinstance(done, list)
    assert [item.campaign_id for item in done] == [small]
    with sessions() as session:
        assert session.get_one(Campaign, big).status is CampaignStatus.DRAFT
