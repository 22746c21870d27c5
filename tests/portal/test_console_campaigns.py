"""Console campaign pages: create, edit, preview, audience, test send, schedule, send now,
cancel, CLI."""

from __future__ import annotations

import html
from datetime import timedelta
from pathlib import Path

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from mailer.models import Campaign, CampaignStatus, MessageKind, OutboxMessage, SendAlarm
from mailer.reputation import pause_campaign
from preferences.clock import now
from preferences.db import session_scope
from preferences.events import WebhookEvent
from preferences.models import (
    Candidate,
    MassEmail,
    MassEmailStatus,
    Subscription,
    SubscriptionStatus,
)
from tests.conftest import TEST_SECRET
from tests.portal.helpers import (
    CONFIRMED,
    RECRUITER_EMAIL,
    add_interest,
    ask_first,
    clean_env,
    confirm,
    csrf_token,
    login,
    run_cli,
)


def _seed(sessions: sessionmaker[Session]) -> dict[str, int]:
    """Two opted-in candidates (one interested in Data), one opted out; two interests."""
    with session_scope(sessions) as session:
        data = add_interest(session, "Data Science", position=1)
        design = add_interest(session, "Design", position=2)
        ids = {"data": data.id, "design": design.id}
        for name, mass in (("ana", MassEmail.OPTED_IN), ("bo", MassEmail.OPTED_IN)):
            candidate = Candidate(
                email=f"{name}@example.com", first_name=name.title(), email_verified_at=now()
            )
            session.add(candidate)
            session.flush()
            ids[name] = candidate.id
            session.add(MassEmailStatus(candidate_id=candidate.id, status=mass))
        out = Candidate(email="out@example.com", email_verified_at=now())
        session.add(out)
        session.flush()
        session.add(MassEmailStatus(candidate_id=out.id, status=MassEmail.OPTED_OUT))
        session.add(
            Subscription(
                candidate_id=ids["ana"], interest_id=data.id, status=SubscriptionStatus.SUBSCRIBED
            )
        )
        return ids


def _create(client: FlaskClient, **fields: object) -> str:
    page = client.get("/admin/campaigns/new")
    assert page.status_code == 200
    data: dict[str, object] = {
        "csrf_token": csrf_token(page.text),
        "name": "Autumn news",
        "subject": "News from Acme",
        "body": "Hello **everyone**.",
        "audience": "all",
        "action": "save",
        **fields,
    }
    response = client.post("/admin/campaigns/new", data=data)
    assert response.status_code == 302, response.text
    return response.headers["Location"]


def _send_now(client: FlaskClient, campaign_id: int, token: str) -> None:
    """Send now, confirmed (the dialog's OK, or the confirmation page's ticked box)."""
    confirmed = {"csrf_token": token, **CONFIRMED}
    response = client.post(f"/admin/campaigns/{campaign_id}/send", data=confirmed)
    assert response.status_code == 302, response.text


def _campaigns(sessions: sessionmaker[Session]) -> list[Campaign]:
    with sessions() as session:
        rows = list(session.scalars(select(Campaign).order_by(Campaign.id)))
        session.expunge_all()
    return rows


def test_campaign_pages_need_a_recruiter(client: FlaskClient) -> None:
    """Without signing in, every campaign page sends the visitor to the login form."""
    for path in ("/admin/campaigns/", "/admin/campaigns/new", "/admin/campaigns/1"):
        response = client.get(path)
        assert response.status_code == 302
        assert "/admin/login" in response.headers["Location"]
    assert client.post("/admin/campaigns/1/send").status_code in (302, 400)


def test_create_shows_the_audience_and_the_rendered_email(
    client: FlaskClient, recruiter: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    """A new campaign is saved as a draft; its page counts the audience and previews the email."""
    _seed(sessions)
    login(client, *recruiter)
    location = _create(client)
    (campaign,) = _campaigns(sessions)
    assert campaign.status is CampaignStatus.DRAFT
    assert campaign.audience == {"interest_ids": []}
    page = client.get(location)
    assert page.status_code == 200
    assert "<strong>2</strong> candidates would receive it" in page.text
    assert "opted out of mass email</td><td>1<" in page.text
    frame = client.get(f"/admin/campaigns/{campaign.id}/preview.html")
    assert frame.status_code == 200
    assert "sandbox" in frame.headers["Content-Security-Policy"]
    assert "<strong>everyone</strong>" in frame.text
    assert "1 Test Street, Testville" in frame.text  # the bulk footer


def test_interest_audience_and_bad_input_keep_the_stored_campaign(
    client: FlaskClient, recruiter: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    """Limiting to an interest narrows the audience; a bad edit is refused and changes nothing."""
    ids = _seed(sessions)
    login(client, *recruiter)
    location = _create(client, audience="interests", interest_ids=[str(ids["data"])])
    page = client.get(location)
    assert "<strong>1</strong> candidate would receive it" in page.text
    (campaign,) = _campaigns(sessions)
    edit = client.get(f"/admin/campaigns/{campaign.id}/edit")
    response = client.post(
        f"/admin/campaigns/{campaign.id}/edit",
        data={
            "csrf_token": csrf_token(edit.text),
            "name": "",
            "subject": "Changed",
            "body": "Changed",
            "audience": "interests",
            "action": "save",
        },
    )
    assert response.status_code == 400
    assert "Give the campaign a name" in response.text
    assert "Tick at least one interest" in response.text
    (after,) = _campaigns(sessions)
    assert (after.name, after.subject, after.audience) == (
        "Autumn news",
        "News from Acme",
        {"interest_ids": [ids["data"]]},
    )


def test_server_side_preview_is_sanitized_and_not_saved(
    client: FlaskClient, recruiter: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    """Preview renders the Markdown without scripts and stores nothing."""
    login(client, *recruiter)
    page = client.get("/admin/campaigns/new")
    response = client.post(
        "/admin/campaigns/new",
        data={
            "csrf_token": csrf_token(page.text),
            "name": "N",
            "subject": "S",
            "body": "# Big day\n\n<script>alert(1)</script>[x](javascript:alert(2))",
            "audience": "all",
            "action": "preview",
        },
    )
    assert response.status_code == 200
    assert "<h1>Big day</h1>" in response.text
    assert (
        "alert(1)"
        not in response.text.split("<textarea")[0] + response.text.split("</textarea>")[1]
    )
    assert "javascript:alert(2)" not in response.text.split("</textarea>")[1]
    assert _campaigns(sessions) == []


def test_send_a_test_to_me_queues_one_message_to_the_recruiter(
    client: FlaskClient, recruiter: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    """The test button queues a campaign test row to the signed-in recruiter only."""
    _seed(sessions)
    login(client, *recruiter)
    location = _create(client)
    page = client.get(location)
    campaign_id = _campaigns(sessions)[0].id
    response = client.post(
        f"/admin/campaigns/{campaign_id}/test", data={"csrf_token": csrf_token(page.text)}
    )
    assert response.status_code == 302
    with sessions() as session:
        (row,) = session.scalars(select(OutboxMessage)).all()
        assert (row.kind, row.to_address, row.candidate_id) == (
            MessageKind.CAMPAIGN,
            RECRUITER_EMAIL,
            None,
        )
        assert row.context == {"campaign_id": campaign_id, "test": True}
    assert f"A test is on its way to {RECRUITER_EMAIL}" in html.unescape(client.get(location).text)


def test_schedule_rejects_a_bad_time_and_accepts_a_future_one(
    client: FlaskClient, recruiter: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    """A past time or unknown timezone is explained and keeps the draft; a future time schedules."""
    _seed(sessions)
    login(client, *recruiter)
    location = _create(client)
    campaign_id = _campaigns(sessions)[0].id
    token = csrf_token(client.get(location).text)
    past = (now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        f"/admin/campaigns/{campaign_id}/schedule",
        data={"csrf_token": token, "send_at": past, "timezone": "UTC"},
    )
    assert response.status_code == 400
    assert "Choose a time in the future" in response.text
    response = client.post(
        f"/admin/campaigns/{campaign_id}/schedule",
        data={"csrf_token": token, "send_at": past, "timezone": "Mars/Olympus"},
    )
    assert response.status_code == 400
    assert "Enter a timezone name" in response.text
    assert _campaigns(sessions)[0].status is CampaignStatus.DRAFT
    future = (now() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        f"/admin/campaigns/{campaign_id}/schedule",
        data={"csrf_token": token, "send_at": future, "timezone": "Europe/Berlin"},
    )
    assert response.status_code == 302
    campaign = _campaigns(sessions)[0]
    assert campaign.status is CampaignStatus.SCHEDULED
    assert campaign.scheduled_at is not None and campaign.scheduled_at > now()


def test_send_now_queues_the_audience_and_cancel_stops_the_rest(
    client: FlaskClient, recruiter: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    """Send now queues one row per recipient; cancel then marks the campaign cancelled."""
    _seed(sessions)
    login(client, *recruiter)
    location = _create(client)
    campaign_id = _campaigns(sessions)[0].id
    token = csrf_token(client.get(location).text)
    _send_now(client, campaign_id, token)
    assert "Queued for 2 recipients" in client.get(location).text
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 2
    assert _campaigns(sessions)[0].status is CampaignStatus.SENT
    again = client.post(f"/admin/campaigns/{campaign_id}/send", data={"csrf_token": token})
    assert again.status_code == 302
    assert "cannot be sent again" in client.get(location).text
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 2
    confirmed = {"csrf_token": token, **CONFIRMED}
    client.post(f"/admin/campaigns/{campaign_id}/cancel", data=confirmed)
    assert "2 message(s) not sent yet will be skipped" in client.get(location).text
    assert _campaigns(sessions)[0].status is CampaignStatus.CANCELLED


def _pause_after_send(client: FlaskClient, sessions: sessionmaker[Session]) -> tuple[int, str, str]:
    """A campaign sent now to its 2 recipients, then paused by the reputation alarm."""
    location = _create(client)
    campaign_id = _campaigns(sessions)[0].id
    token = csrf_token(client.get(location).text)
    _send_now(client, campaign_id, token)
    with session_scope(sessions) as session:
        assert pause_campaign(session, campaign_id) == 2
        session.add(
            SendAlarm(
                send_key=f"campaign:{campaign_id}:",
                warned_at=now(),
                paused_at=now(),
                policy=6,
                handed=100,
                base_policy=0,
                base_handed=0,
            )
        )
    return campaign_id, location, token


def _statuses(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return sorted(r.value for r in session.scalars(select(OutboxMessage.status)))


def test_a_paused_campaign_says_why_and_resumes(
    client: FlaskClient, recruiter: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    """The page explains the pause and the held messages; Resume puts them back in the queue."""
    _seed(sessions)
    login(client, *recruiter)
    campaign_id, location, token = _pause_after_send(client, sessions)
    assert ">paused<" in client.get("/admin/campaigns/").text
    page = html.unescape(client.get(location).text)
    assert "Sending is paused" in page
    assert "6 of the 100 messages handed to the relay (6.0%)" in page
    assert "2 messages are held: not sent, not lost." in page
    assert "Resume sending the 2 held messages" in page
    assert "Cancel the campaign" in page
    assert _statuses(sessions) == ["held", "held"]
    response = client.post(f"/admin/campaigns/{campaign_id}/resume", data={"csrf_token": token})
    assert response.status_code == 302
    page = html.unescape(client.get(location).text)
    assert "Sending again: 2 held messages went back to the queue." in page
    assert "Sending is paused" not in page
    assert _campaigns(sessions)[0].status is CampaignStatus.SENT
    assert _statuses(sessions) == ["pending", "pending"]
    client.post(f"/admin/campaigns/{campaign_id}/resume", data={"csrf_token": token})
    assert "A sent campaign cannot be resumed." in client.get(location).text
    assert client.post(f"/admin/campaigns/{campaign_id}/resume").status_code == 400


def test_cancelling_a_paused_campaign_skips_the_held_messages(
    client: FlaskClient, recruiter: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    """Cancel on a paused campaign asks first, then settles its held messages as skipped."""
    _seed(sessions)
    login(client, *recruiter)
    campaign_id, location, token = _pause_after_send(client, sessions)
    said, _unticked = ask_first(client, f"/admin/campaigns/{campaign_id}/cancel", token)
    assert (
        "Messages already sent stay sent; the rest, including the held ones, are never sent."
        in said
    )
    assert _statuses(sessions) == ["held", "held"]
    confirmed = {"csrf_token": token, **CONFIRMED}
    client.post(f"/admin/campaigns/{campaign_id}/cancel", data=confirmed)
    assert "2 message(s) not sent yet will be skipped" in client.get(location).text
    assert _campaigns(sessions)[0].status is CampaignStatus.CANCELLED
    assert _statuses(sessions) == ["skipped", "skipped"]


def test_actions_without_a_csrf_token_are_refused(
    client: FlaskClient, recruiter: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    """A send-now or cancel POST without the form's token, confirmed or not, is a 400 and
    changes nothing."""
    _seed(sessions)
    login(client, *recruiter)
    _create(client)
    campaign_id = _campaigns(sessions)[0].id
    confirmed = CONFIRMED
    for action in ("send", "cancel"):
        url = f"/admin/campaigns/{campaign_id}/{action}"
        assert client.post(url).status_code == 400, action
        response = client.post(url, data=confirmed)
        assert response.status_code == 400, action
        assert "Nothing has" not in response.text and "Tick the box" not in response.text
    assert _campaigns(sessions)[0].status is CampaignStatus.DRAFT
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_cancel_asks_first_and_changes_nothing(
    client: FlaskClient, recruiter: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    """Cancel first asks (the campaign stays as it is); unticked, it says so; ticked, it cancels."""
    _seed(sessions)
    login(client, *recruiter)
    location = _create(client)
    campaign_id = _campaigns(sessions)[0].id
    page = client.get(location).text
    assert 'data-confirm="Cancel the campaign Autumn news?' in page
    assert "/static/confirm.js" in page
    token = csrf_token(page)
    url = f"/admin/campaigns/{campaign_id}/cancel"
    said, unticked = ask_first(client, url, token)
    assert "Cancel this campaign?" in said and "Nothing has changed yet." in said
    assert "Autumn news" in said and "News from Acme" in said
    assert "It will never be sent: a cancelled campaign can't be edited" in said
    assert "Tick the box to confirm. The campaign has not been cancelled." in unticked
    assert _campaigns(sessions)[0].status is CampaignStatus.DRAFT
    done = confirm(client, url, token)
    assert done.status_code == 302
    assert "The campaign was cancelled." in client.get(location).text
    assert _campaigns(sessions)[0].status is CampaignStatus.CANCELLED


def _sent_rows(sessions: sessionmaker[Session]) -> tuple[int, list[dict[str, object]]]:
    """The outbox rows queued, and the data of the campaign.sent events written."""
    with sessions() as session:
        queued = session.scalar(select(func.count()).select_from(OutboxMessage)) or 0
        events = list(
            session.scalars(select(WebhookEvent.data).where(WebhookEvent.type == "campaign.sent"))
        )
    return queued, events


def test_send_now_asks_first_and_changes_nothing(
    client: FlaskClient, recruiter: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    """Send now first asks, naming the button's count (nothing is queued); unticked, it says
    so; ticked, it queues the audience and writes campaign.sent as before."""
    _seed(sessions)
    login(client, *recruiter)
    location = _create(client)
    campaign_id = _campaigns(sessions)[0].id
    page = html.unescape(client.get(location).text)
    assert "Send now to 2</button>" in page
    assert 'data-confirm="Send the campaign Autumn news to 2 candidates now?' in page
    assert "/static/confirm.js" in page
    token = csrf_token(page)
    url = f"/admin/campaigns/{campaign_id}/send"
    said, unticked = ask_first(client, url, token)
    assert "Send this campaign now?" in said and "Nothing has been sent yet." in said
    assert "Autumn news" in said and "News from Acme" in said
    assert "Everyone opted in to mass email" in said
    assert "<dt>Recipients</dt><dd>2 candidates</dd>" in said
    assert "It is queued at once for the 2 candidates who would receive it now" in said
    assert "Messages that have gone out can't be called back." in said
    assert "Until every message has gone, Cancel on the campaign's page stops the rest" in said
    assert 'name="confirm" value="yes"' in said
    assert 'name="step" value="confirm"' in said
    assert "Yes, send this campaign to 2 candidates now." in said
    assert "Send now to 2</button>" in said
    assert _campaigns(sessions)[0].status is CampaignStatus.DRAFT
    assert _sent_rows(sessions) == (0, [])
    assert "Tick the box to confirm. Nothing has been sent." in unticked
    assert 'aria-invalid="true"' in unticked
    assert _campaigns(sessions)[0].status is CampaignStatus.DRAFT
    assert _sent_rows(sessions) == (0, [])
    done = confirm(client, url, token)
    assert done.status_code == 302
    assert done.headers["Location"].endswith(location)
    assert "Queued for 2 recipients." in client.get(location).text
    assert _campaigns(sessions)[0].status is CampaignStatus.SENT
    assert _sent_rows(sessions) == (2, [{"campaign_id": campaign_id, "recipients": 2}])


def test_send_now_of_a_scheduled_campaign_says_it_goes_now_instead(
    client: FlaskClient, recruiter: tuple[str, str], sessions: sessionmaker[Session]
) -> None:
    """A scheduled campaign's confirmation names its send time and says it goes now instead;
    one the console refuses anyway (already sent) is answered at once, without asking."""
    ids = _seed(sessions)
    login(client, *recruiter)
    location = _create(client, audience="interests", interest_ids=[str(ids["data"])])
    campaign_id = _campaigns(sessions)[0].id
    token = csrf_token(client.get(location).text)
    later = (now() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    client.post(
        f"/admin/campaigns/{campaign_id}/schedule",
        data={"csrf_token": token, "send_at": later, "timezone": "UTC"},
    )
    url = f"/admin/campaigns/{campaign_id}/send"
    said, _unticked = ask_first(client, url, token)
    assert "Opted in to mass email and subscribed to Data Science" in said
    assert "<dt>Recipients</dt><dd>1 candidate</dd>" in said
    assert f"{later.replace('T', ' ')} UTC" in said
    assert "It goes now instead of at its scheduled time." in said
    assert _campaigns(sessions)[0].status is CampaignStatus.SCHEDULED
    assert _sent_rows(sessions) == (0, [])
    _send_now(client, campaign_id, token)
    assert _campaigns(sessions)[0].status is CampaignStatus.SENT
    again = client.post(url, data={"csrf_token": token})
    assert again.status_code == 302
    assert "cannot be sent again" in client.get(location).text
    assert _sent_rows(sessions)[0] == 1


def test_unknown_campaign_is_404(client: FlaskClient, recruiter: tuple[str, str]) -> None:
    """A campaign id that does not exist is a 404, not an error page."""
    login(client, *recruiter)
    assert client.get("/admin/campaigns/999").status_code == 404
    assert client.get("/admin/campaigns/999/preview.html").status_code == 404


def test_cli_dispatch_queues_due_campaigns_once(
    tmp_path: Path, database_url: str, sessions: sessionmaker[Session]
) -> None:
    """`talentconnect campaigns dispatch` queues a due campaign; a second run queues nothing."""
    _seed(sessions)
    with session_scope(sessions) as session:
        session.add(
            Campaign(
                name="Due",
                subject="Hello",
                body="Hi.",
                audience={"interest_ids": []},
                status=CampaignStatus.SCHEDULED,
                scheduled_at=now() - timedelta(minutes=1),
            )
        )
    env = clean_env(
        DATABASE_URL=database_url,
        INSTANCE_DIR=str(tmp_path / "instance"),
        SECRET_KEYS=TEST_SECRET,
    )
    first = run_cli(["campaigns", "dispatch"], env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "1 campaign(s) dispatched, 2 message(s) queued" in first.stdout
    second = run_cli(["campaigns", "dispatch"], env=env, cwd=tmp_path)
    assert "0 campaign(s) dispatched, 0 message(s) queued" in second.stdout
    listed = run_cli(["campaigns", "list"], env=env, cwd=tmp_path)
    assert "Due" in listed.stdout and "sent" in listed.stdout
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 2
