"""A candidate's country comes from the phone's region, else the stated location."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from preferences.countries import country_from_location, country_from_phone, country_of
from preferences.subscriptions import get_or_create_candidate


@pytest.mark.parametrize(
    ("location", "country"),
    [
        ("Austin, TX", "US"),
        ("London, UK", "GB"),
        ("Paris, France", "FR"),
        ("Berlin, Deutschland", "DE"),
        ("Москва, Россия", "RU"),
        ("Lyon, FR", "FR"),
        ("Germany", "DE"),
        ("Springfield", None),
        ("", None),
        (None, None),
    ],
)
def test_location_names_a_country_in_its_last_part(
    location: str | None, country: str | None
) -> None:
    """US states, country names in several languages and ISO codes are read; a bare city
    is not guessed at."""
    assert country_from_location(location) == country


def test_phone_region_wins_over_the_location() -> None:
    """A Swiss mobile number says CH even with a US-looking location; junk says nothing."""
    assert country_from_phone("+41791234567") == "CH"
    assert country_of("+41791234567", "Austin, TX") == "CH"
    assert country_of(None, "Austin, TX") == "US"
    assert country_from_phone("not a number") is None


def test_country_follows_every_phone_or_location_change(db_session: Session) -> None:
    """The ORM hook sets the column on insert and whenever phone or location change."""
    candidate, _ = get_or_create_candidate(db_session, "kim@example.com", location="Lyon, France")
    assert candidate.country == "FR"
    candidate.phone_e164 = "+4930123456"
    db_session.flush()
    assert candidate.country == "DE"
    candidate.phone_e164 = None
    candidate.location = "Somewhere"
    db_session.flush()
    assert candidate.country is None
