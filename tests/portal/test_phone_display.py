"""Phone numbers display in national format for the company's region, international otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from portal.app import create_app
from portal.auth.accounts import set_password
from portal.web.phones import display_phone
from preferences.db import session_scope
from preferences.models import Candidate
from preferences.subscriptions import get_or_create_candidate
from tests.conftest import make_settings

from .helpers import csrf_token

EMAIL = "ana@example.com"
PASSWORD = "a long enough passphrase"


@pytest.mark.parametrize(
    ("stored", "region", "shown"),
    [
        ("+12025550143", "US", "(202) 555-0143"),
        ("+442079460958", "GB", "020 7946 0958"),
        ("+4930901820", "DE", "030 901820"),
        ("+442079460958", "US", "+44 20 7946 0958"),
        ("+12025550143", "DE", "+1 202-555-0143"),
        # Same country code, another region: Canada is abroad for a US company.
        ("+16135550123", "US", "+1 613-555-0123"),
    ],
)
def test_valid_numbers_are_national_at_home_and_international_abroad(
    stored: str, region: str, shown: str
) -> None:
    """A valid number shows nationally in the company's region, internationally elsewhere."""
    assert display_phone(stored, region) == shown


@pytest.mark.parametrize(
    "stored", ["call me maybe", "+15550001234", "+1202555", "12345", " +1 (202) ext. 9 "]
)
def test_text_that_is_no_valid_number_shows_as_stored(stored: str) -> None:
    """Unparseable or invalid stored text is shown exactly as stored."""
    assert display_phone(stored, "US") == stored


@pytest.mark.parametrize("stored", [None, ""])
def test_no_number_shows_nothing(stored: str | None) -> None:
    """A candidate without a phone number gets an empty string, not "None"."""
    assert display_phone(stored, "US") == ""


def _member(sessions: sessionmaker[Session], phone: str) -> None:
    with session_scope(sessions) as session:
        candidate, _ = get_or_create_candidate(session, EMAIL, first_name="Ana", last_name="Lima")
        candidate.phone_e164 = phone
        set_password(candidate, PASSWORD)


def _logged_in(client: FlaskClient) -> None:
    page = client.get("/login")
    answer = client.post(
        "/login",
        data={
            "csrf_token": csrf_token(page.text),
            "email": EMAIL,
            "password": PASSWORD,
            "action": "password",
        },
    )
    assert answer.status_code == 302


@pytest.mark.parametrize(("region", "shown"), [("GB", "020 7946 0958"), ("US", "+44 20 7946 0958")])
def test_dashboard_and_profile_show_the_phone_for_the_companys_region(
    tmp_path: Path, database_url: str, region: str, shown: str
) -> None:
    """The dashboard and the profile form show the number for PHONE_DEFAULT_REGION."""
    app = create_app(make_settings(tmp_path, database_url, PHONE_DEFAULT_REGION=region))
    try:
        _member(app.extensions["talentconnect"].sessions, "+442079460958")
        client = app.test_client()
        _logged_in(client)
        dashboard = client.get("/dashboard").text
        assert shown in dashboard
        assert "+442079460958" not in dashboard
        profile = client.get("/dashboard/profile").text
        assert f'value="{shown}"' in profile
        # Saving the form unchanged keeps the number: the shown format reads back the same.
        answer = client.post(
            "/dashboard/profile",
            data={
                "csrf_token": csrf_token(profile),
                "first_name": "Ana",
                "last_name": "Lima",
                "phone": shown,
            },
        )
        assert answer.status_code == 302
        with session_scope(app.extensions["talentconnect"].sessions) as session:
            candidate = session.scalars(select(Candidate).where(Candidate.email == EMAIL)).one()
            assert candidate.phone_e164 == "+442079460958"
    finally:
        app.extensions["talentconnect"].engine.dispose()
