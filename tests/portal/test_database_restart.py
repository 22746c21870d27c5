"""A PostgreSQL restart or failover costs at most the requests under way at that moment.

A pooled connection the server closed between requests is seen at checkout (its socket
holds the closing message: `preferences.db`) and replaced, so the next request works.
A request whose connection is lost while it runs gets the error page; its session is
cleaned up without raising, the pool connects anew and the next request works.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, request
from flask.testing import FlaskClient
from sqlalchemy import select, text
from sqlalchemy.orm import sessionmaker

from portal.web.runtime import db
from preferences.db import session_scope
from preferences.models import ConsentSource, MassEmail, MassEmailStatus
from preferences.subscriptions import get_or_create_candidate, opt_in_mass_email
from preferences.tokens import LinkPurpose, make_link_token
from tests.conftest import TEST_SECRET
from tests.preferences.test_pool import backend_pid, terminate

ONE_CLICK = {"List-Unsubscribe": "One-Click"}
# Set on a request to have its connection's server process ended before the view runs.
LOSE_CONNECTION = "X-Test-Lose-Connection"


@pytest.fixture
def backend() -> str:
    return "postgresql"  # SQLite has no server to lose


@pytest.fixture
def links(sessions: sessionmaker) -> dict[str, Any]:
    with session_scope(sessions) as session:
        ana, _ = get_or_create_candidate(session, "ana@example.com")
        opt_in_mass_email(session, ana, source=ConsentSource.IMPORT)
        return {
            "id": ana.id,
            "page": "/preferences/" + make_link_token([TEST_SECRET], LinkPurpose.PREFERENCES, ana),
            "one_click": "/unsubscribe/"
            + make_link_token([TEST_SECRET], LinkPurpose.ONE_CLICK, ana, l="mass_email"),
        }


def mass_email(sessions: sessionmaker, candidate_id: int) -> MassEmail | None:
    with session_scope(sessions) as session:
        return session.scalar(
            select(MassEmailStatus.status).where(MassEmailStatus.candidate_id == candidate_id)
        )


def test_a_connection_the_server_closed_between_requests_costs_no_request(
    app: Flask,
    client: FlaskClient,
    sessions: sessionmaker,
    database_url: str,
    links: dict[str, Any],
) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as served: an error page, not a raise
    assert client.get(links["page"]).status_code == 200
    engine = app.extensions["talentconnect"].engine
    terminate(database_url, backend_pid(engine))  # the pooled connection the page used

    assert client.get(links["page"]).status_code == 200
    assert client.post(links["one_click"], data=ONE_CLICK).status_code == 200
    assert mass_email(sessions, links["id"]) is MassEmail.OPTED_OUT


def test_a_request_that_loses_its_connection_fails_alone(
    app: Flask,
    client: FlaskClient,
    sessions: sessionmaker,
    database_url: str,
    links: dict[str, Any],
) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.before_request
    def _lose_connection() -> None:
        # After the app's own hooks have read the link's owner on this connection.
        if LOSE_CONNECTION in request.headers:
            pid = db().connection().execute(text("SELECT pg_backend_pid()")).scalar_one()
            terminate(database_url, pid)

    failed = client.post(links["one_click"], data=ONE_CLICK, headers={LOSE_CONNECTION: "1"})

    assert failed.status_code == 500
    assert "Something went wrong on our side" in failed.text
    assert mass_email(sessions, links["id"]) is MassEmail.OPTED_IN  # nothing half-done
    assert client.get(links["page"]).status_code == 200
    assert client.post(links["one_click"], data=ONE_CLICK).status_code == 200
    assert mass_email(sessions, links["id"]) is MassEmail.OPTED_OUT
