"""A PostgreSQL restart or failover between requests costs at most the request that finds it.

A pooled connection in steady use is handed out without a ping (`preferences.db`), so
the first request to use one the server has dropped fails. That request gets the
error page, the dead connection is discarded with the rest of the pool, and the next
request works; nothing is raised while the failed request's session is cleaned up.
"""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from preferences.db import session_scope
from preferences.models import ConsentSource, MassEmail, MassEmailStatus
from preferences.subscriptions import get_or_create_candidate, opt_in_mass_email
from preferences.tokens import LinkPurpose, make_link_token
from tests.conftest import TEST_SECRET
from tests.preferences.test_pool import backend_pid, terminate

ONE_CLICK = {"List-Unsubscribe": "One-Click"}


@pytest.fixture
def backend() -> str:
    return "postgresql"  # SQLite has no server to lose


def test_the_request_that_finds_a_dropped_connection_fails_alone(
    app: Flask, client: FlaskClient, sessions: sessionmaker, database_url: str
) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as served: an error page, not a raise
    with session_scope(sessions) as session:
        ana, _ = get_or_create_candidate(session, "ana@example.com")
        opt_in_mass_email(session, ana, source=ConsentSource.IMPORT)
        page = make_link_token([TEST_SECRET], LinkPurpose.PREFERENCES, ana)
        one_click = make_link_token([TEST_SECRET], LinkPurpose.ONE_CLICK, ana, l="mass_email")
        ana_id = ana.id
    assert client.get(f"/preferences/{page}").status_code == 200
    engine = app.extensions["talentconnect"].engine
    terminate(database_url, backend_pid(engine))  # the pooled connection the page used

    failed = client.get(f"/preferences/{page}")

    assert failed.status_code == 500
    assert "Something went wrong on our side" in failed.text
    assert client.get(f"/preferences/{page}").status_code == 200
    assert client.post(f"/unsubscribe/{one_click}", data=ONE_CLICK).status_code == 200
    with session_scope(sessions) as session:
        status = session.scalar(
            select(MassEmailStatus.status).where(MassEmailStatus.candidate_id == ana_id)
        )
    assert status is MassEmail.OPTED_OUT
