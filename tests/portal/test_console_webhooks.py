"""The console's Webhooks pages: admins only, CSRF, the secret shown once, clear errors that
store nothing, health figures, deliveries with Redeliver, Send test event, disable (asked
first) and enable, rotation, delete."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from portal.app import create_app
from portal.auth.recruiters import set_recruiter
from portal.resumes.netguard import UrlRefused
from portal.webhooks.endpoints import (
    EndpointInput,
    active_secrets,
    check_endpoint_url,
    create_endpoint,
)
from portal.webhooks.models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookSecret,
)
from portal.webhooks.reports import endpoint_health
from preferences.clock import now
from preferences.db import session_scope
from preferences.events import WebhookEvent
from preferences.models import AuditEvent, RecruiterRole
from tests.conftest import TEST_SEAL, make_settings
from tests.portal.helpers import RECRUITER_PASSWORD, csrf_token, login

ADMIN = "ada@acme.example.com"
RECRUITER = "rita@acme.example.com"
RECEIVER = "127.0.0.1:8765"
RECEIVER_URL = f"http://{RECEIVER}/hooks"


@pytest.fixture
def hook_app(tmp_path: Path, database_url: str) -> Iterator[Flask]:
    settings = make_settings(
        tmp_path, database_url, WEBHOOK_ALLOWED_HOSTS=RECEIVER, WEBHOOK_SECRET_GRACE_HOURS="24"
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
def admin(hook_app: Flask, accounts: None) -> FlaskClient:
    client = hook_app.test_client()
    assert login(client, ADMIN, RECRUITER_PASSWORD).status_code == 302
    return client


def _post(client: FlaskClient, page_path: str, action: str, data: dict[str, Any]) -> Any:
    page = client.get(page_path)
    assert page.status_code == 200, page.text
    return client.post(action, data={**data, "csrf_token": csrf_token(page.text)})


def _add(client: FlaskClient, **fields: Any) -> Any:
    data: dict[str, Any] = {"url": RECEIVER_URL, "description": "ATS sync", "enabled": "on"}
    data.update(fields)
    return _post(client, "/admin/webhooks/new", "/admin/webhooks/new", data)


def _seed_endpoint(sessions: sessionmaker[Session], url: str = RECEIVER_URL, **kw: Any) -> str:
    with session_scope(sessions) as session:
        endpoint, _secret = create_endpoint(
            session, EndpointInput(url=url, **kw), allowed_hosts=(RECEIVER,), seal=TEST_SEAL
        )
        return endpoint.public_id


def _endpoint_rows(sessions: sessionmaker[Session]) -> list[tuple[Any, ...]]:
    with session_scope(sessions) as session:
        return [
            (e.url, e.description, list(e.event_types), e.enabled, e.include_contact_data)
            for e in session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id))
        ]


def _secrets(sessions: sessionmaker[Session]) -> list[str]:
    with session_scope(sessions) as session:
        return [
            TEST_SEAL.unseal(sealed)
            for sealed in session.scalars(select(WebhookSecret.sealed).order_by(WebhookSecret.id))
        ]


def _delivery(
    session: Session,
    endpoint_id: int,
    status: DeliveryStatus,
    *,
    attempts: Sequence[tuple[bool, int | None, str | None, int]] = (),
    hours_ago: float = 1,
    event_type: str = "candidate.created",
) -> WebhookDelivery:
    """A delivery with its event and its attempts (succeeded, status code, error, ms)."""
    at = now() - timedelta(hours=hours_ago)
    event = WebhookEvent(type=event_type, data={}, source="test", occurred_at=at, expanded_at=at)
    session.add(event)
    session.flush()
    delivery = WebhookDelivery(
        endpoint_id=endpoint_id,
        event_id=event.id,
        status=status,
        attempts=len(attempts),
        created_at=at,
        next_attempt_at=at,
        retry_from=at,
        finished_at=at if status in (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED) else None,
    )
    if attempts:
        _ok, code, error, ms = attempts[-1]
        delivery.last_status_code, delivery.last_error, delivery.last_duration_ms = code, error, ms
    session.add(delivery)
    session.flush()
    for number, (ok, code, error, ms) in enumerate(attempts, start=1):
        session.add(
            WebhookAttempt(
                delivery_id=delivery.id,
                endpoint_id=endpoint_id,
                attempt=number,
                attempted_at=at,
                succeeded=ok,
                status_code=code,
                error=error,
                duration_ms=ms,
            )
        )
    session.flush()
    return delivery


def _endpoint_id(sessions: sessionmaker[Session], public_id: str) -> int:
    with session_scope(sessions) as session:
        found = session.scalar(
            select(WebhookEndpoint.id).where(WebhookEndpoint.public_id == public_id)
        )
        assert found is not None
        return found


def test_webhook_pages_are_for_admins(
    hook_app: Flask, accounts: None, sessions: sessionmaker[Session]
) -> None:
    """Visitors go to the login page; a recruiter who is not an admin gets 403 and no link."""
    public_id = _seed_endpoint(sessions)
    client = hook_app.test_client()
    paths = ("/admin/webhooks/", "/admin/webhooks/new", f"/admin/webhooks/{public_id}")
    for path in paths:
        response = client.get(path)
        assert response.status_code == 302
        assert "/admin/login" in response.headers["Location"]
    assert login(client, RECRUITER, RECRUITER_PASSWORD).status_code == 302
    for path in (*paths, f"/admin/webhooks/{public_id}/edit"):
        assert client.get(path).status_code == 403, path
    token = csrf_token(client.get("/admin/").text)
    for action in ("test", "rotate", "delete", "enabled"):
        response = client.post(
            f"/admin/webhooks/{public_id}/{action}", data={"csrf_token": token, "confirm": "yes"}
        )
        assert response.status_code == 403, action
    assert "/admin/webhooks/" not in client.get("/admin/").text
    assert len(_endpoint_rows(sessions)) == 1 and len(_secrets(sessions)) == 1


def test_the_section_is_in_the_console_nav_and_home(admin: FlaskClient) -> None:
    """Admins find Webhooks in the section bar and among the home page's sections."""
    home = admin.get("/admin/")
    assert home.text.count('href="/admin/webhooks/"') == 2
    page = admin.get("/admin/webhooks/")
    assert re.search(r'<a href="/admin/webhooks/" aria-current="page">Webhooks</a>', page.text)
    assert "No endpoints yet" in page.text
    assert 'href="/admin/webhooks/new"' in page.text


def test_create_shows_the_secret_once(admin: FlaskClient, sessions: sessionmaker[Session]) -> None:
    """Adding an endpoint stores it and shows its whsec_ secret once, uncached; never again."""
    form = admin.get("/admin/webhooks/new")
    assert "Tick none to receive all events" in form.text
    assert "<legend>Event types</legend>" in form.text
    assert 'name="include_contact_data" aria-describedby="hint-include_contact_data">' in form.text
    response = _add(
        admin,
        event_types=["candidate.created", "candidate.unsubscribed"],
        include_contact_data="on",
    )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    (secret,) = _secrets(sessions)
    assert secret.startswith("whsec_")
    assert secret in response.text
    assert "shown only this once" in response.text
    assert "Standard Webhooks" in response.text
    assert _endpoint_rows(sessions) == [
        (
            RECEIVER_URL,
            "ATS sync",
            ["candidate.created", "candidate.unsubscribed"],
            True,
            True,
        )
    ]
    with session_scope(sessions) as session:
        endpoint = session.scalars(select(WebhookEndpoint)).one()
        public_id = endpoint.public_id
        audit = session.scalars(select(AuditEvent).where(AuditEvent.subject == public_id)).one()
        assert audit.action == "webhook.created"
        assert audit.detail["host"] == "127.0.0.1"
    for path in (
        "/admin/webhooks/",
        f"/admin/webhooks/{public_id}",
        f"/admin/webhooks/{public_id}/edit",
    ):
        page = admin.get(path)
        assert page.status_code == 200
        assert secret not in page.text, path
        assert secret[6:20] not in page.text, path
    listing = admin.get("/admin/webhooks/").text
    assert "candidate.created, candidate.unsubscribed" in listing
    assert "No deliveries yet" in listing


def test_no_event_type_ticked_means_all_events(
    admin: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    """An endpoint with no type ticked stores none and is listed as receiving all events."""
    assert _add(admin).status_code == 200
    assert _endpoint_rows(sessions) == [(RECEIVER_URL, "ATS sync", [], True, False)]
    assert "All events" in admin.get("/admin/webhooks/").text


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"url": "http://hooks.example.com/in"}, "url", "http:// is only for hosts in"),
        ({"url": "https://10.1.2.3/in"}, "url", "10.1.2.3 is not a public address"),
        ({"url": "https://[::1]:8443/in"}, "url", "::1 is not a public address"),
        ({"url": "   "}, "url", "Enter the receiver"),
        ({"event_types": ["candidate.created", "candidate.teleported"]}, "event_types", "not an"),
        ({"description": "bell\x07"}, "description", "one line"),
    ],
    ids=[
        "http-not-allowed",
        "private-ip",
        "loopback-v6",
        "missing-url",
        "bad-type",
        "control-char",
    ],
)
def test_invalid_input_shows_field_errors_and_changes_nothing(
    admin: FlaskClient,
    sessions: sessionmaker[Session],
    fields: dict[str, Any],
    field: str,
    message: str,
) -> None:
    """A refused endpoint comes back 400 with the message by its field and the values kept."""
    public_id = _seed_endpoint(sessions, description="kept", event_types=("campaign.sent",))
    before_rows, before_secrets = _endpoint_rows(sessions), _secrets(sessions)
    data = {"description": "ATS sync", "include_contact_data": "on", **fields}
    for page in ("/admin/webhooks/new", f"/admin/webhooks/{public_id}/edit"):
        response = _post(admin, page, page, {"url": RECEIVER_URL, "enabled": "on", **data})
        assert response.status_code == 400, page
        error = re.search(rf'<p class="field-error" id="error-{field}">([^<]*)</p>', response.text)
        assert error is not None and message in error.group(1).replace("&#39;", "'"), page
        assert f'href="#field-{field}"' in response.text
        assert 'id="field-include_contact_data" name="include_contact_data"' in response.text
        assert re.search(r'name="include_contact_data"[^>]* checked', response.text)
        if "url" in fields and fields["url"].strip():
            assert f'value="{fields["url"]}"' in response.text
        if field == "event_types":
            assert re.search(r'value="candidate.created"[^>]* checked', response.text)
        assert _endpoint_rows(sessions) == before_rows
        assert _secrets(sessions) == before_secrets


def test_edit_changes_the_endpoint(admin: FlaskClient, sessions: sessionmaker[Session]) -> None:
    """Saving the edit form changes the endpoint, shows its values, and is audited."""
    public_id = _seed_endpoint(sessions, event_types=("campaign.sent",))
    page = admin.get(f"/admin/webhooks/{public_id}/edit")
    assert re.search(r'value="campaign.sent"[^>]* checked', page.text)
    assert f'value="{RECEIVER_URL}"' in page.text
    response = _post(
        admin,
        f"/admin/webhooks/{public_id}/edit",
        f"/admin/webhooks/{public_id}/edit",
        {
            "url": "https://hooks.example.com/talent",
            "description": "  Data   warehouse ",
            "event_types": ["bounce.hard", "complaint.received"],
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/webhooks/{public_id}")
    assert _endpoint_rows(sessions) == [
        (
            "https://hooks.example.com/talent",
            "Data warehouse",
            ["bounce.hard", "complaint.received"],
            False,
            False,
        )
    ]
    shown = admin.get(f"/admin/webhooks/{public_id}").text
    assert "Endpoint saved." in shown
    assert "disabled by an admin" in shown
    with session_scope(sessions) as session:
        actions = list(
            session.scalars(select(AuditEvent.action).where(AuditEvent.subject == public_id))
        )
    assert actions == ["webhook.changed"]


def _confirm(data: dict[str, Any]) -> dict[str, Any]:
    """The form as the confirmation page's ticked box (or the dialog's OK) sends it."""
    return {**data, "step": "confirm", "confirm": "yes"}


def _audit_actions(sessions: sessionmaker[Session], public_id: str) -> list[str]:
    with session_scope(sessions) as session:
        return list(
            session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.subject == public_id)
                .order_by(AuditEvent.id)
            )
        )


def test_disable_and_enable(admin: FlaskClient, sessions: sessionmaker[Session]) -> None:
    """Disable (confirmed) records the reason shown on the list; Enable, one click, clears it
    and the failing mark."""
    public_id = _seed_endpoint(sessions)
    page = f"/admin/webhooks/{public_id}"
    response = _post(admin, page, f"{page}/enabled", _confirm({"enabled": "off"}))
    assert response.status_code == 302
    listing = admin.get("/admin/webhooks/").text
    assert "Disabled" in listing and "disabled by an admin" in listing
    with session_scope(sessions) as session:
        endpoint = session.scalars(select(WebhookEndpoint)).one()
        endpoint.failing_since = now() - timedelta(days=6)
        endpoint.disabled_reason = "failing for 5 days"
    shown = admin.get(page).text
    assert "failing for 5 days" in shown
    enable_form = re.search(r'<form[^>]*action="[^"]*/enabled"[^>]*>', shown)
    assert enable_form is not None and "data-confirm" not in enable_form.group(0)
    response = _post(admin, page, f"{page}/enabled", {"enabled": "on"})
    assert response.status_code == 302
    with session_scope(sessions) as session:
        endpoint = session.scalars(select(WebhookEndpoint)).one()
        assert endpoint.enabled
        assert endpoint.failing_since is None and endpoint.disabled_reason is None
    assert "Endpoint enabled" in admin.get(page).text
    assert _audit_actions(sessions, public_id) == ["webhook.changed", "webhook.changed"]


def test_disable_asks_first_and_changes_nothing(
    admin: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    """Disable first asks, saying what happens to events and queued deliveries (nothing
    changes); unticked, it says so; ticked, it disables and writes webhook.changed."""
    public_id = _seed_endpoint(sessions, description="ATS sync")
    endpoint_id = _endpoint_id(sessions, public_id)
    with session_scope(sessions) as session:
        queued = _delivery(session, endpoint_id, DeliveryStatus.PENDING).id
    page = f"/admin/webhooks/{public_id}"
    shown = html.unescape(admin.get(page).text)
    assert f'data-confirm="Disable {RECEIVER_URL}? Events that happen while it is disabled' in shown
    assert "/static/confirm.js" in shown
    before = _endpoint_rows(sessions)
    url = f"{page}/enabled"

    def unchanged() -> None:
        assert _endpoint_rows(sessions) == before
        with session_scope(sessions) as session:
            endpoint = session.get_one(WebhookEndpoint, endpoint_id)
            assert endpoint.enabled
            assert endpoint.disabled_at is None and endpoint.disabled_reason is None
            assert session.get_one(WebhookDelivery, queued).status is DeliveryStatus.PENDING
        assert _audit_actions(sessions, public_id) == []

    asked = _post(admin, page, url, {"enabled": "off"})
    assert asked.status_code == 200
    said = html.unescape(asked.text)
    assert "Disable the endpoint?" in said and "Nothing has changed yet." in said
    assert RECEIVER_URL in said and "ATS sync" in said and "All events" in said
    assert (
        "While it is disabled, events that happen are never sent to it, and they are not "
        "kept for it: enabling it again does not send what it missed" in said
    )
    assert "Deliveries already queued for it, new ones and retries, are kept" in said
    assert "they go out when you enable it again" in said
    assert (
        "A delivery whose retries have run out by then (WEBHOOK_RETRY_HOURS, 72 hours from "
        "when it was queued) gets one last try." in said
    )
    assert "Send test event still reaches it." in said
    assert 'name="confirm" value="yes"' in asked.text
    assert 'name="step" value="confirm"' in asked.text
    assert f"Yes, disable {RECEIVER_URL}." in said
    unchanged()
    unticked = _post(admin, page, url, {"step": "confirm"})
    assert unticked.status_code == 400
    assert "Tick the box to confirm. The endpoint is still enabled." in unticked.text
    assert 'aria-invalid="true"' in unticked.text
    unchanged()
    done = _post(admin, page, url, _confirm({}))
    assert done.status_code == 302
    assert done.headers["Location"].endswith(page)
    with session_scope(sessions) as session:
        endpoint = session.get_one(WebhookEndpoint, endpoint_id)
        assert not endpoint.enabled and endpoint.disabled_reason == "disabled by an admin"
        # Queued deliveries are kept: they wait for the endpoint.
        assert session.get_one(WebhookDelivery, queued).status is DeliveryStatus.PENDING
        audit = session.scalars(select(AuditEvent).where(AuditEvent.subject == public_id)).one()
        assert (audit.action, audit.detail["enabled"]) == ("webhook.changed", False)
    assert "Endpoint disabled" in admin.get(page).text
    # Disabling a disabled endpoint asks nothing and changes nothing.
    again = _post(admin, page, url, {"enabled": "off"})
    assert again.status_code == 302
    assert _audit_actions(sessions, public_id) == ["webhook.changed"]


def test_list_and_page_show_success_rates(
    admin: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    """Success rate counts the last 7 days' attempts per endpoint, from one grouped query."""
    healthy = _seed_endpoint(sessions, description="healthy")
    failing = _seed_endpoint(sessions, url="https://hooks.example.com/a", description="failing")
    quiet = _seed_endpoint(sessions, url="https://hooks.example.com/b", description="quiet")
    ids = {key: _endpoint_id(sessions, key) for key in (healthy, failing, quiet)}
    ok = (True, 204, None, 35)
    with session_scope(sessions) as session:
        for _ in range(3):
            _delivery(session, ids[healthy], DeliveryStatus.DELIVERED, attempts=[ok])
        _delivery(
            session,
            ids[healthy],
            DeliveryStatus.DELIVERED,
            attempts=[(False, 503, "HTTP 503", 20), ok],
        )
        # Outside the window: not counted.
        _delivery(
            session,
            ids[healthy],
            DeliveryStatus.FAILED,
            attempts=[(False, 400, "x", 5)],
            hours_ago=24 * 8,
        )
        _delivery(
            session,
            ids[failing],
            DeliveryStatus.PENDING,
            attempts=[(False, None, "connection refused", 3)] * 2,
        )
        endpoint = session.get(WebhookEndpoint, ids[failing])
        assert endpoint is not None
        endpoint.failing_since = now() - timedelta(hours=2)
        endpoint.last_success_at = now() - timedelta(days=3)
    with session_scope(sessions) as session:
        health = endpoint_health(session)
    assert set(health) == {ids[healthy], ids[failing]}
    assert (health[ids[healthy]].attempts, health[ids[healthy]].succeeded) == (5, 4)
    assert health[ids[healthy]].percent == 80
    assert (health[ids[failing]].attempts, health[ids[failing]].percent) == (2, 0)
    listing = admin.get("/admin/webhooks/").text
    rows = {
        key: re.search(rf'<tr data-endpoint="{key}">(.*?)</tr>', listing, re.S)
        for key in (healthy, failing, quiet)
    }
    assert all(rows.values())
    text = {
        k: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", m.group(1))) for k, m in rows.items() if m
    }
    assert "80% (4 of 5 attempts succeeded)" in text[healthy]
    assert "Not failing" in text[healthy]
    assert "0% (0 of 2 attempts succeeded)" in text[failing]
    assert (now() - timedelta(hours=2)).strftime("%Y-%m-%d") in text[failing]
    assert "No deliveries yet" in text[quiet]
    page = admin.get(f"/admin/webhooks/{failing}").text
    assert "Failing since" in page and "connection refused" in page


def test_endpoint_page_lists_recent_deliveries(
    admin: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    """The page lists the latest 50 deliveries with their details; never a secret value."""
    public_id = _seed_endpoint(sessions)
    endpoint_id = _endpoint_id(sessions, public_id)
    with session_scope(sessions) as session:
        for n in range(52):
            _delivery(
                session,
                endpoint_id,
                DeliveryStatus.DELIVERED,
                attempts=[(True, 200, None, 40 + n)],
                hours_ago=60 - n,
            )
        failed = _delivery(
            session,
            endpoint_id,
            DeliveryStatus.FAILED,
            attempts=[(False, 410, "HTTP 410: endpoint gone", 1234)],
            event_type="candidate.erased",
            hours_ago=0.5,
        )
        event = session.get(WebhookEvent, failed.event_id)
        assert event is not None
        event_public_id, failed_id = event.public_id, failed.id
    page = admin.get(f"/admin/webhooks/{public_id}").text
    assert page.count("<tr data-delivery=") == 50
    row = re.search(rf'<tr data-delivery="{failed_id}">(.*?)</tr>', page, re.S)
    assert row is not None
    for expected in (
        "candidate.erased",
        event_public_id,
        "Failed",
        "410",
        "1234 ms",
        "HTTP 410: endpoint gone",
        "Redeliver",
    ):
        assert expected in row.group(1), expected
    assert page.index("<tr data-delivery=") == page.index(f'<tr data-delivery="{failed_id}"')
    (secret,) = _secrets(sessions)
    assert secret not in page and secret[6:20] not in page
    assert "Does not expire" in page


def test_redeliver_resets_a_failed_delivery(
    admin: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    """Redeliver puts a failed delivery back in the queue; one on its way is left alone."""
    public_id = _seed_endpoint(sessions)
    other = _seed_endpoint(sessions, url="https://hooks.example.com/other")
    endpoint_id = _endpoint_id(sessions, public_id)
    with session_scope(sessions) as session:
        failed = _delivery(
            session, endpoint_id, DeliveryStatus.FAILED, attempts=[(False, 400, "HTTP 400", 9)]
        )
        pending = _delivery(session, endpoint_id, DeliveryStatus.PENDING)
        failed_id, pending_id = failed.id, pending.id
    page = f"/admin/webhooks/{public_id}"
    assert f'/deliveries/{pending_id}/redeliver"' not in admin.get(page).text
    # Another endpoint's address for this delivery: not found.
    response = _post(admin, page, f"/admin/webhooks/{other}/deliveries/{failed_id}/redeliver", {})
    assert response.status_code == 404
    response = _post(admin, page, f"{page}/deliveries/{failed_id}/redeliver", {})
    assert response.status_code == 302
    with session_scope(sessions) as session:
        delivery = session.get(WebhookDelivery, failed_id)
        assert delivery is not None
        assert delivery.status is DeliveryStatus.PENDING
        assert delivery.finished_at is None
        assert delivery.next_attempt_at >= now() - timedelta(minutes=1)
    assert "will be sent again" in admin.get(page).text
    response = _post(admin, page, f"{page}/deliveries/{pending_id}/redeliver", {})
    assert response.status_code == 302
    assert "still on its way" in admin.get(page).text


def test_send_test_event_queues_a_delivery(
    admin: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    """Send test event queues one webhook.test delivery for this endpoint, listed on its page."""
    public_id = _seed_endpoint(sessions)
    page = f"/admin/webhooks/{public_id}"
    response = _post(admin, page, f"{page}/test", {})
    assert response.status_code == 302
    with session_scope(sessions) as session:
        rows = session.execute(
            select(WebhookDelivery.endpoint_id, WebhookDelivery.status, WebhookEvent.type).join(
                WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id
            )
        ).all()
    assert rows == [(_endpoint_id(sessions, public_id), DeliveryStatus.PENDING, "webhook.test")]
    shown = admin.get(page).text
    assert "A test event (webhook.test) is on its way" in shown
    assert "<code>webhook.test</code>" in shown


def test_rotate_asks_first_then_shows_the_new_secret_once(
    admin: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    """Rotate asks for confirmation, then shows the new secret once; both secrets then sign."""
    public_id = _seed_endpoint(sessions)
    page = f"/admin/webhooks/{public_id}"
    (old,) = _secrets(sessions)
    asked = _post(admin, page, f"{page}/rotate", {})
    assert asked.status_code == 200
    assert "Nothing has changed yet" in asked.text and 'name="confirm"' in asked.text
    unticked = _post(admin, page, f"{page}/rotate", {"step": "confirm"})
    assert unticked.status_code == 400
    assert "Tick the box to confirm" in unticked.text
    assert _secrets(sessions) == [old]
    done = _post(admin, page, f"{page}/rotate", {"step": "confirm", "confirm": "yes"})
    assert done.status_code == 200
    assert done.headers["Cache-Control"] == "no-store"
    assert old not in done.text
    secrets = _secrets(sessions)
    assert len(secrets) == 2 and secrets[0] == old
    new = secrets[1]
    assert new in done.text
    assert "keeps signing beside the new one for 24 hours" in done.text
    with session_scope(sessions) as session:
        endpoint = session.scalars(select(WebhookEndpoint)).one()
        assert [TEST_SEAL.unseal(s.sealed) for s in active_secrets(endpoint)] == [new, old]
        expires = [s.expires_at for s in endpoint.secrets]
        assert expires[1] is None and expires[0] is not None
        assert timedelta(hours=23) < expires[0] - now() <= timedelta(hours=24)
        actions = list(
            session.scalars(select(AuditEvent.action).where(AuditEvent.subject == public_id))
        )
    assert actions == ["webhook.secret_rotated"]
    shown = admin.get(page).text
    assert new not in shown and old not in shown
    assert shown.count("<tr data-secret=") == 2
    assert expires[0].strftime("%Y-%m-%d %H:%M") in shown


def test_delete_asks_first(admin: FlaskClient, sessions: sessionmaker[Session]) -> None:
    """Delete asks for confirmation, then removes the endpoint with its secrets and deliveries."""
    public_id = _seed_endpoint(sessions)
    keep = _seed_endpoint(sessions, url="https://hooks.example.com/keep")
    endpoint_id = _endpoint_id(sessions, public_id)
    with session_scope(sessions) as session:
        _delivery(session, endpoint_id, DeliveryStatus.DELIVERED, attempts=[(True, 200, None, 5)])
    page = f"/admin/webhooks/{public_id}"
    asked = _post(admin, page, f"{page}/delete", {})
    assert asked.status_code == 200 and "Nothing has been deleted yet" in asked.text
    assert _post(admin, page, f"{page}/delete", {"step": "confirm"}).status_code == 400
    assert len(_endpoint_rows(sessions)) == 2
    done = _post(admin, page, f"{page}/delete", {"step": "confirm", "confirm": "yes"})
    assert done.status_code == 302
    assert done.headers["Location"].endswith("/admin/webhooks/")
    assert admin.get(page).status_code == 404
    with session_scope(sessions) as session:
        assert session.scalars(select(WebhookEndpoint.public_id)).all() == [keep]
        assert session.scalar(select(func.count()).select_from(WebhookDelivery)) == 0
        assert session.scalar(select(func.count()).select_from(WebhookAttempt)) == 0
        assert session.scalar(select(func.count()).select_from(WebhookSecret)) == 1
        audit = session.scalars(select(AuditEvent).where(AuditEvent.subject == public_id)).one()
        assert audit.action == "webhook.deleted"
    assert "deleted" in admin.get("/admin/webhooks/").text


def test_posts_need_the_csrf_token(admin: FlaskClient, sessions: sessionmaker[Session]) -> None:
    """Every form of the section is refused without its CSRF token, and nothing changes."""
    public_id = _seed_endpoint(sessions)
    endpoint_id = _endpoint_id(sessions, public_id)
    with session_scope(sessions) as session:
        delivery = _delivery(session, endpoint_id, DeliveryStatus.FAILED)
        delivery_id = delivery.id
    before = (_endpoint_rows(sessions), _secrets(sessions))
    page = f"/admin/webhooks/{public_id}"
    for action, data in (
        ("/admin/webhooks/new", {"url": RECEIVER_URL}),
        (f"{page}/edit", {"url": RECEIVER_URL}),
        (f"{page}/enabled", {"enabled": "off"}),
        (f"{page}/enabled", _confirm({"enabled": "off"})),
        (f"{page}/test", {}),
        (f"{page}/deliveries/{delivery_id}/redeliver", {}),
        (f"{page}/rotate", {"confirm": "yes"}),
        (f"{page}/delete", {"confirm": "yes"}),
    ):
        response = admin.post(action, data=data)
        assert response.status_code == 400, action
        assert "verify that form" in response.text
    assert (_endpoint_rows(sessions), _secrets(sessions)) == before
    with session_scope(sessions) as session:
        assert session.scalar(select(func.count()).select_from(WebhookDelivery)) == 1
        found = session.get(WebhookDelivery, delivery_id)
        assert found is not None and found.status is DeliveryStatus.FAILED


def test_unknown_endpoint_is_404(admin: FlaskClient) -> None:
    """An unknown or malformed endpoint id is a plain 404."""
    for path in ("/admin/webhooks/ep_0000000000000000", "/admin/webhooks/" + "x" * 300):
        assert admin.get(path).status_code == 404


def test_private_address_literals_need_the_allowed_hosts_setting() -> None:
    """A non-public IP typed as the host is refused unless WEBHOOK_ALLOWED_HOSTS lists it."""
    refused = (
        "https://10.1.2.3/in",
        "https://169.254.169.254/latest",
        "https://[::ffff:127.0.0.1]/in",
        "https://[fe80::1%25eth0]/in",
    )
    for url in refused:
        with pytest.raises(UrlRefused, match="not a public address"):
            check_endpoint_url(url, ())
    assert check_endpoint_url("https://10.1.2.3/in", ("10.1.2.3",)) == "10.1.2.3"
    assert check_endpoint_url("http://127.0.0.1:8765/in", (RECEIVER,)) == RECEIVER
    assert check_endpoint_url("https://93.184.215.14/in", ()) == "93.184.215.14"
    assert check_endpoint_url("https://hooks.example.com/in", ()) == "hooks.example.com"
