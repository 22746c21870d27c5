"""/api/v1/webhooks: endpoint CRUD, the secret shown once, rotation with a grace period, test
events, URL rules, and hostile input."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks.webhooks import Webhook

from portal.auth.api_tokens import create_token
from portal.config import Settings
from portal.webhooks.endpoints import active_secrets, signing_keys
from portal.webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookSecret
from portal.webhooks.payloads import payload_bytes
from portal.webhooks.signing import signature_header
from preferences.clock import frozen, now
from preferences.db import session_scope
from preferences.events import EventType, WebhookEvent
from tests.conftest import TEST_SEAL, make_settings

URL = "https://hooks.example.com/talent-connect"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """The test settings, with a loopback receiver allowed over http and a 24-hour grace."""
    return make_settings(
        tmp_path,
        database_url,
        WEBHOOK_ALLOWED_HOSTS="127.0.0.1:9999",
        WEBHOOK_SECRET_GRACE_HOURS="24",
    )


@pytest.fixture
def token(sessions: sessionmaker[Session]) -> str:
    """An active API token."""
    with session_scope(sessions) as session:
        _row, secret = create_token(session, "ats")
    return secret


def auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def create(client: FlaskClient, secret: str, body: Any) -> Any:
    return client.post("/api/v1/webhooks", json=body, headers=auth(secret))


def endpoints(sessions: sessionmaker[Session]) -> list[WebhookEndpoint]:
    with sessions() as session:
        rows = list(session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))
        session.expunge_all()
        return rows


def test_create_shows_the_secret_once_and_reads_never_show_it(
    client: FlaskClient, sessions: sessionmaker[Session], token: str
) -> None:
    """POST: 201, Location and a whsec_ secret; GET, the list and PATCH never show a secret."""
    response = create(
        client,
        token,
        {"url": URL, "description": "CRM", "event_types": ["candidate.created"]},
    )
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    assert data["secret"].startswith("whsec_")
    assert response.headers["Location"] == f"/api/v1/webhooks/{data['id']}"
    assert (data["url"], data["description"], data["event_types"]) == (
        URL,
        "CRM",
        ["candidate.created"],
    )
    assert data["enabled"] is True and data["include_contact_data"] is False
    one = client.get(f"/api/v1/webhooks/{data['id']}", headers=auth(token))
    listed = client.get("/api/v1/webhooks", headers=auth(token))
    assert one.status_code == 200 and listed.status_code == 200
    assert "secret" not in one.get_json()
    assert [e["id"] for e in listed.get_json()["webhooks"]] == [data["id"]]
    assert data["secret"] not in one.get_data(as_text=True) + listed.get_data(as_text=True)
    with sessions() as session:
        (stored,) = session.scalars(select(WebhookSecret)).all()
        # Stored sealed: neither the secret nor its key is in the database.
        key = data["secret"].removeprefix("whsec_")
        assert data["secret"] not in stored.sealed and key not in stored.sealed
        assert stored.sealed.startswith("sealed:v1:")
        assert TEST_SEAL.unseal(stored.sealed) == data["secret"]


def test_patch_changes_only_what_it_names_and_delete_removes(
    client: FlaskClient, sessions: sessionmaker[Session], token: str
) -> None:
    """PATCH keeps the fields it leaves out; disabling and enabling work; DELETE is 204 then 404."""
    created = create(client, token, {"url": URL, "event_types": ["bounce.hard"]}).get_json()
    path = f"/api/v1/webhooks/{created['id']}"
    off = client.patch(path, json={"enabled": False}, headers=auth(token))
    assert off.status_code == 200, off.get_json()
    assert off.get_json()["enabled"] is False
    assert off.get_json()["event_types"] == ["bounce.hard"]
    assert off.get_json()["disabled_reason"] == "disabled by an admin"
    moved = client.patch(
        path,
        json={"url": "http://127.0.0.1:9999/in", "enabled": True, "include_contact_data": True},
        headers=auth(token),
    )
    data = moved.get_json()
    assert (data["url"], data["enabled"], data["include_contact_data"]) == (
        "http://127.0.0.1:9999/in",
        True,
        True,
    )
    assert data["disabled_reason"] is None
    assert client.delete(path, headers=auth(token)).status_code == 204
    assert client.get(path, headers=auth(token)).status_code == 404
    assert client.delete(path, headers=auth(token)).status_code == 404
    assert endpoints(sessions) == []


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"url": "http://hooks.example.com/x"}, {"url"}),
        ({"url": "https://user:pw@hooks.example.com/x"}, {"url"}),
        ({"url": "ftp://hooks.example.com/x"}, {"url"}),
        ({"url": ""}, {"url"}),
        ({}, {"url"}),
        ({"url": 7}, {"url"}),
        ({"url": "https://x.example.com/" + "a" * 3000}, {"url"}),
        ({"url": "https://x.example.com/\x00"}, {"url"}),
        ({"url": URL, "event_types": ["nope"]}, {"event_types"}),
        ({"url": URL, "event_types": "candidate.created"}, {"event_types"}),
        ({"url": URL, "event_types": ["webhook.test"]}, {"event_types"}),
        ({"url": URL, "enabled": "yes"}, {"enabled"}),
        ({"url": URL, "description": "a\nb" * 200}, {"description"}),
        ({"url": URL, "secret": "whsec_mine"}, {"secret"}),
    ],
)
def test_bad_endpoints_are_422_with_fields_and_store_nothing(
    client: FlaskClient,
    sessions: sessionmaker[Session],
    token: str,
    body: dict[str, Any],
    fields: set[str],
) -> None:
    """The URL rules (https, or an allowed host; no credentials) and field types are 422s."""
    response = create(client, token, body)
    assert response.status_code == 422, response.get_json()
    assert set(response.get_json()["fields"]) == fields
    assert endpoints(sessions) == []


def test_a_bad_patch_leaves_the_endpoint_as_it_was(
    client: FlaskClient, sessions: sessionmaker[Session], token: str
) -> None:
    """A PATCH with a refused URL, a wrong type, a non-object or text changes nothing."""
    created = create(client, token, {"url": URL}).get_json()
    path = f"/api/v1/webhooks/{created['id']}"
    assert (
        client.patch(path, json={"url": "http://evil.example.com"}, headers=auth(token)).status_code
        == 422
    )
    assert client.patch(path, json={"enabled": 1}, headers=auth(token)).status_code == 422
    assert client.patch(path, json=[1], headers=auth(token)).status_code == 400
    assert (
        client.patch(path, data="x", headers=auth(token), content_type="text/plain").status_code
        == 415
    )
    (kept,) = endpoints(sessions)
    assert (kept.url, kept.enabled) == (URL, True)


def test_rotation_returns_a_new_secret_and_both_sign_during_the_grace_period(
    client: FlaskClient, sessions: sessionmaker[Session], token: str
) -> None:
    """After rotate-secret the old secret keeps signing for WEBHOOK_SECRET_GRACE_HOURS, so a
    receiver holding either verifies (standardwebhooks); after it, only the new one signs."""
    created = create(client, token, {"url": URL}).get_json()
    old = created["secret"]
    rotated = client.post(f"/api/v1/webhooks/{created['id']}/rotate-secret", headers=auth(token))
    assert rotated.status_code == 200, rotated.get_json()
    new = rotated.get_json()["secret"]
    assert new.startswith("whsec_") and new != old
    assert rotated.get_json()["previous_secrets_expire_at"] is not None
    body = b'{"type":"webhook.test","timestamp":"2026-12-01T00:00:00Z","data":{}}'
    with sessions() as session:
        endpoint = session.scalars(select(WebhookEndpoint)).one()
        assert [TEST_SEAL.unseal(s.sealed) for s in active_secrets(endpoint)] == [new, old]
        stamp = int(now().timestamp())
        header = signature_header(signing_keys(endpoint, TEST_SEAL), "msg_1", stamp, body)
        headers = {
            "webhook-id": "msg_1",
            "webhook-timestamp": str(stamp),
            "webhook-signature": header,
        }
        for secret in (old, new):
            Webhook(secret).verify(body, headers)
        later = now() + timedelta(hours=25)
        assert [TEST_SEAL.unseal(s.sealed) for s in active_secrets(endpoint, later)] == [new]
    with frozen(now() + timedelta(hours=25)):
        again = client.post(f"/api/v1/webhooks/{created['id']}/rotate-secret", headers=auth(token))
        assert again.status_code == 200
    unknown = client.post("/api/v1/webhooks/ep_nope/rotate-secret", headers=auth(token))
    assert unknown.status_code == 404


def test_send_test_event_queues_one_delivery_to_that_endpoint_only(
    client: FlaskClient, sessions: sessionmaker[Session], token: str
) -> None:
    """POST …/test: 202 with the delivery and event ids; one webhook.test event, one delivery,
    for that endpoint only (also when it is disabled)."""
    first = create(client, token, {"url": URL}).get_json()
    create(client, token, {"url": "https://other.example.com/in"})
    client.patch(f"/api/v1/webhooks/{first['id']}", json={"enabled": False}, headers=auth(token))
    response = client.post(f"/api/v1/webhooks/{first['id']}/test", headers=auth(token))
    assert response.status_code == 202, response.get_json()
    data = response.get_json()
    with sessions() as session:
        (delivery,) = session.scalars(select(WebhookDelivery)).all()
        assert delivery.id == data["delivery_id"]
        event = session.get(WebhookEvent, delivery.event_id)
        assert event is not None and event.public_id == data["event_id"]
        assert event.type == "webhook.test" and event.expanded_at is not None
        endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
        assert endpoint is not None and endpoint.public_id == first["id"]
        assert b'"type":"webhook.test"' in payload_bytes(event)
    assert (
        client.get(f"/api/v1/webhooks/{first['id']}/test", headers=auth(token)).status_code == 405
    )


@pytest.mark.parametrize("endpoint_id", ["ep_x", "%00", "a" * 40, "..%2Fwebhooks", "%E2%80%AE"])
def test_unknown_and_tampered_endpoint_ids_are_404(
    client: FlaskClient, token: str, endpoint_id: str
) -> None:
    """An unknown or hostile id is a JSON 404 on every endpoint route."""
    for suffix, method in (("", "GET"), ("", "PATCH"), ("", "DELETE"), ("/test", "POST")):
        response = client.open(
            f"/api/v1/webhooks/{endpoint_id}{suffix}",
            method=method,
            headers=auth(token),
            json={"enabled": False},
        )
        assert response.status_code == 404, (suffix, method)
        assert response.is_json


def test_the_webhook_api_needs_a_token_and_answers_wrong_methods_in_json(
    client: FlaskClient, token: str
) -> None:
    """Without a token every route is 401; PUT on the list is a JSON 405 with Allow."""
    assert client.get("/api/v1/webhooks").status_code == 401
    assert client.post("/api/v1/webhooks", json={"url": URL}).status_code == 401
    wrong = client.put("/api/v1/webhooks", headers=auth(token))
    assert wrong.status_code == 405 and wrong.headers["Allow"] == "GET, POST"


def test_the_document_describes_every_event_we_send(client: FlaskClient) -> None:
    """The OpenAPI document's webhooks section has one signed POST per event type, with the
    Standard Webhooks headers and the type/timestamp/data envelope."""
    doc = client.get("/api/v1/openapi.json").get_json()
    assert set(doc["webhooks"]) == {t.value for t in EventType}
    for name, item in doc["webhooks"].items():
        operation = item["post"]
        headers = {p["name"] for p in operation["parameters"]}
        assert headers == {"webhook-id", "webhook-timestamp", "webhook-signature"}
        media = operation["requestBody"]["content"]["application/json"]
        assert media["schema"]["required"] == ["type", "timestamp", "data"]
        assert media["schema"]["properties"]["type"]["const"] == name
        assert media["example"]["type"] == name
    posts = [
        op for item in doc["paths"].values() for method, op in item.items() if method == "post"
    ]
    assert len(posts) == 6
    for op in posts:
        assert {"$ref": "#/components/parameters/IdempotencyKey"} in op["parameters"]
