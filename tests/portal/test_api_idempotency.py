"""Idempotency-Key on every POST of /api/v1: replays, conflicts, malformed keys, what is
stored, expiry, per-token keys, and two requests racing with one key."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from jobs.models import JobPosting
from mailer.models import OutboxMessage
from portal.auth.api_tokens import ApiToken, create_token
from portal.auth.idempotency import (
    KEY_LIFETIME,
    IdempotencyKey,
    StoredAnswer,
    find_answer,
    idempotency_prune_task,
    prune_idempotency_keys,
    request_hash,
    store_answer,
)
from portal.webhooks.delivery import send_test_event
from portal.webhooks.endpoints import EndpointInput, create_endpoint
from portal.webhooks.models import WebhookEndpoint
from preferences.clock import frozen, now
from preferences.db import session_scope
from preferences.events import WebhookEvent
from preferences.models import AuditEvent, Candidate
from preferences.privacy import erase_candidate, erase_candidates, export_candidate_data
from tests.conftest import TEST_SEAL
from tests.portal.helpers import add_interest, add_job

KEY = "order-7f3a-retry-safe"


@pytest.fixture
def token(sessions: sessionmaker[Session]) -> str:
    """An active token "ats", an interest, an open posting R-1 and a webhook endpoint ep_1."""
    with session_scope(sessions) as session:
        add_interest(session, "Engineering", slug="engineering")
        add_job(session, "Backend Engineer", reference="R-1")
        endpoint, _secret = create_endpoint(
            session, EndpointInput(url="https://hooks.example.com/in"), (), TEST_SEAL
        )
        endpoint.public_id = "ep_1"
        _row, secret = create_token(session, "ats")
    return secret


def headers(secret: str, key: str | None = KEY) -> dict[str, str]:
    found = {"Authorization": f"Bearer {secret}"}
    if key is not None:
        found["Idempotency-Key"] = key
    return found


def count(sessions: sessionmaker[Session], model: Any) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def sign_up(client: FlaskClient, secret: str, email: str, key: str | None = KEY) -> Any:
    return client.post(
        "/api/v1/candidates",
        json={"email": email, "interests": ["engineering"]},
        headers=headers(secret, key),
    )


def test_a_retry_with_the_same_key_replays_the_answer_and_changes_nothing(
    client: FlaskClient, sessions: sessionmaker[Session], token: str
) -> None:
    """The second POST with the key gets the same 201, body and Location, marked as a replay;
    one candidate, one email, one key row."""
    first = sign_up(client, token, "ana@example.com")
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    again = sign_up(client, token, "ana@example.com")
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert again.headers["Location"] == first.headers["Location"]
    assert count(sessions, Candidate) == 1
    assert count(sessions, OutboxMessage) == 1
    assert count(sessions, IdempotencyKey) == 1
    # Without a key, the same request runs again (a known address: nothing new to offer).
    plain = sign_up(client, token, "ana@example.com", key=None)
    assert plain.status_code == 200 and "Idempotent-Replayed" not in plain.headers


def test_the_same_key_for_another_request_is_a_422(
    client: FlaskClient, sessions: sessionmaker[Session], token: str
) -> None:
    """Another body, or another path, with a used key is refused and changes nothing."""
    assert sign_up(client, token, "ana@example.com").status_code == 201
    other = sign_up(client, token, "ben@example.com")
    assert other.status_code == 422
    assert other.get_json()["error"] == "this Idempotency-Key was used for a different request"
    elsewhere = client.post("/api/v1/jobs/R-1/close", headers=headers(token))
    assert elsewhere.status_code == 422
    assert count(sessions, Candidate) == 1
    with sessions() as session:
        posting = session.scalars(select(JobPosting)).one()
        assert posting.closed_at is None


@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9", "tab\there"])
def test_a_malformed_key_is_a_400_and_nothing_runs(
    client: FlaskClient, sessions: sessionmaker[Session], token: str, key: str
) -> None:
    """A key that is empty, too long or not printable ASCII is refused before the view runs."""
    response = client.post(
        "/api/v1/candidates",
        json={"email": "ana@example.com"},
        headers=[
            ("Authorization", f"Bearer {token}"),
            ("Idempotency-Key", key.encode("utf-8").decode("latin-1")),
        ],
    )
    assert response.status_code == 400, response.get_json()
    assert "Idempotency-Key" in response.get_json()["fields"]
    assert count(sessions, Candidate) == 0
    assert count(sessions, IdempotencyKey) == 0


def test_a_key_of_255_printable_characters_is_fine(
    client: FlaskClient, sessions: sessionmaker[Session], token: str
) -> None:
    """The longest key, spaces and punctuation included, works and replays."""
    key = ("a b~!" * 51)[:255]
    assert sign_up(client, token, "ana@example.com", key=key).status_code == 201
    assert sign_up(client, token, "ana@example.com", key=key).headers["Idempotent-Replayed"]


def test_a_refusal_is_stored_and_replayed_but_a_404_is_not(
    client: FlaskClient, sessions: sessionmaker[Session], token: str
) -> None:
    """A 422 is stored (its own transaction: nothing else written) and replayed; a 404 is not
    stored, so the same key works once the thing exists."""
    bad = client.post("/api/v1/candidates", json={"email": "nope"}, headers=headers(token, "bad-1"))
    assert bad.status_code == 422
    replay = client.post(
        "/api/v1/candidates", json={"email": "nope"}, headers=headers(token, "bad-1")
    )
    assert replay.status_code == 422 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.get_json() == bad.get_json()
    assert count(sessions, Candidate) == 0
    missing = client.post("/api/v1/jobs/R-2/close", headers=headers(token, "close-2"))
    assert missing.status_code == 404
    assert count(sessions, IdempotencyKey) == 1
    with session_scope(sessions) as session:
        add_job(session, "Frontend Engineer", reference="R-2")
    closed = client.post("/api/v1/jobs/R-2/close", headers=headers(token, "close-2"))
    assert closed.status_code == 204 and "Idempotent-Replayed" not in closed.headers
    replayed = client.post("/api/v1/jobs/R-2/close", headers=headers(token, "close-2"))
    assert replayed.status_code == 204 and replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.data == b""


def test_keys_belong_to_their_token(
    client: FlaskClient, sessions: sessionmaker[Session], token: str
) -> None:
    """Another token's request with the same key is its own request, not a replay."""
    with session_scope(sessions) as session:
        _row, other = create_token(session, "crm")
    assert sign_up(client, token, "ana@example.com").status_code == 201
    theirs = sign_up(client, other, "ben@example.com")
    assert theirs.status_code == 201 and "Idempotent-Replayed" not in theirs.headers
    assert count(sessions, Candidate) == 2


def test_keys_expire_after_24_hours_and_prune_deletes_them(
    client: FlaskClient, sessions: sessionmaker[Session], token: str
) -> None:
    """After KEY_LIFETIME a key is new again (its old row goes); prune clears every old key."""
    assert sign_up(client, token, "ana@example.com").status_code == 201
    with frozen(now() + KEY_LIFETIME + timedelta(minutes=1)):
        fresh = sign_up(client, token, "ben@example.com")
        assert fresh.status_code == 201 and "Idempotent-Replayed" not in fresh.headers
    assert count(sessions, IdempotencyKey) == 1
    assert sign_up(client, token, "cleo@example.com", key="other").status_code == 201
    with session_scope(sessions) as session:
        assert prune_idempotency_keys(session, now() + timedelta(hours=23)) == 0
        assert prune_idempotency_keys(session, now() + timedelta(days=3)) == 2
    assert count(sessions, IdempotencyKey) == 0


def test_the_schedulers_hourly_task_deletes_keys_past_their_lifetime(
    client: FlaskClient, sessions: sessionmaker[Session], token: str
) -> None:
    """The scheduler's prune task removes keys older than KEY_LIFETIME and keeps newer ones."""
    assert sign_up(client, token, "ana@example.com").status_code == 201
    task = idempotency_prune_task()
    assert task.seconds == 3600
    assert task.run(sessions) == 0
    assert count(sessions, IdempotencyKey) == 1
    with frozen(now() + KEY_LIFETIME + timedelta(minutes=1)):
        assert task.run(sessions) == 1
    assert count(sessions, IdempotencyKey) == 0


def test_a_replay_never_shows_a_secret_again(
    client: FlaskClient, sessions: sessionmaker[Session], token: str
) -> None:
    """Creating an endpoint or rotating its secret with a key: the replay has secret null, and
    the stored answer holds no secret."""
    body = {"url": "https://crm.example.com/hook"}
    first = client.post("/api/v1/webhooks", json=body, headers=headers(token, "wh-1"))
    assert first.status_code == 201 and first.get_json()["secret"].startswith("whsec_")
    again = client.post("/api/v1/webhooks", json=body, headers=headers(token, "wh-1"))
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == {**first.get_json(), "secret": None}
    assert again.headers["Location"] == first.headers["Location"]
    rotate = f"/api/v1/webhooks/{first.get_json()['id']}/rotate-secret"
    rotated = client.post(rotate, headers=headers(token, "rot-1"))
    assert rotated.get_json()["secret"].startswith("whsec_")
    replayed = client.post(rotate, headers=headers(token, "rot-1"))
    assert replayed.get_json()["secret"] is None
    with sessions() as session:
        stored = " ".join(session.scalars(select(IdempotencyKey.body)))
        assert "whsec_" not in stored
        endpoint = session.scalars(
            select(WebhookEndpoint).where(WebhookEndpoint.url == body["url"])
        ).one()
        assert len(endpoint.secrets) == 2


def test_a_request_that_loses_the_race_for_its_key_rolls_back_and_answers_with_the_winners(
    client: FlaskClient, sessions: sessionmaker[Session], token: str
) -> None:
    """Two sessions: the loser looked its key up before the winner committed; its change and
    its key insert are rolled back on the unique constraint, and the winner's answer is found."""
    path = "/api/v1/webhooks/ep_1/test"
    digest = request_hash("POST", path, b"")
    with sessions() as loser:
        token_id = loser.scalars(select(ApiToken.id)).one()
        assert find_answer(loser, token_id, KEY, digest) is None
        loser.rollback()  # the winner runs between: its change and key commit
        winner = client.post(path, headers=headers(token))
        assert winner.status_code == 202
        endpoint = loser.scalars(select(WebhookEndpoint)).one()
        send_test_event(loser, endpoint)
        answer = StoredAnswer(202, '{"other": true}')
        with pytest.raises(IntegrityError):
            store_answer(
                loser, token_id, KEY, method="POST", path=path, digest=digest, answer=answer
            )
        loser.rollback()
        stored = find_answer(loser, token_id, KEY, digest)
        assert stored == StoredAnswer(202, winner.get_data(as_text=True))
    assert count(sessions, WebhookEvent) == 1


# Backends waiting for `holder`'s locks: directly, or queued behind one that is.
WAITING_BEHIND = text(
    "WITH direct AS (SELECT pid FROM pg_stat_activity "
    "WHERE CAST(:holder AS integer) = ANY(pg_blocking_pids(pid))) "
    "SELECT (SELECT count(*) FROM direct) + (SELECT count(*) FROM pg_stat_activity "
    "WHERE pid NOT IN (SELECT pid FROM direct) "
    "AND pg_blocking_pids(pid) && ARRAY(SELECT pid FROM direct))"
)


@pytest.mark.parametrize("backend", ["postgresql"])  # two writers at once: row locks
def test_two_requests_racing_with_one_key_make_one_change(
    app: Flask, engine: Engine, sessions: sessionmaker[Session], token: str
) -> None:
    """Two concurrent POSTs with one key both get the same 202, one of them marked as a replay,
    and only one test event is queued: the second's insert of the key fails, and its change is
    rolled back."""
    path = "/api/v1/webhooks/ep_1/test"
    answers: list[Any] = []

    problems: list[BaseException] = []

    def call() -> None:
        try:
            answers.append(app.test_client().post(path, headers=headers(token)))
        except BaseException as exc:  # reported below, not lost in the thread
            problems.append(exc)

    with engine.connect() as locker:
        # Hold the token's row: both requests look their key up, queue their event, then wait
        # to note the token's use; released, one commits first and the other loses the key.
        transaction = locker.begin()
        locker.execute(select(ApiToken.id).with_for_update())
        holder = locker.execute(text("SELECT pg_backend_pid()")).scalar()
        threads = [threading.Thread(target=call) for _ in range(2)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        with engine.connect() as watcher:
            waiting = 0
            while waiting < 2:
                if time.monotonic() > deadline or problems or answers:
                    pytest.fail(f"not both waiting ({waiting}): {problems} {answers}")
                time.sleep(0.05)
                waiting = watcher.execute(WAITING_BEHIND, {"holder": holder}).scalar() or 0
        transaction.commit()
    for thread in threads:
        thread.join(30)
    assert sorted(a.status_code for a in answers) == [202, 202]
    assert answers[0].get_json() == answers[1].get_json()
    assert sorted(a.headers.get("Idempotent-Replayed", "") for a in answers) == ["", "true"]
    assert count(sessions, WebhookEvent) == 1
    assert count(sessions, IdempotencyKey) == 1


def stored_bodies(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(IdempotencyKey.body).order_by(IdempotencyKey.id)))


def candidate_by_email(session: Session, email: str) -> Candidate:
    return session.scalars(select(Candidate).where(Candidate.email == email)).one()


def test_erasing_a_candidate_deletes_the_stored_answers_about_them(
    client: FlaskClient, sessions: sessionmaker[Session], token: str, tmp_path: Path
) -> None:
    """A sign-up's and a preference link's stored answers name their candidate: erasing her
    deletes both at once (her address is in no stored answer any more) and counts them in
    the audit event; another candidate's answer and a job's stay, and the same retry runs
    anew instead of replaying the address."""
    assert sign_up(client, token, "ana@example.com").status_code == 201
    assert sign_up(client, token, "ben@example.com", key="ben-1").status_code == 201
    with sessions() as session:
        ana_id = candidate_by_email(session, "ana@example.com").public_id
    link = client.post(
        f"/api/v1/candidates/{ana_id}/preference-link", headers=headers(token, "link-1")
    )
    assert link.status_code == 202
    assert (
        client.post("/api/v1/jobs/R-1/close", headers=headers(token, "close-1")).status_code == 204
    )
    with sessions() as session:
        about = dict(session.execute(select(IdempotencyKey.key, IdempotencyKey.candidate_id)).all())
        ana = candidate_by_email(session, "ana@example.com")
        ben = candidate_by_email(session, "ben@example.com")
    assert about == {KEY: ana.id, "link-1": ana.id, "ben-1": ben.id, "close-1": None}
    assert any("ana@example.com" in body for body in stored_bodies(sessions))

    with session_scope(sessions) as session:
        erase_candidate(session, session.get(Candidate, ana.id), upload_dir=tmp_path)
    with sessions() as session:
        left = set(session.scalars(select(IdempotencyKey.key)))
        audit = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "candidate.erased")
        ).one()
    assert left == {"ben-1", "close-1"}
    assert not any("ana@example.com" in body for body in stored_bodies(sessions))
    assert audit.detail["deleted"]["api_answers"] == 2
    retry = sign_up(client, token, "ana@example.com")
    assert "Idempotent-Replayed" not in retry.headers


def test_erasing_many_candidates_deletes_their_answers_in_one_go(
    client: FlaskClient, sessions: sessionmaker[Session], token: str, tmp_path: Path
) -> None:
    """The bulk erasure (retention's anonymization) deletes every named candidate's stored
    answers and keeps the others'."""
    for n, email in enumerate(("ana@example.com", "ben@example.com", "cleo@example.com")):
        assert sign_up(client, token, email, key=f"k-{n}").status_code == 201
    with session_scope(sessions) as session:
        ids = [candidate_by_email(session, e).id for e in ("ana@example.com", "cleo@example.com")]
        counts = erase_candidates(session, ids, upload_dir=tmp_path)
    assert counts["api_answers"] == 2
    with sessions() as session:
        assert set(session.scalars(select(IdempotencyKey.key))) == {"k-1"}


def test_the_export_lists_the_stored_answers_about_the_candidate(
    client: FlaskClient, sessions: sessionmaker[Session], token: str
) -> None:
    """A candidate's data export shows the API answers kept about her, and only hers."""
    assert sign_up(client, token, "ana@example.com").status_code == 201
    assert sign_up(client, token, "ben@example.com", key="ben-1").status_code == 201
    with session_scope(sessions) as session:
        data = export_candidate_data(session, candidate_by_email(session, "ana@example.com"))
    answers = data["api_answers"]
    assert [(a["method"], a["path"], a["status_code"]) for a in answers] == [
        ("POST", "/api/v1/candidates", 201)
    ]
    assert json.loads(answers[0]["body"])["email"] == "ana@example.com"
