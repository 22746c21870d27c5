"""The /api/v1 REST API: token auth, create, update, close and read postings, errors, OpenAPI,
and the per-token rate limit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from jobs.models import JobPosting
from portal.app import create_app
from portal.auth.api_tokens import ApiToken, create_token, revoke_token
from portal.config import ConfigError
from portal.views.api import TOKEN_ENDPOINTS
from preferences.db import session_scope
from tests.conftest import make_settings
from tests.portal.helpers import add_interest, add_job, clean_env, run_cli

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


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/jobs/%0A%2F",  # a newline, which the catch-all's path converter misses
        "/api/v1/jobs/%2F%0A",  # doubled slashes, which Werkzeug would redirect
        "/api/v1//jobs",
        "/api/v1",
        "/api/v1/x%0Ay/close",
    ],
)
@pytest.mark.parametrize("method", ["GET", "PUT", "POST"])
def test_paths_no_route_takes_answer_a_json_404(
    client: FlaskClient, token: str, path: str, method: str
) -> None:
    """Found by the property test: an API path that no route matches is a JSON 404, never
    the site's HTML page or a 308 redirect (of a PUT)."""
    response = client.open(path, method=method, headers=auth(token), json={"title": "x"})
    assert response.status_code == 404
    assert response.is_json
    assert response.get_json() == {
        "error": "no such API endpoint; see /api/v1/openapi.json",
        "fields": {},
    }


def test_every_standard_method_gets_a_json_answer_with_allow(
    client: FlaskClient, token: str
) -> None:
    """TRACE, QUERY and CONNECT are a JSON 405 with Allow (not Flask's HTML routing 405), and
    OPTIONS is a 204 whose Allow lists only what the URL takes."""
    for method in ("TRACE", "QUERY", "CONNECT", "PATCH"):
        response = client.open("/api/v1/jobs/R-1", method=method, headers=auth(token))
        assert response.status_code == 405, method
        assert response.is_json and response.get_json()["error"]
        assert response.headers["Allow"] == "GET, PUT"
    options = client.options("/api/v1/jobs/R-1/close", headers=auth(token))
    assert options.status_code == 204
    assert options.headers["Allow"] == "POST"
    assert client.options("/api/v1/openapi.json").headers["Allow"] == "GET"


def test_openapi_document_is_public_and_lists_the_paths(client: FlaskClient) -> None:
    """The OpenAPI 3.1 document needs no token and describes every endpoint and its answers."""
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.get_json()
    assert doc["openapi"].startswith("3.1")
    assert set(doc["paths"]) == {
        "/jobs/{reference}",
        "/jobs/{reference}/close",
        "/candidates",
        "/candidates/{id}",
        "/candidates/{id}/subscriptions/{interest}",
        "/candidates/{id}/mass-email",
        "/candidates/{id}/preference-link",
        "/webhooks",
        "/webhooks/{id}",
        "/webhooks/{id}/rotate-secret",
        "/webhooks/{id}/test",
        "/openapi.json",
    }
    job = doc["paths"]["/jobs/{reference}"]
    assert set(job["put"]["responses"]) == {"200", "201", "400", "401", "413", "415", "422", "429"}
    assert set(job["get"]["responses"]) == {"200", "401", "404", "429"}
    close = doc["paths"]["/jobs/{reference}/close"]["post"]["responses"]
    assert set(close) == {"204", "400", "401", "404", "409", "422", "429"}
    assert "Retry-After" in close["429"]["headers"]
    assert "rate-limited to 600 per minute per token" in doc["info"]["description"]
    assert doc["components"]["securitySchemes"]["bearerToken"]["scheme"] == "bearer"
    assert doc["servers"][0]["url"].endswith("/api/v1")


def test_the_api_needs_no_csrf_token_or_cookie(app: Any, token: str) -> None:
    """With CSRF protection on (as in production), token-authenticated PUTs still work."""
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client(use_cookies=False)
    assert put(client, token, "R-1", BODY).status_code == 201


# --- rate limiting ------------------------------------------------------------------

LIMIT = 3


@pytest.fixture
def limited_app(tmp_path: Path, database_url: str) -> Iterator[Flask]:
    """The app with API_RATE_LIMIT at three requests a minute."""
    application = create_app(
        make_settings(tmp_path, database_url, API_RATE_LIMIT=f"{LIMIT} per minute")
    )
    application.config["TESTING"] = True
    yield application
    application.extensions["talentconnect"].engine.dispose()


@pytest.fixture
def limited(limited_app: Flask) -> FlaskClient:
    return limited_app.test_client()


def assert_json_429(response: Any) -> None:
    assert response.status_code == 429, response.data
    assert response.is_json
    body = response.get_json()
    assert set(body) == {"error", "fields"}
    assert body["error"].startswith("too many requests")
    assert f"{LIMIT} per 1 minute" in body["error"]
    assert 0 < int(response.headers["Retry-After"]) <= 61
    assert response.headers["X-RateLimit-Limit"] == str(LIMIT)
    assert response.headers["X-RateLimit-Remaining"] == "0"


def test_every_token_endpoint_is_rate_limited() -> None:
    """The limiter's list of API endpoints is exactly the views that need a token."""
    assert sorted(TOKEN_ENDPOINTS) == [
        "api.candidate",
        "api.candidate_mass_email",
        "api.candidate_preference_link",
        "api.candidate_subscription",
        "api.candidates",
        "api.close_job",
        "api.job",
        "api.webhook",
        "api.webhook_rotate_secret",
        "api.webhook_test",
        "api.webhooks",
    ]


def test_past_the_limit_a_token_gets_a_json_429_and_another_token_keeps_its_budget(
    limited: FlaskClient, sessions: sessionmaker[Session], token: str
) -> None:
    """One budget per token across the API; the next call is a JSON 429; a 2nd token still works."""
    with session_scope(sessions) as session:
        _row, other = create_token(session, "other-ats")
    answers = [
        put(limited, token, "R-1", BODY),
        limited.get("/api/v1/jobs/R-1", headers=auth(token)),
        limited.post("/api/v1/jobs/R-1/close", headers=auth(token)),
    ]
    assert [a.status_code for a in answers] == [201, 200, 204]
    assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["2", "1", "0"]
    assert answers[0].headers["X-RateLimit-Limit"] == str(LIMIT)
    blocked = limited.get("/api/v1/jobs/R-1", headers=auth(token))
    assert_json_429(blocked)
    assert "with this API token" in blocked.get_json()["error"]
    # Same client address, different token: its own, untouched budget.
    mine = limited.get("/api/v1/jobs/R-1", headers=auth(other))
    assert mine.status_code == 200
    assert mine.headers["X-RateLimit-Remaining"] == str(LIMIT - 1)


def test_a_limited_request_changes_nothing(
    limited: FlaskClient, sessions: sessionmaker[Session], token: str
) -> None:
    """A PUT or close refused with 429 creates, updates and closes nothing, nor marks the token."""
    with session_scope(sessions) as session:
        add_job(session, "Keep me", reference="R-1")
    for _ in range(LIMIT):
        assert limited.get("/api/v1/jobs/R-1", headers=auth(token)).status_code == 200
    assert_json_429(put(limited, token, "R-2", BODY))
    assert_json_429(put(limited, token, "R-1", BODY))
    assert_json_429(limited.post("/api/v1/jobs/R-1/close", headers=auth(token)))
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(JobPosting)) == 1
        kept = session.scalars(select(JobPosting)).one()
        assert (kept.title, kept.closed_at) == ("Keep me", None)
        assert session.scalars(select(ApiToken)).one().last_used_at is None


def test_requests_without_a_valid_token_are_limited_by_client_address(
    limited: FlaskClient, limited_app: Flask, token: str
) -> None:
    """Wrong, missing and malformed tokens share their address's budget; guessing is throttled."""
    guesser = {"REMOTE_ADDR": "203.0.113.7"}
    attempts = [
        {"Authorization": "Bearer tc_guess-1"},
        {"Authorization": "Bearer tc_guess-2"},
        {},
    ]
    for headers in attempts:
        response = limited.get("/api/v1/jobs/R-1", headers=headers, environ_base=guesser)
        assert response.status_code == 401
    blocked = limited.put(
        "/api/v1/jobs/R-1",
        json=BODY,
        headers={"Authorization": "Bearer tc_guess-3"},
        environ_base=guesser,
    )
    assert_json_429(blocked)
    assert "from your address" in blocked.get_json()["error"]
    # Another address is not held back by that one, and a valid token from the
    # guessing address spends its token's budget, not the address's.
    elsewhere = {"REMOTE_ADDR": "198.51.100.9"}
    other = limited.get("/api/v1/jobs/R-1", headers=auth("tc_guess-4"), environ_base=elsewhere)
    assert other.status_code == 401
    valid = limited.get("/api/v1/jobs/R-1", headers=auth(token), environ_base=guesser)
    assert valid.status_code == 404
    # The limiter's storage never holds a presented secret, valid or not.
    (limiter,) = limited_app.extensions["limiter"]
    keys = " ".join(map(str, limiter.storage.storage))
    assert "api-token:" in keys and "api-address:203.0.113.7" in keys
    assert token not in keys and "tc_guess" not in keys


def test_pages_and_the_openapi_document_are_not_api_limited(
    limited: FlaskClient, token: str
) -> None:
    """With the API budget spent, the OpenAPI document and HTML pages answer as before."""
    for _ in range(LIMIT):
        limited.get("/api/v1/jobs/R-1", headers=auth(token))
    assert_json_429(limited.get("/api/v1/jobs/R-1", headers=auth(token)))
    for _ in range(LIMIT + 1):
        doc = limited.get("/api/v1/openapi.json")
        assert doc.status_code == 200
        assert f"to {LIMIT} per minute per token" in doc.get_json()["info"]["description"]
        assert "X-RateLimit-Limit" not in doc.headers
        page = limited.get("/jobs")
        assert page.status_code == 200
        assert page.mimetype == "text/html"
        assert "X-RateLimit-Limit" not in page.headers
    assert limited.get("/api/v1/nothing", headers=auth(token)).status_code == 404


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("lots", "'lots' is not a rate such as '600 per minute'"),
        ("600 per fortnight", "is not a rate"),
        ("0 per minute", "allows no requests at all"),
    ],
)
def test_a_malformed_api_rate_limit_stops_start_up(
    tmp_path: Path, value: str, fragment: str
) -> None:
    """A bad API_RATE_LIMIT is a ConfigError naming it when the app is made, not at a request."""
    overrides = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'never.db'}",
        "INSTANCE_DIR": str(tmp_path / "instance"),
        "SECRET_KEYS": "k" * 40,
        "API_RATE_LIMIT": value,
    }
    with pytest.raises(ConfigError) as info:
        create_app(overrides)
    assert info.value.variable == "TALENTCONNECT_API_RATE_LIMIT"
    assert fragment in str(info.value)


def test_the_cli_reports_a_malformed_api_rate_limit(tmp_path: Path) -> None:
    """`talentconnect` prints one configuration-error line naming API_RATE_LIMIT and exits 2."""
    env = clean_env(INSTANCE_DIR=str(tmp_path / "instance"), API_RATE_LIMIT="lots")
    result = run_cli(["outbox", "status"], env=env, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "configuration error" in lines[0] and "TALENTCONNECT_API_RATE_LIMIT" in lines[0]
