"""The /api/v1 REST API: token auth, create, update, close and read postings, errors, OpenAPI."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from jobs.models import JobPosting
from portal.api_tokens import ApiToken, create_token, revoke_token
from preferences.db import session_scope
from tests.portal.helpers import add_interest, add_job

BODY = {
    "title": "Backend Engineer",
    "description": "Build the APIs.",
    "location": "Berlin",
    "apply_url": "https://ats.example.com/apply/r-1",
    "interests": ["engineering"],
    "posted_at": "2026-11-02T09:00:00Z",
}


@pytest.fixture
def token(sessions: sessionmaker[Session]) -> str:
    """An active API token (and an Engineering interest to tag postings with)."""
    with session_scope(sessions) as session:
        add_interest(session, "Engineering", slug="engineering")
        _row, secret = create_token(session, "ats")
    return secret


def auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def posting(sessions: sessionmaker[Session], reference: str) -> JobPosting | None:
    with sessions() as session:
        job = session.scalar(select(JobPosting).where(JobPosting.reference == reference))
        if job is not None:
            session.expunge(job)
        return job


def put(client: FlaskClient, secret: str, reference: str, body: Any) -> Any:
    return client.put(f"/api/v1/jobs/{reference}", json=body, headers=auth(secret))


def test_requests_without_a_valid_token_get_401(
    client: FlaskClient, sessions: sessionmaker[Session], token: str
) -> None:
    """No header, a wrong scheme, an unknown token and a revoked token are all refused with 401."""
    attempts = [
        {},
        {"Authorization": f"Basic {token}"},
        {"Authorization": "Bearer tc_not-a-real-token"},
    ]
    for headers in attempts:
        response = client.put("/api/v1/jobs/R-1", json=BODY, headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert set(response.get_json()) == {"error", "fields"}
    assert client.get("/api/v1/jobs/R-1").status_code == 401
    assert client.post("/api/v1/jobs/R-1/close").status_code == 401
    with session_scope(sessions) as session:
        assert revoke_token(session, "ats") is True
    response = put(client, token, "R-1", BODY)
    assert response.status_code == 401
    assert "revoked" in response.get_json()["error"]
    assert posting(sessions, "R-1") is None


def test_put_creates_then_updates_and_get_reads_the_posting(
    client: FlaskClient, sessions: sessionmaker[Session], token: str
) -> None:
    """PUT creates (201, Location) then updates (200); GET returns it; the token's use is noted."""
    created = put(client, token, "R-1", BODY)
    assert created.status_code == 201, created.get_json()
    assert created.headers["Location"].endswith("/api/v1/jobs/R-1")
    assert created.get_json()["interests"] == ["engineering"]
    updated = put(client, token, "R-1", {**BODY, "title": "Staff Engineer", "interests": ""})
    assert updated.status_code == 200
    got = client.get("/api/v1/jobs/R-1", headers=auth(token))
    assert got.status_code == 200
    data = got.get_json()
    assert data["title"] == "Staff Engineer"
    assert data["interests"] == []
    assert data["posted_at"].startswith("2026-11-02T09:00:00")
    assert data["closed_at"] is None
    assert client.get("/api/v1/jobs/R-404", headers=auth(token)).status_code == 404
    with sessions() as session:
        row = session.scalars(select(ApiToken)).one()
        assert row.last_used_at is not None


def test_close_closes_the_posting_and_is_idempotent(
    client: FlaskClient, sessions: sessionmaker[Session], token: str
) -> None:
    """POST …/close answers 204 (twice too), the posting reads as closed; unknown refs are 404."""
    assert put(client, token, "R-1", BODY).status_code == 201
    first = client.post("/api/v1/jobs/R-1/close", headers=auth(token))
    assert first.status_code == 204
    assert first.data == b""
    stored = posting(sessions, "R-1")
    assert stored is not None and stored.closed_at is not None
    assert client.post("/api/v1/jobs/R-1/close", headers=auth(token)).status_code == 204
    again = posting(sessions, "R-1")
    assert again is not None and again.closed_at == stored.closed_at
    data = client.get("/api/v1/jobs/R-1", headers=auth(token)).get_json()
    assert data["open"] is False
    missing = client.post("/api/v1/jobs/NOPE/close", headers=auth(token))
    assert missing.status_code == 404
    assert "NOPE" in missing.get_json()["error"]


def test_bad_bodies_get_clear_json_errors_and_change_nothing(
    client: FlaskClient, sessions: sessionmaker[Session], token: str
) -> None:
    """Invalid fields 422 (each named), non-JSON 415, malformed JSON 400; the posting is intact."""
    with session_scope(sessions) as session:
        add_job(session, "Keep me", reference="R-1")
    bad = put(
        client,
        token,
        "R-1",
        {
            "title": "",
            "apply_url": "http://ats.example.com/x",
            "interests": ["astronomy"],
            "posted_at": "soon",
            "salary": 1,
        },
    )
    assert bad.status_code == 422
    fields = bad.get_json()["fields"]
    assert set(fields) == {"title", "apply_url", "interests", "posted_at", "salary"}
    assert fields["interests"] == "unknown interest 'astronomy'"
    mismatch = put(client, token, "R-1", {**BODY, "reference": "R-2"})
    assert mismatch.status_code == 422
    assert "reference" in mismatch.get_json()["fields"]
    text = client.put(
        "/api/v1/jobs/R-1", data="title=x", headers=auth(token), content_type="text/plain"
    )
    assert text.status_code == 415
    broken = client.put(
        "/api/v1/jobs/R-1", data="{nope", headers=auth(token), content_type="application/json"
    )
    assert broken.status_code == 400
    assert broken.get_json()["error"].startswith("the body is not valid JSON")
    deep = client.put(
        "/api/v1/jobs/R-1", data="[" * 100_000, headers=auth(token), content_type="application/json"
    )
    assert deep.status_code == 400
    assert "nested too deeply" in deep.get_json()["error"]
    not_object = put(client, token, "R-1", ["a"])
    assert not_object.status_code == 400
    stored = posting(sessions, "R-1")
    assert stored is not None and stored.title == "Keep me"


def test_unknown_paths_and_wrong_methods_answer_in_json(client: FlaskClient, token: str) -> None:
    """A missing endpoint is a JSON 404 and a wrong method a JSON 405 with Allow, not HTML."""
    missing = client.get("/api/v1/nothing/here", headers=auth(token))
    assert missing.status_code == 404
    assert missing.is_json
    wrong = client.delete("/api/v1/jobs/R-1", headers=auth(token))
    assert wrong.status_code == 405
    assert wrong.headers["Allow"] == "GET, PUT"
    assert wrong.is_json
    close_get = client.get("/api/v1/jobs/R-1/close", headers=auth(token))
    assert close_get.status_code == 405


def test_openapi_document_is_public_and_lists_the_paths(client: FlaskClient) -> None:
    """The OpenAPI 3.1 document needs no token and describes every endpoint and its answers."""
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.get_json()
    assert doc["openapi"].startswith("3.1")
    assert set(doc["paths"]) == {"/jobs/{reference}", "/jobs/{reference}/close", "/openapi.json"}
    job = doc["paths"]["/jobs/{reference}"]
    assert set(job["put"]["responses"]) == {"200", "201", "400", "401", "415", "422"}
    assert set(job["get"]["responses"]) == {"200", "401", "404"}
    assert doc["paths"]["/jobs/{reference}/close"]["post"]["responses"]["204"]
    assert doc["components"]["securitySchemes"]["bearerToken"]["scheme"] == "bearer"
    assert doc["servers"][0]["url"].endswith("/api/v1")


def test_the_api_needs_no_csrf_token_or_cookie(app: Any, token: str) -> None:
    """With CSRF protection on (as in production), token-authenticated PUTs still work."""
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client(use_cookies=False)
    assert put(client, token, "R-1", BODY).status_code == 201
